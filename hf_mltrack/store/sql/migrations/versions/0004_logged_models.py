"""MLflow 3's model-centric data: logged models (params, tags, linked metrics), datasets, run inputs
(with input tags) and outputs; ``model_id``, ``dataset_name`` and ``dataset_digest`` on metric points
and ``model_id`` on model versions.

Only tables are created and nullable columns added: no existing row is rewritten, so the upgrade of
a large database takes as long as an empty one.

Revision ID: 0004_logged_models
Revises: 0003_tracing
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_logged_models"
down_revision = "0003_tracing"
branch_labels = None
depends_on = None

_METRIC_COLUMNS = (("model_id", 36), ("dataset_name", 500), ("dataset_digest", 36))


def upgrade() -> None:
    for name, length in _METRIC_COLUMNS:
        op.add_column("metrics", sa.Column(name, sa.String(length=length), nullable=True))
    op.add_column("model_versions", sa.Column("model_id", sa.String(length=36), nullable=True))
    op.create_table(
        "logged_models",
        sa.Column("model_id", sa.String(length=36), nullable=False),
        sa.Column("experiment_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("artifact_location", sa.Text(), nullable=False),
        sa.Column("creation_timestamp_ms", sa.BigInteger(), nullable=False),
        sa.Column("last_updated_timestamp_ms", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("lifecycle_stage", sa.String(length=20), nullable=False),
        sa.Column("model_type", sa.String(length=500), nullable=True),
        sa.Column("source_run_id", sa.String(length=32), nullable=True),
        sa.Column("status_message", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["experiment_id"], ["experiments.experiment_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("model_id"),
    )
    op.create_index(
        "ix_logged_models_experiment_created", "logged_models", ["experiment_id", "creation_timestamp_ms"], unique=False
    )
    op.create_index("ix_logged_models_source_run", "logged_models", ["source_run_id"], unique=False)
    op.create_table(
        "logged_model_params",
        sa.Column("model_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["model_id"], ["logged_models.model_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("model_id", "key"),
    )
    op.create_table(
        "logged_model_tags",
        sa.Column("model_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["model_id"], ["logged_models.model_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("model_id", "key"),
    )
    op.create_table(
        "logged_model_metrics",
        sa.Column("model_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=250), nullable=False),
        sa.Column("step", sa.BigInteger(), nullable=False),
        sa.Column("dataset_name", sa.String(length=500), nullable=False),
        sa.Column("dataset_digest", sa.String(length=36), nullable=False),
        sa.Column("value", sa.Float(precision=53), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("is_nan", sa.Boolean(), nullable=False),
        sa.Column("run_uuid", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["model_id"], ["logged_models.model_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("model_id", "key", "step", "dataset_name", "dataset_digest"),
    )
    op.create_index(
        "ix_logged_model_metrics_key_value", "logged_model_metrics", ["key", "value", "model_id"], unique=False
    )
    op.create_table(
        "datasets",
        sa.Column("dataset_uuid", sa.String(length=36), nullable=False),
        sa.Column("experiment_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("digest", sa.String(length=36), nullable=False),
        sa.Column("source_type", sa.String(length=36), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("schema", sa.Text(), nullable=True),
        sa.Column("profile", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["experiment_id"], ["experiments.experiment_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("dataset_uuid"),
        sa.UniqueConstraint("experiment_id", "name", "digest", name="uq_datasets_experiment_name_digest"),
    )
    op.create_table(
        "run_inputs",
        sa.Column("input_uuid", sa.String(length=36), nullable=False),
        sa.Column("source_type", sa.String(length=36), nullable=False),
        sa.Column("source_id", sa.String(length=36), nullable=False),
        sa.Column("run_uuid", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["run_uuid"], ["runs.run_uuid"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("input_uuid"),
        sa.UniqueConstraint("run_uuid", "source_type", "source_id", name="uq_run_inputs_run_source"),
    )
    op.create_index("ix_run_inputs_source", "run_inputs", ["source_type", "source_id"], unique=False)
    op.create_table(
        "input_tags",
        sa.Column("input_uuid", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["input_uuid"], ["run_inputs.input_uuid"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("input_uuid", "key"),
    )
    op.create_table(
        "run_outputs",
        sa.Column("run_uuid", sa.String(length=32), nullable=False),
        sa.Column("model_id", sa.String(length=36), nullable=False),
        sa.Column("step", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["model_id"], ["logged_models.model_id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["run_uuid"], ["runs.run_uuid"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_uuid", "model_id"),
    )
    op.create_index("ix_run_outputs_model", "run_outputs", ["model_id"], unique=False)


def downgrade() -> None:
    op.drop_table("run_outputs")
    op.drop_table("input_tags")
    op.drop_table("run_inputs")
    op.drop_table("datasets")
    op.drop_table("logged_model_metrics")
    op.drop_table("logged_model_tags")
    op.drop_table("logged_model_params")
    op.drop_table("logged_models")
    # Plain ALTER TABLE ... DROP COLUMN (SQLite >= 3.35): a batch copy would lose WITHOUT ROWID.
    op.drop_column("model_versions", "model_id")
    for name, _ in reversed(_METRIC_COLUMNS):
        op.drop_column("metrics", name)
