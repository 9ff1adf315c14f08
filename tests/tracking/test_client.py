"""MlTrackClient by run id: runs, batches, histories and downsampled reads."""

from __future__ import annotations

import time

import pytest

import hf_mltrack
from hf_mltrack.entities import Metric, Param, RunStatus, RunTag
from hf_mltrack.exceptions import InvalidParameterError, ResourceNotFoundError
from hf_mltrack.tracking import MlTrackClient


def test_top_level_and_tracking_module_export_the_same_client() -> None:
    assert hf_mltrack.MlTrackClient is hf_mltrack.tracking.MlTrackClient


def test_create_run_log_batch_terminate(store_uri: str) -> None:
    client = MlTrackClient()
    exp_id = client.create_experiment("c")
    run = client.create_run(exp_id, tags={"k": "v"}, run_name="r1")
    assert run.info.status == RunStatus.RUNNING and run.data.tags["k"] == "v"
    ts = int(time.time() * 1000)
    client.log_batch(
        run.info.run_id,
        metrics=[Metric("loss", 1.0, ts, 1), Metric("loss", 0.5, ts, 2)],
        params=[Param("lr", "0.1")],
        tags=[RunTag("t", "1")],
    )
    client.log_metric(run.info.run_id, "acc", 0.9, step=2)
    client.set_tag(run.info.run_id, "t2", "x")
    client.set_terminated(run.info.run_id, "FINISHED")
    got = client.get_run(run.info.run_id)
    assert got.info.status == "FINISHED"
    assert got.data.metrics == {"loss": 0.5, "acc": 0.9}
    assert got.data.params == {"lr": "0.1"}
    assert got.data.tags["t"] == "1" and got.data.tags["t2"] == "x"
    assert got.info.run_name == "r1"


def test_synchronous_write_is_visible_without_flush(store_uri: str) -> None:
    client = MlTrackClient()
    run = client.create_run("0")
    client.log_metric(run.info.run_id, "m", 3.0, synchronous=True)
    from hf_mltrack.store import get_tracking_store

    assert get_tracking_store(client.tracking_uri).get_run(run.info.run_id).data.metrics == {"m": 3.0}


def test_async_disabled_by_env_writes_on_return(store_uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from hf_mltrack.tracking import _batcher

    monkeypatch.setenv("HF_MLTRACK_ENABLE_ASYNC_LOGGING", "false")
    with hf_mltrack.start_run():
        hf_mltrack.log_metric("m", 1.0)
        assert _batcher.get_batcher().pending() == 0


def test_async_env_is_read_at_every_log_metric(store_uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The point fast path (a live run, the variable unset) must not keep an earlier reading of the variable."""
    from hf_mltrack.store import get_tracking_store

    with hf_mltrack.start_run() as run:
        hf_mltrack.log_metric("m", 1.0, step=0)
        hf_mltrack.flush_async_logging()
        monkeypatch.setenv("HF_MLTRACK_ENABLE_ASYNC_LOGGING", "false")
        hf_mltrack.log_metric("m", 2.0, step=1)
        # written on return: the store itself (no flush of the queue) already has it
        assert get_tracking_store(store_uri).get_run(run.info.run_id).data.metrics == {"m": 2.0}
        monkeypatch.setenv("HF_MLTRACK_ENABLE_ASYNC_LOGGING", "maybe")
        with pytest.raises(ValueError, match="'maybe'"):
            hf_mltrack.log_metric("m", 3.0, step=2)
        monkeypatch.delenv("HF_MLTRACK_ENABLE_ASYNC_LOGGING")
        hf_mltrack.log_metric("m", 4.0, step=3)
    assert [m.value for m in MlTrackClient().get_metric_history(run.info.run_id, "m")] == [1.0, 2.0, 4.0]


def test_get_run_unknown(store_uri: str) -> None:
    with pytest.raises(ResourceNotFoundError, match="id=missing"):
        MlTrackClient().get_run("missing")
    with pytest.raises(ResourceNotFoundError):
        MlTrackClient().get_metric_history("missing", "loss")


def test_history_of_unlogged_key_is_empty(store_uri: str) -> None:
    client = MlTrackClient()
    run = client.create_run("0")
    assert list(client.get_metric_history(run.info.run_id, "nothing")) == []


def test_metric_history_sequence_api(store_uri: str) -> None:
    client = MlTrackClient()
    run = client.create_run("0")
    ts = 1_700_000_000_000
    client.log_batch(run.info.run_id, metrics=[Metric("x", float(i), ts + i, i) for i in range(10)])
    history = client.get_metric_history(run.info.run_id, "x")
    assert len(history) == 10
    assert history[3] == Metric("x", 3.0, ts + 3, 3)
    assert history[-1].step == 9
    assert [m.value for m in history[2:4]] == [2.0, 3.0]
    assert history.steps == list(range(10)) and history.values[0] == 0.0


def test_bulk_interval_keeps_min_and_max(store_uri: str) -> None:
    client = MlTrackClient()
    run = client.create_run("0")
    ts = 1_700_000_000_000
    values = [float(i % 7) for i in range(10_000)]
    values[4321] = 1000.0  # a spike that uniform sampling would miss
    values[8765] = -1000.0
    client.log_batch(run.info.run_id, metrics=[Metric("loss", v, ts, i) for i, v in enumerate(values)])
    out = client.get_metric_history_bulk_interval([run.info.run_id], "loss", max_results=200)
    points = out[run.info.run_id]
    assert len(points) <= 200
    steps = [p.step for p in points]
    assert steps == sorted(steps) and steps[0] == 0 and steps[-1] == 9999
    assert max(p.value for p in points) == 1000.0 and min(p.value for p in points) == -1000.0
    assert {4321, 8765} <= set(steps)


def test_bulk_interval_small_series_and_step_range(store_uri: str) -> None:
    client = MlTrackClient()
    run = client.create_run("0")
    client.log_batch(run.info.run_id, metrics=[Metric("m", float(i), 0, i) for i in range(50)])
    out = client.get_metric_history_bulk_interval(run.info.run_id, "m", max_results=100, start_step=10, end_step=19)
    assert [p.step for p in out[run.info.run_id]] == list(range(10, 20))
    with pytest.raises(InvalidParameterError, match="max_results"):
        client.get_metric_history_bulk_interval([run.info.run_id], "m", max_results=1)


def test_rename_experiment_and_tags(store_uri: str) -> None:
    client = MlTrackClient()
    exp_id = client.create_experiment("old")
    client.rename_experiment(exp_id, "new")
    client.set_experiment_tag(exp_id, "k", "v")
    exp = client.get_experiment(exp_id)
    assert exp.name == "new" and exp.tags == {"k": "v"}
    with pytest.raises(InvalidParameterError, match="'abc'"):
        client.get_experiment("abc")


def test_default_experiment_cannot_be_deleted(store_uri: str) -> None:
    with pytest.raises(InvalidParameterError, match="Default"):
        MlTrackClient().delete_experiment("0")


def test_max_results_validated(store_uri: str) -> None:
    with pytest.raises(InvalidParameterError, match="max_results"):
        MlTrackClient().search_runs(["0"], max_results=0)


def test_bad_page_token(store_uri: str) -> None:
    with pytest.raises(InvalidParameterError):
        MlTrackClient().search_runs(["0"], page_token="%%%garbage")
