"""pyfunc: PythonModel save/log/load round trips, context.artifacts, predict forms, safe loading."""

from __future__ import annotations

import logging
import os
import pickle
import subprocess
import sys
import textwrap

import pandas as pd
import pytest
import yaml

import hf_mltrack
import hf_mltrack.pyfunc as pyfunc
from hf_mltrack.exceptions import InvalidParameterError, MlTrackException
from hf_mltrack.models import ModelSignature, infer_signature
from hf_mltrack.models.model import MLMODEL_FILE_NAME
from hf_mltrack.types import ColSpec, ParamSchema, ParamSpec, Schema


class LLMWrapper(pyfunc.PythonModel):
    """The seed's wrapper (3.3, way 3), on a tiny locally built GPT-2."""

    def load_context(self, context):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(context.artifacts["model_dir"])
        self.model = AutoModelForCausalLM.from_pretrained(context.artifacts["model_dir"])

    def predict(self, context, model_input):
        prompts = model_input["prompt"].tolist()
        results = []
        for prompt in prompts:
            inputs = self.tokenizer(prompt, return_tensors="pt")
            outputs = self.model.generate(**inputs, max_new_tokens=3, do_sample=False, pad_token_id=1)
            results.append(self.tokenizer.decode(outputs[0]))
        return results


@pytest.fixture(scope="module")
def tiny_gpt2_dir(tmp_path_factory):
    pytest.importorskip("transformers")
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    corpus = ["what is machine learning", "deep learning is a subset of machine learning"]
    tok.train_from_iterator(corpus, trainers.WordLevelTrainer(special_tokens=["[UNK]", "[EOS]"]))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", eos_token="[EOS]")
    config = GPT2Config(n_layer=2, n_embd=16, n_head=2, vocab_size=tokenizer.vocab_size, n_positions=32)
    path = tmp_path_factory.mktemp("model_output")
    GPT2LMHeadModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def test_seed_llm_wrapper_flow(tracking_uri, tiny_gpt2_dir):
    signature = ModelSignature(
        inputs=Schema([ColSpec("string", "prompt"), ColSpec("long", "max_tokens")]),
        outputs=Schema([ColSpec("string", "generated_text")]),
    )
    with hf_mltrack.start_run() as run:
        info = pyfunc.log_model(
            artifact_path="llm-wrapper",
            python_model=LLMWrapper(),
            artifacts={"model_dir": str(tiny_gpt2_dir)},
            signature=signature,
        )
    assert info.model_uri == f"models:/{info.model_id}"
    assert info.signature == signature and "python_function" in info.flavors
    assert info.registered_model_version is None
    loaded = pyfunc.load_model(info.model_uri)
    predictions = loaded.predict(
        pd.DataFrame({"prompt": ["什么是深度学习?", "what is learning"], "max_tokens": [100, 5]})
    )
    assert len(predictions) == 2 and predictions[1].startswith("what is learning")
    # the artifacts were copied into the model and resolved to local paths inside it
    context = loaded.unwrap_python_model()
    model_dir = loaded._model_impl.context.artifacts["model_dir"]
    assert os.path.isdir(model_dir) and os.path.basename(model_dir) == os.path.basename(str(tiny_gpt2_dir))
    assert not model_dir.startswith(str(tiny_gpt2_dir))
    assert context.tokenizer is not None and loaded.metadata.run_id == run.info.run_id


class Greeter(pyfunc.PythonModel):
    def __init__(self, greeting="hello", repeat=1):
        self.greeting = greeting
        self.repeat = repeat

    def load_context(self, context):
        with open(context.artifacts["suffix"], encoding="utf-8") as f:
            self.suffix = f.read()
        self.config = context.model_config

    def predict(self, context, model_input, params=None):
        sep = (params or {}).get("sep", " ")
        return [sep.join([self.greeting] * self.repeat + [name]) + self.suffix for name in model_input["name"]]


@pytest.fixture
def suffix_file(tmp_path):
    path = tmp_path / "suffix.txt"
    path.write_text("!")
    return path


def test_state_artifacts_params_and_model_config(tmp_path, suffix_file):
    sig = infer_signature(pd.DataFrame({"name": ["a"]}), ["x"], params={"sep": " "})
    path = tmp_path / "m"
    pyfunc.save_model(
        str(path),
        python_model=Greeter("hi", 2),
        artifacts={"suffix": str(suffix_file)},
        signature=sig,
        model_config={"beam": 2},
    )
    files = sorted(os.listdir(path))
    assert "python_model.json" in files and "python_model.pkl" not in files  # importable class, JSON state
    suffix_file.write_text("?")  # the model holds its own copy
    loaded = pyfunc.load_model(str(path), model_config={"temperature": 0.1})
    assert loaded.predict({"name": "bob"}) == ["hi hi bob!"]
    assert loaded.predict(["ann", "joe"], params={"sep": "-"}) == ["hi-hi-ann!", "hi-hi-joe!"]
    model = loaded.unwrap_python_model()
    assert isinstance(model, Greeter) and (model.greeting, model.repeat) == ("hi", 2)
    assert model.config == {"beam": 2, "temperature": 0.1} and loaded.model_config == model.config


class TwoArgs(pyfunc.PythonModel):
    def predict(self, context, model_input):
        return len(model_input)


class NoContext(pyfunc.PythonModel):
    def predict(self, model_input, params=None):
        return (model_input, params)


def test_predict_signatures_seed_two_args_and_no_context(tmp_path, caplog):
    pyfunc.save_model(str(tmp_path / "a"), python_model=TwoArgs())
    two = pyfunc.load_model(str(tmp_path / "a"))
    assert two.predict([1, 2, 3]) == 3
    with caplog.at_level(logging.WARNING):
        assert two.predict([1], params={"x": 1}) == 1
    assert "takes no params" in caplog.text
    pyfunc.save_model(str(tmp_path / "b"), python_model=NoContext())
    assert pyfunc.load_model(str(tmp_path / "b")).predict("s", params={"k": 1}) == ("s", {"k": 1})


def test_input_example_is_checked_and_infers_the_signature(tmp_path):
    sig = ModelSignature(inputs=Schema([ColSpec("long", "n")]))
    with pytest.raises(InvalidParameterError, match="input_example does not match the signature.*'n'"):
        pyfunc.save_model(str(tmp_path / "bad"), python_model=TwoArgs(), signature=sig, input_example={"n": "x"})
    example = {"prompt": "hi", "max_tokens": 5}
    pyfunc.save_model(str(tmp_path / "ok"), python_model=TwoArgs(), input_example=example)
    loaded = pyfunc.load_model(str(tmp_path / "ok"))
    assert loaded.metadata.get_input_schema() == Schema([ColSpec("string", "prompt"), ColSpec("long", "max_tokens")])
    assert loaded.metadata.load_input_example(str(tmp_path / "ok")) == example


def test_requirements_and_dependencies(tmp_path):
    pyfunc.save_model(str(tmp_path / "m"), python_model=TwoArgs(), pip_requirements=["transformers>=4.34.0"])
    reqs_path = pyfunc.get_model_dependencies(str(tmp_path / "m"))
    assert open(reqs_path).read().splitlines()[1:] == ["transformers>=4.34.0"]
    assert pyfunc.get_model_dependencies(str(tmp_path / "m"), format="conda").endswith("conda.yaml")


def test_save_refuses_non_empty_path_and_bad_model(tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(InvalidParameterError, match="already exists and is not empty"):
        pyfunc.save_model(str(tmp_path / "full"), python_model=TwoArgs())
    with pytest.raises(InvalidParameterError, match="must be an instance of hf_mltrack.pyfunc.PythonModel"):
        pyfunc.save_model(str(tmp_path / "y"), python_model=lambda x: x)


def test_log_model_name_alias_and_conflict(tracking_uri):
    with hf_mltrack.start_run():
        info = pyfunc.log_model(name="by-name", python_model=TwoArgs())
        assert info.artifact_path == "by-name"
        with pytest.raises(InvalidParameterError, match="not both"):
            pyfunc.log_model("a", python_model=TwoArgs(), name="b")
    history = hf_mltrack.get_run(info.run_id).data.tags["hf_mltrack.log-model.history"]
    assert '"artifact_path": "by-name"' in history


def test_registered_model_name_calls_register_model(tracking_uri, monkeypatch):
    calls = []

    class Version:
        version = "3"

    def register_model(model_uri, name, await_registration_for=300):
        calls.append((model_uri, name))
        return Version()

    monkeypatch.setattr(hf_mltrack, "register_model", register_model, raising=False)
    with hf_mltrack.start_run():
        info = pyfunc.log_model("m", python_model=TwoArgs(), registered_model_name="llama2-lora")
    assert calls == [(info.model_uri, "llama2-lora")] and info.registered_model_version == 3


# ------------------------------------------------------------------------------------ safe loading


class Lookup(pyfunc.PythonModel):
    def __init__(self):
        self.table = {1: "one", 2: "two"}  # int keys: not plain JSON -> stored as a pickle

    def predict(self, context, model_input):
        return [self.table[i] for i in model_input]


def test_non_json_state_needs_allow_pickle(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        pyfunc.save_model(str(tmp_path / "m"), python_model=Lookup())
    assert "['table'] are not plain JSON" in caplog.text
    with pytest.raises(MlTrackException, match="Refusing to unpickle 'python_model.pkl'.*allow_pickle=True"):
        pyfunc.load_model(str(tmp_path / "m"))
    assert pyfunc.load_model(str(tmp_path / "m"), allow_pickle=True).predict([2, 1]) == ["two", "one"]


class _OpenFile:
    """Unpickling this creates a file: the payload a hostile pickle would carry."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_hostile_pickle_is_refused_without_running_anything(tmp_path):
    pyfunc.save_model(str(tmp_path / "m"), python_model=Lookup())
    marker = tmp_path / "pwned"
    (tmp_path / "m" / "python_model.pkl").write_bytes(pickle.dumps(_OpenFile(str(marker))))
    with pytest.raises(MlTrackException, match="Refusing to unpickle"):
        pyfunc.load_model(str(tmp_path / "m"))
    assert not marker.exists()
    # the payload is real: opting in runs it (and the result is then rejected as not a PythonModel)
    with pytest.raises(MlTrackException, match="did not hold a PythonModel"):
        pyfunc.load_model(str(tmp_path / "m"), allow_pickle=True)
    assert marker.exists()


def _edit_mlmodel(path, edit):
    file = path / MLMODEL_FILE_NAME
    data = yaml.safe_load(file.read_text())
    edit(data)
    file.write_text(yaml.safe_dump(data))


@pytest.mark.parametrize("target", ["os:system", "subprocess:Popen", "builtins:open"])
def test_class_reference_must_be_a_python_model(tmp_path, target):
    pyfunc.save_model(str(tmp_path / "m"), python_model=TwoArgs())
    _edit_mlmodel(tmp_path / "m", lambda d: d["flavors"]["python_function"].update(python_model_class=target))
    with pytest.raises(MlTrackException, match="not a subclass of hf_mltrack.pyfunc.model.PythonModel"):
        pyfunc.load_model(str(tmp_path / "m"))


def test_loader_module_must_be_allowed(tmp_path, monkeypatch):
    marker = tmp_path / "imported"
    (tmp_path / "evil_loader_mod_x1.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    pyfunc.save_model(str(tmp_path / "m"), python_model=TwoArgs())
    _edit_mlmodel(tmp_path / "m", lambda d: d["flavors"]["python_function"].update(loader_module="evil_loader_mod_x1"))
    with pytest.raises(
        MlTrackException,
        match="Refusing to import loader_module 'evil_loader_mod_x1'.*register_loader_module",
    ):
        pyfunc.load_model(str(tmp_path / "m"))
    assert not marker.exists() and "evil_loader_mod_x1" not in sys.modules


@pytest.mark.parametrize("bad", ["../../outside", "/etc/passwd"])
def test_paths_in_mlmodel_stay_inside_the_model(tmp_path, suffix_file, bad):
    pyfunc.save_model(str(tmp_path / "m"), python_model=Greeter(), artifacts={"suffix": str(suffix_file)})
    _edit_mlmodel(tmp_path / "m", lambda d: d["flavors"]["python_function"]["artifacts"]["suffix"].update(path=bad))
    with pytest.raises(InvalidParameterError, match="must be relative to the model folder"):
        pyfunc.load_model(str(tmp_path / "m"))


def test_code_paths_are_used_only_with_opt_in(tmp_path, monkeypatch):
    src = tmp_path / "src"
    src.mkdir()
    (src / "custom_model_mod_q7.py").write_text(
        textwrap.dedent(
            """
            import hf_mltrack.pyfunc

            class Doubler(hf_mltrack.pyfunc.PythonModel):
                def predict(self, context, model_input):
                    return [2 * x for x in model_input]
            """
        )
    )
    monkeypatch.syspath_prepend(str(src))
    import custom_model_mod_q7

    pyfunc.save_model(
        str(tmp_path / "m"),
        python_model=custom_model_mod_q7.Doubler(),
        code_paths=[str(src / "custom_model_mod_q7.py")],
    )
    assert (tmp_path / "m" / "code" / "custom_model_mod_q7.py").is_file()
    # a fresh process: the module is neither imported nor on sys.path
    monkeypatch.delitem(sys.modules, "custom_model_mod_q7")
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(src)])
    with pytest.raises(MlTrackException, match="custom_model_mod_q7.*cannot be imported|not installed"):
        pyfunc.load_model(str(tmp_path / "m"))
    assert pyfunc.load_model(str(tmp_path / "m"), allow_pickle=True).predict([1, 2]) == [2, 4]


def test_main_class_from_another_process(tmp_path):
    """The seed's flow: a class defined in a training script, loaded elsewhere."""
    script = textwrap.dedent(
        f"""
        import hf_mltrack.pyfunc as pyfunc

        class ScriptModel(pyfunc.PythonModel):
            def predict(self, context, model_input):
                return ["script:" + s for s in model_input]

        pyfunc.save_model({str(tmp_path / "m")!r}, python_model=ScriptModel())
        """
    )
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    subprocess.run([sys.executable, "-c", script], check=True, env=env, timeout=120)
    with pytest.raises(MlTrackException, match="__main__:ScriptModel.*define or import it.*allow_pickle=True"):
        pyfunc.load_model(str(tmp_path / "m"))
    assert pyfunc.load_model(str(tmp_path / "m"), allow_pickle=True).predict(["a"]) == ["script:a"]


def test_no_python_function_flavor(tmp_path):
    (tmp_path / MLMODEL_FILE_NAME).write_text("flavors:\n  custom: {a: 1}\n")
    with pytest.raises(MlTrackException, match=r"no python_function flavor.*\['custom'\]"):
        pyfunc.load_model(str(tmp_path))


def test_param_schema_in_signature_round_trip(tmp_path):
    sig = ModelSignature(inputs=Schema([ColSpec("string")]), params=ParamSchema([ParamSpec("k", "long", 1)]))
    pyfunc.save_model(str(tmp_path / "m"), python_model=NoContext(), signature=sig)
    assert pyfunc.load_model(str(tmp_path / "m")).predict(["a"])[1] == {"k": 1}
