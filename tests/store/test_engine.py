"""`hf_mltrack.store.sql.engine`: password redaction by SQLAlchemy's URL parser."""

from __future__ import annotations

import pytest

from hf_mltrack.store.sql.engine import redact


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        ("postgresql://bob:s3cret@db:5432/x", "postgresql://bob:***@db:5432/x"),
        ("postgresql+psycopg://u:p%40ss%3Aw@h/d?sslmode=require", "postgresql+psycopg://u:***@h/d?sslmode=require"),
        ("postgresql://bob:s3cr@t@db:5432/x", "postgresql://***@db:5432/x"),  # a raw "@": hide all credentials
        ("postgresql://bob@db/x", "postgresql://bob@db/x"),
        ("sqlite:////tmp/a.db", "sqlite:////tmp/a.db"),
        ("http://user:pw@host:5000", "http://user:pw@host:5000".replace(":pw", ":***")),
        ("/tmp/folder", "/tmp/folder"),
    ],
    ids=["password", "encoded", "raw-at", "no-password", "sqlite", "http", "folder"],
)
def test_redact(uri: str, shown: str) -> None:
    assert redact(uri) == shown
    assert "s3cret" not in redact(uri) and "p%40ss" not in redact(uri)


_OPENER = """
import sys, time
start = float(sys.argv[2])
while time.time() < start:
    time.sleep(0.001)
from hf_mltrack import MlTrackClient
client = MlTrackClient(sys.argv[1])
run = client.create_run("0")
client.log_metric(run.info.run_id, "m", 1.0, step=0)
"""


def _fresh_pg_database() -> str:
    import uuid

    import sqlalchemy as sa

    from tests.conftest import PG_ADMIN_URI, _pg_available

    reason = _pg_available()
    if reason:
        pytest.skip(reason)
    name = f"hf_mltrack_new_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URI, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"{PG_ADMIN_URI.rsplit('/', 1)[0]}/{name}"


def _drop_pg_database(uri: str) -> None:
    import sqlalchemy as sa

    from hf_mltrack.store.sql import engine as engine_mod
    from tests.conftest import PG_ADMIN_URI

    for key, eng in list(engine_mod._ENGINES.items()):
        if key.endswith(uri.rsplit("/", 1)[1]):
            eng.dispose()
            engine_mod._ENGINES.pop(key, None)
    admin = sa.create_engine(PG_ADMIN_URI, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{uri.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_eight_processes_opening_a_new_store_at_once_all_succeed(backend, tmp_path) -> None:
    """A sweep's jobs (or a server's workers) opening a store that does not exist yet, at the same instant:
    one creates the schema and the Default experiment, the others wait and find them; none fails."""
    import subprocess
    import sys
    import time

    from hf_mltrack import MlTrackClient

    uri = f"sqlite:///{tmp_path / 'new' / 'mltrack.db'}" if backend == "sqlite" else _fresh_pg_database()
    try:
        start = time.time() + 3.0  # all 8 have imported hf_mltrack by then
        procs = [
            subprocess.Popen([sys.executable, "-c", _OPENER, uri, str(start)], stderr=subprocess.PIPE, text=True)
            for _ in range(8)
        ]
        errors = [p.communicate(timeout=120)[1] for p in procs]
        assert [p.returncode for p in procs] == [0] * 8, "\n".join(e[-800:] for e in errors if e)
        client = MlTrackClient(uri)
        assert [e.name for e in client.search_experiments()] == ["Default"]
        runs = client.search_runs(["0"])
        assert len(runs) == 8 and all(r.data.metrics == {"m": 1.0} for r in runs)
    finally:
        if backend == "postgresql":
            _drop_pg_database(uri)
