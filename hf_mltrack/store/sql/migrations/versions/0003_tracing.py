"""Tracing: trace info, trace tags and span data.

Revision ID: 0003_tracing
Revises: 0002_registry
"""

from __future__ import annotations

from alembic import op

revision = "0003_tracing"
down_revision = "0002_registry"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from hf_mltrack.store.sql.schema import metadata
    from hf_mltrack.store.sql.tracing_schema import TRACING_TABLES

    bind = op.get_bind()
    metadata.create_all(bind, tables=[metadata.tables[name] for name in TRACING_TABLES])


def downgrade() -> None:
    from hf_mltrack.store.sql.schema import metadata
    from hf_mltrack.store.sql.tracing_schema import TRACING_TABLES

    bind = op.get_bind()
    for name in reversed(TRACING_TABLES):
        metadata.tables[name].drop(bind, checkfirst=True)
