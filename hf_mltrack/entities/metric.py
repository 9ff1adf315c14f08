"""Key-value records logged to runs and experiments.

They are NamedTuples: immutable, cheap to build on the logging hot path (no per-field
``__setattr__``), and they unpack straight into database rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import repeat
from typing import NamedTuple


class Metric(NamedTuple):
    """One metric point.

    Args:
        key (`str`): metric name.
        value (`float`): the value (NaN and +-inf are stored faithfully).
        timestamp (`int`): milliseconds since the epoch.
        step (`int`, *optional*, defaults to `0`): training step.
        dataset_name (`str`, *optional*): the dataset the value was computed on (MLflow 3).
        dataset_digest (`str`, *optional*): that dataset's digest.
        model_id (`str`, *optional*): the logged model (``m-...``) the value is about.
        run_id (`str`, *optional*): the run that logged it (set on points read back from a model).
    """

    key: str
    value: float
    timestamp: int
    step: int = 0
    dataset_name: str | None = None
    dataset_digest: str | None = None
    model_id: str | None = None
    run_id: str | None = None

    def to_dict(self) -> dict:
        d = {"key": self.key, "value": self.value, "timestamp": self.timestamp, "step": self.step}
        for name in ("dataset_name", "dataset_digest", "model_id", "run_id"):
            value = getattr(self, name)
            if value:
                d[name] = value
        return d


class PointColumns:
    """Metric points of one run without a logged model or dataset, per key as three columns.

    ``series[key] = (steps, timestamps, values)``, each series in logging order. This is how the
    asynchronous writer queues ``log_metric``'s points (three list appends per point, no tuple per
    point) and how a store that declares ``takes_point_columns`` receives them (no per-point unpacking).
    Iterating yields each point as a plain tuple of `Metric`'s fields, series after series: what every
    other consumer (another store, the spill file) reads.
    """

    __slots__ = ("series",)

    def __init__(self) -> None:
        self.series: dict[str, tuple[list[int], list[int], list[float]]] = {}

    def __len__(self) -> int:
        return sum(len(columns[0]) for columns in self.series.values())

    def __iter__(self) -> Iterator[tuple]:
        none = repeat(None)
        for key, (steps, stamps, values) in self.series.items():
            yield from zip(repeat(key), values, stamps, steps, none, none, none, none)

    def absorb(self, points: Iterable[tuple]) -> bool:
        """Append points given as `Metric` tuples; False (and nothing appended) when one names a logged
        model or a dataset (those form series of their own, not columns of a key)."""
        points = points if isinstance(points, (list, tuple)) else list(points)
        if any(p[4] is not None or p[5] is not None or p[6] is not None for p in points):
            return False
        series = self.series
        for p in points:
            columns = series.get(p[0])
            if columns is None:
                columns = series[p[0]] = ([], [], [])
            columns[0].append(p[3])
            columns[1].append(p[2])
            columns[2].append(p[1])
        return True

    @classmethod
    def join(cls, parts: Iterable[PointColumns | Iterable[tuple]]) -> PointColumns | None:
        """One `PointColumns` of several, in order (lists of `Metric` tuples are absorbed); None when a
        point names a logged model or a dataset. The parts are left unchanged."""
        out = cls()
        series = out.series
        for part in parts:
            if type(part) is not PointColumns:
                if not out.absorb(part):
                    return None
                continue
            for key, (steps, stamps, values) in part.series.items():
                mine = series.get(key)
                if mine is None:
                    series[key] = (list(steps), list(stamps), list(values))
                else:
                    mine[0].extend(steps)
                    mine[1].extend(stamps)
                    mine[2].extend(values)
        return out


class Param(NamedTuple):
    key: str
    value: str

    def to_dict(self) -> dict:
        return {"key": self.key, "value": self.value}


class RunTag(NamedTuple):
    key: str
    value: str

    def to_dict(self) -> dict:
        return {"key": self.key, "value": self.value}


class ExperimentTag(NamedTuple):
    key: str
    value: str

    def to_dict(self) -> dict:
        return {"key": self.key, "value": self.value}
