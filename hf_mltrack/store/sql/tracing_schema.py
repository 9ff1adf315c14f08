"""Trace tables, on the tracking schema's ``metadata`` (one database, one migration chain).

- ``trace_info``: one row per trace, everything a search filters or sorts on (experiment, run,
  root span name, start time, duration, status) and the short request/response previews.
- ``trace_tags``: mutable key/value tags (``set_trace_tag``).
- ``trace_data``: the spans as one JSON document per trace, read only by ``get_trace`` and by searches
  that return spans, so that scans of ``trace_info`` never touch span payloads.
- ``trace_assessments`` (revision 0004): feedback and expectations on a trace (MLflow 3's assessments);
  the value, error and metadata are JSON text; ``overrides`` names the assessment it replaced, which is
  then ``valid = false`` until the overriding one is deleted.

Deleting an experiment's row cascades to its traces; a trace's tags and data cascade with it.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from .schema import metadata

TRACING_TABLES = ("trace_info", "trace_tags", "trace_data")
ASSESSMENT_TABLES = ("trace_assessments",)

TRACE_NAME_MAX_LENGTH = 500

trace_info = Table(
    "trace_info",
    metadata,
    Column("request_id", String(50), primary_key=True),
    Column("experiment_id", Integer, ForeignKey("experiments.experiment_id", ondelete="CASCADE"), nullable=False),
    Column("run_id", String(32)),
    Column("name", String(TRACE_NAME_MAX_LENGTH)),
    Column("timestamp_ms", BigInteger, nullable=False),
    Column("execution_time_ms", BigInteger),
    Column("status", String(20), nullable=False),
    Column("request_preview", Text),
    Column("response_preview", Text),
    Column("request_metadata", Text),  # JSON object
    Index("ix_trace_info_experiment_timestamp", "experiment_id", "timestamp_ms"),
    Index("ix_trace_info_run_id", "run_id"),
)

trace_tags = Table(
    "trace_tags",
    metadata,
    Column("request_id", String(50), ForeignKey("trace_info.request_id", ondelete="CASCADE"), nullable=False),
    Column("key", String(250), nullable=False),
    Column("value", Text),
    PrimaryKeyConstraint("request_id", "key"),
)

trace_data = Table(
    "trace_data",
    metadata,
    Column("request_id", String(50), ForeignKey("trace_info.request_id", ondelete="CASCADE"), primary_key=True),
    Column("spans", Text, nullable=False),  # JSON array of span objects
)

trace_assessments = Table(
    "trace_assessments",
    metadata,
    Column("assessment_id", String(50), primary_key=True),
    Column("request_id", String(50), ForeignKey("trace_info.request_id", ondelete="CASCADE"), nullable=False),
    Column("name", String(250), nullable=False),
    Column("kind", String(20), nullable=False),  # "feedback" or "expectation"
    Column("span_id", String(50)),
    Column("source_type", String(50)),
    Column("source_id", String(250)),
    Column("create_time_ms", BigInteger, nullable=False),
    Column("last_update_time_ms", BigInteger, nullable=False),
    Column("value", Text),  # JSON
    Column("error", Text),  # JSON object (feedback only)
    Column("rationale", Text),
    Column("metadata", Text),  # JSON object
    Column("overrides", String(50)),
    Column("valid", Boolean, nullable=False, default=True),
    Index("ix_trace_assessments_request_id", "request_id"),
)
