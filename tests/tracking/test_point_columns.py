"""log_metric's points queue as columns per key (`PointColumns`): what any mix of logging calls writes is
what sequential writes would leave, whichever store takes them."""

from __future__ import annotations

import math

import pytest

import hf_mltrack
from hf_mltrack.entities import Metric, RunTag
from hf_mltrack.entities.metric import PointColumns
from hf_mltrack.store.sql.tracking_store import SqlTrackingStore
from hf_mltrack.tracking import MlTrackClient, _batcher


def _history(run_id: str, key: str) -> list[tuple[int, float]]:
    return [(m.step, m.value) for m in MlTrackClient().get_metric_history(run_id, key)]


def test_columns_iterate_as_metric_tuples_and_join_in_order() -> None:
    a = PointColumns()
    assert a.absorb([Metric("loss", 1.0, 10, 0), ("lr", 0.1, 10, 0, None, None, None, None)])
    b = PointColumns()
    b.series["loss"] = ([1], [11], [2.0])
    joined = PointColumns.join([a, [Metric("loss", 3.0, 12, 2)], b])
    assert joined is not None and len(joined) == 4
    assert joined.series == {"loss": ([0, 2, 1], [10, 12, 11], [1.0, 3.0, 2.0]), "lr": ([0], [10], [0.1])}
    assert a.series["loss"] == ([0], [10], [1.0])  # the parts are left as they were
    assert [Metric._make(p) for p in joined] == [
        Metric("loss", 1.0, 10, 0),
        Metric("loss", 3.0, 12, 2),
        Metric("loss", 2.0, 11, 1),
        Metric("lr", 0.1, 10, 0),
    ]
    # a point about a logged model or a dataset is no column of its key: refused whole
    assert not a.absorb([Metric("loss", 5.0, 13, 3), Metric("loss", 6.0, 13, 4, model_id="m-1")])
    assert len(a) == 2
    assert PointColumns.join([a, [Metric("x", 1.0, 1, 0, dataset_name="d", dataset_digest="h")]]) is None


def test_single_key_loops_queue_one_entry_per_run(tracking_uri: str) -> None:
    with hf_mltrack.start_run() as run:
        for i in range(3000):
            hf_mltrack.log_metric("loss", 1.0 / (i + 1), step=i)
            hf_mltrack.log_metric("lr", 0.001, step=i)
        # two keys logged one point at a time share the run's open entry (no entry per point)
        assert _batcher.get_batcher().pending() == 1
        assert len(_batcher.get_batcher()._queue[0][2]) == 6000
    assert _history(run.info.run_id, "loss") == [(i, 1.0 / (i + 1)) for i in range(3000)]
    assert _history(run.info.run_id, "lr") == [(i, 0.001) for i in range(3000)]


def test_mixed_calls_keep_the_last_value_of_each_step(tracking_uri: str) -> None:
    with hf_mltrack.start_run() as run:
        hf_mltrack.log_metric("a", 1.0, step=0)
        hf_mltrack.log_metrics({"a": 2.0, "b": 5.0}, step=0)  # later: wins over the column point
        hf_mltrack.log_metrics({"a": 3.0}, step=1)
        hf_mltrack.log_metric("a", 4.0, step=1)  # later again
        hf_mltrack.log_metric("a", float("nan"), step=2)
        hf_mltrack.log_metric("a", math.inf, step=3)
        hf_mltrack.log_metric("a", 7.0, step=3)  # a duplicate step inside the columns: the last wins
        hf_mltrack.log_param("p", 1)  # an entry with a param between column entries
        hf_mltrack.log_metric("a", 8.0, step=1)  # an earlier step again, after the param
        hf_mltrack.log_metric("b", 6.0, step=4)
        # points queued with a tag (an entry of its own), then the same step from log_metric's columns
        MlTrackClient().log_batch(run.info.run_id, metrics=[Metric("a", 9.0, 1, 5)], tags=[RunTag("t", "v")])
        hf_mltrack.log_metric("a", 10.0, step=5)
    history = _history(run.info.run_id, "a")
    assert [s for s, _ in history] == [0, 1, 2, 3, 5]
    assert history[0][1] == 2.0 and history[1][1] == 8.0 and math.isnan(history[2][1]) and history[3][1] == 7.0
    assert history[4][1] == 10.0
    assert _history(run.info.run_id, "b") == [(0, 5.0), (4, 6.0)]
    assert hf_mltrack.get_run(run.info.run_id).data.metrics == {"a": 10.0, "b": 6.0}
    assert _batcher.get_batcher()._points == 0


def test_points_about_a_model_between_column_points(tracking_uri: str) -> None:
    with hf_mltrack.start_run() as run:
        model = hf_mltrack.initialize_logged_model(name="ckpt")
        hf_mltrack.log_metric("eval", 0.5, step=0)
        hf_mltrack.log_metrics({"eval": 0.25}, step=1, model_id=model.model_id)  # not absorbed as a column
        hf_mltrack.log_metric("eval", 0.125, step=2)
    assert [(m.step, m.value) for m in hf_mltrack.get_logged_model(model.model_id).metrics] == [(1, 0.25)]
    assert _history(run.info.run_id, "eval") == [(0, 0.5), (1, 0.25), (2, 0.125)]


@pytest.mark.parametrize("takes", ["tuples", "nothing"])
def test_a_store_without_columns_gets_points(tracking_uri: str, monkeypatch: pytest.MonkeyPatch, takes: str) -> None:
    monkeypatch.setattr(SqlTrackingStore, "takes_point_columns", False)
    monkeypatch.setattr(SqlTrackingStore, "takes_point_tuples", takes == "tuples")
    seen: list[type] = []
    real = SqlTrackingStore.log_batches_and_terminate

    def spy(self, batches, terminate):  # type: ignore[no-untyped-def]
        seen.extend(type(m) for metrics, _, _ in batches.values() for m in metrics)
        assert all(type(metrics) is list for metrics, _, _ in batches.values())
        return real(self, batches, terminate)

    monkeypatch.setattr(SqlTrackingStore, "log_batches_and_terminate", spy)
    with hf_mltrack.start_run() as run:
        for i in range(100):
            hf_mltrack.log_metric("loss", 0.5, step=i)
    assert set(seen) == ({tuple} if takes == "tuples" else {Metric})
    assert len(_history(run.info.run_id, "loss")) == 100


def test_columns_queued_again_after_a_transient_failure(tracking_uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlite3

    monkeypatch.setattr(_batcher, "_RETRY_DELAYS", ())
    with hf_mltrack.start_run() as run:
        hf_mltrack.log_metric("loss", 0.0, step=0)
        hf_mltrack.flush_async_logging()
        store = MlTrackClient().store
        real = store.log_batches
        failing = {"on": True}

        def locked(batches):  # type: ignore[no-untyped-def]
            if failing["on"]:
                raise sqlite3.OperationalError("database is locked")
            return real(batches)

        monkeypatch.setattr(store, "log_batches", locked)
        for i in range(1, 500):
            hf_mltrack.log_metric("loss", float(i), step=i)
        with pytest.warns(UserWarning, match="499 metric points stay queued"), pytest.raises(sqlite3.OperationalError):
            _batcher.get_batcher().flush()
        assert type(_batcher.get_batcher()._queue[0][2]) is PointColumns
        failing["on"] = False
        hf_mltrack.flush_async_logging()
    assert _history(run.info.run_id, "loss") == [(i, float(i)) for i in range(500)]


def test_a_single_key_loop_helps_the_writer_past_the_queue_bound(
    tracking_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past ``HF_MLTRACK_ASYNC_MAX_QUEUE`` queued points, log_metric writes the queue itself (memory stays
    bounded); the open column entry counts once it closes, at most 4096 points per key later."""
    import sqlite3

    monkeypatch.setenv("HF_MLTRACK_ASYNC_MAX_QUEUE", "5000")
    monkeypatch.setenv("HF_MLTRACK_ASYNC_FLUSH_INTERVAL", "100000")  # the background writer sleeps
    with hf_mltrack.start_run() as run:
        hf_mltrack.log_metric("loss", 0.0, step=0)
        hf_mltrack.flush_async_logging()
        for i in range(1, 30_001):
            hf_mltrack.log_metric("loss", 1.0, step=i)
        db = sqlite3.connect(tracking_uri[len("sqlite:///") :])
        committed = db.execute("SELECT count(*) FROM metric_points").fetchone()[0]
        db.close()
        assert committed >= 30_001 - 5000 - 4096
        assert 0 <= _batcher.get_batcher()._points <= 5000
    assert _batcher.get_batcher()._points == 0  # every point counted in is counted out once written
    assert len(_history(run.info.run_id, "loss")) == 30_001
