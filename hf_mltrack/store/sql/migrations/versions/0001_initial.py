"""The initial tracking schema.

Revision ID: 0001_initial
Revises:
"""

from __future__ import annotations

from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

_TABLES = ("experiments", "experiment_tags", "runs", "params", "tags", "metrics", "latest_metrics", "metric_buckets")


def upgrade() -> None:
    from hf_mltrack.store.sql.schema import metadata

    bind = op.get_bind()
    metadata.create_all(bind, tables=[metadata.tables[name] for name in _TABLES])


def downgrade() -> None:
    from hf_mltrack.store.sql.schema import metadata

    bind = op.get_bind()
    for name in reversed(_TABLES):
        metadata.tables[name].drop(bind, checkfirst=True)
