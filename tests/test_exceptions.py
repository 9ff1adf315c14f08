"""The exception tree's helpers."""

from __future__ import annotations


def test_one_transient_classification() -> None:
    import sqlite3

    import httpx
    import sqlalchemy.exc

    from hf_mltrack.exceptions import InvalidParameterError, MlTrackException, is_transient

    assert is_transient(MlTrackException("busy", "TEMPORARILY_UNAVAILABLE"))
    assert is_transient(MlTrackException("slow down", "REQUEST_LIMIT_EXCEEDED"))
    assert is_transient(sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("database is locked")))
    assert is_transient(sqlite3.OperationalError("database is locked"))  # a local store without SQLAlchemy
    assert not is_transient(sqlite3.IntegrityError("UNIQUE constraint failed"))
    assert is_transient(httpx.ConnectError("refused")) and is_transient(httpx.ReadTimeout("slow"))
    assert is_transient(ConnectionResetError()) and is_transient(TimeoutError())
    assert not is_transient(InvalidParameterError("bad value"))
    assert not is_transient(sqlalchemy.exc.IntegrityError("INSERT", {}, Exception("duplicate")))
    assert not is_transient(FileNotFoundError("gone")) and not is_transient(ValueError("x"))
