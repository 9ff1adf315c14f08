"""A local SQLite store's plain-SQL statements on ``sqlite3`` connections, without SQLAlchemy.

What a training run writes is plain SQL on the driver already (``exec_driver_sql``: the run, its
params and tags, metric points, dataset inputs, the final status). A fresh process would import
SQLAlchemy (~110 ms of CPU, more than a Trainer job's whole budget for the tracker's fixed cost)
only to hand those strings to the sqlite3 module. So on a local SQLite file `SqlTrackingStore` runs
those statements on connections opened here, with the pragmas and transaction modes of its
SQLAlchemy engine (`engine`), and a new file gets its schema from the stored DDL of the head
revision (`sqlite_schema`). Whatever is built with SQLAlchemy Core (searches, deletes, the
registry, the server's extras) goes through the engine, made on first use. Both work on one
database file, as several processes do: WAL mode, a busy timeout, ``BEGIN IMMEDIATE`` for writes.

`Connection` is the part of SQLAlchemy's ``Connection`` those statements use (``exec_driver_sql``,
``dialect.name`` and ``dialect.paramstyle``, ``connection.dbapi_connection``, ``info``), so the
store's methods and the bulk helpers run unchanged on either; `tests/store/test_sqlite_direct.py`
checks both leave the same rows.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=60000",
    "PRAGMA foreign_keys=ON",
    "PRAGMA case_sensitive_like=ON",
)
_MAX_IDLE = 8  # idle connections kept per database (a server's threads may hold more at once)
# Connections a forked child inherited: never used nor closed there (closing one could checkpoint or
# unlink the parent's WAL), only kept from the garbage collector.
_INHERITED: list[sqlite3.Connection] = []


def configure(dbapi_conn: sqlite3.Connection) -> None:
    """Autocommit at the driver level (transactions are begun explicitly) and the store's pragmas."""
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


def local_path(db_uri: str) -> str | None:
    """The file of a ``sqlite:///path`` URI; None for anything else (in-memory, query options, escapes,
    another driver), which stays with SQLAlchemy."""
    if not db_uri.startswith("sqlite:///"):
        return None
    path = db_uri[len("sqlite:///") :]
    if not path or path == ":memory:" or any(c in path for c in "?%#"):
        return None
    return path


class _Dialect:
    name = "sqlite"
    paramstyle = "qmark"


class Result:
    """The rows of one statement, read as SQLAlchemy's result is: ``first``, ``fetchall``, iteration."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    def __iter__(self) -> Iterator[Any]:
        return iter(self._cursor.fetchall())

    def first(self) -> Any:
        row = self._cursor.fetchone()
        self._cursor.close()
        return row

    def scalar(self) -> Any:
        row = self.first()
        return None if row is None else row[0]

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    all = fetchall

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount


class Connection:
    """One transaction on a ``sqlite3`` connection, with SQLAlchemy's ``Connection`` surface for plain SQL."""

    dialect = _Dialect()

    def __init__(self, dbapi_connection: sqlite3.Connection) -> None:
        self.dbapi_connection = dbapi_connection
        self.connection = self  # ``conn.connection.dbapi_connection``, as through SQLAlchemy's pool proxy
        self.info: dict[str, Any] = {}

    def exec_driver_sql(self, statement: str, parameters: Sequence[Any] | list[Sequence[Any]] = ()) -> Result:
        """A list of parameter rows runs the statement once per row (``executemany``), as in SQLAlchemy."""
        cursor = self.dbapi_connection.cursor()
        if isinstance(parameters, list):
            cursor.executemany(statement, parameters)
        else:
            cursor.execute(statement, parameters)
        return Result(cursor)


class Database:
    """Pooled ``sqlite3`` connections to one file, configured as the engine's are."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._idle: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()
        Path(path).parent.mkdir(parents=True, exist_ok=True)

    def _checkout(self) -> sqlite3.Connection:
        with self._lock:
            if self._pid != os.getpid():  # a forked child: the parent's connections are not ours to use
                _INHERITED.extend(self._idle)
                self._idle, self._pid = [], os.getpid()
            if self._idle:
                return self._idle.pop()
        dbapi_connection = sqlite3.connect(self.path, timeout=60, check_same_thread=False)
        configure(dbapi_connection)
        return dbapi_connection

    def _checkin(self, dbapi_connection: sqlite3.Connection) -> None:
        with self._lock:
            if self._pid == os.getpid() and len(self._idle) < _MAX_IDLE:
                self._idle.append(dbapi_connection)
                return
        if self._pid == os.getpid():
            dbapi_connection.close()
        else:
            _INHERITED.append(dbapi_connection)

    def ensure_schema(self, shown_uri: str) -> None:
        """Create the schema of a new file, or check that the file's is at head (`sqlite_schema.ensure`)."""
        from ...exceptions import MlTrackException
        from .sqlite_schema import ensure

        try:
            dbapi_connection = self._checkout()
        except sqlite3.Error as exc:
            raise MlTrackException(f"Cannot open the tracking database {shown_uri!r}: {exc}") from exc
        try:
            ensure(dbapi_connection, shown_uri)
        finally:
            self._checkin(dbapi_connection)

    @contextmanager
    def begin(self, write: bool) -> Iterator[Connection]:
        """A transaction: committed at the end of the block (a write) or rolled back (a read, an error).

        Writes start with ``BEGIN IMMEDIATE``: the write lock is taken up front, so concurrent writers
        wait (busy timeout) instead of failing when a read lock would have to be upgraded.
        """
        dbapi_connection = self._checkout()
        try:
            dbapi_connection.execute("BEGIN IMMEDIATE" if write else "BEGIN DEFERRED")
            try:
                yield Connection(dbapi_connection)
                if write:
                    dbapi_connection.commit()
            finally:
                if dbapi_connection.in_transaction:  # a read, or an error before or during the commit
                    dbapi_connection.rollback()
        except BaseException:
            if dbapi_connection.in_transaction:  # the rollback failed too: not reused
                dbapi_connection.close()
                raise
            self._checkin(dbapi_connection)
            raise
        self._checkin(dbapi_connection)
