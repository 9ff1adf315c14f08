"""A narrow metric schema: points keyed by an integer series id (issue 23, item 2).

``metric_series`` holds one row per (run, key, logged model, dataset); ``metric_points`` holds
``(series_id, step, timestamp, value)`` with primary key (series_id, step) and no foreign key (the
store deletes a run's points with the run, in the same transaction). NaN is stored as NULL, so
``is_nan`` goes. ``metric_buckets`` (the chart summaries) are keyed by series too and rebuilt from
the points; ``latest_metrics`` stays keyed by (run, key) for search.

Data migration, set-based (``INSERT ... SELECT``, no row goes through Python): the distinct series of
``metrics`` (NULL model/dataset becomes ''), then every point joined to its series, then the bucket
summaries level by level with window functions; then ``metrics`` and the old buckets are dropped.

Downgrade moves the points back into the 0006 tables the same way. It refuses (and changes nothing)
when one key of a run has points at the same step in several series (e.g. the same eval metric for
two logged models): the 0006 ``metrics`` table can hold only one of them.

Revision ID: 0007_metric_series
Revises: 0006_workspaces
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_metric_series"
down_revision = "0006_workspaces"
branch_labels = None
depends_on = None

# Bucket widths of the chart summaries: level i groups steps by step >> SHIFTS[i]
# (the same as hf_mltrack.store.sql.buckets.SHIFTS; spelled out so that this revision stays frozen).
SHIFTS = (6, 10, 14, 18, 22)
_SUMMARY = "count, min_step, min_value, min_timestamp, max_step, max_value, max_timestamp"


def _bucket_columns() -> list[sa.Column]:
    return [
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("min_step", sa.BigInteger(), nullable=True),
        sa.Column("min_value", sa.Float(precision=53), nullable=True),
        sa.Column("min_timestamp", sa.BigInteger(), nullable=True),
        sa.Column("max_step", sa.BigInteger(), nullable=True),
        sa.Column("max_value", sa.Float(precision=53), nullable=True),
        sa.Column("max_timestamp", sa.BigInteger(), nullable=True),
    ]


def build_buckets(group: str, source: str, value: str, is_value: str) -> None:
    """Fill ``metric_buckets`` from the points in ``source``, grouped by the columns ``group``.

    Per bucket: the point count, and the point with the lowest and with the highest value (ties: the
    lowest step), NaN points counted but never a min or max (``is_value`` tells a number); each coarser
    level from the level below. What the store's incremental upkeep computes, as set-based statements.
    """
    keys = [*(c.strip() for c in group.split(",")), "bucket"]
    on_lo = " AND ".join(f"lo.{c} = c.{c}" for c in keys)
    on_hi = " AND ".join(f"hi.{c} = c.{c}" for c in keys)
    for level, shift in enumerate(SHIFTS):
        if level == 0:
            src, b, n = source, f"step >> {shift}", "COUNT(*)"
            point = f"step AS s, {value} AS v, timestamp AS t"
            lo_pick, lo_order = f"{point} FROM {src} WHERE {is_value}", f"{value} ASC, step ASC"
            hi_pick, hi_order = lo_pick, f"{value} DESC, step ASC"
        else:
            src = f"(SELECT * FROM metric_buckets WHERE level = {level - 1}) AS below"
            b, n = f"bucket >> {shift - SHIFTS[level - 1]}", "SUM(count)"
            lo_pick = f"min_step AS s, min_value AS v, min_timestamp AS t FROM {src} WHERE min_value IS NOT NULL"
            hi_pick = f"max_step AS s, max_value AS v, max_timestamp AS t FROM {src} WHERE max_value IS NOT NULL"
            lo_order, hi_order = "min_value ASC, min_step ASC", "max_value DESC, max_step ASC"
        ends = [
            f"(SELECT * FROM (SELECT {group}, {b} AS bucket, ROW_NUMBER() OVER (PARTITION BY {group}, {b} "
            f"ORDER BY {order}) AS r, {pick}) AS ranked WHERE r = 1)"
            for pick, order in ((lo_pick, lo_order), (hi_pick, hi_order))
        ]
        op.execute(
            f"INSERT INTO metric_buckets ({group}, level, bucket, {_SUMMARY}) "
            f"SELECT {', '.join(f'c.{c}' for c in keys[:-1])}, {level}, c.bucket, c.n, "
            "lo.s, lo.v, lo.t, hi.s, hi.v, hi.t "
            f"FROM (SELECT {group}, {b} AS bucket, {n} AS n FROM {src} GROUP BY {group}, {b}) AS c "
            f"LEFT JOIN {ends[0]} AS lo ON {on_lo} LEFT JOIN {ends[1]} AS hi ON {on_hi}"
        )


def upgrade() -> None:
    op.create_table(
        "metric_series",
        sa.Column("series_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_uuid", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=250), nullable=False),
        sa.Column("model_id", sa.String(length=36), nullable=False),
        sa.Column("dataset_name", sa.String(length=500), nullable=False),
        sa.Column("dataset_digest", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(["run_uuid"], ["runs.run_uuid"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("series_id"),
        sa.UniqueConstraint("run_uuid", "key", "model_id", "dataset_name", "dataset_digest", name="uq_metric_series"),
    )
    op.create_table(
        "metric_points",
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.BigInteger(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Float(precision=53), nullable=True),
        sa.PrimaryKeyConstraint("series_id", "step"),
        sqlite_with_rowid=False,
    )
    linked = (
        "COALESCE(m.model_id, '') AS model_id, COALESCE(m.dataset_name, '') AS dataset_name, "
        "COALESCE(m.dataset_digest, '') AS dataset_digest"
    )
    op.execute(
        "INSERT INTO metric_series (run_uuid, key, model_id, dataset_name, dataset_digest) "
        f"SELECT DISTINCT m.run_uuid, m.key, {linked} FROM metrics AS m "
        "ORDER BY m.run_uuid, m.key, model_id, dataset_name, dataset_digest"
    )
    op.execute(
        "INSERT INTO metric_points (series_id, step, timestamp, value) "
        "SELECT s.series_id, m.step, m.timestamp, CASE WHEN m.is_nan THEN NULL ELSE m.value END "
        "FROM metrics AS m JOIN metric_series AS s ON s.run_uuid = m.run_uuid AND s.key = m.key "
        "AND s.model_id = COALESCE(m.model_id, '') AND s.dataset_name = COALESCE(m.dataset_name, '') "
        "AND s.dataset_digest = COALESCE(m.dataset_digest, '') "
        "ORDER BY s.series_id, m.step"
    )
    op.drop_table("metric_buckets")
    op.drop_table("metrics")
    op.create_table(
        "metric_buckets",
        sa.Column("series_id", sa.Integer(), nullable=False),
        *_bucket_columns(),
        sa.PrimaryKeyConstraint("series_id", "level", "bucket"),
        sqlite_with_rowid=False,
    )
    build_buckets("series_id", "metric_points", "value", "value IS NOT NULL")


def downgrade() -> None:
    clash = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT s.run_uuid, s.key, p.step FROM metric_points AS p "
                "JOIN metric_series AS s ON s.series_id = p.series_id "
                "GROUP BY s.run_uuid, s.key, p.step HAVING COUNT(*) > 1 LIMIT 1"
            )
        )
        .first()
    )
    if clash is not None:
        raise RuntimeError(
            f"Cannot downgrade below 0007_metric_series: metric {clash[1]!r} of run {clash[0]!r} has several points "
            f"at step {clash[2]} (for different logged models or datasets), and the 0006 metrics table keeps one "
            "point per run, key and step. Restore the backup taken before `hf-mltrack db upgrade` instead."
        )
    op.create_table(
        "metrics",
        sa.Column("run_uuid", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=250), nullable=False),
        sa.Column("step", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Float(precision=53), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("is_nan", sa.Boolean(), nullable=False),
        sa.Column("model_id", sa.String(length=36), nullable=True),
        sa.Column("dataset_name", sa.String(length=500), nullable=True),
        sa.Column("dataset_digest", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(["run_uuid"], ["runs.run_uuid"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_uuid", "key", "step"),
        sqlite_with_rowid=False,
    )
    op.execute(
        "INSERT INTO metrics (run_uuid, key, step, value, timestamp, is_nan, model_id, dataset_name, dataset_digest) "
        "SELECT s.run_uuid, s.key, p.step, COALESCE(p.value, 0.0), p.timestamp, p.value IS NULL, "
        "NULLIF(s.model_id, ''), NULLIF(s.dataset_name, ''), NULLIF(s.dataset_digest, '') "
        "FROM metric_points AS p JOIN metric_series AS s ON s.series_id = p.series_id "
        "ORDER BY s.run_uuid, s.key, p.step"
    )
    op.drop_table("metric_buckets")
    op.drop_table("metric_points")
    op.drop_table("metric_series")
    op.create_table(
        "metric_buckets",
        sa.Column("run_uuid", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=250), nullable=False),
        *_bucket_columns(),
        sa.ForeignKeyConstraint(["run_uuid"], ["runs.run_uuid"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_uuid", "key", "level", "bucket"),
        sqlite_with_rowid=False,
    )
    build_buckets("run_uuid, key", "metrics", "value", "NOT is_nan")
