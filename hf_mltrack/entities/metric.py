"""Key-value records logged to runs and experiments.

They are NamedTuples: immutable, cheap to build on the logging hot path (no per-field
``__setattr__``), and they unpack straight into database rows.
"""

from __future__ import annotations

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
