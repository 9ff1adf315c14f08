"""`hf_mltrack.store.sql.sqlite_schema`: the stored DDL of a new SQLite store cannot drift from the
tables' metadata nor from the migrations."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from hf_mltrack.store.sql import sqlite_direct, sqlite_schema


def test_stored_ddl_is_what_the_metadata_renders_today() -> None:
    """After a schema change, regenerate it: python -m hf_mltrack.store.sql.sqlite_schema."""
    assert sqlite_schema.HEAD_DDL.read_text(encoding="utf-8") == sqlite_schema.render()
    # whatever order the schema modules were imported in (they add their tables to one metadata)
    script = (
        "import hf_mltrack.store.sql.workspace_schema, hf_mltrack.store.sql.registry_schema\n"
        "from hf_mltrack.store.sql import sqlite_schema\n"
        "print(sqlite_schema.render() == sqlite_schema.HEAD_DDL.read_text(encoding='utf-8'))"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "True", out.stderr[-2000:]


def test_stored_revision_is_alembics_head() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from hf_mltrack.store.sql.engine import MIGRATIONS_DIR

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert [sqlite_schema.stored()[0]] == ScriptDirectory.from_config(cfg).get_heads()


def test_a_store_made_from_it_is_what_the_migrations_build(tmp_path: Path) -> None:
    """Alembic finds nothing to change between a store created from the script and the head revision's
    tables, and the store is stamped at head (so `hf-mltrack db upgrade` and later opens see it current)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from hf_mltrack.store.sql.engine import _create_engine, current_revision, head_revision, import_schema_modules
    from hf_mltrack.store.sql.schema import metadata

    path = tmp_path / "new.db"
    sqlite_direct.Database(str(path)).ensure_schema(f"sqlite:///{path}")
    import_schema_modules()
    engine = _create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_a_store_at_another_revision_is_refused(tmp_path: Path) -> None:
    from hf_mltrack.exceptions import InvalidStateError

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE experiments (experiment_id INTEGER PRIMARY KEY)")
        conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)")
        conn.execute("INSERT INTO alembic_version VALUES ('0001_initial')")
    conn.close()
    uri = f"sqlite:///{path}"
    with pytest.raises(InvalidStateError, match=r"'0001_initial'.*hf-mltrack db upgrade sqlite:///"):
        sqlite_direct.Database(str(path)).ensure_schema(uri)
