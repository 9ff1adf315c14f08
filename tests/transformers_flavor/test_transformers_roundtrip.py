"""Save / log / load round trips of each input form, the MLmodel flavor block and the folder layout."""

from __future__ import annotations

import os

import pytest
import torch

import hf_mltrack
import hf_mltrack.transformers as hft
from hf_mltrack.exceptions import InvalidParameterError
from hf_mltrack.models import Model, ModelSignature


def _greedy(pipe, prompt: str = "hello", n: int = 6) -> str:
    return pipe(prompt, max_new_tokens=n, do_sample=False)[0]["generated_text"]


def _same_weights(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k].cpu(), sb[k].cpu()) for k in sa)


def test_pipeline_round_trip_and_flavor_block(gpt2, tmp_path):
    from transformers import pipeline

    model, tok = gpt2
    pipe = pipeline("text-generation", model=model, tokenizer=tok, device="cpu")
    path = tmp_path / "m"
    hft.save_model(pipe, path, model_config={"max_new_tokens": 5})

    assert sorted(os.listdir(path)) == sorted(
        ["MLmodel", "model", "components", "requirements.txt", "python_env.yaml", "conda.yaml"]
    )
    assert os.path.isfile(path / "model" / "model.safetensors")
    assert os.listdir(path / "components") == ["tokenizer"]
    conf = Model.load(path).flavors["transformers"]
    assert conf["task"] == "text-generation"
    assert conf["instance_type"] == "TextGenerationPipeline"
    assert conf["pipeline_model_type"] == "GPT2LMHeadModel"
    assert conf["framework"] == "pt"
    assert conf["torch_dtype"] == "torch.float32"
    assert conf["components"] == ["tokenizer"]
    assert conf["model_binary"] == "model"
    import transformers

    assert conf["transformers_version"] == transformers.__version__
    pyfunc_conf = Model.load(path).flavors["python_function"]
    assert pyfunc_conf["loader_module"] == "hf_mltrack.transformers"
    assert pyfunc_conf["model_config"] == {"max_new_tokens": 5}
    reqs = (path / "requirements.txt").read_text()
    assert "transformers==" in reqs and "torch==" in reqs

    loaded = hft.load_model(str(path), device="cpu")
    assert type(loaded).__name__ == "TextGenerationPipeline"
    assert _greedy(loaded) == _greedy(pipe)
    assert _same_weights(loaded.model, model)


def test_components_dict_round_trip(gpt2, tmp_path):
    model, tok = gpt2
    path = tmp_path / "m"
    hft.save_model({"model": model, "tokenizer": tok}, path, task="text-generation")
    assert Model.load(path).flavors["transformers"]["instance_type"] == "TextGenerationPipeline"
    parts = hft.load_model(str(path), return_type="components", device="cpu")
    assert set(parts) == {"model", "tokenizer", "task"}
    assert parts["task"] == "text-generation"
    assert type(parts["model"]).__name__ == "GPT2LMHeadModel"
    assert parts["tokenizer"]("hello world")["input_ids"] == tok("hello world")["input_ids"]
    assert _same_weights(parts["model"], model)
    # the components dict is itself a valid input (round trip of the return value)
    hft.save_model(parts, tmp_path / "again")
    assert Model.load(tmp_path / "again").flavors["transformers"]["task"] == "text-generation"


def test_bare_model_is_accepted_and_task_inferred(gpt2, tmp_path):
    model, _ = gpt2
    hft.save_model(model, tmp_path / "m")
    conf = Model.load(tmp_path / "m").flavors["transformers"]
    assert conf["task"] == "text-generation"
    assert conf["components"] == []


@pytest.mark.parametrize(
    ("name", "auto", "task"),
    [
        ("gpt2", "AutoModelForCausalLM", "text-generation"),
        ("bert-cls", "AutoModelForSequenceClassification", "text-classification"),
        ("bert-ner", "AutoModelForTokenClassification", "token-classification"),
        ("bert-mlm", "AutoModelForMaskedLM", "fill-mask"),
        ("bert-qa", "AutoModelForQuestionAnswering", "question-answering"),
        ("bert-base", "AutoModel", "feature-extraction"),
        ("t5", "AutoModelForSeq2SeqLM", "text2text-generation"),
    ],
    ids=["causal-lm", "seq-cls", "token-cls", "masked-lm", "qa", "base-model", "t5"],
)
def test_task_inferred_from_model_class(tiny_models, load_tiny, tmp_path, name, auto, task):
    model, tok = load_tiny(tiny_models[name], auto)
    hft.save_model({"model": model, "tokenizer": tok}, tmp_path / "m")
    conf = Model.load(tmp_path / "m").flavors["transformers"]
    assert conf["task"] == task
    assert conf["instance_type"].endswith("Pipeline")


def test_task_aliases_and_unknown_task(gpt2, tmp_path):
    model, tok = gpt2
    with pytest.raises(InvalidParameterError, match="Unknown task 'text-magic'"):
        hft.save_model({"model": model, "tokenizer": tok}, tmp_path / "bad", task="text-magic")
    assert not os.path.exists(tmp_path / "bad") or not os.listdir(tmp_path / "bad")


def test_checkpoint_folder_round_trip_skips_training_state(tiny_models, load_tiny, tmp_path):
    import shutil

    ckpt = tmp_path / "checkpoint-10"
    shutil.copytree(tiny_models["gpt2"], ckpt)
    for name in ("optimizer.pt", "scheduler.pt", "rng_state.pth", "training_args.bin", "trainer_state.json"):
        (ckpt / name).write_bytes(b"training state")
    (ckpt / "README.md").write_text("# tiny gpt2\n")
    path = tmp_path / "m"
    hft.save_model(str(ckpt), path)

    conf = Model.load(path).flavors["transformers"]
    assert conf["task"] == "text-generation"
    assert conf["pipeline_model_type"] == "GPT2LMHeadModel"
    assert conf["components"] == ["tokenizer"]
    assert sorted(os.listdir(path / "model")) == [
        "config.json",
        "generation_config.json",
        "model.safetensors",
    ]
    assert "tokenizer.json" in os.listdir(path / "components" / "tokenizer")
    assert (path / "model_card.md").read_text() == "# tiny gpt2\n"
    everything = {f for _, _, files in os.walk(path) for f in files}
    assert not everything & {"optimizer.pt", "scheduler.pt", "rng_state.pth", "training_args.bin"}

    pipe = hft.load_model(str(path), device="cpu")
    reference, _ = load_tiny(tiny_models["gpt2"], "AutoModelForCausalLM")
    assert _same_weights(pipe.model, reference)
    assert isinstance(_greedy(pipe), str)


def test_checkpoint_folder_errors(tmp_path):
    with pytest.raises(InvalidParameterError, match="is not a local folder"):
        hft.save_model(str(tmp_path / "nope"), tmp_path / "m")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidParameterError, match="neither config.json"):
        hft.save_model(str(tmp_path / "empty"), tmp_path / "m2")


def test_input_errors_name_the_fix(gpt2, tmp_path):
    model, tok = gpt2
    with pytest.raises(InvalidParameterError, match="Unknown key"):
        hft.save_model({"model": model, "tokenizr": tok}, tmp_path / "a")
    with pytest.raises(InvalidParameterError, match="needs a 'model' entry"):
        hft.save_model({"tokenizer": tok}, tmp_path / "b")
    with pytest.raises(InvalidParameterError, match="Unsupported transformers_model"):
        hft.save_model(42, tmp_path / "c")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "x").write_text("x")
    with pytest.raises(InvalidParameterError, match="not empty"):
        hft.save_model({"model": model}, tmp_path / "d")


def test_failed_save_leaves_no_half_written_model(gpt2, tmp_path):
    model, tok = gpt2
    from hf_mltrack.types import ColSpec, Schema

    signature = ModelSignature(inputs=Schema([ColSpec("long", "n")]))
    with pytest.raises(InvalidParameterError, match="input_example"):
        hft.save_model({"model": model, "tokenizer": tok}, tmp_path / "m", signature=signature, input_example="x")
    assert not os.path.exists(tmp_path / "m")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidParameterError):
        hft.save_model({"model": model, "tokenizer": tok}, tmp_path / "empty", signature=signature, input_example="x")
    assert os.listdir(tmp_path / "empty") == []


def test_save_pretrained_false_stores_a_reference_only(tiny_models, load_tiny, tmp_path):
    model, tok = load_tiny(tiny_models["gpt2"], "AutoModelForCausalLM")
    path = tmp_path / "ref"
    hft.save_model({"model": model, "tokenizer": tok}, path, save_pretrained=False)
    conf = Model.load(path).flavors["transformers"]
    assert "model_binary" not in conf
    assert not os.path.exists(path / "model")
    assert conf["source_model_name"] == os.path.abspath(tiny_models["gpt2"])
    loaded = hft.load_model(str(path), device="cpu")
    assert _same_weights(loaded.model, model)


def test_save_pretrained_false_needs_a_source(gpt2, tmp_path):
    from transformers import GPT2Config, GPT2LMHeadModel

    fresh = GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=8, n_head=2, vocab_size=50, n_positions=16))
    with pytest.raises(InvalidParameterError, match="save_pretrained=True"):
        hft.save_model({"model": fresh}, tmp_path / "m", save_pretrained=False)


def test_torch_dtype_recorded_and_used_at_load(gpt2, tmp_path):
    model, tok = gpt2
    hft.save_model({"model": model, "tokenizer": tok}, tmp_path / "m", torch_dtype=torch.bfloat16)
    assert Model.load(tmp_path / "m").flavors["transformers"]["torch_dtype"] == "torch.bfloat16"
    assert hft.load_model(str(tmp_path / "m"), device="cpu").model.dtype == torch.bfloat16
    # the argument at load wins over MLmodel
    parts = hft.load_model(str(tmp_path / "m"), return_type="components", device="cpu", torch_dtype="float32")
    assert parts["model"].dtype == torch.float32


def test_model_card_and_metadata(gpt2, tmp_path):
    model, tok = gpt2
    hft.save_model({"model": model, "tokenizer": tok}, tmp_path / "m", model_card="# Card", metadata={"team": "nlp"})
    assert (tmp_path / "m" / "model_card.md").read_text() == "# Card"
    assert Model.load(tmp_path / "m").metadata == {"team": "nlp"}


def test_log_model_to_a_run_and_load_by_runs_uri(store, gpt2):
    model, tok = gpt2
    with hf_mltrack.start_run() as run:
        info = hft.log_model(
            {"model": model, "tokenizer": tok}, name="llm", task="text-generation", input_example=["hello"]
        )
    assert info.model_uri == f"models:/{info.model_id}"
    assert hf_mltrack.get_logged_model(info.model_id).artifact_location.endswith(f"{run.info.run_id}/artifacts/llm")
    assert info.run_id == run.info.run_id
    assert info.flavors["transformers"]["task"] == "text-generation"
    assert info.signature is not None
    assert info.model_size_bytes > 0
    pipe = hft.load_model(info.model_uri, device="cpu")
    assert _same_weights(pipe.model, model)
    # nothing but the model itself under the run's artifacts (no leftover staging folder)
    from hf_mltrack.tracking import MlTrackClient

    art = MlTrackClient().get_run(run.info.run_id).info.artifact_uri
    root = art[len("file://") :] if art.startswith("file://") else art
    assert os.listdir(root) == ["llm"]
    assert "input_example.json" in os.listdir(os.path.join(root, "llm"))


def test_log_model_artifact_path_and_name(store, gpt2):
    model, tok = gpt2
    with hf_mltrack.start_run():
        info = hft.log_model({"model": model, "tokenizer": tok}, artifact_path="a/b")
        assert info.artifact_path == "a/b"
        with pytest.raises(InvalidParameterError, match="not both"):
            hft.log_model({"model": model}, artifact_path="x", name="y")
        with pytest.raises(InvalidParameterError, match="already has artifacts"):
            hft.log_model({"model": model, "tokenizer": tok}, artifact_path="a/b")


def test_log_model_failure_leaves_nothing_behind(store, gpt2):
    model, _ = gpt2
    with hf_mltrack.start_run() as run:
        with pytest.raises(InvalidParameterError):
            hft.log_model({"model": model}, name="m", prompt_template="no placeholder")
    from hf_mltrack.tracking import MlTrackClient

    art = MlTrackClient().get_run(run.info.run_id).info.artifact_uri
    root = art[len("file://") :]
    assert not os.path.exists(root) or os.listdir(root) == []
