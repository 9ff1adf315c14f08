"""The SQL schema (SQLAlchemy Core), shaped for the fast paths.

- ``metrics``: one row per (run, key, step); a later value at the same step replaces the earlier one.
- ``latest_metrics``: the value at the highest step per (run, key), kept for search and run views.
- history reads go by the primary key (run_uuid, key, step).
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

metrics = Table(
    "metrics",
    metadata,
    Column("run_uuid", String(32), ForeignKey("runs.run_uuid", ondelete="CASCADE"), nullable=False),
    Column("key", String(250), nullable=False),
    Column("step", BigInteger, nullable=False),
    # SQLite turns NaN into NULL, so NaN is stored as value 0 with is_nan set (as MLflow does) and
    # restored on read; +-inf are stored as IEEE values by both SQLite and PostgreSQL.
    Column("value", Float(precision=53), nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("is_nan", Boolean, nullable=False, default=False),
    # MLflow 3: the point may be about a logged model, evaluated on a dataset (revision 0004).
    Column("model_id", String(36)),
    Column("dataset_name", String(500)),
    Column("dataset_digest", String(36)),
    PrimaryKeyConstraint("run_uuid", "key", "step"),
    # Clustered by (run, key, step) on SQLite: a history read is one contiguous range scan.
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
# series: a 2,000-point view of a 1M-point history touches about a thousand rows.
metric_buckets = Table(
    "metric_buckets",
    metadata,
    Column("run_uuid", String(32), ForeignKey("runs.run_uuid", ondelete="CASCADE"), nullable=False),
    Column("key", String(250), nullable=False),
    Column("level", Integer, nullable=False),
    Column("bucket", BigInteger, nullable=False),
    Column("count", BigInteger, nullable=False),
    Column("min_step", BigInteger),
    Column("min_value", Float(precision=53)),
    Column("min_timestamp", BigInteger),
    Column("max_step", BigInteger),
    Column("max_value", Float(precision=53)),
    Column("max_timestamp", BigInteger),
    PrimaryKeyConstraint("run_uuid", "key", "level", "bucket"),
    sqlite_with_rowid=False,
)
