"""The fluent API on both backends: runs, params, metrics, tags, experiments, search."""

from __future__ import annotations

import math

import pytest

import hf_mltrack
from hf_mltrack.entities import RunStatus, ViewType
from hf_mltrack.exceptions import InvalidParameterError, InvalidStateError, ResourceNotFoundError
from hf_mltrack.tracking import MlTrackClient


def test_seed_basic_run(store_uri: str) -> None:
    with hf_mltrack.start_run() as run:
        hf_mltrack.log_param("learning_rate", 2e-5)
        hf_mltrack.log_metric("train_loss", 1.234)
    stored = hf_mltrack.get_run(run.info.run_id)
    assert stored.info.status == RunStatus.FINISHED
    assert stored.info.end_time is not None and stored.info.end_time >= stored.info.start_time
    assert stored.data.params == {"learning_rate": "2e-05"}
    assert stored.data.metrics == {"train_loss": 1.234}
    assert stored.info.experiment_id == "0"


def test_start_run_full_options_and_system_tags(store_uri: str) -> None:
    exp_id = hf_mltrack.create_experiment("LLM-FineTuning", tags={"team": "nlp"})
    with hf_mltrack.start_run(
        run_name="llama2-lora-sft-01",
        experiment_id=exp_id,
        description="LoRA微调Llama2",
        tags={"framework": "transformers", "method": "lora", "dataset": "alpaca"},
    ) as run:
        assert run.info.artifact_uri.endswith(f"/{run.info.run_id}/artifacts")
        assert run.info.run_name == "llama2-lora-sft-01"
    tags = hf_mltrack.get_run(run.info.run_id).data.tags
    assert tags["hf_mltrack.runName"] == "llama2-lora-sft-01"
    assert tags["hf_mltrack.note.content"] == "LoRA微调Llama2"
    assert tags["method"] == "lora"
    assert tags["hf_mltrack.user"]
    assert tags["hf_mltrack.source.name"]
    assert run.info.experiment_id == exp_id


def test_failed_on_exception_and_exception_propagates(store_uri: str) -> None:
    with pytest.raises(ZeroDivisionError):
        with hf_mltrack.start_run() as run:
            hf_mltrack.log_metric("m", 1.0)
            1 / 0  # noqa: B018
    assert hf_mltrack.get_run(run.info.run_id).info.status == RunStatus.FAILED
    assert hf_mltrack.active_run() is None


def test_nested_runs(store_uri: str) -> None:
    with hf_mltrack.start_run(run_name="parent") as parent:
        hf_mltrack.log_param("model", "llama2-7b")
        with hf_mltrack.start_run(run_name="child-lora", nested=True) as child:
            hf_mltrack.log_param("lora_rank", 8)
            hf_mltrack.log_metric("eval_loss", 1.5)
            assert hf_mltrack.active_run().info.run_id == child.info.run_id
        assert hf_mltrack.active_run().info.run_id == parent.info.run_id
    child_run = hf_mltrack.get_run(child.info.run_id)
    assert child_run.data.tags["hf_mltrack.parentRunId"] == parent.info.run_id
    assert hf_mltrack.get_parent_run(child.info.run_id).info.run_id == parent.info.run_id
    assert child_run.data.params == {"lora_rank": "8"}


def test_second_top_level_run_is_an_error(store_uri: str) -> None:
    with hf_mltrack.start_run() as run:
        with pytest.raises(InvalidStateError, match=run.info.run_id):
            hf_mltrack.start_run()


def test_resume_by_run_id_and_env(store_uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with hf_mltrack.start_run() as run:
        hf_mltrack.log_metric("loss", 2.0, step=1)
    with hf_mltrack.start_run(run_id=run.info.run_id) as resumed:
        assert resumed.info.run_id == run.info.run_id
        assert hf_mltrack.get_run(run.info.run_id).info.status == RunStatus.RUNNING
        hf_mltrack.log_metric("loss", 1.0, step=2)
    monkeypatch.setenv("HF_MLTRACK_RUN_ID", run.info.run_id)
    with hf_mltrack.start_run() as again:
        assert again.info.run_id == run.info.run_id
        hf_mltrack.log_metric("loss", 0.5, step=3)
    history = MlTrackClient().get_metric_history(run.info.run_id, "loss")
    assert [m.step for m in history] == [1, 2, 3]
    assert hf_mltrack.get_run(run.info.run_id).info.status == RunStatus.FINISHED


def test_resume_unknown_run_names_it(store_uri: str) -> None:
    with pytest.raises(ResourceNotFoundError, match="nope123"):
        hf_mltrack.start_run(run_id="nope123")


def test_end_run_status_and_last_active_run(store_uri: str) -> None:
    run = hf_mltrack.start_run()
    hf_mltrack.end_run(status="KILLED")
    assert hf_mltrack.active_run() is None
    assert hf_mltrack.last_active_run().info.status == RunStatus.KILLED
    assert hf_mltrack.last_active_run().info.run_id == run.info.run_id
    with pytest.raises(InvalidParameterError, match="DONE"):
        hf_mltrack.start_run()
        hf_mltrack.end_run(status="DONE")


def test_log_param_without_active_run_starts_one(store_uri: str) -> None:
    assert hf_mltrack.log_param("a", 1) == 1
    run = hf_mltrack.active_run()
    assert run is not None
    hf_mltrack.end_run()
    assert hf_mltrack.get_run(run.info.run_id).data.params == {"a": "1"}


@pytest.mark.parametrize(
    ("value", "stored"),
    [("x", "x"), (3, "3"), (2e-5, "2e-05"), (True, "True"), (None, "None")],
    ids=["str", "int", "float", "bool", "none"],
)
def test_param_types(store_uri: str, value: object, stored: str) -> None:
    with hf_mltrack.start_run() as run:
        hf_mltrack.log_param("p", value)
    assert hf_mltrack.get_run(run.info.run_id).data.params["p"] == stored


def test_param_complex_value_is_an_error(store_uri: str) -> None:
    with hf_mltrack.start_run():
        with pytest.raises(InvalidParameterError, match=r"json.dumps"):
            hf_mltrack.log_param("target_modules", ["q_proj", "v_proj"])


def test_param_relog_same_ok_different_error(store_uri: str) -> None:
    with hf_mltrack.start_run() as run:
        hf_mltrack.log_param("lr", 0.1)
        hf_mltrack.log_param("lr", 0.1)
        with pytest.raises(InvalidParameterError) as err:
            hf_mltrack.log_param("lr", 0.2)
    assert "'lr'" in str(err.value) and "'0.1'" in str(err.value) and "'0.2'" in str(err.value)
    assert hf_mltrack.get_run(run.info.run_id).data.params == {"lr": "0.1"}


def test_param_conflict_with_value_from_another_client_is_reported(store_uri: str) -> None:
    with hf_mltrack.start_run() as run:
        MlTrackClient().log_param(run.info.run_id, "lr", "0.1", synchronous=True)
        hf_mltrack.log_param("lr", "0.2")
        with pytest.raises(InvalidParameterError, match="'0.1'.*'0.2'"):
            hf_mltrack.flush_async_logging()
        hf_mltrack.log_metric("still_works", 1.0)
    assert hf_mltrack.get_run(run.info.run_id).data.metrics == {"still_works": 1.0}


def test_long_param_truncated_with_warning(store_uri: str) -> None:
    with hf_mltrack.start_run() as run:
        with pytest.warns(UserWarning, match="truncated"):
            hf_mltrack.log_param("prompt", "x" * 10_000)
    value = hf_mltrack.get_run(run.info.run_id).data.params["prompt"]
    assert len(value) == 6000 and value.endswith("...[truncated]")


def test_metrics_steps_replace_and_batch(store_uri: str) -> None:
    with hf_mltrack.start_run() as run:
        hf_mltrack.log_metric("train_loss", 2.345, step=10)
        hf_mltrack.log_metric("train_loss", 1.876, step=20)
        hf_mltrack.log_metric("train_loss", 1.523, step=30)
        hf_mltrack.log_metric("train_loss", 1.5, step=20)  # later value at the same step wins
        hf_mltrack.log_metrics({"eval_loss": 1.789, "eval_perplexity": 5.98, "eval_accuracy": 0.62}, step=100)
    client = MlTrackClient()
    history = client.get_metric_history(run.info.run_id, "train_loss")
    assert [(m.step, m.value) for m in history] == [(10, 2.345), (20, 1.5), (30, 1.523)]
    metrics = hf_mltrack.get_run(run.info.run_id).data.metrics
    assert metrics == {
        "train_loss": 1.523,
        "eval_loss": 1.789,
        "eval_perplexity": 5.98,
        "eval_accuracy": 0.62,
    }


def test_latest_metric_is_highest_step_not_last_logged(store_uri: str) -> None:
    with hf_mltrack.start_run() as run:
        hf_mltrack.log_metric("m", 5.0, step=5)
        hf_mltrack.flush_async_logging()
        hf_mltrack.log_metric("m", 1.0, step=1)
    assert hf_mltrack.get_run(run.info.run_id).data.metrics["m"] == 5.0


def test_nan_and_inf_stored_faithfully(store_uri: str) -> None:
    with hf_mltrack.start_run() as run:
        hf_mltrack.log_metric("nan", float("nan"))
        hf_mltrack.log_metric("pinf", float("inf"))
        hf_mltrack.log_metric("ninf", float("-inf"), step=2)
    metrics = hf_mltrack.get_run(run.info.run_id).data.metrics
    assert math.isnan(metrics["nan"])
    assert metrics["pinf"] == math.inf and metrics["ninf"] == -math.inf
    assert math.isnan(MlTrackClient().get_metric_history(run.info.run_id, "nan")[0].value)


@pytest.mark.parametrize("bad", [None, "1.0", [1.0], {"a": 1}], ids=["none", "str", "list", "dict"])
def test_bad_metric_value_names_key(store_uri: str, bad: object) -> None:
    with hf_mltrack.start_run():
        with pytest.raises(InvalidParameterError, match="'train_loss'"):
            hf_mltrack.log_metric("train_loss", bad)  # type: ignore[arg-type]
        with pytest.raises(InvalidParameterError, match="'eval_loss'"):
            hf_mltrack.log_metrics({"ok": 1.0, "eval_loss": bad})  # type: ignore[dict-item]


def test_numpy_and_int_metrics_accepted(store_uri: str) -> None:
    import numpy as np

    with hf_mltrack.start_run() as run:
        hf_mltrack.log_metric("np", np.float32(0.5), step=np.int64(3))
        hf_mltrack.log_metric("int", 7)
    data = hf_mltrack.get_run(run.info.run_id).data.metrics
    assert data == {"np": 0.5, "int": 7.0}
    assert MlTrackClient().get_metric_history(run.info.run_id, "np")[0].step == 3


@pytest.mark.parametrize(
    "key", ["", "a/../b", "/abs", "x" * 300, "nul\x00"], ids=["empty", "dotdot", "abs", "long", "nul"]
)
def test_bad_keys(store_uri: str, key: str) -> None:
    with hf_mltrack.start_run():
        with pytest.raises(InvalidParameterError):
            hf_mltrack.log_metric(key, 1.0)


def test_a_value_the_database_refuses_is_reported_as_invalid_and_costs_only_itself(store_uri: str) -> None:
    """PostgreSQL refuses a NUL in a text value (SQLite stores it): the flush raises our InvalidParameterError
    naming the cause and the fix (not SQLAlchemy's DataError with the statement and its parameters), and the
    refused tag or param costs only itself: the metrics, tags and params queued beside it are stored."""
    with hf_mltrack.start_run() as run:
        for queue_a_bad_value in (
            lambda: (hf_mltrack.log_metric("loss", 0.5, step=1), hf_mltrack.set_tag("bad", "a\x00b")),
            lambda: (hf_mltrack.set_tag("good", "yes"), hf_mltrack.log_params({"q": "ok", "r": "a\x00b"})),
        ):
            queue_a_bad_value()
            if store_uri.startswith("sqlite"):
                hf_mltrack.flush_async_logging()
                continue
            with pytest.raises(InvalidParameterError, match=r"NUL.*remove the NUL characters") as info:
                hf_mltrack.flush_async_logging()
            assert "INSERT" not in str(info.value) and "a\x00b" not in str(info.value)
        hf_mltrack.set_tag("after", "fine")
    data = hf_mltrack.get_run(run.info.run_id).data
    assert data.metrics == {"loss": 0.5} and data.tags["good"] == "yes" and data.tags["after"] == "fine"
    assert data.params["q"] == "ok"
    if not store_uri.startswith("sqlite"):
        assert "bad" not in data.tags and "r" not in data.params


def test_tags_set_and_delete(store_uri: str) -> None:
    with hf_mltrack.start_run() as run:
        hf_mltrack.set_tag("stage", "a")
        hf_mltrack.set_tag("stage", "b")
        hf_mltrack.set_tags({"x": 1, "y": "2"})
        hf_mltrack.delete_tag("y")
    tags = hf_mltrack.get_run(run.info.run_id).data.tags
    assert tags["stage"] == "b" and tags["x"] == "1" and "y" not in tags
    with pytest.raises(ResourceNotFoundError, match=f"No tag with name: nope in run with id {run.info.run_id}"):
        MlTrackClient().delete_tag(run.info.run_id, "nope")  # MLflow's wording, naming the key and the run
    with pytest.raises(ResourceNotFoundError, match="^Run with id=missing not found"):
        MlTrackClient().delete_tag("missing", "stage")
    MlTrackClient().delete_run(run.info.run_id)
    with pytest.raises(
        InvalidStateError, match=rf"The run {run.info.run_id} must be in the 'active' state.*restore_run"
    ):
        MlTrackClient().delete_tag(run.info.run_id, "stage")


def test_run_name_tag_renames_run(store_uri: str) -> None:
    with hf_mltrack.start_run(run_name="a") as run:
        hf_mltrack.set_tag("hf_mltrack.runName", "b")
    assert hf_mltrack.get_run(run.info.run_id).info.run_name == "b"


def test_experiments_create_get_search_delete_restore(store_uri: str) -> None:
    exp_id = hf_mltrack.create_experiment(
        "LLM-FineTuning", artifact_location="./artifacts", tags={"team": "nlp", "project": "llm"}
    )
    hf_mltrack.create_experiment("other", tags={"team": "cv"})
    exp = hf_mltrack.get_experiment_by_name("LLM-FineTuning")
    assert exp.experiment_id == exp_id and exp.tags == {"team": "nlp", "project": "llm"}
    assert exp.artifact_location.startswith("file:///") and exp.artifact_location.endswith("/artifacts")
    assert hf_mltrack.get_experiment_by_name("absent") is None
    found = hf_mltrack.search_experiments(
        filter_string="tags.team = 'nlp'", order_by=["creation_time DESC"], max_results=10
    )
    assert [e.name for e in found] == ["LLM-FineTuning"]
    assert {e.name for e in hf_mltrack.search_experiments()} == {"LLM-FineTuning", "other", "Default"}
    hf_mltrack.delete_experiment(exp_id)
    assert {e.name for e in hf_mltrack.search_experiments()} == {"other", "Default"}
    assert [e.name for e in hf_mltrack.search_experiments(view_type=ViewType.DELETED_ONLY)] == ["LLM-FineTuning"]
    with pytest.raises(InvalidStateError, match="restore"):
        hf_mltrack.set_experiment("LLM-FineTuning")
    hf_mltrack.restore_experiment(exp_id)
    assert hf_mltrack.set_experiment("LLM-FineTuning").experiment_id == exp_id


def test_duplicate_experiment_name(store_uri: str) -> None:
    from hf_mltrack.exceptions import ResourceAlreadyExistsError

    hf_mltrack.create_experiment("dup")
    with pytest.raises(ResourceAlreadyExistsError, match="'dup'"):
        hf_mltrack.create_experiment("dup")


def test_set_experiment_by_name_and_id(store_uri: str) -> None:
    exp = hf_mltrack.set_experiment("LLM-FineTuning")
    with hf_mltrack.start_run() as run:
        pass
    assert run.info.experiment_id == exp.experiment_id
    other = hf_mltrack.create_experiment("x")
    hf_mltrack.set_experiment(experiment_id=other)
    with hf_mltrack.start_run() as run2:
        pass
    assert run2.info.experiment_id == other
    with pytest.raises(ResourceNotFoundError):
        hf_mltrack.set_experiment(experiment_id="999999")
    with pytest.raises(InvalidParameterError):
        hf_mltrack.set_experiment()


def test_experiment_from_env(store_uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_MLTRACK_EXPERIMENT_NAME", "from-env")
    with hf_mltrack.start_run() as run:
        pass
    assert hf_mltrack.get_experiment(run.info.experiment_id).name == "from-env"


def test_delete_and_restore_run(store_uri: str) -> None:
    with hf_mltrack.start_run() as run:
        pass
    hf_mltrack.delete_run(run.info.run_id)
    assert hf_mltrack.get_run(run.info.run_id).info.lifecycle_stage == "deleted"
    assert hf_mltrack.search_runs(output_format="list") == []
    assert len(hf_mltrack.search_runs(run_view_type=ViewType.DELETED_ONLY, output_format="list")) == 1
    with pytest.raises(InvalidStateError, match="restore"):
        MlTrackClient().log_metric(run.info.run_id, "m", 1.0, synchronous=True)
    hf_mltrack.restore_run(run.info.run_id)
    assert hf_mltrack.get_run(run.info.run_id).info.lifecycle_stage == "active"


def test_search_runs_dataframe_seed_example(store_uri: str) -> None:
    exp_id = hf_mltrack.create_experiment("LLM-FineTuning")
    for name, loss, model in [
        ("a", 1.2, "llama2-7b"),
        ("b", 1.4, "llama2-7b"),
        ("c", 1.1, "mistral"),
        ("d", 1.7, "llama2-7b"),
    ]:
        with hf_mltrack.start_run(experiment_id=exp_id, run_name=name):
            hf_mltrack.log_params({"model_name": model, "learning_rate": 2e-5})
            hf_mltrack.log_metric("eval_loss", loss)
    runs = hf_mltrack.search_runs(
        experiment_ids=[exp_id],
        filter_string="metrics.eval_loss < 1.5 and params.model_name = 'llama2-7b'",
        order_by=["metrics.eval_loss ASC"],
        max_results=20,
    )
    assert list(runs["metrics.eval_loss"]) == [1.2, 1.4]
    assert list(runs["tags.hf_mltrack.runName"]) == ["a", "b"]
    for col in (
        "run_id",
        "experiment_id",
        "status",
        "artifact_uri",
        "start_time",
        "end_time",
        "params.learning_rate",
    ):
        assert col in runs.columns
    by_name = hf_mltrack.search_runs(experiment_names=["LLM-FineTuning"], order_by=["metrics.eval_loss ASC"])
    assert list(by_name["tags.hf_mltrack.runName"]) == ["c", "a", "b", "d"]
    as_list = hf_mltrack.search_runs(experiment_ids=[exp_id], output_format="list", max_results=2)
    assert len(as_list) == 2 and all(isinstance(r, hf_mltrack.entities.Run) for r in as_list)


def test_search_runs_all_experiments_and_pagination(store_uri: str) -> None:
    ids = [hf_mltrack.create_experiment(f"e{i}") for i in range(2)]
    for exp_id in ids:
        for i in range(3):
            with hf_mltrack.start_run(experiment_id=exp_id):
                hf_mltrack.log_metric("i", i)
    assert len(hf_mltrack.search_runs(search_all_experiments=True)) == 6
    client = MlTrackClient()
    page1 = client.search_runs(ids, max_results=4, order_by=["metrics.i DESC"])
    assert len(page1) == 4 and page1.token
    page2 = client.search_runs(ids, max_results=4, order_by=["metrics.i DESC"], page_token=page1.token)
    assert len(page2) == 2 and page2.token is None
    assert {r.info.run_id for r in page1}.isdisjoint({r.info.run_id for r in page2})


def test_search_parse_error_names_position(store_uri: str) -> None:
    from hf_mltrack.exceptions import SearchFilterParseError

    with pytest.raises(SearchFilterParseError, match="position"):
        hf_mltrack.search_runs(filter_string="metrics.loss <> 1")


def test_empty_search_returns_empty_dataframe(store_uri: str) -> None:
    df = hf_mltrack.search_runs()
    assert len(df) == 0 and "run_id" in df.columns
