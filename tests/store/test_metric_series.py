"""The narrow metric schema (revision 0007): series ids created once and cached, points without a
foreign key kept consistent by the store (run deletion), same-step replacement, linked series."""

from __future__ import annotations

import math
from typing import Any

import pytest
import sqlalchemy as sa

from hf_mltrack.entities import Metric
from hf_mltrack.store.sql import sqlite_direct
from hf_mltrack.tracking import MlTrackClient


def _count(client: MlTrackClient, table: str) -> int:
    with client.store.engine.connect() as conn:  # type: ignore[attr-defined]
        return int(conn.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar() or 0)


def test_series_ids_are_created_once_then_cached(store_uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    client = MlTrackClient(store_uri)
    store = client.store
    run_id = client.create_run("0").info.run_id
    statements: list[str] = []
    if store._direct is not None:  # type: ignore[attr-defined]  # a local SQLite file: plain SQL on sqlite3
        real = sqlite_direct.Connection.exec_driver_sql

        def recorded(conn: sqlite_direct.Connection, statement: str, *args: Any) -> sqlite_direct.Result:
            statements.append(statement)
            return real(conn, statement, *args)

        monkeypatch.setattr(sqlite_direct.Connection, "exec_driver_sql", recorded)
    else:
        sa.event.listen(store.engine, "before_cursor_execute", lambda c, cur, stmt, *a: statements.append(stmt))  # type: ignore[attr-defined]
    for batch in range(3):
        points = [Metric("loss", 1.0 / (s + 1), 5, s) for s in range(batch * 10, batch * 10 + 10)]
        client.log_batch(run_id, metrics=points, synchronous=True)
    series_reads = [s for s in statements if "FROM metric_series" in s]
    series_writes = [s for s in statements if "INTO metric_series" in s]
    # batch 1 creates the series (not cached before its commit), batch 2 reads it back once, batch 3 neither
    assert len(series_writes) == 1 and len(series_reads) == 3
    assert store._series == {(run_id, "loss", "", "", ""): store._series[(run_id, "loss", "", "", "")]}  # type: ignore[attr-defined]
    assert _count(client, "metric_series") == 1 and _count(client, "metric_points") == 30
    assert [m.step for m in client.get_metric_history(run_id, "loss")] == list(range(30))


def test_a_rolled_back_batch_leaves_no_cached_id(store_uri: str) -> None:
    client = MlTrackClient(store_uri)
    store = client.store
    run_id = client.create_run("0").info.run_id
    try:
        with store._write() as conn:  # type: ignore[attr-defined]
            store._insert_metrics(conn, run_id, [Metric("acc", 0.5, 1, 0)])  # type: ignore[attr-defined]
            raise RuntimeError("abort")
    except RuntimeError:
        pass
    assert store._series == {} and _count(client, "metric_series") == 0  # type: ignore[attr-defined]
    client.log_batch(run_id, metrics=[Metric("acc", 0.75, 2, 0)], synchronous=True)
    assert [m.value for m in client.get_metric_history(run_id, "acc")] == [0.75]


def test_same_step_replaces_within_and_across_batches(store_uri: str) -> None:
    client = MlTrackClient(store_uri)
    run_id = client.create_run("0").info.run_id
    first = [Metric("m", 1.0, 1, 0), Metric("m", 2.0, 2, 1), Metric("m", 3.0, 3, 0)]
    client.log_batch(run_id, metrics=first, synchronous=True)
    client.log_batch(run_id, metrics=[Metric("m", math.nan, 4, 1), Metric("m", math.inf, 5, 2)], synchronous=True)
    hist = client.get_metric_history(run_id, "m")
    assert [(m.step, m.timestamp) for m in hist] == [(0, 3), (1, 4), (2, 5)]
    assert hist[0].value == 3.0 and math.isnan(hist[1].value) and hist[2].value == math.inf
    assert client.get_run(run_id).data.metrics == {"m": math.inf}
    chart = client.get_metric_history_bulk_interval([run_id], "m", 10)[run_id]
    assert [m.step for m in chart] == [0, 1, 2]


def test_linked_points_form_series_of_their_own(store_uri: str) -> None:
    client = MlTrackClient(store_uri)
    run_id = client.create_run("0").info.run_id
    model = client.create_logged_model("0", name="ckpt", source_run_id=run_id)
    client.log_batch(
        run_id,
        metrics=[Metric("eval", 0.5, 1, 3), Metric("eval", 0.25, 2, 3, dataset_name="ev", model_id=model.model_id)],
        synchronous=True,
    )
    history = client.get_metric_history(run_id, "eval")
    # each point says which series it belongs to (MLflow's Metric fields), in step then creation order
    assert [(m.value, m.model_id, m.dataset_name) for m in history] == [(0.5, None, None), (0.25, model.model_id, "ev")]
    assert _count(client, "metric_series") == 2
    assert [m.value for m in client.get_logged_model(model.model_id).metrics] == [0.25]


def test_deleting_a_run_deletes_its_points_and_summaries(store_uri: str) -> None:
    """No foreign key on points: `hard_delete_run` (gc) removes them with the series; nothing is orphaned."""
    client = MlTrackClient(store_uri)
    store = client.store
    gone, kept = client.create_run("0").info.run_id, client.create_run("0").info.run_id
    for run_id in (gone, kept):
        points = [Metric(k, s * 0.5, 1, s) for k in ("a", "b") for s in range(500)]
        client.log_batch(run_id, metrics=points, synchronous=True)
    client.log_batch(gone, metrics=[Metric("a", 0.0, 1, 600)], synchronous=True)  # cached ids in use
    client.delete_run(gone)
    store.hard_delete_run(gone)  # type: ignore[attr-defined]
    assert _count(client, "metric_series") == 2 and _count(client, "metric_points") == 1000
    orphan = "series_id NOT IN (SELECT series_id FROM metric_series)"
    with store.engine.connect() as conn:  # type: ignore[attr-defined]
        orphans = conn.execute(
            sa.text(
                f"SELECT (SELECT COUNT(*) FROM metric_points WHERE {orphan}) "
                f"+ (SELECT COUNT(*) FROM metric_buckets WHERE {orphan})"
            )
        ).scalar()
    assert orphans == 0
    assert all(k[0] != gone for k in store._series)  # type: ignore[attr-defined]
    assert len(client.get_metric_history(kept, "b")) == 500


def test_an_append_that_meets_stored_steps_is_redone_as_an_overwrite(store_uri: str) -> None:
    """On PostgreSQL an appended batch is a plain INSERT; points another writer stored meanwhile (here:
    written behind the store's back, so the series' end it reads is stale) make it fail with a unique
    violation, and the batch is redone as an upsert: the later values win, the summaries stay exact."""
    client = MlTrackClient(store_uri)
    store = client.store
    run_id = client.create_run("0").info.run_id
    client.log_batch(run_id, metrics=[Metric("loss", 1.0, 1, 0)], synchronous=True)
    with store.engine.begin() as conn:  # type: ignore[attr-defined]
        sid = conn.execute(sa.text("SELECT series_id FROM metric_series")).scalar()
        conn.execute(sa.text(f"INSERT INTO metric_points VALUES ({sid}, 5, 1, 9.0), ({sid}, 6, 1, 9.0)"))
    client.log_batch(run_id, metrics=[Metric("loss", 2.0, 2, s) for s in range(1, 100)], synchronous=True)
    hist = client.get_metric_history(run_id, "loss")
    assert [m.step for m in hist] == list(range(100)) and {m.value for m in hist[1:]} == {2.0}
    chart = client.get_metric_history_bulk_interval([run_id], "loss", 10)[run_id]
    assert max(m.value for m in chart) == 2.0
