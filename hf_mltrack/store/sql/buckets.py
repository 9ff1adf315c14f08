"""Min/max bucket summaries of metric series (by ``series_id``), kept up to date on every metric batch.

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


_COLS = "count, min_step, min_value, min_timestamp, max_step, max_value, max_timestamp"
_ALL_COLS = ("series_id", "level", "bucket", *_COLS.split(", "))
_PG_TYPES = ("integer", "integer", "bigint", "bigint") + ("bigint", "float8", "bigint") * 2

# One series' part of a batch: (series_id, steps, values, timestamps, appended). Values are None for
# NaN. ``appended``: the steps strictly increase and all lie past the stored series.
SeriesBatch = tuple[int, list[int], list, list[int], bool]


def summarize_sorted(steps: list[int], values: list, timestamps: list[int]) -> dict[int, Summary]:
    """Level-0 summaries of points with strictly increasing steps (values None for NaN).

    Works a bucket (a run of consecutive steps) at a time with ``min``/``max`` over slices, so the
    per-point work is C's, not Python's; ties go to the lowest step, as `_add_point` does.
    """
    from bisect import bisect_left

    out: dict[int, Summary] = {}
    shift = SHIFTS[0]
    n = len(steps)
    i = 0
    while i < n:
        b = steps[i] >> shift
        j = bisect_left(steps, (b + 1) << shift, i + 1)
        if j - i == 1:
            v = values[i]
            st, ts = steps[i], timestamps[i]
            s = [1, None, None, None, None, None, None] if v is None else [1, st, v, ts, st, v, ts]
        else:
            seg = values[i:j]
            try:
                # A NaN (None) among two or more values is compared, and raises: no scan for None first
                # (``None in values`` compares every float with None, the costliest pass of a batch).
                lo, hi = min(seg), max(seg)
            except TypeError:
                s = _new()
                for k in range(i, j):
                    _add_point(s, steps[k], values[k], timestamps[k], values[k] is None)
            else:
                a, c = i + seg.index(lo), i + seg.index(hi)
                s = [j - i, steps[a], lo, timestamps[a], steps[c], hi, timestamps[c]]
        out[b] = s
        i = j
    return out


def update_buckets(conn: Connection, sql: Callable[[str], str], batch: list[SeriesBatch]) -> None:
    """Fold a batch of points into the bucket summaries of their series.

    Appended series merge incrementally (new steps lie past the stored ones, so merging min/max/count
    is exact, `merge_appended`); other series have their touched buckets recomputed from the stored points.
    """
    merge_appended(conn, sql, batch)
    recompute_rewritten(conn, sql, batch)


def recompute_rewritten(conn: Connection, sql: Callable[[str], str], batch: list[SeriesBatch]) -> None:
    """The summaries of the buckets touched by series that are not appended, from the stored points."""
    for series_id, steps, _, _, is_appended in batch:
        if not is_appended:
            touched = {step >> SHIFTS[0] for step in steps}
            _recompute_level0(conn, sql, series_id, touched)
            # Parents: recomputed from their children (at most 16 rows each), level by level.
            for level in range(1, len(SHIFTS)):
                touched = {b >> _FANOUT_SHIFT for b in touched}
                _recompute_parents(conn, sql, series_id, level, touched)


def merge_appended(conn: Connection, sql: Callable[[str], str], batch: list[SeriesBatch]) -> None:
    """Merge the appended series of a batch into their summaries: one upsert, no read."""
    appended: list[tuple] = []
    for series_id, steps, values, timestamps, is_appended in batch:
        if not is_appended:
            continue
        below = summarize_sorted(steps, values, timestamps)
        appended.extend((series_id, 0, b, *s) for b, s in below.items())
        # Coarser levels merge the level-0 summaries (per point work happens once).
        for level in range(1, len(SHIFTS)):
            current: dict[int, Summary] = {}
            for b, child in below.items():
                s = current.get(b >> _FANOUT_SHIFT)
                if s is None:
                    s = current[b >> _FANOUT_SHIFT] = _new()
                _merge(s, child)
            appended.extend((series_id, level, b, *s) for b, s in current.items())
            below = current
    if appended:
        _merge_upsert(conn, sql, appended)


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
    # One statement for the batch (rows are unique): unnest on PostgreSQL, multi-row VALUES on SQLite.
    insert_rows(
        conn,
        "metric_buckets AS b",
        _ALL_COLS,
        rows,
        f" ON CONFLICT (series_id, level, bucket) DO UPDATE SET {sets}",
        pg_types=_PG_TYPES,
    )


def _replace(conn: Connection, sql: Callable[[str], str], rows: list[tuple]) -> None:
    if not rows:
        return
    insert_rows(
        conn,
        "metric_buckets",
        _ALL_COLS,
        rows,
        " ON CONFLICT (series_id, level, bucket) DO UPDATE SET count = excluded.count, "
        "min_step = excluded.min_step, min_value = excluded.min_value, min_timestamp = excluded.min_timestamp, "
        "max_step = excluded.max_step, max_value = excluded.max_value, max_timestamp = excluded.max_timestamp",
        pg_types=_PG_TYPES,
    )


def _recompute_level0(conn: Connection, sql: Callable[[str], str], series_id: int, buckets: set[int]) -> None:
    shift = SHIFTS[0]
    out = []
    for b in sorted(buckets):
        s = _new()
        for step, value, ts in conn.exec_driver_sql(
            sql("SELECT step, value, timestamp FROM metric_points WHERE series_id = ? AND step >= ? AND step < ?"),
            (series_id, b << shift, (b + 1) << shift),
        ):
            _add_point(s, step, value, ts, value is None)
        out.append((series_id, 0, b, *s))
    _replace(conn, sql, out)


def _recompute_parents(
    conn: Connection, sql: Callable[[str], str], series_id: int, level: int, parents: set[int]
) -> None:
    lo, hi = min(parents), max(parents)
    sums: dict[int, Summary] = {p: _new() for p in parents}
    for row in conn.exec_driver_sql(
        sql(
            f"SELECT bucket, {_COLS} FROM metric_buckets WHERE series_id = ? AND level = ? "
            "AND bucket >= ? AND bucket < ?"
        ),
        (series_id, level - 1, lo << _FANOUT_SHIFT, (hi + 1) << _FANOUT_SHIFT),
    ):
        parent = row[0] >> _FANOUT_SHIFT
        if parent in sums:
            _merge(sums[parent], row[1:])
    _replace(conn, sql, [(series_id, level, p, *s) for p, s in sums.items()])


def _column_extremes(
    conn: Connection,
    sql: Callable[[str], str],
    series_id: int,
    level: int,
    buckets: tuple[int, int],
    first_b: int,
    pairs: int,
    n_buckets: int,
) -> list[tuple[int, tuple, tuple]]:
    """``(column, (min_step, min_value, min_ts), (max_step, max_value, max_ts))`` of each column of the
    whole buckets ``buckets`` (first, last) of ``level``, bucket ``b`` in column
    ``(b - first_b) * pairs // n_buckets``; columns of NaN points only are left out.

    The database folds the (up to tens of thousands of) buckets into the columns, in C, taking in each
    column the point of the least (greatest) value: SQLite's ``MIN``/``MAX`` give the other columns of the
    row they pick, PostgreSQL's ``DISTINCT ON`` picks it by ordering by value. (On a tie, any of the tied
    points: each is a stored point holding the column's exact extreme.)
    """
    col = "(bucket - ?) * ? / ?"  # integer division: the column of `read_downsampled`
    where = "series_id = ? AND level = ? AND bucket >= ? AND bucket <= ?"
    args = (first_b, pairs, n_buckets, series_id, level, *buckets)
    found: dict[str, dict[int, tuple]] = {}
    for side, order in (("min", "ASC"), ("max", "DESC")):
        picked = f"{side}_step, {side}_value, {side}_timestamp"
        if conn.dialect.name == "postgresql":
            statement = (
                f"SELECT DISTINCT ON (c) c, {picked} FROM (SELECT {col} AS c, bucket, {picked} FROM metric_buckets "
                f"WHERE {where} AND {side}_value IS NOT NULL) AS b ORDER BY c, {side}_value {order}, bucket"
            )
        else:
            statement = (
                f"SELECT {col} AS c, {side}_step, {side.upper()}({side}_value), {side}_timestamp FROM metric_buckets "
                f"WHERE {where} AND {side}_value IS NOT NULL GROUP BY c"
            )
        found[side] = {r[0]: tuple(r[1:]) for r in conn.exec_driver_sql(sql(statement), args)}
    return [(c, low, found["max"][c]) for c, low in found["min"].items()]


def read_downsampled(
    conn: Connection,
    sql: Callable[[str], str],
    series_id: int,
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
            sql(f"SELECT step FROM metric_points WHERE series_id = ? ORDER BY step {order} LIMIT 1"),
            (series_id,),
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
        sql("SELECT SUM(count) FROM metric_buckets WHERE series_id = ? AND level = ? AND bucket >= ? AND bucket <= ?"),
        (series_id, len(SHIFTS) - 1, lo >> top, hi >> top),
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

    # The coarsest level with at least one bucket per column (a column is one or two whole buckets).
    level = next((i for i in reversed(range(len(SHIFTS))) if (hi >> SHIFTS[i]) - (lo >> SHIFTS[i]) + 1 >= pairs), None)
    if level is None:
        # Buckets are too wide for the columns: the range holds fewer than 64 * pairs points, read them.
        raw = conn.exec_driver_sql(
            sql(
                "SELECT step, value, timestamp FROM metric_points WHERE series_id = ? "
                "AND step >= ? AND step <= ? ORDER BY step"
            ),
            (series_id, lo, hi),
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

        def edge(b: int) -> None:
            """A bucket sticking out of [lo, hi]: its part inside, summarized from the raw rows."""
            s = _new()
            b_lo, b_hi = b << shift, ((b + 1) << shift) - 1
            for step, value, ts in conn.exec_driver_sql(
                sql("SELECT step, value, timestamp FROM metric_points WHERE series_id = ? AND step >= ? AND step <= ?"),
                (series_id, max(lo, b_lo), min(hi, b_hi)),
            ):
                _add_point(s, step, value, ts, value is None)
            fold((b - first_b) * pairs // n_buckets, s)

        # The first edge, the whole buckets (their extremes per column, from the database), the last edge.
        first_edge = first_b << shift < lo
        last_edge = ((last_b + 1) << shift) - 1 > hi
        if first_edge:
            edge(first_b)
        inner = (first_b + first_edge, last_b - last_edge)
        if inner[0] <= inner[1]:
            for col, low, high in _column_extremes(conn, sql, series_id, level, inner, first_b, pairs, n_buckets):
                fold(col, [0, *low, *high])
        if last_edge and (last_b != first_b or not first_edge):
            edge(last_b)
        ends = []
        for order in ("ASC", "DESC"):  # the first and last points inside [lo, hi]
            ends.append(
                conn.exec_driver_sql(
                    sql(
                        "SELECT step, value, timestamp FROM metric_points WHERE series_id = ? "
                        f"AND step >= ? AND step <= ? ORDER BY step {order} LIMIT 1"
                    ),
                    (series_id, lo, hi),
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
