"""Min/max bucket summaries of metric series, kept up to date on every metric batch.

Level ``i`` groups steps by ``step >> SHIFTS[i]``; each level's bucket is the merge of 16 buckets
of the level below. Appending points past a series' end (the usual case) merges the batch into
the buckets incrementally; a batch that may overwrite stored steps recomputes the touched level-0
buckets from the stored rows, then every parent from its children, so summaries are always exact.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .bulk import insert_rows

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

SHIFTS = (6, 10, 14, 18, 22)
_FANOUT_SHIFT = 4  # SHIFTS[i + 1] - SHIFTS[i]

# A bucket summary: [count, min_step, min_value, min_ts, max_step, max_value, max_ts]; NaN
# points count but never become a min or max (their value slots stay None).
Summary = list


def _new() -> Summary:
    return [0, None, None, None, None, None, None]


def _add_point(s: Summary, step: int, value: float, ts: int, is_nan: bool) -> None:
    s[0] += 1
    if is_nan:
        return
    if s[2] is None or value < s[2]:
        s[1], s[2], s[3] = step, value, ts
    if s[5] is None or value > s[5]:
        s[4], s[5], s[6] = step, value, ts


def _merge(into: Summary, other: Any) -> None:
    into[0] += other[0]
    if other[2] is not None and (into[2] is None or other[2] < into[2]):
        into[1], into[2], into[3] = other[1], other[2], other[3]
    if other[5] is not None and (into[5] is None or other[5] > into[5]):
        into[4], into[5], into[6] = other[4], other[5], other[6]


_MIN_COLS = ("min_step", "min_value", "min_timestamp")
_MAX_COLS = ("max_step", "max_value", "max_timestamp")
_COLS = "count, min_step, min_value, min_timestamp, max_step, max_value, max_timestamp"
_ALL_COLS = ("run_uuid", "key", "level", "bucket", *_COLS.split(", "))
_PG_TYPES = ("text", "text", "integer", "bigint", "bigint") + ("bigint", "float8", "bigint") * 2


def update_buckets(
    conn: Connection,
    sql: Callable[[str], str],
    run_id: str,
    rows: list[tuple],
    appended_keys: set[str],
) -> None:
    """Fold a batch of metric rows ``(run, key, step, value, ts, is_nan)`` into the summaries.

    ``appended_keys`` are keys whose batch steps all lie past the stored series and are unique in
    the batch: those merge incrementally. Other keys have their touched buckets recomputed.
    """
    level0: dict[tuple[str, int], Summary] = {}
    shift0 = SHIFTS[0]
    recompute: dict[str, set[int]] = {}
    for _, key, step, value, ts, is_nan in rows:
        if key in appended_keys:
            where = (key, step >> shift0)
            s = level0.get(where)
            if s is None:
                s = level0[where] = _new()
            _add_point(s, step, value, ts, is_nan)
        else:
            recompute.setdefault(key, set()).add(step >> shift0)
    # Coarser levels merge the level-0 summaries (per point work happens once).
    appended: dict[tuple[str, int, int], Summary] = {(key, 0, b): s for (key, b), s in level0.items()}
    below = level0
    for level in range(1, len(SHIFTS)):
        current: dict[tuple[str, int], Summary] = {}
        for (key, b), child in below.items():
            s = current.get((key, b >> _FANOUT_SHIFT))
            if s is None:
                s = current[(key, b >> _FANOUT_SHIFT)] = _new()
            _merge(s, child)
        appended.update({(key, level, b): s for (key, b), s in current.items()})
        below = current
    if appended:
        # New steps lie past the stored series, so merging min/max/count is exact: done in the upsert.
        _merge_upsert(conn, sql, [(run_id, key, level, b, *s) for (key, level, b), s in appended.items()])
    for key, buckets in recompute.items():
        _recompute_level0(conn, sql, run_id, key, buckets)
        # Parents: recomputed from their children (at most 16 rows each), level by level.
        touched = buckets
        for level in range(1, len(SHIFTS)):
            touched = {b >> _FANOUT_SHIFT for b in touched}
            _recompute_parents(conn, sql, run_id, key, level, touched)


def _merge_upsert(conn: Connection, sql: Callable[[str], str], rows: list[tuple]) -> None:
    better_min = "excluded.min_value IS NOT NULL AND (b.min_value IS NULL OR excluded.min_value < b.min_value)"
    better_max = "excluded.max_value IS NOT NULL AND (b.max_value IS NULL OR excluded.max_value > b.max_value)"
    sets = ", ".join(
        ["count = b.count + excluded.count"]
        + [
            f"{c} = CASE WHEN {better_min} THEN excluded.{c} ELSE b.{c} END"
            for c in ("min_step", "min_value", "min_timestamp")
        ]
        + [
            f"{c} = CASE WHEN {better_max} THEN excluded.{c} ELSE b.{c} END"
            for c in ("max_step", "max_value", "max_timestamp")
        ]
    )
    if conn.dialect.name == "postgresql":  # one unnest statement for the batch (rows are unique)
        insert_rows(
            conn,
            "metric_buckets AS b",
            _ALL_COLS,
            rows,
            f" ON CONFLICT (run_uuid, key, level, bucket) DO UPDATE SET {sets}",
            pg_types=_PG_TYPES,
        )
        return
    conn.exec_driver_sql(
        sql(
            f"INSERT INTO metric_buckets AS b (run_uuid, key, level, bucket, {_COLS}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            f"ON CONFLICT (run_uuid, key, level, bucket) DO UPDATE SET {sets}"
        ),
        rows,
    )


def _replace(conn: Connection, sql: Callable[[str], str], rows: list[tuple]) -> None:
    if not rows:
        return
    conn.exec_driver_sql(
        sql(
            f"INSERT INTO metric_buckets (run_uuid, key, level, bucket, {_COLS}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (run_uuid, key, level, bucket) DO UPDATE SET count = excluded.count, "
            "min_step = excluded.min_step, min_value = excluded.min_value, min_timestamp = excluded.min_timestamp, "
            "max_step = excluded.max_step, max_value = excluded.max_value, max_timestamp = excluded.max_timestamp"
        ),
        rows,
    )


def _recompute_level0(conn: Connection, sql: Callable[[str], str], run_id: str, key: str, buckets: set[int]) -> None:
    shift = SHIFTS[0]
    out = []
    for b in sorted(buckets):
        s = _new()
        for step, value, ts, is_nan in conn.exec_driver_sql(
            sql(
                "SELECT step, value, timestamp, is_nan FROM metrics "
                "WHERE run_uuid = ? AND key = ? AND step >= ? AND step < ?"
            ),
            (run_id, key, b << shift, (b + 1) << shift),
        ):
            _add_point(s, step, value, ts, bool(is_nan))
        out.append((run_id, key, 0, b, *s))
    _replace(conn, sql, out)


def _recompute_parents(
    conn: Connection, sql: Callable[[str], str], run_id: str, key: str, level: int, parents: set[int]
) -> None:
    lo, hi = min(parents), max(parents)
    sums: dict[int, Summary] = {p: _new() for p in parents}
    for row in conn.exec_driver_sql(
        sql(
            f"SELECT bucket, {_COLS} FROM metric_buckets WHERE run_uuid = ? AND key = ? AND level = ? "
            "AND bucket >= ? AND bucket < ?"
        ),
        (run_id, key, level - 1, lo << _FANOUT_SHIFT, (hi + 1) << _FANOUT_SHIFT),
    ):
        parent = row[0] >> _FANOUT_SHIFT
        if parent in sums:
            _merge(sums[parent], row[1:])
    _replace(conn, sql, [(run_id, key, level, p, *s) for p, s in sums.items()])


def read_downsampled(
    conn: Connection,
    sql: Callable[[str], str],
    run_id: str,
    key: str,
    max_points: int,
    start_step: int | None,
    end_step: int | None,
) -> list[tuple] | None:
    """Min/max points per column of the step range, or None when every point fits in ``max_points``.

    The step range ``[lo, hi]`` is cut into ``(max_points - 2) // 2`` equal columns (a chart asks for
    about two points per pixel column); each column keeps its min and its max point, and the first and
    last points are always kept. Long series are read from the coarsest bucket level with at least
    one bucket per column (a column is a run of whole consecutive buckets, so its min and max lie in
    its own steps); shorter ones from the raw points, so a series of a few thousand steps is never
    summarized 64 steps at a time and every column holds its exact min and max.
    Returns ``(step, value, timestamp)`` rows sorted by step, at most ``max_points`` long.
    """
    # Two index seeks (one MIN(step), MAX(step) query would scan the series on SQLite).
    bounds = [
        conn.exec_driver_sql(
            sql(f"SELECT step FROM metrics WHERE run_uuid = ? AND key = ? ORDER BY step {order} LIMIT 1"),
            (run_id, key),
        ).scalar()
        for order in ("ASC", "DESC")
    ]
    first, last = bounds
    if first is None or last is None:
        return []
    lo: int = first if start_step is None else max(start_step, first)
    hi: int = last if end_step is None else min(end_step, last)
    if lo > hi:
        return []
    # An upper bound of the points in range from the coarsest level (a handful of rows).
    top = SHIFTS[-1]
    total = conn.exec_driver_sql(
        sql(
            "SELECT SUM(count) FROM metric_buckets WHERE run_uuid = ? AND key = ? AND level = ? "
            "AND bucket >= ? AND bucket <= ?"
        ),
        (run_id, key, len(SHIFTS) - 1, lo >> top, hi >> top),
    ).scalar()
    if not total or total <= max_points:
        return None  # few points: the caller reads them all
    pairs = max(1, (max_points - 2) // 2)
    span = hi - lo + 1

    def column(step: int) -> int:
        return min(pairs - 1, max(0, (step - lo) * pairs // span))

    columns: dict[int, Summary] = {}

    def fold(col: int, summary: Any) -> None:
        s = columns.get(col)
        if s is None:
            s = columns[col] = _new()
        _merge(s, summary)

    value_expr = "CASE WHEN is_nan THEN NULL ELSE value END"
    # The coarsest level with at least one bucket per column (a column is one or two whole buckets).
    level = next((i for i in reversed(range(len(SHIFTS))) if (hi >> SHIFTS[i]) - (lo >> SHIFTS[i]) + 1 >= pairs), None)
    if level is None:
        # Buckets are too wide for the columns: the range holds fewer than 64 * pairs points, read them.
        raw = conn.exec_driver_sql(
            sql(
                f"SELECT step, {value_expr}, timestamp FROM metrics WHERE run_uuid = ? AND key = ? "
                "AND step >= ? AND step <= ? ORDER BY step"
            ),
            (run_id, key, lo, hi),
        ).fetchall()
        if len(raw) <= max_points:  # (the coarsest level over-counts the range's edges)
            return [tuple(r) for r in raw]
        for step, value, ts in raw:
            s = _new()
            _add_point(s, step, value, ts, value is None)
            fold(column(step), s)
        first, last = tuple(raw[0]), tuple(raw[-1])
    else:
        shift = SHIFTS[level]
        first_b, last_b = lo >> shift, hi >> shift
        n_buckets = last_b - first_b + 1
        for r in conn.exec_driver_sql(
            sql(
                f"SELECT bucket, {_COLS} FROM metric_buckets WHERE run_uuid = ? AND key = ? AND level = ? "
                "AND bucket >= ? AND bucket <= ? ORDER BY bucket"
            ),
            (run_id, key, level, first_b, last_b),
        ):
            b = r[0]
            col = (b - first_b) * pairs // n_buckets
            b_lo, b_hi = b << shift, ((b + 1) << shift) - 1
            if b_lo < lo or b_hi > hi:
                # An edge bucket sticking out of [lo, hi]: summarize its part inside from raw rows.
                s = _new()
                for step, value, ts, is_nan in conn.exec_driver_sql(
                    sql(
                        "SELECT step, value, timestamp, is_nan FROM metrics WHERE run_uuid = ? AND key = ? "
                        "AND step >= ? AND step <= ?"
                    ),
                    (run_id, key, max(lo, b_lo), min(hi, b_hi)),
                ):
                    _add_point(s, step, value, ts, bool(is_nan))
                fold(col, s)
            else:
                fold(col, r[1:])
        ends = []
        for order in ("ASC", "DESC"):  # the first and last points inside [lo, hi]
            ends.append(
                conn.exec_driver_sql(
                    sql(
                        f"SELECT step, {value_expr}, timestamp FROM metrics WHERE run_uuid = ? AND key = ? "
                        f"AND step >= ? AND step <= ? ORDER BY step {order} LIMIT 1"
                    ),
                    (run_id, key, lo, hi),
                ).first()
            )
        first, last = (tuple(e) if e is not None else None for e in ends)
    points: dict[int, tuple] = {}
    for s in columns.values():
        if s[2] is not None:
            points[s[1]] = (s[1], s[2], s[3])
            points[s[4]] = (s[4], s[5], s[6])
    for end in (first, last):
        if end is not None:
            points[end[0]] = end
    return [points[s] for s in sorted(points)]
