"""Shared fixtures: every test gets a fresh embedded store and a clean HF_MLTRACK_* environment."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith("HF_MLTRACK_") or name.startswith("MLFLOW_"):
            monkeypatch.delenv(name, raising=False)
    home = tmp_path / "mltrack_home"
    monkeypatch.setenv("HF_MLTRACK_HOME", str(home))
    import hf_mltrack.tracking.fluent as fluent

    fluent._reset_state()
    yield
    fluent._reset_state()


@pytest.fixture
def tracking_uri(tmp_path: Path) -> str:
    """A fresh SQLite tracking URI, already set as the current one."""
    import hf_mltrack

    uri = f"sqlite:///{tmp_path / 'store' / 'mltrack.db'}"
    hf_mltrack.set_tracking_uri(uri)
    return uri


@pytest.fixture
def client(tracking_uri: str):
    from hf_mltrack.tracking import MlTrackClient

    return MlTrackClient(tracking_uri)


# ---- the same suites on SQLite and on the real PostgreSQL server ----------------------------
PG_ADMIN_URI = os.environ.get("HF_MLTRACK_TEST_POSTGRES_URI", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_available() -> str | None:
    try:
        import sqlalchemy as sa

        engine = sa.create_engine(PG_ADMIN_URI, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # no server, no driver
        return f"PostgreSQL not reachable at {PG_ADMIN_URI}: {exc}"


def create_pg_database(prefix: str = "hf_mltrack_test") -> str:
    """A new, empty PostgreSQL database (no schema); skips the test when no server answers."""
    reason = _pg_available()
    if reason:
        pytest.skip(reason)
    import sqlalchemy as sa

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URI, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"{PG_ADMIN_URI.rsplit('/', 1)[0]}/{name}"


def drop_pg_database(uri: str) -> None:
    """Close this process's engines on the database of ``uri`` and drop it."""
    import sqlalchemy as sa

    from hf_mltrack.store.sql import engine as engine_mod

    name = uri.rsplit("/", 1)[1]
    for key, eng in list(engine_mod._ENGINES.items()):
        if key.rsplit("/", 1)[1] == name:
            eng.dispose()
            engine_mod._ENGINES.pop(key, None)
    admin = sa.create_engine(PG_ADMIN_URI, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A throwaway PostgreSQL database for this session, dropped at the end."""
    uri = create_pg_database()
    yield uri
    drop_pg_database(uri)


@pytest.fixture
def new_pg_database() -> Iterator[str]:
    """A brand-new PostgreSQL database for one test, without any schema yet; dropped after."""
    uri = create_pg_database("hf_mltrack_new")
    yield uri
    drop_pg_database(uri)


def _truncate_pg(uri: str) -> None:
    from hf_mltrack.store.sql.engine import get_engine

    engine = get_engine(uri)
    import sqlalchemy as sa

    with engine.begin() as conn:
        tables = [
            r[0]
            for r in conn.execute(sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
            if r[0] != "alembic_version"
        ]
        if tables:
            conn.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    # the tracking store recreates the Default experiment when it is next opened


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty tracking store URI on each backend, set as the current tracking URI."""
    import hf_mltrack

    if request.param == "sqlite":
        uri = f"sqlite:///{tmp_path / 'store' / 'mltrack.db'}"
    else:
        uri = request.getfixturevalue("pg_database")
        _truncate_pg(uri)
    hf_mltrack.set_tracking_uri(uri)
    return uri


@pytest.fixture
def empty_pg_database(pg_database: str) -> str:
    """The session's PostgreSQL database with every table emptied (no Default experiment yet)."""
    _truncate_pg(pg_database)
    return pg_database
