"""`insert_rows`: many rows in few statements on SQLite (several statements when the rows exceed one
statement's parameter limit), one executemany elsewhere; rows apply in order under ON CONFLICT."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from hf_mltrack.store.sql.bulk import SQLITE_MAX_VARIABLES, insert_columns, insert_rows


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path):  # type: ignore[no-untyped-def]
    uri = f"sqlite:///{tmp_path / 'bulk.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_database")
    eng = sa.create_engine(uri)
    table = f"bulk_{uuid.uuid4().hex[:8]}"
    with eng.begin() as conn:
        conn.exec_driver_sql(f"CREATE TABLE {table} (k VARCHAR(20) PRIMARY KEY, n INTEGER, note TEXT)")
    yield eng, table
    with eng.begin() as conn:
        conn.exec_driver_sql(f"DROP TABLE {table}")
    eng.dispose()


def test_rows_beyond_one_statement_are_all_written(engine) -> None:  # type: ignore[no-untyped-def]
    eng, table = engine
    n = SQLITE_MAX_VARIABLES // 3 * 2 + 7  # three statements on SQLite
    rows = [(f"k{i}", i, "x" * (i % 5)) for i in range(n)]
    with eng.begin() as conn:
        insert_rows(conn, table, ["k", "n", "note"], rows)
        insert_rows(conn, table, ["k", "n", "note"], [])  # nothing to do
    with eng.connect() as conn:
        got = sorted(conn.exec_driver_sql(f"SELECT k, n, note FROM {table}").fetchall(), key=lambda r: r[1])
    assert [tuple(r) for r in got] == rows


@pytest.mark.parametrize("n", [1, 3, 8192 + 4096 + 7], ids=["one", "three", "full-statement-and-a-remainder"])
def test_columns_of_any_length_are_all_written(engine, n: int) -> None:  # type: ignore[no-untyped-def]
    """On SQLite a remainder goes as statements of its binary digits (4096 + 7 rows: 4096, 4, 2, 1)."""
    eng, table = engine
    keys, numbers, notes = [f"k{i}" for i in range(n)], list(range(n)), [None if i % 3 else "x" for i in range(n)]
    with eng.begin() as conn:
        insert_columns(conn, table, ["k", "n", "note"], [keys, numbers, notes])
    with eng.connect() as conn:
        got = sorted(conn.exec_driver_sql(f"SELECT k, n, note FROM {table}").fetchall(), key=lambda r: r[1])
    assert [tuple(r) for r in got] == list(zip(keys, numbers, notes, strict=True))


@pytest.mark.parametrize("n", [1, 4096 + 5], ids=["one", "full-statement-and-a-remainder"])
def test_shared_leading_columns_are_written_on_every_row(engine, n: int) -> None:  # type: ignore[no-untyped-def]
    """``shared``: a column with one value for every row (bound once per statement on SQLite)."""
    eng, table = engine
    numbers, notes = list(range(n)), [None if i % 3 else "x" for i in range(n)]
    keys = [f"k{i}" for i in range(n)]
    with eng.begin() as conn:
        insert_columns(conn, table, ["note", "k", "n"], [keys, numbers], shared=["same"])
        insert_columns(conn, table, ["k", "n", "note"], [[f"j{i}" for i in range(n)], numbers, notes])
    with eng.connect() as conn:
        got = conn.exec_driver_sql(f"SELECT k, n, note FROM {table} WHERE substr(k, 1, 1) = 'k' ORDER BY n").fetchall()
        other = conn.exec_driver_sql(f"SELECT count(*) FROM {table} WHERE substr(k, 1, 1) = 'j'").scalar()
    assert [tuple(r) for r in got] == [(k, i, "same") for i, k in enumerate(keys)] and other == n


def test_on_conflict_applies_rows_in_order(engine) -> None:  # type: ignore[no-untyped-def]
    eng, table = engine
    suffix = " ON CONFLICT (k) DO UPDATE SET n = excluded.n, note = excluded.note"
    with eng.begin() as conn:
        insert_rows(conn, table, ["k", "n", "note"], [("a", 1, "first"), ("b", 2, "b")])
    # a later row for the same key wins, within one batch on SQLite (PostgreSQL rejects a batch that
    # updates one row twice in one statement; it gets one statement per row)
    batch = [("a", 10, "second"), ("c", 3, "c")] + [(f"z{i}", i, "") for i in range(400)] + [("a", 11, "third")]
    with eng.begin() as conn:
        insert_rows(conn, table, ["k", "n", "note"], batch, suffix)
    with eng.connect() as conn:
        assert tuple(conn.exec_driver_sql(f"SELECT n, note FROM {table} WHERE k = 'a'").one()) == (11, "third")
        assert conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar() == 403


def _statements(eng: sa.Engine) -> list[str]:
    seen: list[str] = []
    sa.event.listen(eng, "before_cursor_execute", lambda conn, cursor, stmt, *a: seen.append(stmt))
    return seen


def test_typed_rows_go_as_one_unnest_statement_on_postgres(engine) -> None:  # type: ignore[no-untyped-def]
    eng, table = engine
    suffix = " ON CONFLICT (k) DO UPDATE SET n = excluded.n, note = excluded.note"
    with eng.begin() as conn:
        insert_rows(conn, table, ["k", "n", "note"], [("a", 1, "first")], pg_types=("text", "integer", "text"))
    seen = _statements(eng)
    # duplicates of a key in one batch: the last one wins (PostgreSQL needs them dropped first)
    batch = [("a", 10, "second"), ("c", 3, None)] + [(f"z{i}", i, "") for i in range(1500)] + [("a", 11, "third")]
    with eng.begin() as conn:
        insert_rows(
            conn, table, ["k", "n", "note"], batch, suffix, pg_types=("text", "integer", "text"), unique_on=(0,)
        )
    with eng.connect() as conn:
        assert tuple(conn.exec_driver_sql(f"SELECT n, note FROM {table} WHERE k = 'a'").one()) == (11, "third")
        assert conn.exec_driver_sql(f"SELECT note FROM {table} WHERE k = 'c'").scalar() is None
        assert conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar() == 1502
    inserts = [s for s in seen if s.startswith("INSERT")]
    if eng.dialect.name == "postgresql":
        assert len(inserts) == 1 and "unnest(" in inserts[0]
    else:  # the types are ignored elsewhere: multi-row VALUES statements
        assert inserts and all("unnest" not in s for s in inserts)


def test_typed_rows_with_a_column_of_only_nulls(engine) -> None:  # type: ignore[no-untyped-def]
    eng, table = engine
    rows = [(f"n{i}", i, None) for i in range(5)]
    with eng.begin() as conn:
        insert_rows(conn, table, ["k", "n", "note"], rows, pg_types=("text", "integer", "text"), unique_on=(0,))
    with eng.connect() as conn:
        got = conn.exec_driver_sql(f"SELECT k, n, note FROM {table} ORDER BY n").fetchall()
    assert [tuple(r) for r in got] == rows
