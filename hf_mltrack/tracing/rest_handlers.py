"""The trace endpoints of the REST API, framework-free: the server's router only parses the request and
calls these with the tracking store's `AbstractTraceStore` (errors are `MlTrackException`s, mapped to
HTTP statuses by the server as for every other endpoint).

=======  ===============================================  ========================================
method   path (under ``/api/2.0/mlflow``)                  handler
=======  ===============================================  ========================================
GET      ``/traces``                                       `search_traces` (MLflow SearchTraces)
GET      ``/traces/{request_id}/info``                     `get_trace_info` (MLflow GetTraceInfo)
GET      ``/get-trace-artifact?request_id=...``            `get_trace_data` (MLflow's span dicts)
POST     ``/traces/log-batch``                             `log_traces` (hf_mltrack: whole traces)
POST     ``/traces/delete-traces``                         `delete_traces` (MLflow DeleteTraces)
PATCH    ``/traces/{request_id}/tags``                     `set_trace_tag` (MLflow SetTraceTag)
DELETE   ``/traces/{request_id}/tags?key=...``             `delete_trace_tag` (MLflow DeleteTraceTag)
=======  ===============================================  ========================================

Search parameters: ``experiment_ids`` (repeated), ``filter``, ``max_results`` (default 100),
``order_by`` (repeated), ``page_token``, and ``include_spans=true`` (hf_mltrack: each trace info then
carries ``"data": {"spans": [...]}``, saving one request per trace). Answers:
``{"traces": [TraceInfo], "next_page_token": "..."}`` where a TraceInfo has ``request_id``,
``experiment_id``, ``timestamp_ms``, ``execution_time_ms``, ``status``, ``request_metadata`` and ``tags``
as ``[{"key", "value"}]`` lists (MLflow's shape) plus ``name``, ``run_id``, ``request_preview`` and
``response_preview``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..entities.trace import Trace
from ..exceptions import InvalidParameterError
from .base import AbstractTraceStore

ROUTES: tuple[tuple[str, str, str], ...] = (
    ("GET", "/api/2.0/mlflow/traces", "search_traces"),
    ("GET", "/api/2.0/mlflow/traces/{request_id}/info", "get_trace_info"),
    ("GET", "/api/2.0/mlflow/get-trace-artifact", "get_trace_data"),
    ("POST", "/api/2.0/mlflow/traces/log-batch", "log_traces"),
    ("POST", "/api/2.0/mlflow/traces/delete-traces", "delete_traces"),
    ("PATCH", "/api/2.0/mlflow/traces/{request_id}/tags", "set_trace_tag"),
    ("DELETE", "/api/2.0/mlflow/traces/{request_id}/tags", "delete_trace_tag"),
)

MAX_LOG_BATCH = 1000


def _one(params: Mapping[str, Any], name: str, default: Any = None) -> Any:
    value = params.get(name, default)
    if isinstance(value, (list, tuple)):
        return value[-1] if value else default
    return value


def _many(params: Mapping[str, Any], name: str) -> list[str] | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def _int(value: Any, name: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"Invalid {name}={value!r}: give an integer") from None


def _bool(value: Any) -> bool:
    return str(value).lower() in ("1", "true", "yes") if value is not None else False


def search_traces(store: AbstractTraceStore, params: Mapping[str, Any]) -> dict[str, Any]:
    """``GET /traces``: `params` maps each query parameter to its value or list of values."""
    include_spans = _bool(_one(params, "include_spans"))
    page = store.search_traces(
        _many(params, "experiment_ids"),
        _one(params, "filter"),
        _int(_one(params, "max_results"), "max_results") or 100,
        _many(params, "order_by"),
        _one(params, "page_token"),
        include_spans,
    )
    traces = []
    for t in page:
        info = t.info.to_rest()
        if include_spans:
            info["data"] = t.data.to_dict()
        traces.append(info)
    out: dict[str, Any] = {"traces": traces}
    if page.token:
        out["next_page_token"] = page.token
    return out


def get_trace_info(store: AbstractTraceStore, request_id: str) -> dict[str, Any]:
    """``GET /traces/{request_id}/info``."""
    return {"trace_info": store.get_trace_info(request_id).to_rest()}


def get_trace_data(store: AbstractTraceStore, params: Mapping[str, Any]) -> dict[str, Any]:
    """``GET /get-trace-artifact?request_id=...``: ``{"spans": [...], "request": ..., "response": ...}``."""
    request_id = _one(params, "request_id")
    if not request_id:
        raise InvalidParameterError("Missing request_id: GET /get-trace-artifact?request_id=tr-...")
    from .mlflow_wire import span_to_mlflow_dict

    data = store.get_trace(str(request_id)).data
    # MLflow's trace data artifact (``traces.json``): its span dicts; `Span.from_dict` reads them back.
    return {"spans": [span_to_mlflow_dict(s) for s in data.spans], "request": data.request, "response": data.response}


def log_traces(store: AbstractTraceStore, body: Mapping[str, Any]) -> dict[str, Any]:
    """``POST /traces/log-batch`` with ``{"traces": [Trace.to_dict(), ...]}``."""
    raw = body.get("traces")
    if not isinstance(raw, Sequence) or isinstance(raw, (str, bytes)):
        raise InvalidParameterError('log-batch needs {"traces": [{"info": {...}, "data": {"spans": [...]}}, ...]}')
    if len(raw) > MAX_LOG_BATCH:
        raise InvalidParameterError(f"Too many traces in one log-batch ({len(raw)}): send at most {MAX_LOG_BATCH}")
    try:
        traces = [Trace.from_dict(t) for t in raw]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InvalidParameterError(f"Invalid trace in log-batch: {type(exc).__name__}: {exc}") from exc
    store.log_traces(traces)
    return {}


def delete_traces(store: AbstractTraceStore, body: Mapping[str, Any]) -> dict[str, Any]:
    """``POST /traces/delete-traces`` with ``experiment_id`` and ``request_ids`` or
    ``max_timestamp_millis`` (and optionally ``max_traces``)."""
    experiment_id = body.get("experiment_id")
    if experiment_id is None:
        raise InvalidParameterError("delete-traces needs experiment_id")
    request_ids = body.get("request_ids")
    max_ts = _int(body.get("max_timestamp_millis"), "max_timestamp_millis")
    if (request_ids is None) == (max_ts is None):
        raise InvalidParameterError("delete-traces needs exactly one of request_ids and max_timestamp_millis")
    deleted = store.delete_traces(str(experiment_id), max_ts, _int(body.get("max_traces"), "max_traces"), request_ids)
    return {"traces_deleted": deleted}


def set_trace_tag(store: AbstractTraceStore, request_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """``PATCH /traces/{request_id}/tags`` with ``{"key", "value"}``."""
    key = body.get("key")
    if not isinstance(key, str) or not key:
        raise InvalidParameterError('set-trace-tag needs {"key": "...", "value": "..."}')
    store.set_trace_tag(request_id, key, str(body.get("value", "")))
    return {}


def delete_trace_tag(store: AbstractTraceStore, request_id: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """``DELETE /traces/{request_id}/tags?key=...``."""
    key = _one(params, "key")
    if not key:
        raise InvalidParameterError("delete-trace-tag needs the query parameter key")
    store.delete_trace_tag(request_id, str(key))
    return {}
