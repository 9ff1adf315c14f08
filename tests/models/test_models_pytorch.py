"""The pytorch flavor: safe round trips (safetensors + class path), pickle only on opt-in, state dicts."""

from __future__ import annotations

import json
import logging
import pickle

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

import hf_mltrack  # noqa: E402
import hf_mltrack.pyfunc as pyfunc  # noqa: E402
import hf_mltrack.pytorch as hf_pytorch  # noqa: E402
from hf_mltrack.exceptions import InvalidParameterError, MlTrackException  # noqa: E402
from hf_mltrack.models import Model  # noqa: E402


class Scaled(torch.nn.Module):
    """Keeps its constructor arguments as attributes: recoverable without help."""

    def __init__(self, d_in, d_out, scale=1.0, act="relu"):
        super().__init__()
        self.d_in, self.d_out, self.scale, self.act = d_in, d_out, scale, act
        self.fc = torch.nn.Linear(d_in, d_out)
        self.norm = torch.nn.LayerNorm(d_out, eps=1e-3)

    def forward(self, x):
        y = self.norm(self.fc(x)) * self.scale
        return torch.relu(y) if self.act == "relu" else torch.tanh(y)


class Opaque(torch.nn.Module):
    """Does not keep its constructor arguments: not recoverable without init_kwargs."""

    def __init__(self, hidden=4):
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Linear(3, hidden), torch.nn.GELU(), torch.nn.Linear(hidden, 2))

    def forward(self, x):
        return self.body(x)


def _same(a, b, x):
    a.eval(), b.eval()
    with torch.no_grad():
        return torch.allclose(a(x), b(x))


MODELS = {
    "sequential": lambda: torch.nn.Sequential(
        torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Dropout(0.1), torch.nn.Linear(8, 2)
    ),
    "named-sequential": lambda: torch.nn.Sequential(
        __import__("collections").OrderedDict(fc=torch.nn.Linear(3, 2, bias=False), act=torch.nn.Tanh())
    ),
    "custom-with-attrs": lambda: Scaled(3, 5, scale=0.5, act="tanh"),
    "nested-modulelist": lambda: torch.nn.Sequential(
        torch.nn.ModuleList([torch.nn.Linear(3, 3)]).__getitem__(0), torch.nn.Linear(3, 2)
    ),
}


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_safe_round_trip(tmp_path, kind):
    model = MODELS[kind]()
    hf_pytorch.save_model(model, str(tmp_path / "m"))
    meta = Model.load(str(tmp_path / "m"))
    assert meta.flavors["pytorch"]["serialization"] == "safetensors"
    assert meta.flavors["python_function"]["loader_module"] == "hf_mltrack.pytorch"
    assert not list((tmp_path / "m").rglob("*.pth")) and not list((tmp_path / "m").rglob("*.pkl"))
    loaded = hf_pytorch.load_model(str(tmp_path / "m"))
    assert type(loaded) is type(model) and _same(model, loaded, torch.rand(4, 3))


def test_constructor_hyperparameters_are_verified_not_guessed(tmp_path, caplog):
    # hidden=16 is not stored on the module: the default (4) would build another architecture
    model = Opaque(hidden=16)
    with caplog.at_level(logging.WARNING):
        hf_pytorch.save_model(model, str(tmp_path / "auto"))
    assert "Falling back to pickle" in caplog.text
    assert Model.load(str(tmp_path / "auto")).flavors["pytorch"]["serialization"] == "pickle"
    with pytest.raises(MlTrackException, match="serialization='pickle'.*allow_pickle=True"):
        hf_pytorch.load_model(str(tmp_path / "auto"))
    assert _same(model, hf_pytorch.load_model(str(tmp_path / "auto"), allow_pickle=True), torch.rand(2, 3))
    with pytest.raises(InvalidParameterError, match="Pass init_kwargs"):
        hf_pytorch.save_model(model, str(tmp_path / "strict"), serialization="safetensors")
    hf_pytorch.save_model(model, str(tmp_path / "kwargs"), init_kwargs={"hidden": 16})
    assert _same(model, hf_pytorch.load_model(str(tmp_path / "kwargs")), torch.rand(2, 3))
    with pytest.raises(InvalidParameterError, match="different architecture"):
        hf_pytorch.save_model(model, str(tmp_path / "wrong"), init_kwargs={"hidden": 8})


def test_plain_attribute_mismatch_is_detected(tmp_path):
    model = Scaled(3, 2)
    model.scale = 3.0  # changed after construction, used in forward: a rebuilt module would differ
    hf_pytorch.save_model(model, str(tmp_path / "m"))
    loaded = hf_pytorch.load_model(str(tmp_path / "m"))  # scale is a constructor arg stored as attribute
    assert loaded.scale == 3.0 and _same(model, loaded, torch.rand(2, 3))


def test_hf_model_dtype_ties_frozen_and_training_flag(tmp_path):
    transformers = pytest.importorskip("transformers")
    config = transformers.GPT2Config(
        n_layer=2, n_embd=16, n_head=2, vocab_size=50, n_positions=16, bos_token_id=0, eos_token_id=0
    )
    model = transformers.GPT2LMHeadModel(config).to(torch.bfloat16).eval()
    model.transformer.h[0].requires_grad_(False)
    hf_pytorch.save_model(model, str(tmp_path / "m"))
    spec = json.loads((tmp_path / "m" / "data" / "model_spec.json").read_text())
    assert spec["spec"]["hf_config"]["class"].endswith(":GPT2Config")
    reqs = (tmp_path / "m" / "requirements.txt").read_text()
    assert "transformers==" in reqs and "torch==" in reqs and "+" not in reqs
    loaded = hf_pytorch.load_model(str(tmp_path / "m"))
    assert loaded.lm_head.weight.dtype == torch.bfloat16
    assert loaded.lm_head.weight is loaded.transformer.wte.weight  # tied weights stay tied
    assert not loaded.training
    assert not loaded.transformer.h[0].attn.c_attn.weight.requires_grad
    assert loaded.transformer.h[1].attn.c_attn.weight.requires_grad
    ids = torch.randint(0, 50, (2, 6))
    with torch.no_grad():
        assert torch.equal(model(ids).logits, loaded(ids).logits)


def test_log_model_runs_uri_and_pyfunc(tracking_uri):
    model = Scaled(3, 2)
    example = np.random.rand(2, 3).astype(np.float32)
    with hf_mltrack.start_run():
        info = hf_pytorch.log_model(
            pytorch_model=model,
            artifact_path="pytorch-model",
            pip_requirements=["torch>=2.0.0"],
            input_example=example,
        )
    assert info.model_uri == f"models:/{info.model_id}"
    assert set(info.flavors) == {"pytorch", "python_function"}
    assert info.signature.inputs.is_tensor_spec()
    assert (
        pyfunc.get_model_dependencies(info.model_uri)
        and "torch>=2.0.0" in open(pyfunc.get_model_dependencies(info.model_uri)).read().splitlines()
    )
    loaded = hf_pytorch.load_model(info.model_uri, map_location="cpu")
    assert _same(model, loaded, torch.from_numpy(example))
    py = pyfunc.load_model(info.model_uri)
    out = py.predict(example)
    assert isinstance(out, np.ndarray) and out.shape == (2, 2)
    np.testing.assert_allclose(out, model.eval()(torch.from_numpy(example)).detach().numpy(), rtol=1e-5)
    assert py.get_raw_model().__class__ is Scaled


def test_pyfunc_dataframe_in_dataframe_out(tmp_path):
    model = torch.nn.Linear(3, 1)
    hf_pytorch.save_model(model, str(tmp_path / "m"))
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [0.0, 1.0], "c": [3.0, 4.0]}, index=[10, 11])
    out = pyfunc.load_model(str(tmp_path / "m")).predict(frame)
    assert isinstance(out, pd.DataFrame) and list(out.index) == [10, 11] and out.shape == (2, 1)


def test_hostile_pickled_model_is_refused_without_running_anything(tmp_path):
    hf_pytorch.save_model(Opaque(hidden=16), str(tmp_path / "m"), serialization="pickle")
    marker = tmp_path / "pwned"

    class OpenFile:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (tmp_path / "m" / "data" / "model.pth").write_bytes(pickle.dumps(OpenFile()))
    for load in (hf_pytorch.load_model, pyfunc.load_model):
        with pytest.raises(MlTrackException, match="Refusing to load 'model.pth'"):
            load(str(tmp_path / "m"))
    assert not marker.exists()


@pytest.mark.parametrize("target", ["subprocess:Popen", "os:system", "builtins:eval"])
def test_spec_class_must_be_an_nn_module(tmp_path, target):
    hf_pytorch.save_model(Scaled(3, 2), str(tmp_path / "m"))
    spec_file = tmp_path / "m" / "data" / "model_spec.json"
    payload = json.loads(spec_file.read_text())
    payload["spec"] = {"class": target, "args": [["touch", str(tmp_path / "pwned")]]}
    spec_file.write_text(json.dumps(payload))
    with pytest.raises(MlTrackException, match="not a subclass of torch.nn.modules.module.Module"):
        hf_pytorch.load_model(str(tmp_path / "m"))
    assert not (tmp_path / "pwned").exists()


def test_export_serialization_needs_opt_in(tmp_path):
    model = torch.nn.Sequential(torch.nn.Linear(3, 2))
    x = torch.rand(2, 3)
    hf_pytorch.save_model(model, str(tmp_path / "m"), serialization="export", input_example=x)
    with pytest.raises(MlTrackException, match="serialization='export'"):
        hf_pytorch.load_model(str(tmp_path / "m"))
    assert torch.allclose(hf_pytorch.load_model(str(tmp_path / "m"), allow_pickle=True)(x), model(x))


def test_state_dict_round_trip_without_pickle(tracking_uri, tmp_path):
    model = Scaled(3, 2)
    opt = torch.optim.Adam(model.parameters())
    model(torch.rand(4, 3)).sum().backward()
    opt.step()
    checkpoint = {
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "epoch": 3,
        "best": float("inf"),
    }
    with hf_mltrack.start_run():
        uri = hf_pytorch.log_state_dict(checkpoint, artifact_path="checkpoint")
    loaded = hf_pytorch.load_state_dict(uri)
    assert loaded["epoch"] == 3 and loaded["best"] == float("inf")
    fresh = Scaled(3, 2)
    fresh.load_state_dict(loaded["model"])
    assert _same(model, fresh, torch.rand(2, 3))
    opt2 = torch.optim.Adam(fresh.parameters())
    opt2.load_state_dict(loaded["optimizer"])
    assert opt2.state_dict()["param_groups"] == opt.state_dict()["param_groups"]
    # a flat state dict keeps its own keys: the file is usable by any safetensors reader
    hf_pytorch.save_state_dict(model.state_dict(), str(tmp_path / "flat"))
    from safetensors.torch import load_file

    assert set(load_file(str(tmp_path / "flat" / "state_dict.safetensors"))) == set(model.state_dict())


def test_pickled_state_dict_needs_opt_in(tmp_path):
    marker = tmp_path / "pwned"

    class OpenFile:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (tmp_path / "sd").mkdir()
    (tmp_path / "sd" / "state_dict.pth").write_bytes(pickle.dumps(OpenFile()))
    with pytest.raises(MlTrackException, match="Refusing to unpickle"):
        hf_pytorch.load_state_dict(str(tmp_path / "sd"))
    assert not marker.exists()


def test_state_dict_rejects_non_tensor_objects(tmp_path):
    with pytest.raises(InvalidParameterError, match="at extra of type object"):
        hf_pytorch.save_state_dict({"extra": object()}, str(tmp_path / "x"))


def test_rejects_non_modules(tmp_path):
    with pytest.raises(InvalidParameterError, match="must be a torch.nn.Module"):
        hf_pytorch.save_model(object(), str(tmp_path / "m"))
    with pytest.raises(InvalidParameterError, match="serialization='zip'"):
        hf_pytorch.save_model(torch.nn.Linear(1, 1), str(tmp_path / "n"), serialization="zip")
