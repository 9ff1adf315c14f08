"""MLflow 3 traces and webhooks: trace assessments (feedback, expectations) and webhooks.

The DDL is spelled out as it was when this revision was written (frozen). Only tables are created: the
upgrade of a large database takes as long as an empty one.

Revision ID: 0005_traces_v3_webhooks
Revises: 0004_logged_models
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_traces_v3_webhooks"
down_revision = "0004_logged_models"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trace_assessments",
        sa.Column("assessment_id", sa.String(length=50), nullable=False),
        sa.Column("request_id", sa.String(length=50), nullable=False),
        sa.Column("name", sa.String(length=250), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("span_id", sa.String(length=50), nullable=True),
        sa.Column("source_type", sa.String(length=50), nullable=True),
        sa.Column("source_id", sa.String(length=250), nullable=True),
        sa.Column("create_time_ms", sa.BigInteger(), nullable=False),
        sa.Column("last_update_time_ms", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("rationale", sa.Text(), nullable=True),
        sa.Column("metadata", sa.Text(), nullable=True),
        sa.Column("overrides", sa.String(length=50), nullable=True),
        sa.Column("valid", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["trace_info.request_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("assessment_id"),
    )
    op.create_index("ix_trace_assessments_request_id", "trace_assessments", ["request_id"], unique=False)
    op.create_table(
        "webhooks",
        sa.Column("webhook_id", sa.String(length=50), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("events", sa.Text(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("creation_timestamp", sa.BigInteger(), nullable=False),
        sa.Column("last_updated_timestamp", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("webhook_id"),
    )


def downgrade() -> None:
    op.drop_table("webhooks")
    op.drop_index("ix_trace_assessments_request_id", table_name="trace_assessments")
    op.drop_table("trace_assessments")
