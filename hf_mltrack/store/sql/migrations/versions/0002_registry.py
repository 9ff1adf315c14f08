"""The model registry: registered models, versions, tags, aliases and the registry's history.

Revision ID: 0002_registry
Revises: 0001_initial
"""

from __future__ import annotations

from alembic import op

revision = "0002_registry"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from hf_mltrack.store.sql.registry_schema import REGISTRY_TABLES
    from hf_mltrack.store.sql.schema import metadata

    bind = op.get_bind()
    metadata.create_all(bind, tables=[metadata.tables[name] for name in REGISTRY_TABLES])


def downgrade() -> None:
    from hf_mltrack.store.sql.registry_schema import REGISTRY_TABLES
    from hf_mltrack.store.sql.schema import metadata

    bind = op.get_bind()
    for name in reversed(REGISTRY_TABLES):
        metadata.tables[name].drop(bind, checkfirst=True)
