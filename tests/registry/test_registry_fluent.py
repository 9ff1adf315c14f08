"""Fluent registry API: register_model, resolve_model_uri, models:/ URIs, the registry URI."""

from __future__ import annotations

import subprocess
import sys

import pytest
from registry_helpers import client_class

import hf_mltrack
from hf_mltrack.exceptions import InvalidParameterError, ResourceNotFoundError
from hf_mltrack.registry import register_model, resolve_model_uri
from hf_mltrack.registry.uris import parse_models_uri


def test_register_model_creates_the_model_then_versions(reg, log_model) -> None:
    run_id, uri = log_model(reg)
    mv = register_model(uri, "llama2-lora-sft", tags={"framework": "transformers", "method": "lora"})
    assert (mv.name, mv.version, mv.run_id) == ("llama2-lora-sft", "1", run_id)
    assert mv.tags == {"framework": "transformers", "method": "lora"}
    assert mv.source == reg.get_run(run_id).info.artifact_uri + "/model"
    assert register_model(uri, "llama2-lora-sft").version == "2"
    assert reg.get_registered_model("llama2-lora-sft").tags == {}


def test_register_model_refuses_bad_sources_without_leaving_a_model(sqlite_reg) -> None:
    with pytest.raises(InvalidParameterError, match="Invalid model source '/etc'"):
        register_model("/etc", "m")
    with pytest.raises(ResourceNotFoundError):
        sqlite_reg.get_registered_model("m")
    with pytest.raises(InvalidParameterError, match="await_registration_for"):
        register_model("runs:/x/model", "m", await_registration_for=-1)
    with pytest.raises(InvalidParameterError, match="registered model name"):
        register_model("runs:/x/model", "a/b")


def test_resolve_model_uri_selectors(reg, log_model) -> None:
    sources = []
    for i in range(3):
        _, uri = log_model(reg, marker=str(i))
        sources.append(register_model(uri, "m").source)
    reg.transition_model_version_stage("m", 2, "Production")
    reg.transition_model_version_stage("m", 1, "Staging")
    reg.set_registered_model_alias("m", "champion", 1)
    assert resolve_model_uri("m", version=3) == resolve_model_uri("m", version="3") == sources[2]
    assert resolve_model_uri("m", stage="Production") == resolve_model_uri("m", stage="production") == sources[1]
    assert resolve_model_uri("m", stage="Staging") == sources[0]
    assert resolve_model_uri("m") == sources[2]  # latest
    assert resolve_model_uri("m", alias="champion") == sources[0]

    with pytest.raises(ResourceNotFoundError, match=r"no version in stage 'Archived'.*Production: version 2"):
        resolve_model_uri("m", stage="Archived")
    with pytest.raises(ResourceNotFoundError, match="Model version 0 of registered model 'm'"):
        resolve_model_uri("m", version=0)
    with pytest.raises(ResourceNotFoundError, match="no alias 'nope'"):
        resolve_model_uri("m", alias="nope")
    with pytest.raises(ResourceNotFoundError, match="Registered Model with name=ghost not found"):
        resolve_model_uri("ghost")
    with pytest.raises(InvalidParameterError, match="at most one of version, stage and alias"):
        resolve_model_uri("m", version=1, stage="Production")
    reg.create_registered_model("empty")
    with pytest.raises(ResourceNotFoundError, match="'empty' has no versions"):
        resolve_model_uri("empty")


def test_models_uris_through_the_model_uri_resolver(reg, log_model) -> None:
    uri_mod = pytest.importorskip("hf_mltrack.models.uri")
    _, uri = log_model(reg)
    v1 = register_model(uri, "llama2-lora-sft")
    v2 = register_model(uri, "llama2-lora-sft")
    reg.transition_model_version_stage("llama2-lora-sft", 1, "Production")
    reg.set_registered_model_alias("llama2-lora-sft", "champion", 2)
    assert uri_mod.resolve_model_uri("models:/llama2-lora-sft/Production") == v1.source
    assert uri_mod.resolve_model_uri("models:/llama2-lora-sft/1") == v1.source
    assert uri_mod.resolve_model_uri("models:/llama2-lora-sft/latest") == v2.source
    assert uri_mod.resolve_model_uri("models:/llama2-lora-sft@champion") == v2.source
    assert uri_mod.resolve_model_uri("models:/llama2-lora-sft/1/MLmodel") == v1.source + "/MLmodel"
    with pytest.raises(ResourceNotFoundError, match="Model version 0"):
        uri_mod.resolve_model_uri("models:/llama2-lora-sft/0")


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("models:/m/3", ("m", "3", None, None, "")),
        ("models:/m/production", ("m", None, "Production", None, "")),
        ("models:/m/latest", ("m", None, None, None, "")),
        ("models:/m@champion", ("m", None, None, "champion", "")),
        ("models:/my%20model/1/sub/dir", ("my model", "1", None, None, "sub/dir")),
    ],
)
def test_parse_models_uri(uri, expected) -> None:
    p = parse_models_uri(uri)
    assert (p.name, p.version, p.stage, p.alias, p.sub_path) == expected


@pytest.mark.parametrize("uri", ["models:/m", "models://m/1", "models:/m/Prod", "models:/@a", "runs:/x/y"])
def test_parse_models_uri_errors(uri) -> None:
    with pytest.raises(InvalidParameterError, match="models"):
        parse_models_uri(uri)


def test_separate_registry_uri(tracking_uri, tmp_path, log_model, monkeypatch) -> None:
    from hf_mltrack.registry import get_registry_uri, set_registry_uri

    tracking = client_class()(tracking_uri)
    _, uri = log_model(tracking)
    registry_db = f"sqlite:///{tmp_path / 'registry' / 'registry.db'}"
    set_registry_uri(registry_db)
    assert get_registry_uri() == registry_db
    mv = register_model(uri, "m")  # the source is checked against the tracking store
    assert mv.version == "1"
    assert client_class()(tracking_uri, registry_uri=registry_db).get_registered_model("m").name == "m"
    assert tracking.search_registered_models() == []  # not in the tracking database
    set_registry_uri(None)
    monkeypatch.setenv("HF_MLTRACK_REGISTRY_URI", registry_db)
    assert get_registry_uri() == registry_db
    assert resolve_model_uri("m", version=1) == mv.source


def test_top_level_register_model_when_exported(reg, log_model) -> None:
    fn = getattr(hf_mltrack, "register_model", None)
    if fn is None:
        pytest.skip("hf_mltrack.register_model is not exported at top level yet")
    _, uri = log_model(reg)
    assert fn(uri, "m").version == "1"


def test_import_is_cheap() -> None:
    code = (
        "import sys, hf_mltrack.registry, hf_mltrack.registry.client_mixin; "
        "bad = [m for m in ('sqlalchemy', 'torch', 'transformers', 'pandas') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
