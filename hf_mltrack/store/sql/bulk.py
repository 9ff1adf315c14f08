"""Bulk inserts on the driver directly (SQLAlchemy's per-row parameter processing costs more than
SQLite's insert itself).

On SQLite the rows go as multi-row ``INSERT ... VALUES (...), (...), ...`` statements of at most 999
bound parameters rather than an ``executemany``. That is 1.5-1.7x faster on its own, and it matters
more for a background writer: the sqlite3 module releases and retakes the GIL around every statement
it steps, so an ``executemany`` hands the GIL to the program's own thread and waits for it back once
per row — hundreds of thread switches per batch, paid by both threads. Rows are inserted in order, so
with an ``ON CONFLICT ... DO UPDATE`` suffix a later row of the same batch still wins, as it does with
``executemany``.

On PostgreSQL (given the columns' types) a batch is one ``INSERT ... SELECT * FROM unnest(%s::type[],
...)`` with one array per column: a single statement and round trip whatever the batch size, where an
``executemany`` sends (and the server plans and executes) one statement per row; numeric arrays go
packed by `pg_arrays` (psycopg would build them element by element in Python). ``ON CONFLICT DO
UPDATE`` may not touch a row twice in one statement, so callers pass rows unique on the conflict key
(``unique_on`` drops earlier duplicates, keeping the last row as sequential inserts would). Other
databases get one ``executemany``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import chain
from typing import TYPE_CHECKING, Any

from .pg_arrays import binary_array, teach

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

SQLITE_MAX_VARIABLES = 999  # bound parameters per statement (SQLite's limit before 3.32)


def insert_rows(
    conn: Connection,
    table: str,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    suffix: str = "",
    pg_types: Sequence[str] | None = None,
    unique_on: Sequence[int] | None = None,
) -> None:
    """``INSERT INTO table (columns) VALUES ...`` + `suffix` (e.g. an ``ON CONFLICT`` clause, without
    parameters) for every row, in order.

    ``pg_types`` (one PostgreSQL type per column) enables the single-statement ``unnest`` path there;
    ``unique_on`` (column positions of the conflict key) makes rows unique on it first, last one wins.
    """
    if not rows:
        return
    names = ", ".join(columns)
    if pg_types is not None and conn.dialect.name == "postgresql":
        if unique_on is not None:
            rows = list({tuple(r[i] for i in unique_on): r for r in rows}.values())
        # Binary parameters (%b): numbers and strings go without text formatting and quoting. A
        # column with one value for every row (the run id, a single key) goes once, as a scalar.
        exprs: list[str] = []
        arrays: list[str] = []
        params: list[Any] = []
        array_params: list[list[Any]] = []
        for i, (column, pg_type) in enumerate(zip(zip(*rows, strict=True), pg_types, strict=True)):
            constant = len(rows) > 1 and type(column[0]) is str and column.count(column[0]) == len(column)
            if constant and i < len(pg_types) - 1:  # (the last column stays an array: unnest needs one)
                exprs.append(f"%b::{pg_type}")
                params.append(column[0])
            else:
                exprs.append(f"u.c{i}")
                arrays.append(f"%b::{pg_type}[]")
                array_params.append(binary_array(list(column), pg_type))
        aliases = ", ".join(e for e in exprs if e.startswith("u."))
        _pg_execute(
            conn,
            f"INSERT INTO {table} ({names}) SELECT {', '.join(exprs)} "
            f"FROM unnest({', '.join(arrays)}) AS u({aliases.replace('u.', '')}){suffix}",
            (*params, *array_params),
        )
        return
    paramstyle = conn.dialect.paramstyle
    if paramstyle == "qmark":
        row = f"({', '.join(['?'] * len(columns))})"
        per_statement = max(1, SQLITE_MAX_VARIABLES // len(columns))
        for i in range(0, len(rows), per_statement):
            chunk = rows[i : i + per_statement]
            conn.exec_driver_sql(
                f"INSERT INTO {table} ({names}) VALUES {', '.join([row] * len(chunk))}{suffix}",
                tuple(chain.from_iterable(chunk)),
            )
        return
    if paramstyle in ("format", "pyformat"):
        conn.exec_driver_sql(
            f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(columns))}){suffix}", list(rows)
        )
        return
    import sqlalchemy as sa  # another driver: SQLAlchemy binds the parameters

    statement = sa.text(f"INSERT INTO {table} ({names}) VALUES ({', '.join(f':{c}' for c in columns)}){suffix}")
    conn.execute(statement, [dict(zip(columns, r, strict=True)) for r in rows])


# Bound parameters per multi-row statement where SQLite allows more than 999 (3.32+: 32,766). Bigger
# statements are fewer round trips through Python, and the GIL is free while SQLite runs each one: a
# background writer gets the GIL back from a busy training thread only every switch interval (5 ms),
# so the rows a statement carries bound what it writes per interval.
_SQLITE_COLUMN_VARIABLES = 32_766
# Rows per statement at most: a bigger statement is compiled once more per process (its text is
# ~12 bytes a row) for fewer statements; 4096 keeps the writer's pace under a busy caller.
_SQLITE_ROWS = 4096


@functools.cache
def _multi_row_insert(table: str, names: str, row: str, rows: int, suffix: str) -> str:
    return f"INSERT INTO {table} ({names}) VALUES {', '.join([row] * rows)}{suffix}"


def insert_columns(
    conn: Connection,
    table: str,
    columns: Sequence[str],
    data: Sequence[list[Any]],
    suffix: str = "",
    pg_types: Sequence[str] | None = None,
    shared: Sequence[Any] = (),
) -> None:
    """`insert_rows` for rows given column-wise (``data[i]`` holds column i of every row; rows unique on
    the conflict key), without building a tuple per row.

    ``shared``: the values of the first ``len(shared)`` columns, the same in every row (a series' id);
    ``data`` then holds the other columns. On SQLite they are bound once per statement (``?1``), not
    once per row. On SQLite the columns are interleaved into one flat parameter list by slice
    assignment (C loops) and sent through the driver's own cursor; on PostgreSQL they are already the
    ``unnest`` arrays.
    """
    n = len(data[0]) if data else 0
    if not n:
        return
    names = ", ".join(columns)
    dialect = conn.dialect.name
    if shared and dialect != "sqlite":
        data, shared = [*([value] * n for value in shared), *data], ()
    width = len(columns) - len(shared)
    if dialect == "sqlite":
        import sqlite3

        limit = _SQLITE_COLUMN_VARIABLES if sqlite3.sqlite_version_info >= (3, 32) else SQLITE_MAX_VARIABLES
        # Statements of a power-of-two number of rows (at most 4096), the last ones cut by the binary
        # digits of the rest (4096 + 1024 + 8 + 1 rows, say): a handful of statement texts, each compiled
        # once into the driver's cache. No padding rows: the driver adapts a None parameter through a
        # slow path.
        per_statement = min(_SQLITE_ROWS, 1 << (max(1, (limit - len(shared)) // width).bit_length() - 1))
        flat: list[Any] = [None] * (n * width)
        for i, column in enumerate(data):
            flat[i::width] = column
        row = f"({', '.join([f'?{i + 1}' for i in range(len(shared))] + ['?'] * width)})"
        head = list(shared)
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            start = 0
            while start < n:
                count = min(per_statement, 1 << ((n - start).bit_length() - 1))
                part = flat[start * width : (start + count) * width]
                cursor.execute(_multi_row_insert(table, names, row, count, suffix), head + part if head else part)
                start += count
        finally:
            cursor.close()
        return
    if pg_types is not None and dialect == "postgresql":
        arrays = ", ".join(f"%b::{t}[]" for t in pg_types)
        aliases = ", ".join(f"c{i}" for i in range(width))
        _pg_execute(
            conn,
            f"INSERT INTO {table} ({names}) SELECT {aliases} FROM unnest({arrays}) AS u({aliases}){suffix}",
            [binary_array(column, pg_type) for column, pg_type in zip(data, pg_types, strict=True)],
        )
        return
    insert_rows(conn, table, columns, list(zip(*data, strict=True)), suffix)


def _pg_execute(conn: Connection, statement: str, params: Sequence[Any]) -> None:
    """A write; inside `pipelined`, on psycopg's own cursor, sent without waiting for its result."""
    driver_connection = conn.connection.dbapi_connection
    teach(driver_connection)
    if not conn.info.get("hf_pipelined"):
        conn.exec_driver_sql(statement, tuple(params))
        return
    with driver_connection.cursor() as cursor:  # type: ignore[union-attr]
        cursor.execute(statement, params)


@contextmanager
def pipelined(conn: Connection) -> Iterator[None]:
    """On PostgreSQL (psycopg 3, libpq 14+), the bulk writes made inside go in one round trip (pipeline
    mode): a metric batch's points, latest values and bucket summaries are sent back to back and their
    results (errors included) are read once, when the block ends. Elsewhere it does nothing."""
    pipeline = (
        getattr(conn.connection.dbapi_connection, "pipeline", None) if conn.dialect.name == "postgresql" else None
    )
    if pipeline is None:
        yield
        return
    import psycopg

    if not psycopg.Pipeline.is_supported():
        yield
        return
    with pipeline():
        conn.info["hf_pipelined"] = True
        try:
            yield
        finally:
            conn.info.pop("hf_pipelined", None)
