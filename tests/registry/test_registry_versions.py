"""Model versions: numbering, get/update/delete rules, tags, search, latest versions, download URI."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from registry_helpers import client_class

from hf_mltrack.exceptions import InvalidParameterError, InvalidStateError, ResourceNotFoundError


@pytest.fixture
def model(reg, log_model):
    """A registered model 'm' and a model logged to a run: returns (run_id, runs uri)."""
    reg.create_registered_model("m")
    return log_model(reg)


def test_versions_count_from_one_with_run_and_source(reg, model) -> None:
    run_id, uri = model
    mv = reg.create_model_version(
        "m", uri, tags={"framework": "transformers"}, description="first", run_link="http://x"
    )
    assert mv.version == "1"
    assert mv.current_stage == "None" and mv.status == "READY"
    assert mv.run_id == run_id
    assert mv.source == reg.get_run(run_id).info.artifact_uri + "/model"
    assert mv.tags == {"framework": "transformers"} and mv.description == "first" and mv.run_link == "http://x"
    assert mv.user_id
    assert reg.create_model_version("m", uri).version == "2"
    assert reg.get_model_version("m", "1") == reg.get_model_version("m", 1) == mv


def test_version_numbers_are_never_reused(reg, model) -> None:
    _, uri = model
    for _ in range(3):
        reg.create_model_version("m", uri)
    reg.delete_model_version("m", 3)  # the newest one
    reg.delete_model_version("m", 2)
    assert reg.create_model_version("m", uri).version == "4"
    assert [mv.version for mv in reg.search_model_versions("name = 'm'")] == ["4", "1"]
    with pytest.raises(ResourceNotFoundError, match="Model version 3 of registered model 'm' does not exist"):
        reg.get_model_version("m", 3)


def test_version_zero_and_unknown_versions_are_named(reg, model) -> None:
    _, uri = model
    reg.create_model_version("m", uri)
    with pytest.raises(ResourceNotFoundError, match=r"Model version 0 of registered model 'm'.*count from 1.*1"):
        reg.get_model_version("m", 0)
    with pytest.raises(ResourceNotFoundError, match=r"Model version 0 .*'m'"):
        reg.transition_model_version_stage("m", 0, "Production")
    with pytest.raises(ResourceNotFoundError, match="Model version 7 "):
        reg.update_model_version("m", 7, "x")
    with pytest.raises(ResourceNotFoundError, match="Registered Model with name=other not found"):
        reg.get_model_version("other", 1)
    with pytest.raises(ResourceNotFoundError, match="Registered Model with name=other not found"):
        reg.create_model_version("other", uri)


@pytest.mark.parametrize("bad", ["one", "1.5", True, None, 1.0], ids=["word", "decimal", "bool", "none", "float"])
def test_malformed_versions_are_refused(reg, model, bad) -> None:
    with pytest.raises(InvalidParameterError, match="Invalid model version"):
        reg.get_model_version("m", bad)


def test_update_description_and_tags(reg, model) -> None:
    _, uri = model
    reg.create_model_version("m", uri)
    mv = reg.update_model_version("m", 1, description="LoRA fine-tuned, eval_loss=1.234")
    assert mv.description == "LoRA fine-tuned, eval_loss=1.234"
    reg.set_model_version_tag("m", 1, "approved_by", "team-lead")
    reg.set_model_version_tag("m", "1", "approved_by", "tech-lead")
    reg.set_model_version_tag("m", 1, "base_model", "mistral-7b")
    assert reg.get_model_version("m", 1).tags == {"approved_by": "tech-lead", "base_model": "mistral-7b"}
    reg.delete_model_version_tag("m", 1, "approved_by")
    assert reg.get_model_version("m", 1).tags == {"base_model": "mistral-7b"}
    with pytest.raises(ResourceNotFoundError, match="has no tag 'approved_by'"):
        reg.delete_model_version_tag("m", 1, "approved_by")
    with pytest.raises(InvalidParameterError, match="tag"):
        reg.set_model_version_tag("m", 1, "", "x")


@pytest.mark.parametrize("stage", ["Staging", "Production"])
def test_versions_in_use_cannot_be_deleted(reg, model, stage) -> None:
    _, uri = model
    reg.create_model_version("m", uri)
    reg.transition_model_version_stage("m", 1, stage)
    with pytest.raises(
        InvalidStateError, match=rf"Model version 1 of registered model 'm' is in stage '{stage}'.*archive"
    ):
        reg.delete_model_version("m", 1)
    assert reg.get_model_version("m", 1).current_stage == stage
    reg.transition_model_version_stage("m", 1, "Archived")
    reg.delete_model_version("m", 1)
    with pytest.raises(ResourceNotFoundError):
        reg.get_model_version("m", 1)


def test_delete_version_removes_its_tags_and_aliases(reg, model) -> None:
    _, uri = model
    reg.create_model_version("m", uri, tags={"a": "b"})
    reg.create_model_version("m", uri)
    reg.set_registered_model_alias("m", "candidate", 1)
    reg.delete_model_version("m", 1)
    assert reg.get_registered_model("m").aliases == {}
    with pytest.raises(ResourceNotFoundError, match="no alias 'candidate'"):
        reg.get_model_version_by_alias("m", "candidate")
    assert reg.search_model_versions("tags.a = 'b'") == []
    with pytest.raises(ResourceNotFoundError):
        reg.delete_model_version("m", 1)


def test_search_model_versions(reg, log_model) -> None:
    run_a, uri_a = log_model(reg)
    run_b, uri_b = log_model(reg)
    reg.create_registered_model("llama2-lora-sft")
    reg.create_registered_model("other")
    reg.create_model_version("llama2-lora-sft", uri_a, tags={"approved_by": "team-lead"})
    time.sleep(0.003)  # distinct update times: the default order is the most recently updated first
    reg.create_model_version("llama2-lora-sft", uri_b)
    time.sleep(0.003)
    reg.create_model_version("other", uri_a)
    key = lambda f, **kw: [(mv.name, mv.version) for mv in reg.search_model_versions(f, **kw)]  # noqa: E731
    assert key("name='llama2-lora-sft'") == [("llama2-lora-sft", "2"), ("llama2-lora-sft", "1")]
    assert key(f"run_id='{run_a}'") == [("other", "1"), ("llama2-lora-sft", "1")]
    assert key(f"run_id = '{run_b}' and name = 'llama2-lora-sft'") == [("llama2-lora-sft", "2")]
    assert key("tags.approved_by = 'team-lead'") == [("llama2-lora-sft", "1")]
    assert key("tags.approved_by != 'x'") == [("llama2-lora-sft", "1")]
    assert key("name LIKE 'llama%' and version_number >= 2") == [("llama2-lora-sft", "2")]
    assert key(f"run_id IN ('{run_b}', 'nope')") == [("llama2-lora-sft", "2")]
    assert key(None) == [("other", "1"), ("llama2-lora-sft", "2"), ("llama2-lora-sft", "1")]
    time.sleep(0.003)
    reg.update_model_version("llama2-lora-sft", 1, "reviewed")  # an update moves a version to the front
    assert key(None) == [("llama2-lora-sft", "1"), ("other", "1"), ("llama2-lora-sft", "2")]
    # an explicit order replaces the default; name ASC, version DESC still break its ties
    assert key(None, order_by=["version_number ASC", "name DESC"]) == [
        ("other", "1"),
        ("llama2-lora-sft", "1"),
        ("llama2-lora-sft", "2"),
    ]
    assert key(None, order_by=["version_number ASC"]) == [
        ("llama2-lora-sft", "1"),
        ("other", "1"),
        ("llama2-lora-sft", "2"),
    ]
    page = reg.search_model_versions(max_results=2)
    assert [(mv.name, mv.version) for mv in page] == [("llama2-lora-sft", "1"), ("other", "1")] and page.token
    rest = reg.search_model_versions(max_results=2, page_token=page.token)
    assert [(mv.name, mv.version) for mv in rest] == [("llama2-lora-sft", "2")] and rest.token is None
    assert key("name = 'nothing'") == []


def test_get_latest_versions(reg, model) -> None:
    _, uri = model
    for _ in range(4):
        reg.create_model_version("m", uri)
    reg.transition_model_version_stage("m", 1, "Production")
    reg.transition_model_version_stage("m", 2, "Staging")
    by = lambda stages: [(mv.current_stage, mv.version) for mv in reg.get_latest_versions("m", stages)]  # noqa: E731
    assert by(["Production"]) == [("Production", "1")]
    assert by(["production", "STAGING"]) == [("Production", "1"), ("Staging", "2")]
    assert by(["None"]) == [("None", "4")]
    assert by(["Archived"]) == []
    assert by(None) == [("None", "4"), ("Staging", "2"), ("Production", "1")]
    with pytest.raises(InvalidParameterError, match="Invalid model version stage 'Prod'"):
        reg.get_latest_versions("m", ["Prod"])


def test_download_uri_is_the_source(reg, model) -> None:
    run_id, uri = model
    reg.create_model_version("m", uri)
    assert reg.get_model_version_download_uri("m", 1) == reg.get_run(run_id).info.artifact_uri + "/model"


def test_a_logged_model_lists_the_versions_registered_from_it(reg) -> None:
    """MLflow's ``mlflow.modelVersions`` logged-model tag: a JSON list of {name, version}, oldest first."""
    model = reg.create_logged_model("0")
    other = reg.create_logged_model("0")
    reg.create_registered_model("m")
    reg.create_registered_model("n")
    reg.create_model_version("m", model.artifact_location, model_id=model.model_id)
    assert reg.get_logged_model(model.model_id).tags["mlflow.modelVersions"] == '[{"name": "m", "version": 1}]'
    reg.create_model_version("m", model.artifact_location, model_id=model.model_id)
    reg.create_model_version("n", f"models:/{model.model_id}")  # the id taken from a models:/m-... source
    assert reg.get_logged_model(model.model_id).tags["mlflow.modelVersions"] == (
        '[{"name": "m", "version": 1}, {"name": "m", "version": 2}, {"name": "n", "version": 1}]'
    )
    assert "mlflow.modelVersions" not in reg.get_logged_model(other.model_id).tags


def _register_concurrently_and_list(reg) -> list[dict]:  # type: ignore[no-untyped-def]
    """8 threads x 5 versions registered from one new logged model at once (to 8 registered models, so that
    PostgreSQL runs them side by side); the model's ``mlflow.modelVersions`` entries afterwards."""
    import threading

    model = reg.create_logged_model("0")
    for t in range(8):
        reg.create_registered_model(f"m{t}")
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def register(t: int) -> None:
        try:
            start.wait(timeout=30)
            for _ in range(5):
                reg.create_model_version(f"m{t}", model.artifact_location, model_id=model.model_id)
        except BaseException as exc:  # noqa: BLE001  (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=register, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
    assert not errors, errors
    return json.loads(reg.get_logged_model(model.model_id).tags["mlflow.modelVersions"])


def _assert_all_listed_in_order(listed: list[dict]) -> None:
    assert sorted((e["name"], e["version"]) for e in listed) == [(f"m{t}", v) for t in range(8) for v in range(1, 6)]
    for t in range(8):  # oldest first within each registered model
        assert [e["version"] for e in listed if e["name"] == f"m{t}"] == [1, 2, 3, 4, 5]


def test_concurrent_registrations_from_one_logged_model_are_all_listed(reg) -> None:
    """8 threads x 5 versions registered from one logged model at once (to 8 registered models, so that
    PostgreSQL runs them side by side): the ``mlflow.modelVersions`` tag lists every one, none lost to a
    read-modify-write race (the store rebuilds it from ``model_versions`` in the version's transaction)."""
    _assert_all_listed_in_order(_register_concurrently_and_list(reg))


def test_a_registry_in_another_database_lists_concurrent_versions_on_the_logged_model(
    store_uri: str, tmp_path: Path
) -> None:
    """The registry kept apart from the tracking store (its own SQLite file): the client adds each version to
    the logged model's ``mlflow.modelVersions`` in one tracking-store transaction, so 8 threads x 5
    registrations from one model lose none (a read-then-write lost entries), each model's versions in order."""
    reg = client_class()(store_uri, registry_uri=f"sqlite:///{tmp_path / 'registry.db'}")
    _assert_all_listed_in_order(_register_concurrently_and_list(reg))


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (None, [{"name": "a", "version": 2}]),
        ("not json", [{"name": "a", "version": 2}]),
        ('{"a": 1}', [{"name": "a", "version": 2}]),
        ('[{"name": "a", "version": 3}, {"name": "b", "version": 1}]', None),  # placed below
        ('[{"name": "a", "version": 2}]', "unchanged"),
    ],
    ids=["none", "not-json", "not-a-list", "concurrent-later-first", "already-listed"],
)
def test_with_version_listed(before: str | None, after: object) -> None:
    from hf_mltrack.entities.registry import with_version_listed

    got = with_version_listed(before, "a", 2)
    if after == "unchanged":
        assert got is None
    elif after is None:  # a later version of "a" was listed first: "a" 2 takes its slot, 3 moves to the end
        assert json.loads(got or "") == [
            {"name": "a", "version": 2},
            {"name": "b", "version": 1},
            {"name": "a", "version": 3},
        ]
    else:
        assert json.loads(got or "") == after
