"""JSON in MLflow's REST shapes: entities to dicts, non-finite floats as protobuf writes them.

MLflow's server emits protobuf JSON: metric values NaN and +-inf are the strings ``"NaN"``,
``"Infinity"`` and ``"-Infinity"``; absent optional fields are omitted rather than ``null``.
"""

from __future__ import annotations

import math
from typing import Any

from starlette.responses import JSONResponse as _StarletteJSONResponse

from ..entities import Experiment, Metric, Run, RunInfo
from ..utils.fast_json import dumps_bytes as dumps


class JSONResponse(_StarletteJSONResponse):
    """A JSON response rendered without FastAPI's generic encoder (the payloads are plain already).

    A subclass of Starlette's `JSONResponse` so that FastAPI documents each route's ``response_model``
    as its 200 body in the OpenAPI schema (it documents any other response class as a plain string).
    """

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content)


def float_to_json(value: float) -> float | str:
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def metric_to_json(m: Metric, run_id: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "key": m.key,
        "value": float_to_json(m.value),
        "timestamp": m.timestamp,
        "step": m.step,
    }
    if run_id is not None:
        out["run_id"] = run_id
    if len(m) > 4 and (m.model_id or m.dataset_name):
        for name in ("model_id", "dataset_name", "dataset_digest"):
            value = getattr(m, name)
            if value:
                out[name] = value
    return out


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def experiment_to_json(e: Experiment) -> dict[str, Any]:
    return _drop_none(e.to_dict())


def run_info_to_json(info: RunInfo) -> dict[str, Any]:
    return _drop_none(info.to_dict())


def run_to_json(run: Run) -> dict[str, Any]:
    data = run.data
    metrics = data._metric_objs or [Metric(k, v, 0, 0) for k, v in data.metrics.items()]
    return {
        "info": run_info_to_json(run.info),
        "data": {
            "metrics": [metric_to_json(m) for m in metrics],
            "params": [{"key": k, "value": v} for k, v in data.params.items()],
            "tags": [{"key": k, "value": v} for k, v in data.tags.items()],
        },
        "inputs": run.inputs.to_dict(),
        "outputs": run.outputs.to_dict(),
    }
