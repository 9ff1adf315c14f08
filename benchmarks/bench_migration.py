"""Revision 0007 (the narrow metric schema) on a store of 1,000,000 metric points, SQLite and PostgreSQL.

    python benchmarks/bench_migration.py                 # 1M points: 200 runs x 5 keys x 1,000 steps
    python benchmarks/bench_migration.py --quick         # 100k points
    python benchmarks/bench_migration.py --backends sqlite

A database is built at revision 0006 with the old ``metrics`` table (bulk-loaded: executemany on
SQLite, COPY on PostgreSQL), then ``hf-mltrack db upgrade``'s ``upgrade()`` is timed; the points,
their series and the bucket summaries are counted afterwards and one history is read back.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path


def _seed(uri: str, runs: int, keys: int, steps: int) -> int:
    from hf_mltrack.store.sql.engine import _create_engine, migrate, normalize_db_uri

    migrate(uri, "0006_workspaces")
    engine = _create_engine(normalize_db_uri(uri))
    pg = engine.dialect.name == "postgresql"
    run_ids = [uuid.UUID(int=i + 1).hex for i in range(runs)]
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        if not pg:
            cur.execute("BEGIN")
        mark = "%s" if pg else "?"
        cur.execute(
            "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage) "
            "VALUES (0, 'Default', 'file:///a/0', 'active')"
        )
        cur.executemany(
            f"INSERT INTO runs (run_uuid, experiment_id, status, lifecycle_stage) VALUES ({mark}, 0, 'FINISHED', "
            "'active')",
            [(r,) for r in run_ids],
        )

        def rows():  # type: ignore[no-untyped-def]
            for r in run_ids:
                for k in range(keys):
                    for s in range(steps):
                        yield (r, f"metric_{k}", s, ((s * 7919 + k) % 1000) / 1000, 1_700_000_000_000 + s, False)

        cols = "run_uuid, key, step, value, timestamp, is_nan"
        if pg:
            with cur.copy(f"COPY metrics ({cols}) FROM STDIN") as copy:
                for row in rows():
                    copy.write_row(row)
        else:
            cur.executemany(f"INSERT INTO metrics ({cols}) VALUES (?, ?, ?, ?, ?, ?)", rows())
        latest = [(r, f"metric_{k}", steps - 1, 0.5, 1, False) for r in run_ids for k in range(keys)]
        cur.executemany(
            f"INSERT INTO latest_metrics ({cols}) VALUES ({', '.join([mark] * 6)})",
            latest,
        )
        if pg:
            raw.commit()
        else:
            cur.execute("COMMIT")
    finally:
        raw.close()
    engine.dispose()
    return runs * keys * steps


def _check(uri: str, points: int, steps: int) -> tuple[int, int, int]:
    import sqlalchemy as sa

    from hf_mltrack.store.sql.engine import _create_engine, normalize_db_uri
    from hf_mltrack.tracking import MlTrackClient

    engine = _create_engine(normalize_db_uri(uri))
    with engine.connect() as conn:
        counts = tuple(
            int(conn.execute(sa.text(f"SELECT COUNT(*) FROM {t}")).scalar() or 0)
            for t in ("metric_points", "metric_series", "metric_buckets")
        )
    engine.dispose()
    assert counts[0] == points, counts
    history = MlTrackClient(uri).get_metric_history(uuid.UUID(int=1).hex, "metric_0")
    assert [m.step for m in history] == list(range(steps))
    return counts  # type: ignore[return-value]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="100k points instead of 1M")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--pg-admin", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    runs, keys, steps = (20, 5, 1000) if args.quick else (200, 5, 1000)
    print(f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs")
    import sqlalchemy as sa

    from hf_mltrack.store.sql.engine import upgrade

    for backend in args.backends.split(","):
        with tempfile.TemporaryDirectory() as d:
            name = f"h_migr_bench_{uuid.uuid4().hex[:8]}"
            admin = None
            if backend == "sqlite":
                uri = f"sqlite:///{Path(d) / 'mltrack.db'}"
            else:
                admin = sa.create_engine(args.pg_admin, isolation_level="AUTOCOMMIT")
                with admin.connect() as conn:
                    conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
                uri = f"{args.pg_admin.rsplit('/', 1)[0]}/{name}"
            try:
                t = time.perf_counter()
                points = _seed(uri, runs, keys, steps)
                seed_s = time.perf_counter() - t
                t = time.perf_counter()
                rev = upgrade(uri)
                up_s = time.perf_counter() - t
                counts = _check(uri, points, steps)
                print(
                    f"{backend}: {points:,} points ({runs} runs x {keys} keys x {steps} steps) seeded at 0006 in "
                    f"{seed_s:.1f} s; upgrade to {rev} in {up_s:.1f} s ({points / up_s:,.0f} points/s): "
                    f"{counts[0]:,} points, {counts[1]:,} series, {counts[2]:,} bucket rows; history read back"
                )
            finally:
                if admin is not None:
                    from hf_mltrack.store.sql import engine as engine_mod

                    for key in [k for k in engine_mod._ENGINES if name in k]:
                        engine_mod._ENGINES.pop(key).dispose()
                    with admin.connect() as conn:
                        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                    admin.dispose()


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
