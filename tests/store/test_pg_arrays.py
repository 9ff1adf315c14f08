"""`pg_arrays`: numeric columns go to PostgreSQL as packed binary arrays and come back exactly; columns
it cannot pack (NULLs, text, out of range) go as lists, through psycopg's own dumper, as before."""

from __future__ import annotations

import math
import uuid

import pytest
import sqlalchemy as sa

from hf_mltrack.store.sql.bulk import insert_columns
from hf_mltrack.store.sql.pg_arrays import binary_array

pytestmark = pytest.mark.postgres

COLUMNS = ("big", "small", "x")
TYPES = ("bigint", "integer", "float8")


@pytest.fixture
def pg(pg_database: str):  # type: ignore[no-untyped-def]
    """A plain SQLAlchemy engine (not hf_mltrack's: the bulk path must teach its connections itself)
    with an empty table of the three packed types, and the parameters of every statement it runs."""
    eng = sa.create_engine(pg_database)
    table = f"packed_{uuid.uuid4().hex[:8]}"
    with eng.begin() as conn:
        conn.exec_driver_sql(f"CREATE TABLE {table} (big BIGINT, small INTEGER, x DOUBLE PRECISION)")
    sent: list = []
    sa.event.listen(eng, "before_cursor_execute", lambda conn, cursor, stmt, params, *a: sent.append(params))
    yield eng, table, sent
    with eng.begin() as conn:
        conn.exec_driver_sql(f"DROP TABLE {table}")
    eng.dispose()


def _read(eng: sa.Engine, table: str) -> list[tuple]:
    with eng.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(f"SELECT big, small, x FROM {table} ORDER BY small")]


def test_numeric_columns_round_trip_exactly_as_packed_arrays(pg) -> None:  # type: ignore[no-untyped-def]
    eng, table, sent = pg
    big = [-(2**63), 2**63 - 1, 0, 1_700_000_000_000, -1, True]
    small = [-(2**31), 2**31 - 1, 0, 1, 2, 3]
    x = [1.0 / 3, -0.0, math.inf, -math.inf, 5e-324, 7]  # 7: an int in a float8 column
    with eng.begin() as conn:
        insert_columns(conn, table, COLUMNS, [big, small, x], pg_types=TYPES)
    assert [type(p).__name__ for p in sent[-1]] == ["PackedArray_bigint", "PackedArray_integer", "PackedArray_float8"]
    got = sorted(_read(eng, table), key=lambda r: r[1])
    assert got == sorted(zip(big, small, x, strict=True), key=lambda r: r[1])
    assert math.copysign(1, next(r[2] for r in got if r[1] == 2**31 - 1)) == -1  # -0.0 kept its sign


def test_nan_is_kept(pg) -> None:  # type: ignore[no-untyped-def]
    eng, table, _ = pg
    with eng.begin() as conn:
        insert_columns(conn, table, COLUMNS, [[1, 2], [1, 2], [math.nan, 0.5]], pg_types=TYPES)
    assert math.isnan(_read(eng, table)[0][2])


def test_columns_that_cannot_be_packed_go_as_lists(pg) -> None:  # type: ignore[no-untyped-def]
    eng, table, sent = pg
    with eng.begin() as conn:
        insert_columns(conn, table, COLUMNS, [[1, None], [1, 2], [0.5, None]], pg_types=TYPES)
    assert [type(p) for p in sent[-1]] == [list, type(binary_array([1], "integer")), list]
    assert _read(eng, table) == [(1, 1, 0.5), (None, 2, None)]
    with pytest.raises(sa.exc.DataError, match="out of range"), eng.begin() as conn:
        insert_columns(conn, table, COLUMNS, [[1], [2**31], [0.5]], pg_types=TYPES)  # as an error, as before


def test_only_known_numeric_types_are_packed() -> None:
    assert binary_array(["a", "b"], "text") == ["a", "b"]
    assert binary_array([], "bigint") == []
    assert binary_array([1.5], "bigint") == [1.5]  # not an integer: psycopg's dumper decides
    assert isinstance(binary_array([1, 2], "bigint"), bytes)
