"""Tracing: trace info, trace tags and span data.

The DDL is spelled out as it was when this revision was written (frozen): later changes to the
table definitions in ``schema.py`` come as new revisions, never as edits here.

Revision ID: 0003_tracing
Revises: 0002_registry
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_tracing"
down_revision = "0002_registry"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trace_info",
        sa.Column("request_id", sa.String(length=50), nullable=False),
        sa.Column("experiment_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=True),
        sa.Column("name", sa.String(length=500), nullable=True),
        sa.Column("timestamp_ms", sa.BigInteger(), nullable=False),
        sa.Column("execution_time_ms", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("request_preview", sa.Text(), nullable=True),
        sa.Column("response_preview", sa.Text(), nullable=True),
        sa.Column("request_metadata", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["experiment_id"], ["experiments.experiment_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("request_id"),
    )
    op.create_index("ix_trace_info_experiment_timestamp", "trace_info", ["experiment_id", "timestamp_ms"], unique=False)
    op.create_index("ix_trace_info_run_id", "trace_info", ["run_id"], unique=False)
    op.create_table(
        "trace_tags",
        sa.Column("request_id", sa.String(length=50), nullable=False),
        sa.Column("key", sa.String(length=250), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["request_id"], ["trace_info.request_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("request_id", "key"),
    )
    op.create_table(
        "trace_data",
        sa.Column("request_id", sa.String(length=50), nullable=False),
        sa.Column("spans", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["trace_info.request_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("request_id"),
    )


def downgrade() -> None:
    op.drop_table("trace_data")
    op.drop_table("trace_tags")
    op.drop_table("trace_info")
