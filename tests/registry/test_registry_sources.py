"""Source validation: a version's files must be a model inside this tracking store's artifact locations."""

from __future__ import annotations

import os

import pytest
from registry_helpers import local_path, write_model

from hf_mltrack.exceptions import InvalidParameterError, ResourceNotFoundError


@pytest.fixture
def logged(sqlite_reg, log_model):
    """(run_id, runs uri, the run's model folder) with model 'm' registered."""
    sqlite_reg.create_registered_model("m")
    run_id, uri = log_model(sqlite_reg)
    folder = local_path(sqlite_reg.get_run(run_id).info.artifact_uri) / "model"
    return run_id, uri, folder


def test_runs_uri_resolves_to_the_run_artifacts(sqlite_reg, logged) -> None:
    run_id, uri, folder = logged
    mv = sqlite_reg.create_model_version("m", uri)
    assert mv.run_id == run_id and mv.source == folder.as_uri()
    # the same run given explicitly is fine
    assert sqlite_reg.create_model_version("m", uri, run_id=run_id).run_id == run_id


def test_artifact_uri_and_absolute_path_inside_the_store(sqlite_reg, logged) -> None:
    run_id, _, folder = logged
    assert sqlite_reg.create_model_version("m", folder.as_uri(), run_id=run_id).source == folder.as_uri()
    mv = sqlite_reg.create_model_version("m", str(folder))
    assert mv.source == folder.as_uri() and mv.run_id is None


def test_models_uri_source_is_the_versions_source(sqlite_reg, logged) -> None:
    run_id, uri, folder = logged
    sqlite_reg.create_model_version("m", uri)
    sqlite_reg.create_registered_model("copy")
    mv = sqlite_reg.create_model_version("copy", "models:/m/1")
    assert mv.source == folder.as_uri() and mv.run_id == run_id
    copied = sqlite_reg.copy_model_version("models:/m/latest", "copy2")
    assert copied.name == "copy2" and copied.version == "1" and copied.source == folder.as_uri()
    with pytest.raises(ResourceNotFoundError, match="Model version 5"):
        sqlite_reg.create_model_version("copy", "models:/m/5")
    with pytest.raises(ResourceNotFoundError, match="Model version 5"):
        sqlite_reg.copy_model_version("models:/m/5", "copy3")
    with pytest.raises(ResourceNotFoundError):
        sqlite_reg.get_registered_model("copy3")  # nothing left behind


@pytest.mark.parametrize(
    "source",
    [
        "/etc",
        "/etc/passwd",
        "file:///etc/passwd",
        "file:///",
        "relative/model",
        "./model",
        "http://example.com/model",
        "https://example.com/model.tar.gz",
        "s3://someone-elses-bucket/model",
        "ftp://host/model",
    ],
)
def test_locations_outside_the_store_are_refused(sqlite_reg, logged, source) -> None:
    with pytest.raises(InvalidParameterError, match="Invalid model source"):
        sqlite_reg.create_model_version("m", source)
    assert sqlite_reg.search_model_versions("name = 'm'") == []


def test_traversal_in_any_form_is_refused(sqlite_reg, logged) -> None:
    run_id, uri, folder = logged
    root = folder.parent.as_uri()
    for source in [
        f"runs:/{run_id}/../../../../etc",
        f"runs:/{run_id}/model/..",
        f"runs:/{run_id}/%2e%2e/%2e%2e/x",
        f"runs:/{run_id}/%252e%252e/x",
        f"{root}/../artifacts/model",
        f"{root}/./model",
        f"{root}/model%2F..%2F..%2Fx",
        str(folder) + "/../model",
        f"runs:/{run_id}/model\\..\\..",
        f"runs:/{run_id}/model\x00",
        f"{root}/model?x=1",
        f"{root}/model#frag",
    ]:
        with pytest.raises(InvalidParameterError, match="Invalid model source") as info:
            sqlite_reg.create_model_version("m", source)
        assert repr(source)[1:-1][:30] in str(info.value) or source[:20] in str(info.value)


def test_symlink_escaping_the_store_is_refused(sqlite_reg, logged, tmp_path) -> None:
    run_id, _, folder = logged
    outside = write_model(tmp_path / "outside_model")
    link = folder.parent / "sneaky"
    os.symlink(outside, link)
    with pytest.raises(InvalidParameterError, match="outside"):
        sqlite_reg.create_model_version("m", link.as_uri())
    with pytest.raises(InvalidParameterError, match="outside"):
        sqlite_reg.create_model_version("m", link.as_uri(), run_id=run_id)
    # through runs:/ the link resolves outside too: refused as not being inside the run
    with pytest.raises(InvalidParameterError, match="Invalid model source"):
        sqlite_reg.create_model_version("m", f"runs:/{run_id}/sneaky")


def test_a_source_may_be_registered_before_its_files(sqlite_reg, logged) -> None:
    """MLflow 3.17 registers a location inside the run before the model is uploaded there."""
    run_id, _, folder = logged
    (folder.parent / "not_a_model").mkdir()
    assert sqlite_reg.create_model_version("m", f"runs:/{run_id}/not_a_model").source.endswith("/not_a_model")
    mv = sqlite_reg.create_model_version("m", f"runs:/{run_id}/missing")
    assert mv.source == (folder.parent / "missing").as_uri() and mv.run_id == run_id


def test_run_id_must_match_and_exist(sqlite_reg, logged, log_model) -> None:
    run_id, uri, folder = logged
    other_run, _ = log_model(sqlite_reg)
    with pytest.raises(InvalidParameterError, match=f"but run_id='{other_run}'"):
        sqlite_reg.create_model_version("m", uri, run_id=other_run)
    with pytest.raises(InvalidParameterError, match=f"outside the artifacts of run '{other_run}'"):
        sqlite_reg.create_model_version("m", folder.as_uri(), run_id=other_run)
    # a run of another tracking store: kept as the runs URI (it resolves against this store's runs only)
    mv = sqlite_reg.create_model_version("m", "runs:/f00/model")
    assert (mv.source, mv.run_id) == ("runs:/f00/model", "f00")


def test_custom_experiment_locations_count(sqlite_reg, tmp_path, log_model) -> None:
    exp = sqlite_reg.create_experiment("elsewhere", artifact_location=str(tmp_path / "team_artifacts"))
    sqlite_reg.create_registered_model("m")
    run_id, uri = log_model(sqlite_reg, experiment_id=exp)
    folder = local_path(sqlite_reg.get_run(run_id).info.artifact_uri) / "model"
    assert str(folder).startswith(str(tmp_path / "team_artifacts"))
    assert sqlite_reg.create_model_version("m", folder.as_uri()).source == folder.as_uri()
    sibling = write_model(tmp_path / "team_artifacts_evil" / "model")
    with pytest.raises(InvalidParameterError, match="outside"):
        sqlite_reg.create_model_version("m", sibling.as_uri())


def test_resolve_source_on_object_store_locations() -> None:
    """Non-file locations are matched by scheme, bucket and whole path segments."""
    from hf_mltrack.registry.sources import resolve_source

    def check(source: str, run_id: str | None = None) -> str:
        return resolve_source(
            source,
            run_id,
            run_artifact_uri=lambda rid: f"s3://bucket/exp/1/{rid}/artifacts",
            artifact_roots=lambda: ["s3://bucket/exp/1", "mlflow-artifacts:/2"],
            models_uri_source=lambda uri: ("unused", None),
        ).source

    assert check("s3://bucket/exp/1/abc/artifacts/model") == "s3://bucket/exp/1/abc/artifacts/model"
    assert check("runs:/abc/model") == "s3://bucket/exp/1/abc/artifacts/model"
    assert check("mlflow-artifacts:/2/r/artifacts/model") == "mlflow-artifacts:/2/r/artifacts/model"
    for bad in [
        "s3://bucket/exp/10/x",
        "s3://other/exp/1/x",
        "gs://bucket/exp/1/x",
        "s3://bucket/exp/1/../2/x",
    ]:
        with pytest.raises(InvalidParameterError):
            check(bad)
    with pytest.raises(InvalidParameterError, match="outside the artifacts of run 'zzz'"):
        check("s3://bucket/exp/1/abc/artifacts/model", run_id="zzz")
