"""``/api/2.0/mlflow/traces*`` and ``/get-trace-artifact``: the trace endpoints of
`hf_mltrack.tracing.rest_handlers`, served over the server's tracking database.

This module only parses requests and filters by permission; the handlers do the work (on the trace
store of ``state.backend_store_uri``) and raise `MlTrackException`s, mapped to statuses as elsewhere.
Answers are MLflow's shapes (``{"traces": [TraceInfo], "next_page_token"}``, ``{"spans": [...]}``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from ...exceptions import InvalidParameterError
from ...tracing import rest_handlers as handlers
from .._json import JSONResponse
from ..state import ServerState, State
from ._common import OkResponse
from ._limits import Id, Int64, NonNegativeInt64
from .runs import inline_schema

MAX_TRACE_TAG_VALUE_LENGTH = 8000  # MLflow's

if TYPE_CHECKING:
    from ...tracing.base import AbstractTraceStore

router = APIRouter(tags=["traces"])

SEARCH_MAX_RESULTS = 1000


class TraceInfoModel(BaseModel):
    request_id: str
    experiment_id: str
    timestamp_ms: int
    execution_time_ms: int | None = None
    status: str
    request_metadata: list[dict[str, str]] = Field(default_factory=list)
    tags: list[dict[str, str]] = Field(default_factory=list)
    name: str | None = None
    run_id: str | None = None
    request_preview: str | None = None
    response_preview: str | None = None


class SearchTracesResponse(BaseModel):
    traces: list[TraceInfoModel] = Field(default_factory=list)
    next_page_token: str | None = None


class TraceInfoResponse(BaseModel):
    trace_info: TraceInfoModel


class TraceDataResponse(BaseModel):
    spans: list[dict[str, Any]] = Field(default_factory=list)
    request: Any = None
    response: Any = None


class LogTraces(BaseModel):
    """Whole traces, as ``Trace.to_dict()`` writes them (at most 1000 per request)."""

    traces: list[dict[str, Any]]


class DeleteTraces(BaseModel):
    experiment_id: Id
    request_ids: list[Id] | None = None
    max_timestamp_millis: Int64 | None = None
    max_traces: NonNegativeInt64 | None = None


class DeleteTracesResponse(BaseModel):
    traces_deleted: int


class SetTraceTag(BaseModel):
    key: str = Field(min_length=1, max_length=250)
    value: str = Field(default="", max_length=MAX_TRACE_TAG_VALUE_LENGTH)


def trace_store(state: ServerState) -> AbstractTraceStore:
    """The trace store of the server's tracking database (one per URI per process)."""
    from ...tracing.stores import get_trace_store

    return get_trace_store(state.backend_store_uri)


async def _raw_body(request: Request) -> bytes:
    return await request.body()


def _json_object(raw: bytes, what: str) -> dict[str, Any]:
    try:
        data = json.loads(raw) if raw else {}
    except ValueError as exc:
        raise InvalidParameterError(f"Invalid {what} request: the body is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise InvalidParameterError(f"Invalid {what} request: the body must be a JSON object")
    return data


@router.get("/traces", response_model=SearchTracesResponse)
def search_traces(
    request: Request,
    state: State,
    experiment_ids: Annotated[list[str] | None, Query()] = None,
    filter: str | None = None,
    max_results: Annotated[int, Query(ge=1, le=SEARCH_MAX_RESULTS)] = 100,
    order_by: Annotated[list[str] | None, Query()] = None,
    page_token: str | None = None,
    include_spans: bool = False,
) -> JSONResponse:
    """MLflow's SearchTraces; with basic-auth only experiments the caller may read are searched."""
    ids: list[str] | None = list(experiment_ids) if experiment_ids else None
    if state.auth is not None:
        if ids is None:
            ids = state.auth.all_readable_experiment_ids(request)  # None for admins: every experiment
        else:
            ids = state.auth.readable_experiment_ids(request, ids)
        if ids is not None and not ids:
            return JSONResponse({"traces": []})
    params: dict[str, Any] = {
        "filter": filter,
        "max_results": max_results,
        "order_by": order_by or None,
        "page_token": page_token,
        "include_spans": include_spans,
    }
    if ids is not None:
        params["experiment_ids"] = ids
    return JSONResponse(handlers.search_traces(trace_store(state), params))


@router.get("/traces/{request_id}/info", response_model=TraceInfoResponse)
def get_trace_info(request_id: str, state: State) -> JSONResponse:
    return JSONResponse(handlers.get_trace_info(trace_store(state), request_id))


@router.get("/get-trace-artifact", response_model=TraceDataResponse)
def get_trace_artifact(state: State, request_id: str | None = None) -> JSONResponse:
    """The spans of one trace (with its request and response), as MLflow's trace data artifact."""
    return JSONResponse(
        handlers.get_trace_data(trace_store(state), {"request_id": request_id}),
        headers={"Content-Disposition": "attachment; filename=traces.json"},
    )


@router.post(
    "/traces/log-batch",
    response_model=OkResponse,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": inline_schema(LogTraces)}},
        }
    },
)
def log_traces(body: Annotated[bytes, Depends(_raw_body)], state: State) -> JSONResponse:
    """Write whole traces (a trace written again replaces its earlier copy); see `LogTraces`."""
    return JSONResponse(handlers.log_traces(trace_store(state), _json_object(body, "log-batch")))


@router.post("/traces/delete-traces", response_model=DeleteTracesResponse)
def delete_traces(body: DeleteTraces, state: State) -> JSONResponse:
    return JSONResponse(handlers.delete_traces(trace_store(state), body.model_dump(exclude_none=True)))


@router.patch("/traces/{request_id}/tags", response_model=OkResponse)
def set_trace_tag(request_id: str, body: SetTraceTag, state: State) -> JSONResponse:
    return JSONResponse(handlers.set_trace_tag(trace_store(state), request_id, body.model_dump()))


@router.delete("/traces/{request_id}/tags", response_model=OkResponse)
def delete_trace_tag(
    request_id: str,
    state: State,
    body: Annotated[bytes, Depends(_raw_body)],
    key: Annotated[str | None, Query()] = None,
) -> JSONResponse:
    """The key as a query parameter, or in a JSON body (MLflow's client sends ``{"key": ...}``)."""
    if key is None and body:
        key = _json_object(body, "delete-trace-tag").get("key")
    return JSONResponse(handlers.delete_trace_tag(trace_store(state), request_id, {"key": key}))
