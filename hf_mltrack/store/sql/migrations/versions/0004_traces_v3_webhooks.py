"""MLflow 3 traces and webhooks: trace assessments, webhooks.

Revision ID: 0004_traces_v3_webhooks
Revises: 0003_tracing
"""

from __future__ import annotations

from alembic import op

revision = "0004_traces_v3_webhooks"
down_revision = "0003_tracing"
branch_labels = None
depends_on = None


def _tables() -> list[str]:
    from hf_mltrack.store.sql.tracing_schema import ASSESSMENT_TABLES
    from hf_mltrack.store.sql.webhook_schema import WEBHOOK_TABLES

    return [*ASSESSMENT_TABLES, *WEBHOOK_TABLES]


def upgrade() -> None:
    from hf_mltrack.store.sql.schema import metadata

    bind = op.get_bind()
    metadata.create_all(bind, tables=[metadata.tables[name] for name in _tables()])


def downgrade() -> None:
    from hf_mltrack.store.sql.schema import metadata

    bind = op.get_bind()
    for name in reversed(_tables()):
        metadata.tables[name].drop(bind, checkfirst=True)
