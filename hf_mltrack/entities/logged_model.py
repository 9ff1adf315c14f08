"""MLflow 3's LoggedModel: a model as a first-class object (``m-<hex>``) with its own params, tags and metrics."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .metric import Metric


class LoggedModelStatus:
    """PENDING while its files are written, then READY, or FAILED (MLflow's wire names and numbers)."""

    PENDING = "PENDING"
    READY = "READY"
    FAILED = "FAILED"

    _WIRE = {
        PENDING: ("LOGGED_MODEL_PENDING", 1),
        READY: ("LOGGED_MODEL_READY", 2),
        FAILED: ("LOGGED_MODEL_UPLOAD_FAILED", 3),
    }

    @classmethod
    def parse(cls, value: Any) -> str:
        """``"READY"``, ``"LOGGED_MODEL_READY"``, ``2`` or ``"2"`` -> ``"READY"``; anything else is an error."""
        from ..exceptions import InvalidParameterError

        text = str(value).upper() if value is not None else ""
        for name, (wire, number) in cls._WIRE.items():
            if text in (name, wire, str(number)) or (name == cls.FAILED and text == "UPLOAD_FAILED"):
                return name
        raise InvalidParameterError(
            f"Invalid logged model status {value!r}: give one of PENDING, READY, FAILED "
            "(or LOGGED_MODEL_PENDING, LOGGED_MODEL_READY, LOGGED_MODEL_UPLOAD_FAILED)"
        )

    @classmethod
    def to_wire(cls, status: str) -> str:
        return cls._WIRE[status][0]


@dataclass
class LoggedModel:
    """One logged model.

    Attributes:
        model_id (`str`): ``m-<32 hex>``.
        experiment_id (`str`): its experiment.
        name (`str`): its name (the ``name=`` / ``artifact_path=`` of ``log_model``).
        artifact_location (`str`): where its files are (``models:/<model_id>`` resolves here).
        creation_timestamp (`int`): milliseconds since the epoch.
        last_updated_timestamp (`int`): milliseconds since the epoch.
        status (`str`): ``PENDING``, ``READY`` or ``FAILED``.
        model_type (`str`, *optional*): free-form, e.g. ``"checkpoint"`` or ``"agent"``.
        source_run_id (`str`, *optional*): the run that produced it.
        params (`dict`), tags (`dict`): its own params and tags.
        metrics (`list[Metric]`): the metric points linked to it (with ``model_id``, dataset and run).
    """

    model_id: str
    experiment_id: str
    name: str
    artifact_location: str
    creation_timestamp: int
    last_updated_timestamp: int
    status: str = LoggedModelStatus.PENDING
    model_type: str | None = None
    source_run_id: str | None = None
    status_message: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: list[Metric] = field(default_factory=list)

    @property
    def model_uri(self) -> str:
        return f"models:/{self.model_id}"

    def to_dict(self) -> dict:
        """MLflow 3.17's JSON shape: ``{"info": {...}, "data": {"params": [...], "metrics": [...]}}``."""
        info: dict[str, Any] = {
            "model_id": self.model_id,
            "experiment_id": self.experiment_id,
            "name": self.name,
            "creation_timestamp_ms": self.creation_timestamp,
            "last_updated_timestamp_ms": self.last_updated_timestamp,
            "artifact_uri": self.artifact_location,
            "status": LoggedModelStatus.to_wire(self.status),
            "tags": [{"key": k, "value": v} for k, v in self.tags.items()],
        }
        for name in ("model_type", "source_run_id", "status_message"):
            value = getattr(self, name)
            if value:
                info[name] = value
        return {
            "info": info,
            "data": {
                "params": [{"key": k, "value": v} for k, v in self.params.items()],
                "metrics": [_metric_json(m) for m in self.metrics],
            },
        }

    @classmethod
    def from_dict(cls, d: dict) -> LoggedModel:
        info = d.get("info") or {}
        data = d.get("data") or {}
        return cls(
            model_id=info["model_id"],
            experiment_id=str(info.get("experiment_id", "")),
            name=info.get("name", ""),
            artifact_location=info.get("artifact_uri", ""),
            creation_timestamp=int(info.get("creation_timestamp_ms") or 0),
            last_updated_timestamp=int(info.get("last_updated_timestamp_ms") or 0),
            status=LoggedModelStatus.parse(info.get("status", "PENDING")),
            model_type=info.get("model_type") or None,
            source_run_id=info.get("source_run_id") or None,
            status_message=info.get("status_message") or None,
            params={p["key"]: p.get("value", "") for p in data.get("params") or ()},
            tags={t["key"]: t.get("value", "") for t in info.get("tags") or ()},
            metrics=[_metric_from_json(m) for m in data.get("metrics") or ()],
        )


def _metric_json(m: Metric) -> dict:
    import math

    value: float | str = m.value
    if not math.isfinite(m.value):
        value = "NaN" if math.isnan(m.value) else ("Infinity" if m.value > 0 else "-Infinity")
    d = m.to_dict()
    d["value"] = value
    return d


def _metric_from_json(m: dict) -> Metric:
    return Metric(
        m["key"],
        float(m.get("value", "NaN")),
        int(m.get("timestamp") or 0),
        int(m.get("step") or 0),
        m.get("dataset_name") or None,
        m.get("dataset_digest") or None,
        m.get("model_id") or None,
        m.get("run_id") or None,
    )
