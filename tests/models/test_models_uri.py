"""Model URIs: runs:/, models:/ (through the registry hook), local paths, file:// and object stores."""

from __future__ import annotations

import os
import uuid

import pandas as pd
import pytest

import hf_mltrack
import hf_mltrack.pyfunc as pyfunc
from hf_mltrack.exceptions import InvalidParameterError, MissingDependencyError
from hf_mltrack.models import Model, download_model, resolve_model_uri
from hf_mltrack.models.uri import ModelsUri, parse_models_uri, parse_runs_uri


class Reverse(pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return [s[::-1] for s in model_input["text"]]


DATA = pd.DataFrame({"text": ["abc"]})


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("models:/llama2-lora/3", ModelsUri("llama2-lora", version="3")),
        ("models:/llama2-lora/Production", ModelsUri("llama2-lora", stage="Production")),
        ("models:/llama2-lora/staging", ModelsUri("llama2-lora", stage="Staging")),
        ("models:/llama2-lora/latest", ModelsUri("llama2-lora")),
        ("models:/llama2-lora@champion", ModelsUri("llama2-lora", alias="champion")),
        (
            "models:/m/1/data/model.safetensors",
            ModelsUri("m", version="1", sub_path="data/model.safetensors"),
        ),
    ],
    ids=["version", "stage", "stage-lowercase", "latest", "alias", "sub-path"],
)
def test_parse_models_uri(uri, expected):
    assert parse_models_uri(uri) == expected


@pytest.mark.parametrize(
    "uri", ["models:/m", "models:/m/newest", "models://m/1", "models:/@a", "models:/m/1/../../etc"]
)
def test_invalid_models_uri(uri):
    with pytest.raises(InvalidParameterError):
        parse_models_uri(uri)


def test_parse_runs_uri():
    assert parse_runs_uri("runs:/abc123/model") == ("abc123", "model")
    assert parse_runs_uri("runs:/abc123/a/b/") == ("abc123", "a/b")
    with pytest.raises(InvalidParameterError, match="without '.', '..'"):
        parse_runs_uri("runs:/abc/../other-run/model")


def test_local_path_and_file_uri(tmp_path):
    path = tmp_path / "saved_model"
    pyfunc.save_model(str(path), python_model=Reverse())
    assert download_model(str(path)) == str(path)  # used in place, no copy
    for uri in (str(path), path.as_uri()):
        assert pyfunc.load_model(uri).predict(DATA) == ["cba"]


def test_runs_uri_round_trip(tracking_uri):
    with hf_mltrack.start_run() as run:
        info = pyfunc.log_model(artifact_path="llm-wrapper", python_model=Reverse())
    assert info.model_uri == f"models:/{info.model_id}"
    assert info.run_id == run.info.run_id and info.artifact_path == "llm-wrapper"
    runs_uri = f"runs:/{run.info.run_id}/llm-wrapper"
    assert resolve_model_uri(info.model_uri) == resolve_model_uri(runs_uri)
    assert resolve_model_uri(info.model_uri).endswith("/llm-wrapper")
    assert pyfunc.load_model(runs_uri).predict(DATA) == ["cba"]
    assert pyfunc.load_model(info.model_uri).predict(DATA) == ["cba"]
    assert Model.load(info.model_uri).run_id == run.info.run_id
    assert hf_mltrack.models.get_model_info(info.model_uri).model_uuid == info.model_uuid
    # the staging folder (beside the artifacts, for hardlinking) is gone and never was an artifact
    root = download_model(f"runs:/{run.info.run_id}/")
    run_dir = os.path.dirname(root.rstrip(os.sep))
    leftovers = [n for d in (root, run_dir) for n in os.listdir(d) if n.startswith(".hfmltrack-partial")]
    assert leftovers == [] and os.listdir(root) == ["llm-wrapper"]


def test_object_store_artifact_location(tracking_uri, tmp_path):
    pytest.importorskip("fsspec")
    exp = hf_mltrack.create_experiment("remote", artifact_location=f"memory://{uuid.uuid4().hex}/artifacts")
    with hf_mltrack.start_run(experiment_id=exp) as run:
        info = pyfunc.log_model(name="model", python_model=Reverse())
    location = resolve_model_uri(info.model_uri)
    assert location.startswith("memory://") and run.info.run_id
    local = download_model(info.model_uri, dst_path=str(tmp_path / "dl"))
    assert local.startswith(str(tmp_path / "dl"))
    assert pyfunc.load_model(location, dst_path=str(tmp_path / "dl2")).predict(DATA) == ["cba"]
    assert Model.load(location).artifact_path == "model"


def test_models_uri_goes_through_the_registry_hook(tmp_path, monkeypatch):
    import hf_mltrack.registry as registry

    path = tmp_path / "v1"
    pyfunc.save_model(str(path), python_model=Reverse())
    calls = []

    def resolve(name, version=None, stage=None, alias=None):
        calls.append((name, version, stage, alias))
        return path.as_uri()

    monkeypatch.setattr(registry, "resolve_model_uri", resolve, raising=False)
    for uri in ("models:/rev/1", "models:/rev/Production", "models:/rev/latest", "models:/rev@champion"):
        assert pyfunc.load_model(uri).predict(DATA) == ["cba"]
    assert calls == [
        ("rev", "1", None, None),
        ("rev", None, "Production", None),
        ("rev", None, None, None),
        ("rev", None, None, "champion"),
    ]


def test_models_uri_without_registry_is_a_clear_error(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "hf_mltrack.registry", None)  # an installation without the registry
    with pytest.raises(MissingDependencyError, match="models:/ URIs need the model registry"):
        resolve_model_uri("models:/x/1")


def test_registered_model_uris_end_to_end(tracking_uri):
    registry = pytest.importorskip("hf_mltrack.registry")
    if not hasattr(registry, "resolve_model_uri"):
        pytest.skip("the model registry is not available")
    with hf_mltrack.start_run():
        first = pyfunc.log_model("m1", python_model=Reverse(), registered_model_name="reverser")
        second = pyfunc.log_model("m2", python_model=Reverse(), registered_model_name="reverser")
    assert (first.registered_model_version, second.registered_model_version) == (1, 2)
    assert Model.load("models:/reverser/1").artifact_path == "m1"
    assert Model.load("models:/reverser/latest").artifact_path == "m2"
    assert pyfunc.load_model("models:/reverser/2").predict(DATA) == ["cba"]
    client = hf_mltrack.MlTrackClient()
    if hasattr(client, "set_registered_model_alias"):
        client.set_registered_model_alias("reverser", "champion", "1")
        assert Model.load("models:/reverser@champion").artifact_path == "m1"
    if hasattr(client, "transition_model_version_stage"):
        client.transition_model_version_stage("reverser", "2", "Production")
        assert Model.load("models:/reverser/Production").artifact_path == "m2"
