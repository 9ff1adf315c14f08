"""The SQL schema (SQLAlchemy Core), shaped for the fast paths.

- ``metric_series``: one row per (run, key, model, dataset); ``metric_points``: one row per (series, step),
  a later value at the same step replaces the earlier one (revision 0007).
- ``latest_metrics``: the value at the highest step per (run, key), kept for search and run views.
- history reads go by the primary key (series_id, step).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

experiments = Table(
    "experiments",
    metadata,
    Column("experiment_id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(256), nullable=False, unique=True),
    Column("artifact_location", Text, nullable=False),
    Column("lifecycle_stage", String(32), nullable=False, default="active"),
    Column("creation_time", BigInteger),
    Column("last_update_time", BigInteger),
)

experiment_tags = Table(
    "experiment_tags",
    metadata,
    Column("experiment_id", Integer, ForeignKey("experiments.experiment_id", ondelete="CASCADE"), nullable=False),
    Column("key", String(250), nullable=False),
    Column("value", Text),
    PrimaryKeyConstraint("experiment_id", "key"),
)

runs = Table(
    "runs",
    metadata,
    Column("run_uuid", String(32), primary_key=True),
    Column("name", String(250)),
    Column("experiment_id", Integer, ForeignKey("experiments.experiment_id"), nullable=False),
    Column("user_id", String(256)),
    Column("status", String(20), nullable=False),
    Column("start_time", BigInteger),
    Column("end_time", BigInteger),
    Column("deleted_time", BigInteger),
    Column("lifecycle_stage", String(20), nullable=False, default="active"),
    Column("artifact_uri", Text),
    Index("ix_runs_experiment_start", "experiment_id", "start_time"),
)

params = Table(
    "params",
    metadata,
    Column("run_uuid", String(32), ForeignKey("runs.run_uuid", ondelete="CASCADE"), nullable=False),
    Column("key", String(250), nullable=False),
    Column("value", Text, nullable=False),
    PrimaryKeyConstraint("run_uuid", "key"),
    Index("ix_params_key_value", "key", "value", "run_uuid"),
)

tags = Table(
    "tags",
    metadata,
    Column("run_uuid", String(32), ForeignKey("runs.run_uuid", ondelete="CASCADE"), nullable=False),
    Column("key", String(250), nullable=False),
    Column("value", Text),
    PrimaryKeyConstraint("run_uuid", "key"),
    Index("ix_tags_key_value", "key", "value", "run_uuid"),
)

# Metric series: one row per (run, key, logged model, dataset), created once per series and cached by
# the writer, so that a point is only (series_id, step, timestamp, value). A point with no model or
# dataset has '' there (not NULL), so the unique constraint holds on SQLite and PostgreSQL alike.
metric_series = Table(
    "metric_series",
    metadata,
    Column("series_id", Integer, primary_key=True, autoincrement=True),
    Column("run_uuid", String(32), ForeignKey("runs.run_uuid", ondelete="CASCADE"), nullable=False),
    Column("key", String(250), nullable=False),
    # MLflow 3: the points may be about a logged model, evaluated on a dataset.
    Column("model_id", String(36), nullable=False),
    Column("dataset_name", String(500), nullable=False),
    Column("dataset_digest", String(36), nullable=False),
    UniqueConstraint("run_uuid", "key", "model_id", "dataset_name", "dataset_digest", name="uq_metric_series"),
)

# The points, clustered by (series, step) on SQLite (WITHOUT ROWID): a history read is one range scan.
# A later value at the same step replaces the earlier one. NaN is stored as NULL (SQLite turns a NaN
# parameter into NULL anyway; the writer does the same on PostgreSQL); +-inf are stored as IEEE values.
# No foreign key: a per-row check would cost more than the insert itself. The store keeps integrity:
# points are written only for series it resolved in the same transaction, and deleting a run
# (`hard_delete_run`) deletes its series' points and buckets in the transaction that deletes the run.
metric_points = Table(
    "metric_points",
    metadata,
    Column("series_id", Integer, nullable=False),
    Column("step", BigInteger, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("value", Float(precision=53)),
    PrimaryKeyConstraint("series_id", "step"),
    sqlite_with_rowid=False,
)

latest_metrics = Table(
    "latest_metrics",
    metadata,
    Column("run_uuid", String(32), ForeignKey("runs.run_uuid", ondelete="CASCADE"), nullable=False),
    Column("key", String(250), nullable=False),
    Column("value", Float(precision=53), nullable=False),
    Column("step", BigInteger, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("is_nan", Boolean, nullable=False, default=False),
    PrimaryKeyConstraint("run_uuid", "key"),
    Index("ix_latest_metrics_key_value", "key", "value", "is_nan", "run_uuid"),
)

# Min/max summaries of each metric series per step bucket, at several bucket widths
# (2**6 .. 2**22 steps). A chart of N points reads ~N bucket rows instead of scanning the
# series: a 2,000-point view of a 1M-point history touches about a thousand rows. Kept per series
# (no foreign key, like the points).
metric_buckets = Table(
    "metric_buckets",
    metadata,
    Column("series_id", Integer, nullable=False),
    Column("level", Integer, nullable=False),
    Column("bucket", BigInteger, nullable=False),
    Column("count", BigInteger, nullable=False),
    Column("min_step", BigInteger),
    Column("min_value", Float(precision=53)),
    Column("min_timestamp", BigInteger),
    Column("max_step", BigInteger),
    Column("max_value", Float(precision=53)),
    Column("max_timestamp", BigInteger),
    PrimaryKeyConstraint("series_id", "level", "bucket"),
    sqlite_with_rowid=False,
)
