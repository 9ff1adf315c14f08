"""Metric history reads: a lazy sequence over raw rows, and min/max-preserving downsampling."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, overload

from ...entities import Metric

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection


class MetricHistory(Sequence[Metric]):
    """The points of one metric, ordered by step.

    Behaves as a list of `Metric`, built lazily from the raw ``(step, value, timestamp)`` rows (points
    of a logged model's or dataset's series add ``(dataset_name, dataset_digest, model_id)``) so
    that reading a million points costs little more than the database read itself. ``steps``,
    ``values`` and ``timestamps`` give plain lists without building `Metric` objects.
    """

    __slots__ = ("key", "_rows")

    def __init__(self, key: str, rows: list[Any]) -> None:
        self.key = key
        self._rows = rows

    def __len__(self) -> int:
        return len(self._rows)

    def _make(self, row: Any) -> Metric:
        step, value, ts = row[0], row[1], row[2]
        if len(row) > 3:  # a point of a model's or dataset's series: (..., dataset_name, dataset_digest, model_id)
            return Metric(self.key, math.nan if value is None else value, ts, step, *row[3:6])
        return Metric(self.key, math.nan if value is None else value, ts, step)

    @overload
    def __getitem__(self, index: int) -> Metric: ...
    @overload
    def __getitem__(self, index: slice) -> list[Metric]: ...
    def __getitem__(self, index: int | slice) -> Metric | list[Metric]:
        if isinstance(index, slice):
            return [self._make(r) for r in self._rows[index]]
        return self._make(self._rows[index])

    def __iter__(self) -> Iterator[Metric]:
        make = self._make
        for row in self._rows:
            yield make(row)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence):
            return list(self) == list(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"MetricHistory(key={self.key!r}, points={len(self)})"

    @property
    def steps(self) -> list[int]:
        return [r[0] for r in self._rows]

    @property
    def values(self) -> list[float]:
        return [math.nan if r[1] is None else r[1] for r in self._rows]

    @property
    def timestamps(self) -> list[int]:
        return [r[2] for r in self._rows]


def series_of(conn: Connection, sql: Callable[[str], str], run_id: str, key: str) -> list[int]:
    """The series ids of one metric of a run: usually one; more when points name logged models or datasets."""
    return [
        r[0]
        for r in conn.exec_driver_sql(
            sql("SELECT series_id FROM metric_series WHERE run_uuid = ? AND key = ? ORDER BY series_id"), (run_id, key)
        )
    ]


def read_points(conn: Connection, sql: Callable[[str], str], run_id: str, key: str) -> list[tuple]:
    """Every point of one metric of a run, ordered by step: ``(step, value, timestamp)`` (value None for
    NaN), plus ``(dataset_name, dataset_digest, model_id)`` for points of a model's or dataset's series.

    The usual case, one series of plain points, is a range scan of the primary key, already in order.
    """
    series = conn.exec_driver_sql(
        sql(
            "SELECT series_id, dataset_name, dataset_digest, model_id FROM metric_series "
            "WHERE run_uuid = ? AND key = ? ORDER BY series_id"
        ),
        (run_id, key),
    ).all()
    if not series:
        return []
    points_of = sql("SELECT step, value, timestamp FROM metric_points WHERE series_id = ? ORDER BY step")
    if len(series) == 1 and not any(series[0][1:]):
        return fetch_raw(conn, points_of, (series[0][0],))
    out: list[tuple] = []
    for series_id, dataset_name, dataset_digest, model_id in series:
        points = fetch_raw(conn, points_of, (series_id,))
        if model_id or dataset_name or dataset_digest:
            extra = (dataset_name or None, dataset_digest or None, model_id or None)
            out.extend(p + extra for p in points)
        else:
            out.extend(points)
    out.sort(key=_step)  # stable: at one step, series in creation order
    return out


def downsample_select(
    conn: Connection,
    sql: Callable[[str], str],
    run_id: str,
    key: str,
    max_points: int,
    start_step: int | None,
    end_step: int | None,
) -> list[tuple]:
    """At most ``max_points`` rows of one metric: per step bucket, the min and the max point.

    The first and last points are always kept, so a chart spans the whole range and no spike
    (a min or max) is ever dropped, unlike uniform sampling. Reads the bucket summaries kept by
    `buckets.update_buckets`, so the cost follows ``max_points``, not the series length. A metric
    with several series (points of several logged models or datasets) shares ``max_points`` between
    them.
    """
    from .buckets import read_downsampled

    series = series_of(conn, sql, run_id, key)
    share = max(2, max_points // max(1, len(series)))
    out: list[tuple] = []
    for series_id in series:
        rows = read_downsampled(conn, sql, series_id, share, start_step, end_step)
        if rows is None:
            where = "series_id = ?"
            args: list[Any] = [series_id]
            if start_step is not None:
                where += " AND step >= ?"
                args.append(start_step)
            if end_step is not None:
                where += " AND step <= ?"
                args.append(end_step)
            rows = fetch_raw(
                conn, sql(f"SELECT step, value, timestamp FROM metric_points WHERE {where} ORDER BY step"), tuple(args)
            )
        out.extend(rows)
    if len(series) > 1:
        out.sort(key=_step)
    return out


def _step(row: tuple) -> int:
    return row[0]


def fetch_raw(conn: Connection, statement: str, args: tuple) -> list[tuple]:
    """Run a read on the driver's own cursor: plain tuples, no per-row wrapper objects."""
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(statement, args)
        return list(cursor.fetchall())
    finally:
        cursor.close()
