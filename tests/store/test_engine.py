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


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_eight_processes_opening_a_new_store_at_once_all_succeed(backend, tmp_path, request) -> None:
    """A sweep's jobs (or a server's workers) opening a store that does not exist yet, at the same instant:
    one creates the schema and the Default experiment, the others wait and find them; none fails."""
    import subprocess
    import sys
    import time

    from hf_mltrack import MlTrackClient

    if backend == "sqlite":
        uri = f"sqlite:///{tmp_path / 'new' / 'mltrack.db'}"
    else:
        uri = request.getfixturevalue("new_pg_database")
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


def test_head_revision_matches_alembic_without_importing_it(tmp_path) -> None:
    """The schema check at store open reads the head from the revision files; Alembic agrees."""
    import subprocess
    import sys

    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from hf_mltrack.store.sql.engine import MIGRATIONS_DIR, head_revision

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert [head_revision()] == ScriptDirectory.from_config(cfg).get_heads()
    # A fresh store is created and checked without Alembic (and its Mako/Pygments) in the process.
    code = (
        "import sys\n"
        "from hf_mltrack.store.sql.tracking_store import SqlTrackingStore\n"
        f"SqlTrackingStore('sqlite:///{tmp_path}/fresh.db')\n"
        f"SqlTrackingStore('sqlite:///{tmp_path}/fresh.db')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('alembic', 'mako', 'pygments')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_head_revision_follows_the_revision_chain(tmp_path, monkeypatch) -> None:
    """Typed assignments and a merge's tuple of down revisions count; two heads are an error."""
    from hf_mltrack.exceptions import MlTrackException
    from hf_mltrack.store.sql import engine

    versions = tmp_path / "versions"
    versions.mkdir()
    (versions / "a.py").write_text('revision = "a"\ndown_revision = None\n')
    (versions / "b.py").write_text('revision: str = "b"\ndown_revision: str | None = "a"\n')
    (versions / "c.py").write_text("revision = 'c'\ndown_revision = 'a'\n")
    monkeypatch.setattr(engine, "MIGRATIONS_DIR", tmp_path)
    engine.head_revision.cache_clear()
    try:
        with pytest.raises(MlTrackException, match="2 heads"):
            engine.head_revision()
        engine.head_revision.cache_clear()
        (versions / "d.py").write_text('revision = "d"\ndown_revision = ("b", "c")\n')
        assert engine.head_revision() == "d"
    finally:
        engine.head_revision.cache_clear()


def _kill_backend(engine) -> None:  # type: ignore[no-untyped-def]
    """End, from another connection, the server process behind the engine's one pooled connection."""
    import sqlalchemy as sa

    with engine.connect() as conn:
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    admin = sa.create_engine(engine.url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    admin.dispose()


def test_a_pooled_connection_idle_for_a_while_is_pinged_and_replaced_when_dead(new_pg_database, monkeypatch) -> None:
    from hf_mltrack.store.sql import engine as engine_mod

    engine = engine_mod._create_engine(engine_mod.normalize_db_uri(new_pg_database))
    try:
        _kill_backend(engine)
        monkeypatch.setattr(engine_mod, "PING_AFTER_IDLE_S", 0.0)  # every checkout counts as idle
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT 1").scalar() == 1
    finally:
        engine.dispose()


def test_a_connection_used_a_moment_ago_is_not_pinged(new_pg_database, monkeypatch) -> None:
    import sqlalchemy as sa

    from hf_mltrack.store.sql import engine as engine_mod

    monkeypatch.setattr(engine_mod, "PING_AFTER_IDLE_S", 3600.0)
    engine = engine_mod._create_engine(engine_mod.normalize_db_uri(new_pg_database))
    try:
        _kill_backend(engine)
        # No ping on checkout: the dead connection is found by the statement itself, and SQLAlchemy
        # then replaces the pool's connections, so the next checkout works again.
        with pytest.raises(sa.exc.OperationalError), engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT 1").scalar() == 1
    finally:
        engine.dispose()
