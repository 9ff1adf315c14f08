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
