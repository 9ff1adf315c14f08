"""pyfunc predict for every text task: input forms, model_config, params overrides, output shapes."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import hf_mltrack
import hf_mltrack.pyfunc as pyfunc
import hf_mltrack.transformers as hft
from hf_mltrack.models import Model, ModelSignature, infer_signature


def _generate(model, tok, prompt: str, **kwargs) -> str:
    """What greedy generation of the raw model gives (the continuation only)."""
    ids = tok(prompt, return_tensors="pt")
    out = model.generate(**ids, do_sample=False, pad_token_id=tok.pad_token_id, **kwargs)
    return tok.decode(out[0][ids["input_ids"].shape[1] :], skip_special_tokens=True)


@pytest.fixture
def gpt2_pyfunc(gpt2, tmp_path):
    model, tok = gpt2
    path = tmp_path / "gpt2"
    hft.save_model({"model": model, "tokenizer": tok}, path, model_config={"max_new_tokens": 4, "do_sample": False})
    return pyfunc.load_model(str(path)), model, tok


def test_text_generation_input_forms(gpt2_pyfunc):
    loaded, model, tok = gpt2_pyfunc
    expected = [_generate(model, tok, p, max_new_tokens=4) for p in ("hello", "deep learning")]
    assert loaded.predict("hello") == expected[:1]
    assert loaded.predict(["hello", "deep learning"]) == expected
    assert loaded.predict(pd.DataFrame({"prompt": ["hello", "deep learning"]})) == expected
    assert loaded.predict(pd.DataFrame({"text": ["hello"]})) == expected[:1]


def test_model_config_applies_and_params_override(gpt2_pyfunc):
    loaded, model, tok = gpt2_pyfunc
    default = loaded.predict(["hello"])[0]
    longer = loaded.predict(["hello"], params={"max_new_tokens": 9})[0]
    assert default == _generate(model, tok, "hello", max_new_tokens=4)
    assert longer == _generate(model, tok, "hello", max_new_tokens=9)
    assert len(tok(longer)["input_ids"]) > len(tok(default)["input_ids"])
    # the next call is back to model_config
    assert loaded.predict(["hello"])[0] == default
    full = loaded.predict(["hello"], params={"return_full_text": True})[0]
    assert full == "hello" + default
    params = {p.name: p for p in loaded.metadata.signature.params}
    assert {"max_new_tokens", "do_sample", "temperature", "top_p"} <= set(params)
    assert params["max_new_tokens"].dtype.name == "long" and params["max_new_tokens"].default is None


def test_generation_without_a_length_stays_inside_the_model_positions(gpt2, tmp_path):
    model, tok = gpt2
    hft.save_model({"model": model, "tokenizer": tok}, tmp_path / "nolen", model_config={"do_sample": False})
    loaded = pyfunc.load_model(str(tmp_path / "nolen"))
    prompt = "deep learning " * 10
    out = loaded.predict(prompt)[0]  # no max_new_tokens anywhere: must not run past n_positions=64
    room = model.config.n_positions - len(tok(prompt)["input_ids"])
    assert out == _generate(model, tok, prompt, max_new_tokens=room)


def test_model_config_overridden_at_load(gpt2, tmp_path):
    model, tok = gpt2
    config = {"max_new_tokens": 2, "do_sample": False}
    hft.save_model({"model": model, "tokenizer": tok}, tmp_path / "m", model_config=config)
    loaded = pyfunc.load_model(str(tmp_path / "m"), model_config={"max_new_tokens": 7})
    assert loaded.predict("hello")[0] == _generate(model, tok, "hello", max_new_tokens=7)


def test_seed_signature_with_named_columns(gpt2, tmp_path):
    """The seed's 3.3 example: prompt + max_tokens columns in, a generated_text column out."""
    model, tok = gpt2
    example = pd.DataFrame({"prompt": ["what is machine learning"], "max_tokens": [3]})
    signature = infer_signature(example, output_example=pd.DataFrame({"generated_text": ["machine learning is"]}))
    hft.save_model(
        {"model": model, "tokenizer": tok},
        tmp_path / "m",
        signature=signature,
        input_example=example,
        model_config={"do_sample": False},
    )
    loaded = pyfunc.load_model(str(tmp_path / "m"))
    out = loaded.predict(pd.DataFrame({"prompt": ["hello", "hello"], "max_tokens": [2, 6]}))
    assert list(out.columns) == ["generated_text"]
    assert out["generated_text"].tolist() == [
        _generate(model, tok, "hello", max_new_tokens=2),
        _generate(model, tok, "hello", max_new_tokens=6),
    ]
    with pytest.raises(Exception, match="prompt"):
        loaded.predict(pd.DataFrame({"question": ["x"], "max_tokens": [1]}))


def test_prompt_template(gpt2, tmp_path):
    model, tok = gpt2
    hft.save_model(
        {"model": model, "tokenizer": tok},
        tmp_path / "m",
        prompt_template="Q: {prompt} A:",
        model_config={"max_new_tokens": 3, "do_sample": False},
    )
    out = pyfunc.load_model(str(tmp_path / "m")).predict("hello")
    assert out == [_generate(model, tok, "Q: hello A:", max_new_tokens=3)]


def test_text_classification(tiny_models, load_tiny, tmp_path):
    import torch

    model, tok = load_tiny(tiny_models["bert-cls"], "AutoModelForSequenceClassification")
    hft.save_model({"model": model, "tokenizer": tok}, tmp_path / "m")
    sig = Model.load(tmp_path / "m").signature
    assert [c.name for c in sig.outputs.inputs] == ["label", "score"]
    out = pyfunc.load_model(str(tmp_path / "m")).predict(["hello world", "machine learning is fun"])
    assert list(out.columns) == ["label", "score"]
    with torch.no_grad():
        probs = model(**tok(["hello world"], return_tensors="pt")).logits.softmax(-1)[0]
    assert out["label"][0] == model.config.id2label[int(probs.argmax())]
    assert out["score"][0] == pytest.approx(float(probs.max()), rel=1e-5)


def test_token_classification(tiny_models, load_tiny, tmp_path):
    model, tok = load_tiny(tiny_models["bert-ner"], "AutoModelForTokenClassification")
    hft.save_model({"model": model, "tokenizer": tok}, tmp_path / "m", task="ner")
    assert Model.load(tmp_path / "m").flavors["transformers"]["task"] == "token-classification"
    out = pyfunc.load_model(str(tmp_path / "m")).predict("paris is the capital of france")
    entities = json.loads(out[0])
    assert isinstance(entities, list)
    assert all({"entity", "score", "word"} <= set(e) for e in entities)


def test_fill_mask(tiny_models, load_tiny, tmp_path):
    from transformers import pipeline

    model, tok = load_tiny(tiny_models["bert-mlm"], "AutoModelForMaskedLM")
    hft.save_model({"model": model, "tokenizer": tok}, tmp_path / "m")
    out = pyfunc.load_model(str(tmp_path / "m")).predict(["paris is the [MASK] of france"])
    reference = pipeline("fill-mask", model=model, tokenizer=tok, device="cpu")("paris is the [MASK] of france")
    assert out == [reference[0]["token_str"].strip()]


def test_feature_extraction(tiny_models, load_tiny, tmp_path):
    model, tok = load_tiny(tiny_models["bert-base"], "AutoModel")
    hft.save_model({"model": model, "tokenizer": tok}, tmp_path / "m")
    out = pyfunc.load_model(str(tmp_path / "m")).predict(["hello world", "deep learning with transformers"])
    assert len(out) == 2
    assert isinstance(out[0], np.ndarray) and out[0].dtype == np.float32
    assert out[0].shape == (len(tok("hello world")["input_ids"]), 32)
    assert out[1].shape[0] > out[0].shape[0]


def test_question_answering(tiny_models, load_tiny, tmp_path):
    model, tok = load_tiny(tiny_models["bert-qa"], "AutoModelForQuestionAnswering")
    hft.save_model({"model": model, "tokenizer": tok}, tmp_path / "m")
    conf = Model.load(tmp_path / "m").flavors["transformers"]
    assert conf["task"] == "question-answering"
    context = "paris is the capital of france"
    loaded = pyfunc.load_model(str(tmp_path / "m"))
    out = loaded.predict(pd.DataFrame({"question": ["what is paris"], "context": [context]}))
    assert len(out) == 1 and out[0] and out[0] in context
    assert loaded.predict({"question": "what is paris", "context": context}) == out
    pipe = hft.load_model(str(tmp_path / "m"), device="cpu")
    answer = pipe(question="what is paris", context=context)
    assert answer["answer"] == out[0]
    assert context[answer["start"] : answer["end"]] == answer["answer"]
    assert 0.0 < answer["score"] <= 1.0


@pytest.mark.parametrize(
    ("task", "key"),
    [
        ("text2text-generation", "generated_text"),
        ("summarization", "summary_text"),
        ("translation_en_to_de", "translation_text"),
    ],
)
def test_seq2seq_tasks(tiny_models, load_tiny, tmp_path, task, key):
    model, tok = load_tiny(tiny_models["t5"], "AutoModelForSeq2SeqLM")
    hft.save_model({"model": model, "tokenizer": tok}, tmp_path / "m", task=task, model_config={"max_new_tokens": 5})
    pipe = hft.load_model(str(tmp_path / "m"), device="cpu")
    result = pipe("the house is small", max_new_tokens=5)
    assert isinstance(result, list) and set(result[0]) == {key}
    prefix = {"summarization": "summarize: ", "translation_en_to_de": "translate English to German: "}.get(task, "")
    ids = tok(prefix + "the house is small", return_tensors="pt")
    expected = tok.decode(model.generate(**ids, max_new_tokens=5, do_sample=False)[0], skip_special_tokens=True)
    assert result[0][key] == expected
    out = pyfunc.load_model(str(tmp_path / "m")).predict(["the house is small"])
    assert out == [expected]


def test_pyfunc_via_runs_uri(store, gpt2):
    model, tok = gpt2
    with hf_mltrack.start_run():
        config = {"max_new_tokens": 3, "do_sample": False}
        info = hft.log_model({"model": model, "tokenizer": tok}, name="m", model_config=config)
    out = pyfunc.load_model(info.model_uri).predict(pd.DataFrame({"prompt": ["hello"]}))
    assert out == [_generate(model, tok, "hello", max_new_tokens=3)]


def test_default_signatures_per_task():
    from hf_mltrack.transformers._tasks import default_signature

    sig = default_signature("text-generation", {"max_new_tokens": 10, "custom_flag": True})
    assert isinstance(sig, ModelSignature)
    params = {p.name: p for p in sig.params}
    # defaults stay None: an unset param falls back on model_config (which load_model can override)
    assert params["max_new_tokens"].default is None and params["temperature"].dtype.name == "double"
    assert params["custom_flag"].dtype.name == "boolean"
    qa = default_signature("question-answering")
    assert qa.inputs.input_names() == ["question", "context"]
    assert default_signature("image-classification") is None
