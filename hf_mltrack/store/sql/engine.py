"""Engines per database URI: SQLite pragmas for concurrent writers, schema creation, migrations.

SQLite is opened in WAL mode with a busy timeout, and write transactions start with
``BEGIN IMMEDIATE`` so that several processes writing one file wait for each other instead of
failing with "database is locked" when a read lock would have to be upgraded.
"""

from __future__ import annotations

import ast
import functools
import os
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from ...exceptions import InvalidStateError, MlTrackException

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

_ENGINES: dict[str, Engine] = {}
#: The PostgreSQL advisory lock held while a new schema is created (any constant; ours: "hfmltrak").
_SCHEMA_LOCK_KEY = int.from_bytes(b"hfmltrak", "big") & (2**63 - 1)
_LOCK = threading.Lock()


def normalize_db_uri(uri: str) -> str:
    """Pick the installed driver for bare ``postgresql://`` URIs (psycopg 3)."""
    if uri.startswith("postgresql://") or uri.startswith("postgres://"):
        return "postgresql+psycopg://" + uri.split("://", 1)[1]
    return uri


def get_engine(db_uri: str) -> Engine:
    """One engine per URI per process, with the schema created or checked on first use."""
    db_uri = normalize_db_uri(db_uri)
    engine = _ENGINES.get(db_uri)
    if engine is not None:
        return engine
    with _LOCK:
        engine = _ENGINES.get(db_uri)
        if engine is None:
            engine = _create_engine(db_uri)
            ensure_schema(engine)
            _ENGINES[db_uri] = engine
    return engine


def _create_engine(db_uri: str) -> Engine:
    import sqlalchemy as sa
    from sqlalchemy import event

    from ... import _env
    from .sqlite_direct import configure

    if db_uri.startswith("sqlite"):
        path = db_uri.split(":///", 1)[1] if ":///" in db_uri else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(db_uri, connect_args={"timeout": 60, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            configure(dbapi_conn)  # autocommit at the driver level; transactions are begun explicitly below

        @event.listens_for(engine, "begin")
        def _on_begin(conn) -> None:  # type: ignore[no-untyped-def]
            mode = "IMMEDIATE" if conn.get_execution_options().get("hf_write") else "DEFERRED"
            conn.exec_driver_sql(f"BEGIN {mode}")

        return engine
    from .refused_values import raise_refused_values_as_invalid

    try:
        engine = sa.create_engine(
            db_uri,
            pool_size=_env.SQLALCHEMY_POOL_SIZE.get(),
            max_overflow=_env.SQLALCHEMY_MAX_OVERFLOW.get(),
            pool_use_lifo=True,  # the connections in use stay warm; the others are the idle ones
        )
    except ModuleNotFoundError as exc:
        raise MlTrackException(
            f"No database driver for {redact(db_uri)!r} ({exc.name} is missing). For PostgreSQL: "
            "pip install 'hf_mltrack[postgres]'"
        ) from exc
    except Exception as exc:  # sqlalchemy.exc.ArgumentError and friends
        raise MlTrackException(f"Invalid database URI {redact(db_uri)!r}: {exc}") from exc
    raise_refused_values_as_invalid(engine)
    _ping_idle_connections(engine)
    return engine


#: A pooled connection idle for longer than this is pinged before use (seconds).
PING_AFTER_IDLE_S = 2.0


def _ping_idle_connections(engine: Engine) -> None:
    """Check that a pooled connection still works before handing it out, if it has been idle.

    SQLAlchemy's ``pool_pre_ping`` pings on every checkout: on PostgreSQL a ``SELECT 1`` (after the
    ``BEGIN`` psycopg sends for it) before each request's own statements, and under load each round
    trip is one more wait for a CPU and for the GIL (6-31 ms of the slowest log-batch requests' ~200
    ms in ``bench_server.py --team --probe`` on a busy 2-core machine). A connection returned
    to the pool a moment ago is as alive as the ping would show; one idle for longer than
    `PING_AFTER_IDLE_S` (a database restarted meanwhile, an idle timeout, a dropped route) is pinged,
    and replaced if the ping fails (SQLAlchemy's pessimistic disconnect handling, by event). A
    restart within that window fails the requests on its connections once; SQLAlchemy then replaces
    every connection older than the failure.
    """
    import time

    from sqlalchemy import event, exc

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn, record) -> None:  # type: ignore[no-untyped-def]
        record.info["hf_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn, record, _proxy) -> None:  # type: ignore[no-untyped-def]
        since = record.info.pop("hf_idle_since", None)
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_S:
            return  # new (just connected) or just used
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as error:  # the pool discards this connection and tries another
            raise exc.DisconnectionError(f"pooled connection failed its ping: {error}") from error


def redact(db_uri: str) -> str:
    """Hide the password of a database URI for messages (SQLAlchemy's own URL parsing and masking)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(db_uri)
    except (ArgumentError, ValueError):
        return db_uri  # not a database URL (a folder, an http:// server): nothing to hide
    if url.host and "@" in url.host:  # a raw "@" in the password (should be %40): hide all credentials
        return f"{db_uri.split('://', 1)[0]}://***@{db_uri.rsplit('@', 1)[1]}"
    return url.render_as_string(hide_password=True) if url.password is not None else db_uri


_REVISION_LINE = re.compile(r"^(revision|down_revision)\s*(?::[^=\n]*)?=\s*(.+?)\s*$", re.MULTILINE)


@functools.cache
def head_revision() -> str:
    """The newest migration: the one revision no other revision revises (one head, no branches).

    Read from the ``revision`` / ``down_revision`` lines of the revision files, as Alembic does, but
    without importing Alembic (and Mako, Pygments): opening a store is on the training script's path.
    ``test_migrations`` checks it against Alembic's own ``ScriptDirectory.get_heads()``.
    """
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
        found = {m[1]: m[2] for m in _REVISION_LINE.finditer(path.read_text(encoding="utf-8"))}
        if "revision" not in found:
            continue
        revisions.add(ast.literal_eval(found["revision"]))
        down = ast.literal_eval(found.get("down_revision", "None"))
        revised.update([down] if isinstance(down, str) else (down or ()))
    heads = sorted(revisions - revised)
    if len(heads) != 1:
        raise MlTrackException(f"The migrations have {len(heads)} heads {heads}: merge them into one")
    return heads[0]


def __getattr__(name: str) -> str:
    # ``HEAD_REVISION`` stays importable for callers of the former constant.
    if name == "HEAD_REVISION":
        return head_revision()
    raise AttributeError(name)


def current_revision(engine: Engine) -> str | None:
    import sqlalchemy as sa

    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def import_schema_modules() -> None:
    """Import SQLAlchemy and every module that registers tables on the shared ``metadata``."""
    from . import (
        logged_model_schema,  # noqa: F401  (registers the logged model and dataset tables on metadata)
        registry_schema,  # noqa: F401  (registers the registry tables on metadata)
        schema,  # noqa: F401  (the tracking tables)
        tracing_schema,  # noqa: F401  (registers the trace tables on metadata)
        webhook_schema,  # noqa: F401  (registers the webhook tables on metadata)
        workspace_schema,  # noqa: F401  (registers the UI's saved workspaces on metadata)
    )


def ensure_schema(engine: Engine) -> None:
    """Create a fresh schema (stamped at head), or refuse a database that needs migrating.

    SQLite: from the stored DDL of the head revision (`sqlite_schema`), as a store opened without
    SQLAlchemy creates it.
    """
    import sqlalchemy as sa

    from .schema import metadata

    import_schema_modules()

    shown = redact(str(engine.url))
    if engine.dialect.name == "sqlite":
        from . import sqlite_schema

        try:
            raw = engine.raw_connection()
        except Exception as exc:
            raise MlTrackException(f"Cannot open the tracking database {shown!r}: {exc}") from exc
        try:
            sqlite_schema.ensure(raw.driver_connection, shown)  # type: ignore[arg-type]
        finally:
            raw.close()
        return
    try:
        with engine.connect() as conn:
            has_experiments = sa.inspect(conn).has_table("experiments")
    except Exception as exc:
        raise MlTrackException(f"Cannot open the tracking database {shown!r}: {exc}") from exc
    if not has_experiments:
        # Several processes may open a new store at the same instant (a sweep's jobs, a server's
        # workers): one creates the schema, the others wait for it and find it made (a
        # transaction-scoped advisory lock serializes them).
        with engine.execution_options(hf_write=True).begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK_KEY})
            if sa.inspect(conn).has_table("experiments"):
                return
            metadata.create_all(conn)
            conn.execute(
                sa.text("CREATE TABLE IF NOT EXISTS alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)")
            )
            conn.execute(sa.text("DELETE FROM alembic_version"))
            conn.execute(sa.text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": head_revision()})
        return
    revision = current_revision(engine)
    if revision != head_revision():
        raise outdated_schema(shown, revision)


def outdated_schema(shown_uri: str, revision: str | None) -> InvalidStateError:
    """The error for a database at another schema revision than this hf_mltrack's (``shown_uri``: redacted)."""
    return InvalidStateError(
        f"The tracking database {shown_uri!r} is at schema revision {revision!r}, "
        f"this hf_mltrack needs {head_revision()!r}. Back up the database, then run: "
        f"hf-mltrack db upgrade {shown_uri}"
    )


def upgrade(db_uri: str) -> str:
    """Run Alembic migrations to head; returns the revision reached."""
    return migrate(db_uri, "head")


def migrate(db_uri: str, target: str, downgrade: bool = False) -> str:
    """Upgrade (or downgrade) a database to the Alembic revision ``target``; returns the revision reached."""
    from alembic import command
    from alembic.config import Config

    db_uri = normalize_db_uri(db_uri)
    engine = _create_engine(db_uri)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", db_uri.replace("%", "%%"))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if downgrade else command.upgrade)(cfg, target)
    rev = current_revision(engine) or "none"
    engine.dispose()
    _ENGINES.pop(db_uri, None)
    return rev


def _reset_after_fork() -> None:
    # Connections must not be shared with a forked child; it opens its own.
    _ENGINES.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)
