"""MLflow 3's model-centric tables, on the tracking schema's ``metadata`` (revision 0004).

- ``logged_models``: one row per LoggedModel (``m-<hex>``): experiment, name, source run, status
  (PENDING, READY, FAILED), artifact location, model type. Params and tags hang off it.
- ``logged_model_metrics``: the metric points linked to a model, keyed by (model, key, step,
  dataset). "eval_loss of checkpoint 600 on the eval split" is one row, so ordering the models of a
  whole sweep by a metric is one indexed join. Absent datasets are stored as ``''`` (a primary key
  column cannot be NULL).
- ``datasets``: (name, digest) per experiment with source type, source, schema and profile.
- ``run_inputs``: what a run read: datasets and logged models (``source_type`` DATASET or MODEL),
  each with ``input_tags`` (``mlflow.data.context``: training, eval, ...).
- ``run_outputs``: the logged models a run produced, with the step (checkpoints).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from .schema import metadata

LOGGED_MODEL_TABLES = (
    "logged_models",
    "logged_model_params",
    "logged_model_tags",
    "logged_model_metrics",
    "datasets",
    "run_inputs",
    "input_tags",
    "run_outputs",
)

_CASCADE: dict[str, Any] = {"ondelete": "CASCADE"}

logged_models = Table(
    "logged_models",
    metadata,
    Column("model_id", String(36), primary_key=True),
    Column("experiment_id", Integer, ForeignKey("experiments.experiment_id", **_CASCADE), nullable=False),
    Column("name", String(500), nullable=False),
    Column("artifact_location", Text, nullable=False),
    Column("creation_timestamp_ms", BigInteger, nullable=False),
    Column("last_updated_timestamp_ms", BigInteger, nullable=False),
    Column("status", String(20), nullable=False),
    Column("lifecycle_stage", String(20), nullable=False, default="active"),
    Column("model_type", String(500)),
    Column("source_run_id", String(32)),
    Column("status_message", Text),
    Index("ix_logged_models_experiment_created", "experiment_id", "creation_timestamp_ms"),
    Index("ix_logged_models_source_run", "source_run_id"),
)

logged_model_params = Table(
    "logged_model_params",
    metadata,
    Column("model_id", String(36), ForeignKey("logged_models.model_id", **_CASCADE), nullable=False),
    Column("key", String(255), nullable=False),
    Column("value", Text, nullable=False),
    PrimaryKeyConstraint("model_id", "key"),
)

logged_model_tags = Table(
    "logged_model_tags",
    metadata,
    Column("model_id", String(36), ForeignKey("logged_models.model_id", **_CASCADE), nullable=False),
    Column("key", String(255), nullable=False),
    Column("value", Text),
    PrimaryKeyConstraint("model_id", "key"),
)

logged_model_metrics = Table(
    "logged_model_metrics",
    metadata,
    Column("model_id", String(36), ForeignKey("logged_models.model_id", **_CASCADE), nullable=False),
    Column("key", String(250), nullable=False),
    Column("step", BigInteger, nullable=False),
    Column("dataset_name", String(500), nullable=False, default=""),
    Column("dataset_digest", String(36), nullable=False, default=""),
    Column("value", Float(precision=53), nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("is_nan", Boolean, nullable=False, default=False),
    Column("run_uuid", String(32)),
    PrimaryKeyConstraint("model_id", "key", "step", "dataset_name", "dataset_digest"),
    Index("ix_logged_model_metrics_key_value", "key", "value", "model_id"),
)

datasets = Table(
    "datasets",
    metadata,
    Column("dataset_uuid", String(36), primary_key=True),
    Column("experiment_id", Integer, ForeignKey("experiments.experiment_id", **_CASCADE), nullable=False),
    Column("name", String(500), nullable=False),
    Column("digest", String(36), nullable=False),
    Column("source_type", String(36), nullable=False),
    Column("source", Text, nullable=False),
    Column("schema", Text),
    Column("profile", Text),
    UniqueConstraint("experiment_id", "name", "digest", name="uq_datasets_experiment_name_digest"),
)

run_inputs = Table(
    "run_inputs",
    metadata,
    Column("input_uuid", String(36), primary_key=True),
    Column("source_type", String(36), nullable=False),  # DATASET or MODEL
    Column("source_id", String(36), nullable=False),  # dataset_uuid or model_id
    Column("run_uuid", String(32), ForeignKey("runs.run_uuid", **_CASCADE), nullable=False),
    UniqueConstraint("run_uuid", "source_type", "source_id", name="uq_run_inputs_run_source"),
    Index("ix_run_inputs_source", "source_type", "source_id"),
)

input_tags = Table(
    "input_tags",
    metadata,
    Column("input_uuid", String(36), ForeignKey("run_inputs.input_uuid", **_CASCADE), nullable=False),
    Column("key", String(255), nullable=False),
    Column("value", Text, nullable=False),
    PrimaryKeyConstraint("input_uuid", "key"),
)

run_outputs = Table(
    "run_outputs",
    metadata,
    Column("run_uuid", String(32), ForeignKey("runs.run_uuid", **_CASCADE), nullable=False),
    Column("model_id", String(36), ForeignKey("logged_models.model_id", **_CASCADE), nullable=False),
    Column("step", BigInteger, nullable=False, default=0),
    PrimaryKeyConstraint("run_uuid", "model_id"),
    Index("ix_run_outputs_model", "model_id"),
)
