"""Run, RunInfo and RunData."""

from __future__ import annotations

from dataclasses import dataclass, field

from .dataset import RunInputs, RunOutputs
from .metric import Metric


@dataclass
class RunInfo:
    """Metadata of one run (ids, status, times, artifact location)."""

    run_id: str
    experiment_id: str
    run_name: str
    user_id: str
    status: str
    start_time: int
    end_time: int | None
    artifact_uri: str
    lifecycle_stage: str = "active"

    @property
    def run_uuid(self) -> str:
        return self.run_id

    def to_dict(self) -> dict:
        return {
            "run_id": self.run_id,
            "run_uuid": self.run_id,
            "run_name": self.run_name,
            "experiment_id": self.experiment_id,
            "user_id": self.user_id,
            "status": self.status,
            "start_time": self.start_time,
            "end_time": self.end_time,
            "artifact_uri": self.artifact_uri,
            "lifecycle_stage": self.lifecycle_stage,
        }


@dataclass
class RunData:
    """What a run has logged: latest metric values, params and tags (plain dicts, as in MLflow)."""

    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    _metric_objs: list[Metric] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict:
        return {
            "metrics": [m.to_dict() for m in self._metric_objs],
            "params": [{"key": k, "value": v} for k, v in self.params.items()],
            "tags": [{"key": k, "value": v} for k, v in self.tags.items()],
        }


@dataclass
class Run:
    """A run: `info` (RunInfo), `data` (RunData), and what it read (`inputs`) and produced (`outputs`)."""

    info: RunInfo
    data: RunData
    inputs: RunInputs = field(default_factory=RunInputs)
    outputs: RunOutputs = field(default_factory=RunOutputs)

    def to_dict(self) -> dict:
        return {
            "info": self.info.to_dict(),
            "data": self.data.to_dict(),
            "inputs": self.inputs.to_dict(),
            "outputs": self.outputs.to_dict(),
        }
