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
    """

    key: str
    value: float
    timestamp: int
    step: int = 0

    def to_dict(self) -> dict:
        return {"key": self.key, "value": self.value, "timestamp": self.timestamp, "step": self.step}


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
