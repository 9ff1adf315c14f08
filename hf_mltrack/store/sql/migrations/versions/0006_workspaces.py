"""The web UI's saved workspaces: named panel layouts per experiment (issue 22, item 3).

A new table only: no existing row is touched.

Revision ID: 0006_workspaces
Revises: 0005_traces_v3_webhooks
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_workspaces"
down_revision = "0005_traces_v3_webhooks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workspaces",
        sa.Column("workspace_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("experiment_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=True),
        sa.Column("creation_time", sa.BigInteger(), nullable=False),
        sa.Column("last_update_time", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["experiment_id"], ["experiments.experiment_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("workspace_id"),
        sa.UniqueConstraint("experiment_id", "name", name="uq_workspaces_experiment_name"),
    )


def downgrade() -> None:
    op.drop_table("workspaces")
