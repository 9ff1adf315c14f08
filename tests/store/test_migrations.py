"""Migrations: frozen revisions build today's schema, and a 0003 database upgrades with nothing lost.

Runs on SQLite and on the real PostgreSQL server (a database of its own, dropped afterwards).
"""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_ADMIN_URI = os.environ.get("HF_MLTRACK_TEST_POSTGRES_URI", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PREVIOUS = "0003_tracing"


def _forget(uri_part: str) -> None:
    from hf_mltrack.registry import stores
    from hf_mltrack.store import _CACHE as tracking_cache
    from hf_mltrack.store.sql import engine as engine_mod

    for cache in (engine_mod._ENGINES, stores._CACHE, tracking_cache):
        for uri in [u for u in cache if uri_part in u]:
            item = cache.pop(uri)
            engine = getattr(item, "engine", item)
            if hasattr(engine, "dispose"):
                engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database (no tables) on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'db' / 'mltrack.db'}"
        return
    import sqlalchemy as sa

    try:
        admin = sa.create_engine(PG_ADMIN_URI, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URI}: {exc}")
    name = f"h_models_migr_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{PG_ADMIN_URI.rsplit('/', 1)[0]}/{name}"
    finally:
        _forget(name)
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _engine(uri: str):  # type: ignore[no-untyped-def]
    from hf_mltrack.store.sql.engine import _create_engine, normalize_db_uri

    return _create_engine(normalize_db_uri(uri))


def test_head_is_read_from_alembic() -> None:
    from hf_mltrack.store.sql.engine import HEAD_REVISION, head_revision

    assert head_revision() == HEAD_REVISION == "0007_metric_series"


def test_frozen_revisions_build_the_schema_of_the_tables(empty_db: str) -> None:
    """Upgrading an empty database revision by revision gives what a fresh store creates in one go."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    import hf_mltrack.store.sql.logged_model_schema  # noqa: F401
    import hf_mltrack.store.sql.registry_schema  # noqa: F401
    import hf_mltrack.store.sql.tracing_schema  # noqa: F401
    import hf_mltrack.store.sql.workspace_schema  # noqa: F401
    from hf_mltrack.store.sql.engine import migrate
    from hf_mltrack.store.sql.schema import metadata

    assert migrate(empty_db, "head") == "0007_metric_series"
    engine = _engine(empty_db)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    assert diff == []


def _seed_previous(uri: str) -> tuple[str, str, dict[str, list[tuple]]]:
    """A database at the previous revision holding runs, metrics, params, tags, registry data and a trace."""
    import sqlalchemy as sa

    from hf_mltrack.store.sql.engine import migrate

    assert migrate(uri, PREVIOUS) == PREVIOUS
    engine = _engine(uri)
    run_a, run_b = uuid.uuid4().hex, uuid.uuid4().hex
    with engine.begin() as conn:

        def x(query: str, params: dict | None = None) -> None:
            conn.execute(sa.text(query), params or {})

        x(
            "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, "
            "last_update_time) VALUES (0, 'Default', 'file:///a/0', 'active', 1, 1), "
            "(7, 'sweep', 'file:///a/7', 'active', 2, 3)"
        )
        x("INSERT INTO experiment_tags VALUES (7, 'team', 'nlp')")
        for rid, name in ((run_a, "lr-1e-3"), (run_b, "lr-1e-4")):
            x(
                "INSERT INTO runs (run_uuid, name, experiment_id, user_id, status, start_time, end_time, "
                "lifecycle_stage, artifact_uri) VALUES (:r, :n, 7, 'me', 'FINISHED', 10, 20, 'active', :a)",
                {"r": rid, "n": name, "a": f"file:///a/7/{rid}/artifacts"},
            )
            x("INSERT INTO params VALUES (:r, 'lr', :v)", {"r": rid, "v": name[3:]})
            x("INSERT INTO tags VALUES (:r, 'hf_mltrack.runName', :n)", {"r": rid, "n": name})
        points = [(run_a, "loss", s, 1.0 / (s + 1), 100 + s, False) for s in range(50)]
        points += [(run_a, "odd", 0, 0.0, 5, True), (run_a, "odd", 1, math.inf, 6, False)]
        points += [(run_b, "loss", s, 2.0 / (s + 1), 200 + s, False) for s in range(30)]
        conn.execute(
            sa.text("INSERT INTO metrics (run_uuid, key, step, value, timestamp, is_nan) VALUES (:r,:k,:s,:v,:t,:n)"),
            [dict(zip("rksvtn", p, strict=True)) for p in points],
        )
        x("INSERT INTO latest_metrics VALUES (:r, 'loss', 0.02, 49, 149, false)", {"r": run_a})
        x("INSERT INTO registered_models VALUES ('gpt-tiny', 1, 2, 'a model', 2)")
        x("INSERT INTO registered_model_tags VALUES ('gpt-tiny', 'owner', 'me')")
        for version, rid in ((1, run_a), (2, run_b)):
            x(
                "INSERT INTO model_versions (name, version, creation_time, last_updated_time, user_id, "
                "current_stage, source, run_id, status) "
                "VALUES ('gpt-tiny', :v, 1, 1, 'me', 'None', :s, :r, 'READY')",
                {"v": version, "s": f"runs:/{rid}/model", "r": rid},
            )
        x("INSERT INTO model_version_tags VALUES ('gpt-tiny', 1, 'eval', 'ok')")
        x("INSERT INTO registered_model_aliases VALUES ('gpt-tiny', 'champion', 2)")
        x(
            "INSERT INTO registry_events (name, version, event, user_id, timestamp) "
            "VALUES ('gpt-tiny', 2, 'alias', 'me', 3)"
        )
        x(
            "INSERT INTO trace_info (request_id, experiment_id, run_id, name, timestamp_ms, status) "
            "VALUES ('tr-1', 7, :r, 'generate', 5, 'OK')",
            {"r": run_a},
        )
        x("INSERT INTO trace_data VALUES ('tr-1', '[]')")
    dump = _dump(engine)
    engine.dispose()
    return run_a, run_b, dump


def _dump(engine) -> dict[str, list[tuple]]:  # type: ignore[no-untyped-def]
    """Every row of every table the previous revision had, in its columns only, sorted."""
    import sqlalchemy as sa

    out: dict[str, list[tuple]] = {}
    with engine.connect() as conn:
        inspector = sa.inspect(conn)
        for table in inspector.get_table_names():
            if table == "alembic_version":
                continue
            cols = [c["name"] for c in inspector.get_columns(table)]
            rows = conn.execute(sa.text(f"SELECT {', '.join(cols)} FROM {table}")).all()
            out[table] = sorted((tuple(r) for r in rows), key=repr)
    return out


def test_previous_revision_upgrades_with_nothing_lost(empty_db: str, tmp_path: Path) -> None:
    import hf_mltrack
    from hf_mltrack.exceptions import InvalidStateError
    from hf_mltrack.store.sql.engine import get_engine, upgrade
    from hf_mltrack.tracking import MlTrackClient

    run_a, run_b, before = _seed_previous(empty_db)
    with pytest.raises(InvalidStateError, match=f"'{PREVIOUS}'.*hf-mltrack db upgrade"):
        get_engine(empty_db)
    assert upgrade(empty_db) == "0007_metric_series"

    engine = _engine(empty_db)
    after = _dump(engine)
    engine.dispose()
    # The old tables hold the same rows; the new columns are NULL everywhere; the points moved (0007).
    assert "metrics" not in after and len(after["metric_points"]) == len(before["metrics"])
    for table, rows in before.items():
        width = len(rows[0]) if rows else 0
        if table in ("metrics", "metric_buckets"):
            continue
        if table == "model_versions":
            assert all(r[-1] is None for r in after[table])
        assert [r[:width] for r in after[table]] == rows, table
    assert len(before["metrics"]) == 82

    client = MlTrackClient(empty_db)
    hist = client.get_metric_history(run_a, "loss")
    assert [m.step for m in hist] == list(range(50)) and hist[-1].value == pytest.approx(0.02)
    odd = client.get_metric_history(run_a, "odd")
    assert math.isnan(odd[0].value) and odd[1].value == math.inf
    assert client.get_run(run_b).data.params == {"lr": "1e-4"}
    mv = client.get_model_version_by_alias("gpt-tiny", "champion")
    assert (mv.version, mv.run_id) == ("2", run_b)

    # The new tables work on the upgraded database.
    hf_mltrack.set_tracking_uri(empty_db)
    model = client.create_logged_model("7", name="ckpt", source_run_id=run_a)
    client.log_batch(
        run_a,
        metrics=[hf_mltrack.entities.Metric("eval_loss", 0.5, 1, 3, model_id=model.model_id, dataset_name="ev")],
    )
    assert client.get_logged_model(model.model_id).metrics[0].value == 0.5
    # ... and the UI's saved workspaces (revision 0006)
    from hf_mltrack.store.sql.workspace_store import get_workspace, save_workspace

    save_workspace(client._read(), "7", "ws", {"panels": []}, None)
    assert get_workspace(client._read(), "7", "ws")["spec"] == {"panels": []}


def _old_points(run_a: str, run_b: str, n: int) -> list[tuple]:
    """0006 ``metrics`` rows: a long series with ties, NaN and inf; a sparse one with negative steps; one
    key of run B logged both for a logged model on a dataset and on its own (two series after 0007)."""
    rows = []
    for s in range(n):
        value = (s * 7919 % 1000) / 1000
        is_nan = s % 997 == 5
        rows.append((run_a, "loss", s, 0.0 if is_nan else (math.inf if s % 1999 == 7 else value), 1000 + s, is_nan))
    rows += [(run_a, "acc", s, s / 1e5, 7, False) for s in range(-300, n, 100)]
    linked = [(run_b, "eval_loss", s, s / 10, 9, False, "m-1", "ev", "d1") for s in range(10)]
    plain = [(run_b, "eval_loss", s, s / 10, 9, False, None, None, None) for s in range(10, 20)]
    return [(*r, None, None, None) for r in rows] + linked + plain


def test_0007_moves_points_into_series_and_back(empty_db: str) -> None:
    """0006 -> 0007 on 20,000 points: every point in its series, NaN/inf kept, bucket summaries equal
    to what the store's writer computes for the same points; then back to 0006 with nothing lost."""
    import sqlalchemy as sa

    from hf_mltrack.entities import Metric
    from hf_mltrack.store.sql.engine import migrate
    from hf_mltrack.tracking import MlTrackClient

    assert migrate(empty_db, "0006_workspaces") == "0006_workspaces"
    engine = _engine(empty_db)
    run_a, run_b = uuid.uuid4().hex, uuid.uuid4().hex
    points = _old_points(run_a, run_b, 20_000)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage) "
                "VALUES (0, 'Default', 'file:///a/0', 'active')"
            )
        )
        for rid in (run_a, run_b):
            conn.execute(
                sa.text(
                    "INSERT INTO runs (run_uuid, experiment_id, status, lifecycle_stage) "
                    "VALUES (:r, 0, 'RUNNING', 'active')"
                ),
                {"r": rid},
            )
        conn.execute(
            sa.text(
                "INSERT INTO metrics (run_uuid, key, step, value, timestamp, is_nan, model_id, dataset_name, "
                "dataset_digest) VALUES (:r, :k, :s, :v, :t, :n, :m, :dn, :dd)"
            ),
            [dict(zip(("r", "k", "s", "v", "t", "n", "m", "dn", "dd"), p, strict=True)) for p in points],
        )
    before = _dump(engine)["metrics"]
    engine.dispose()

    assert migrate(empty_db, "head") == "0007_metric_series"
    client = MlTrackClient(empty_db)
    loss = client.get_metric_history(run_a, "loss")
    assert len(loss) == 20_000 and [m.step for m in loss] == list(range(20_000))
    assert math.isnan(loss[5].value) and loss[7].value == math.inf and loss[3].value == 3 * 7919 % 1000 / 1000
    acc = client.get_metric_history(run_a, "acc")
    assert [m.step for m in acc] == list(range(-300, 20_000, 100))
    assert [m.step for m in client.get_metric_history(run_b, "eval_loss")] == list(range(20))
    engine = _engine(empty_db)
    with engine.connect() as conn:
        series = conn.execute(
            sa.text("SELECT run_uuid, key, model_id, dataset_name, dataset_digest FROM metric_series")
        ).all()
        assert sorted(series) == sorted(
            [(run_a, "loss", "", "", ""), (run_a, "acc", "", "", ""), (run_b, "eval_loss", "m-1", "ev", "d1"),
             (run_b, "eval_loss", "", "", "")]
        )  # fmt: skip

        def buckets(run_id: str, key: str) -> list[tuple]:
            return [
                tuple(r)
                for r in conn.execute(
                    sa.text(
                        "SELECT b.level, b.bucket, b.count, b.min_step, b.min_value, b.min_timestamp, b.max_step, "
                        "b.max_value, b.max_timestamp FROM metric_buckets AS b JOIN metric_series AS s "
                        "ON s.series_id = b.series_id WHERE s.run_uuid = :r AND s.key = :k ORDER BY b.level, b.bucket"
                    ),
                    {"r": run_id, "k": key},
                )
            ]

        migrated = {key: buckets(run_a, key) for key in ("loss", "acc")}
    # The same points logged by the store's writer (one appended batch per key) give the same summaries.
    fresh = client.create_run("0").info.run_id
    for key in ("loss", "acc"):
        client.log_batch(
            fresh,
            metrics=[Metric(key, math.nan if p[5] else p[3], p[4], p[2]) for p in points if p[:2] == (run_a, key)],
            synchronous=True,
        )
        with engine.connect() as conn:
            assert buckets(fresh, key) == migrated[key], key
    assert len(migrated["loss"]) > 20_000 // 64
    chart = client.get_metric_history_bulk_interval([run_a], "loss", 200)[run_a]
    assert 100 < len(chart) <= 200 and chart[0].step == 0 and chart[-1].step == 19_999
    engine.dispose()
    _forget(empty_db.rsplit("/", 1)[-1])

    assert migrate(empty_db, "0006_workspaces", downgrade=True) == "0006_workspaces"
    engine = _engine(empty_db)
    after = _dump(engine)
    engine.dispose()
    fresh_rows = [r for r in after["metrics"] if r[0] == fresh]
    assert [r for r in after["metrics"] if r[0] != fresh] == before
    assert len(fresh_rows) == sum(1 for p in points if p[0] == run_a)
    assert sum(r[4] for r in after["metric_buckets"] if r[2] == 0) == len(after["metrics"])


def test_0007_downgrade_refuses_points_it_cannot_keep(empty_db: str) -> None:
    """Two series of one key with a point at the same step cannot go back to 0006: a clear error, nothing changed."""
    from hf_mltrack.entities import Metric
    from hf_mltrack.store.sql.engine import current_revision, migrate
    from hf_mltrack.tracking import MlTrackClient

    assert migrate(empty_db, "head") == "0007_metric_series"
    client = MlTrackClient(empty_db)
    run_id = client.create_run("0").info.run_id
    model = client.create_logged_model("0", name="ckpt", source_run_id=run_id)
    client.log_batch(
        run_id,
        metrics=[Metric("eval", 0.5, 1, 3), Metric("eval", 0.25, 1, 3, model_id=model.model_id)],
        synchronous=True,
    )
    assert sorted(m.value for m in client.get_metric_history(run_id, "eval")) == [0.25, 0.5]
    _forget(empty_db.rsplit("/", 1)[-1])
    with pytest.raises(RuntimeError, match="metric 'eval' of run .* several points at step 3.*Restore the backup"):
        migrate(empty_db, "0006_workspaces", downgrade=True)
    engine = _engine(empty_db)
    assert current_revision(engine) == "0007_metric_series"
    engine.dispose()
    assert len(MlTrackClient(empty_db).get_metric_history(run_id, "eval")) == 2
