"""Schema: a fresh database has the registry tables at head; a 0001 database upgrades to 0002."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from registry_helpers import client_class, write_model

from hf_mltrack.exceptions import InvalidStateError
from hf_mltrack.store.sql.registry_schema import REGISTRY_TABLES

PG_ADMIN_URI = os.environ.get("HF_MLTRACK_TEST_POSTGRES_URI", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _alembic(db_uri: str, target: str, downgrade: bool = False) -> None:
    """Migrate a database to ``target`` the way `engine.upgrade` does, but stopping at any revision."""
    from alembic import command
    from alembic.config import Config

    from hf_mltrack.store.sql.engine import MIGRATIONS_DIR, _create_engine, normalize_db_uri

    db_uri = normalize_db_uri(db_uri)
    engine = _create_engine(db_uri)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", db_uri.replace("%", "%%"))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if downgrade else command.upgrade)(cfg, target)
    engine.dispose()


def _tables(db_uri: str) -> set[str]:
    import sqlalchemy as sa

    from hf_mltrack.store.sql.engine import _create_engine, normalize_db_uri

    engine = _create_engine(normalize_db_uri(db_uri))
    try:
        with engine.connect() as conn:
            return set(sa.inspect(conn).get_table_names())
    finally:
        engine.dispose()


def _seed_0001(db_uri: str, artifact_root: Path) -> str:
    """A 0001 database holding one experiment and one run with a logged model; returns the run id."""
    import sqlalchemy as sa

    from hf_mltrack.store.sql.engine import _create_engine, normalize_db_uri

    _alembic(db_uri, "0001_initial")
    run_id = uuid.uuid4().hex
    run_artifacts = artifact_root / "1" / run_id / "artifacts"
    write_model(run_artifacts / "model")
    engine = _create_engine(normalize_db_uri(db_uri))
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, "
                "creation_time, last_update_time) VALUES (1, 'legacy', :loc, 'active', 1, 1)"
            ),
            {"loc": (artifact_root / "1").as_uri()},
        )
        conn.execute(
            sa.text(
                "INSERT INTO runs (run_uuid, name, experiment_id, user_id, status, start_time, "
                "lifecycle_stage, artifact_uri) "
                "VALUES (:id, 'old-run', 1, 'me', 'FINISHED', 1, 'active', :art)"
            ),
            {"id": run_id, "art": run_artifacts.as_uri()},
        )
    engine.dispose()
    return run_id


def _check_upgrade(db_uri: str, artifact_root: Path) -> None:
    from hf_mltrack.store.sql.engine import HEAD_REVISION, get_engine, upgrade

    run_id = _seed_0001(db_uri, artifact_root)
    assert not set(REGISTRY_TABLES) & _tables(db_uri)
    with pytest.raises(InvalidStateError, match="'0001_initial'.*hf-mltrack db upgrade"):
        get_engine(db_uri)

    assert upgrade(db_uri) == HEAD_REVISION  # 0001 -> 0002 (registry) -> any later revision
    assert set(REGISTRY_TABLES) <= _tables(db_uri)
    client = client_class()(db_uri)
    assert client.get_run(run_id).info.run_name == "old-run"  # tracking data kept
    client.create_registered_model("legacy-model")
    mv = client.create_model_version("legacy-model", f"runs:/{run_id}/model")
    assert (mv.version, mv.run_id) == ("1", run_id)
    client.transition_model_version_stage("legacy-model", 1, "Production")
    assert client.get_model_version_stage_history("legacy-model", 1)[0].to_stage == "Production"


def test_fresh_database_is_at_head_with_registry_tables(tracking_uri) -> None:
    from hf_mltrack.store.sql.engine import HEAD_REVISION, current_revision, get_engine

    engine = get_engine(tracking_uri)
    assert current_revision(engine) == HEAD_REVISION
    assert set(REGISTRY_TABLES) <= _tables(tracking_uri)


def test_upgrade_0001_to_0002_sqlite(tmp_path) -> None:
    _check_upgrade(f"sqlite:///{tmp_path / 'old' / 'mltrack.db'}", tmp_path / "old" / "artifacts")


def test_downgrade_0002_to_0001_drops_only_registry_tables(tmp_path) -> None:
    db_uri = f"sqlite:///{tmp_path / 'mltrack.db'}"
    _alembic(db_uri, "head")
    before = _tables(db_uri)
    _alembic(db_uri, "0001_initial", downgrade=True)
    after = _tables(db_uri)
    assert not set(REGISTRY_TABLES) & after
    # every 0001 table survives; only tables of 0002 and later revisions are gone
    initial = {"experiments", "experiment_tags", "runs", "params", "tags", "metrics", "latest_metrics"}
    assert initial <= after
    _alembic(db_uri, "head")
    assert _tables(db_uri) == before


@pytest.mark.postgres
def test_upgrade_0001_to_0002_postgres(tmp_path) -> None:
    sa = pytest.importorskip("sqlalchemy")
    try:
        admin = sa.create_engine(PG_ADMIN_URI, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URI}: {exc}")
    name = f"hf_mltrack_reg_migr_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    db_uri = f"{PG_ADMIN_URI.rsplit('/', 1)[0]}/{name}"
    try:
        _check_upgrade(db_uri, tmp_path / "artifacts")
    finally:
        from hf_mltrack.registry import stores
        from hf_mltrack.store import _CACHE as tracking_cache
        from hf_mltrack.store.sql import engine as engine_mod

        for cache in (engine_mod._ENGINES, stores._CACHE, tracking_cache):
            for uri in [u for u in cache if name in u]:
                item = cache.pop(uri)
                engine = getattr(item, "engine", item)
                if hasattr(engine, "dispose"):
                    engine.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
