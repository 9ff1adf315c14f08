"""MLflow 3's trace API: ``/api/3.0/mlflow/traces*`` (`router`) and the v2 routes MLflow clients fall back
to (`v2_router`: start/end a trace, link traces to a run), over the server's trace tables.

What an MLflow 3 client does when a traced function returns: it posts the spans to ``POST /v1/traces``
(`hf_mltrack.server.routers.otlp`), then the trace info to ``POST /api/3.0/mlflow/traces``; the answer's
tag ``mlflow.trace.spansLocation = TRACKING_STORE`` tells it the spans are in our database, so it reads
them back with ``GET /traces/get`` and ``/traces/batchGet`` (OpenTelemetry spans in protobuf JSON).
Answers are MLflow's protobuf JSON (`hf_mltrack.tracing.mlflow_wire`); errors are MLflow's
``{"error_code", "message"}`` with its statuses (404 for an unknown trace or assessment).
"""

from __future__ import annotations

import json
import math
import time
import uuid
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Query, Request

from ...entities.trace import TRACE_NAME_TAG, Trace, TraceInfo, TraceStatus
from ...exceptions import InvalidParameterError, PermissionDeniedError
from ...tracing import mlflow_wire as wire
from .._json import JSONResponse
from ..state import ServerState, State
from .traces import trace_store

if TYPE_CHECKING:
    from ...store.sql.assessment_store import Assessment, SqlAssessmentStore
    from ...store.sql.trace_store import SqlTraceStore

router = APIRouter(tags=["traces"])
v2_router = APIRouter(tags=["traces"])

SEARCH_MAX_RESULTS = 1000
LINK_MAX_TRACES = 100


def _sql_store(state: ServerState) -> SqlTraceStore:
    return trace_store(state)  # type: ignore[return-value]


def _assessments(state: ServerState) -> SqlAssessmentStore:
    from ...store.sql.assessment_store import SqlAssessmentStore

    return SqlAssessmentStore(_sql_store(state).engine)


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        data = json.loads(raw) if raw else {}
    except ValueError as exc:
        raise InvalidParameterError(f"The request body is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise InvalidParameterError("The request body must be a JSON object")
    return data


def _check_experiment(request: Request, state: ServerState, experiment_id: str, permission: str) -> None:
    """With basic-auth, the caller needs ``permission`` on the experiment (routes whose experiment is
    only known from a nested body field or a header check here)."""
    if state.auth is None:
        return
    user = state.auth.user(request)
    if not (user.is_admin or state.auth.allows(user, "experiment", str(experiment_id), permission)):
        raise PermissionDeniedError(
            f"User {user.username!r} lacks {permission} permission on experiment {experiment_id!r}"
        )


def _readable(request: Request, state: ServerState, ids: list[str]) -> list[str]:
    if state.auth is None:
        return ids
    return state.auth.readable_experiment_ids(request, ids)


def _v3(state: ServerState, infos: list[TraceInfo]) -> list[dict[str, Any]]:
    by_trace = _assessments(state).for_traces([i.request_id for i in infos]) if infos else {}
    return [wire.trace_info_to_v3(i, [assessment_to_json(a) for a in by_trace.get(i.request_id, [])]) for i in infos]


# ---- assessments ---------------------------------------------------------------------------------
def assessment_to_json(a: Assessment) -> dict[str, Any]:
    out: dict[str, Any] = {
        "assessment_id": a.assessment_id,
        "assessment_name": a.name,
        "trace_id": a.request_id,
        "create_time": wire.ms_to_timestamp(a.create_time_ms),
        "last_update_time": wire.ms_to_timestamp(a.last_update_time_ms),
        "valid": a.valid,
    }
    if a.span_id:
        out["span_id"] = a.span_id
    if a.source_type or a.source_id:
        out["source"] = {"source_type": a.source_type or "SOURCE_TYPE_UNSPECIFIED", "source_id": a.source_id or ""}
    if a.kind == "feedback":
        feedback: dict[str, Any] = {}
        if a.value is not None:
            feedback["value"] = a.value
        if a.error:
            feedback["error"] = a.error
        out["feedback"] = feedback
    elif isinstance(a.value, (str, bool, int, float)) or a.value is None:
        out["expectation"] = {"value": a.value}
    else:  # MLflow writes structured expectations as JSON text
        out["expectation"] = {"serialized_value": {"serialization_format": "JSON_FORMAT", "value": json.dumps(a.value)}}
    if a.rationale is not None:
        out["rationale"] = a.rationale
    if a.metadata:
        out["metadata"] = a.metadata
    if a.overrides:
        out["overrides"] = a.overrides
    return out


def _assessment_fields(d: dict[str, Any], partial: bool) -> dict[str, Any]:
    """`Assessment` fields from MLflow's ``Assessment`` JSON (only those present when ``partial``)."""
    out: dict[str, Any] = {}
    if "assessment_name" in d or not partial:
        name = d.get("assessment_name")
        if not isinstance(name, str) or not name:
            raise InvalidParameterError("Invalid assessment: assessment_name is required")
        out["name"] = name[:250]
    if "feedback" in d and "expectation" in d:
        raise InvalidParameterError("Invalid assessment: give either feedback or expectation, not both")
    if isinstance(d.get("feedback"), dict):
        feedback = d["feedback"]
        out["kind"] = "feedback"
        out["value"] = feedback.get("value")
        out["error"] = feedback.get("error") if isinstance(feedback.get("error"), dict) else None
    elif isinstance(d.get("expectation"), dict):
        expectation = d["expectation"]
        out["kind"] = "expectation"
        serialized = expectation.get("serialized_value")
        if isinstance(serialized, dict):
            try:
                out["value"] = json.loads(serialized.get("value") or "null")
            except ValueError:
                raise InvalidParameterError("Invalid assessment: expectation.serialized_value is not JSON") from None
        else:
            out["value"] = expectation.get("value")
    elif not partial:
        raise InvalidParameterError("Invalid assessment: give a feedback or an expectation")
    if "rationale" in d:
        out["rationale"] = None if d["rationale"] is None else str(d["rationale"])
    if "metadata" in d:
        meta = d.get("metadata") or {}
        if not isinstance(meta, dict):
            raise InvalidParameterError("Invalid assessment: metadata must be an object of strings")
        out["metadata"] = {str(k): str(v) for k, v in meta.items()}
    if not partial:
        source = d.get("source") or {}
        if not isinstance(source, dict):
            raise InvalidParameterError("Invalid assessment: source must be an object")
        out["source_type"] = source.get("source_type")
        out["source_id"] = source.get("source_id")
        out["span_id"] = d.get("span_id") or None
        out["overrides"] = d.get("overrides") or None
    return out


_MASK_FIELDS = {
    "assessment_name": ("name",),
    "assessmentname": ("name",),
    "feedback": ("kind", "value", "error"),
    "expectation": ("kind", "value"),
    "rationale": ("rationale",),
    "metadata": ("metadata",),
}


@router.post("/traces/{trace_id}/assessments")
async def create_assessment(trace_id: str, request: Request, state: State) -> JSONResponse:
    from ...store.sql.assessment_store import Assessment

    body = await _body(request)
    d = body.get("assessment")
    if not isinstance(d, dict):
        raise InvalidParameterError('CreateAssessment needs {"assessment": {...}}')
    fields = _assessment_fields(d, partial=False)
    created = _assessments(state).create(Assessment(request_id=trace_id, **fields))
    return JSONResponse({"assessment": assessment_to_json(created)})


@router.get("/traces/{trace_id}/assessments/{assessment_id}")
def get_assessment(trace_id: str, assessment_id: str, state: State) -> JSONResponse:
    return JSONResponse({"assessment": assessment_to_json(_assessments(state).get(trace_id, assessment_id))})


@router.patch("/traces/{trace_id}/assessments/{assessment_id}")
async def update_assessment(trace_id: str, assessment_id: str, request: Request, state: State) -> JSONResponse:
    body = await _body(request)
    d = body.get("assessment")
    if not isinstance(d, dict):
        raise InvalidParameterError('UpdateAssessment needs {"assessment": {...}, "update_mask": "..."}')
    changes = _assessment_fields(d, partial=True)
    mask = body.get("update_mask")
    if isinstance(mask, dict):  # FieldMask as {"paths": [...]}
        mask = ",".join(mask.get("paths") or ())
    if mask:
        allowed: set[str] = set()
        for path in str(mask).split(","):
            key = path.strip()
            snake = "".join("_" + c.lower() if c.isupper() else c for c in key)
            fields = _MASK_FIELDS.get(snake) or _MASK_FIELDS.get(key.lower())
            if fields is None:
                raise InvalidParameterError(
                    f"Invalid update_mask path {key!r}: give assessmentName, feedback, expectation, rationale "
                    "or metadata"
                )
            allowed.update(fields)
        changes = {k: v for k, v in changes.items() if k in allowed}
    updated = _assessments(state).update(trace_id, assessment_id, changes)
    return JSONResponse({"assessment": assessment_to_json(updated)})


@router.delete("/traces/{trace_id}/assessments/{assessment_id}")
def delete_assessment(trace_id: str, assessment_id: str, state: State) -> JSONResponse:
    _assessments(state).delete(trace_id, assessment_id)
    return JSONResponse({})


# ---- traces --------------------------------------------------------------------------------------
@router.post("/traces")
async def start_trace(request: Request, state: State) -> JSONResponse:
    """MLflow's ``StartTraceV3`` (sent when a trace ends): ``{"trace": {"trace_info": TraceInfoV3}}``."""
    body = await _body(request)
    trace = body.get("trace")
    if not isinstance(trace, dict):
        raise InvalidParameterError('StartTraceV3 needs {"trace": {"trace_info": {...}}}')
    info = wire.trace_info_from_v3(trace.get("trace_info"))
    _check_experiment(request, state, info.experiment_id, "EDIT")
    stored = _sql_store(state).start_trace(info)
    return JSONResponse({"trace": {"trace_info": _v3(state, [stored])[0]}})


@router.get("/traces/get")
def get_trace(request: Request, state: State, trace_id: str | None = None, allow_partial: bool = False) -> JSONResponse:
    """MLflow's ``GetTrace``: the trace info and its spans (OpenTelemetry protobuf JSON)."""
    if not trace_id:
        raise InvalidParameterError("GetTrace needs the query parameter trace_id")
    trace = _sql_store(state).get_trace(trace_id)
    return JSONResponse(
        {
            "trace": {
                "trace_info": _v3(state, [trace.info])[0],
                "spans": [wire.span_to_otel_json(s) for s in trace.data.spans],
            }
        }
    )


def _info(trace: Trace | TraceInfo) -> TraceInfo:
    return trace.info if isinstance(trace, Trace) else trace


def _traces_by_ids(request: Request, state: ServerState, trace_ids: list[str], spans: bool) -> list[Any]:
    from ...exceptions import ResourceNotFoundError

    store = _sql_store(state)
    out: list[Trace | TraceInfo] = []
    for rid in dict.fromkeys(trace_ids):
        try:
            out.append(store.get_trace(rid) if spans else store.get_trace_info(rid))
        except ResourceNotFoundError:
            continue
    if state.auth is not None:
        exps = {_info(t).experiment_id for t in out}
        ok = set(_readable(request, state, sorted(exps)))
        out = [t for t in out if _info(t).experiment_id in ok]
    return out


@router.get("/traces/batchGet")
def batch_get_traces(
    request: Request, state: State, trace_ids: Annotated[list[str] | None, Query()] = None
) -> JSONResponse:
    traces = _traces_by_ids(request, state, list(trace_ids or ()), spans=True)
    infos = _v3(state, [t.info for t in traces])
    return JSONResponse(
        {
            "traces": [
                {"trace_info": info, "spans": [wire.span_to_otel_json(s) for s in t.data.spans]}
                for info, t in zip(infos, traces, strict=True)
            ]
        }
    )


@router.post("/traces/batchGetInfos")
async def batch_get_trace_infos(request: Request, state: State) -> JSONResponse:
    body = await _body(request)
    ids = body.get("trace_ids") or []
    if not isinstance(ids, list):
        raise InvalidParameterError("BatchGetTraceInfos needs trace_ids: a list of trace ids")
    infos = _traces_by_ids(request, state, [str(i) for i in ids], spans=False)
    return JSONResponse({"trace_infos": _v3(state, infos)})


@router.get("/traces/{trace_id}")
def get_trace_info(trace_id: str, state: State) -> JSONResponse:
    """MLflow's ``GetTraceInfoV3``."""
    info = _sql_store(state).get_trace_info(trace_id)
    return JSONResponse({"trace": {"trace_info": _v3(state, [info])[0]}})


def _location_ids(body: dict[str, Any]) -> list[str]:
    ids: list[str] = []
    for loc in body.get("locations") or ():
        exp = (loc.get("mlflow_experiment") or {}).get("experiment_id") if isinstance(loc, dict) else None
        if not exp:
            raise InvalidParameterError(
                'SearchTracesV3 locations must be {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": '
                '{"experiment_id": "..."}}'
            )
        ids.append(str(exp))
    return ids


def _max_results(value: Any, default: int = 100) -> int:
    if value in (None, ""):
        return default
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"Invalid max_results {value!r}: give an integer") from None
    if not 0 < n <= SEARCH_MAX_RESULTS:
        raise InvalidParameterError(f"Invalid max_results {n}: give 1 to {SEARCH_MAX_RESULTS}")
    return n


@router.post("/traces/search")
async def search_traces(request: Request, state: State) -> JSONResponse:
    """MLflow's ``SearchTracesV3``: trace infos (no spans) of the given experiments."""
    body = await _body(request)
    ids = _readable(request, state, _location_ids(body))
    if not ids:
        return JSONResponse({"traces": []})
    order_by = body.get("order_by") or None
    page = _sql_store(state).search_traces(
        ids,
        body.get("filter") or None,
        _max_results(body.get("max_results")),
        order_by,
        body.get("page_token"),
        include_spans=False,
    )
    out: dict[str, Any] = {"traces": _v3(state, [t.info for t in page])}
    if page.token:
        out["next_page_token"] = page.token
    return JSONResponse(out)


@router.patch("/traces/{trace_id}/tags")
async def set_trace_tag(trace_id: str, request: Request, state: State) -> JSONResponse:
    body = await _body(request)
    key = body.get("key")
    if not isinstance(key, str) or not key or len(key) > 250:
        raise InvalidParameterError('SetTraceTagV3 needs {"key": "...", "value": "..."} (key up to 250 characters)')
    _sql_store(state).set_trace_tag(trace_id, key, str(body.get("value") or ""))
    return JSONResponse({})


@router.delete("/traces/{trace_id}/tags")
async def delete_trace_tag(trace_id: str, request: Request, state: State, key: str | None = None) -> JSONResponse:
    if key is None:
        body = await _body(request)
        key = body.get("key")
    if not isinstance(key, str) or not key:
        raise InvalidParameterError("DeleteTraceTagV3 needs the key")
    _sql_store(state).delete_trace_tag(trace_id, key)
    return JSONResponse({})


@router.post("/traces/delete-traces")
async def delete_traces(request: Request, state: State) -> JSONResponse:
    from ...tracing import rest_handlers as handlers

    body = await _body(request)
    return JSONResponse(handlers.delete_traces(_sql_store(state), body))


def _count(state: ServerState, ids: list[str], filters: list[str | None]) -> int:
    """How many traces of the experiments match every filter of ``filters``."""
    import sqlalchemy as sa

    from ...store.sql.tracing_schema import trace_info
    from ...tracing.search import parse_trace_filter

    store = _sql_store(state)
    query = (
        sa.select(sa.func.count()).select_from(trace_info).where(trace_info.c.experiment_id.in_([int(i) for i in ids]))
    )
    for text in filters:
        for c in parse_trace_filter(text):
            query = query.where(store._condition(c))
    with store.engine.connect() as conn:
        return int(conn.execute(query).scalar() or 0)


@router.post("/traces/calculate-filter-correlation")
async def calculate_filter_correlation(request: Request, state: State) -> JSONResponse:
    """MLflow's ``CalculateTraceFilterCorrelation``: how two filters co-occur (NPMI) over the experiments."""
    body = await _body(request)
    raw_ids = body.get("experiment_ids") or []
    if not isinstance(raw_ids, list) or not raw_ids:
        raise InvalidParameterError("CalculateTraceFilterCorrelation needs experiment_ids")
    ids = _readable(request, state, [str(i) for i in raw_ids])
    f1, f2, base = body.get("filter_string1"), body.get("filter_string2"), body.get("base_filter")
    if not f1 or not f2:
        raise InvalidParameterError("CalculateTraceFilterCorrelation needs filter_string1 and filter_string2")
    if not ids:
        total = n1 = n2 = joint = 0
    else:
        total = _count(state, ids, [base])
        n1 = _count(state, ids, [base, f1])
        n2 = _count(state, ids, [base, f2])
        joint = _count(state, ids, [base, f1, f2])
    out: dict[str, Any] = {"filter1_count": n1, "filter2_count": n2, "joint_count": joint, "total_count": total}
    out["npmi"] = _npmi(joint, n1, n2, total, 0.0)
    out["npmi_smoothed"] = _npmi(joint, n1, n2, total, 0.5)
    return JSONResponse(out)


def _npmi(joint: int, n1: int, n2: int, total: int, smoothing: float) -> float | str:
    """Normalised pointwise mutual information of two events (protobuf JSON writes NaN as "NaN")."""
    if total == 0 or (smoothing == 0 and (n1 == 0 or n2 == 0)):
        return "NaN"
    k = total + 4 * smoothing
    p_xy = (joint + smoothing) / k
    p_x = (n1 + 2 * smoothing) / k
    p_y = (n2 + 2 * smoothing) / k
    if p_xy <= 0:
        return -1.0
    if p_xy >= 1:
        return 1.0
    value = math.log(p_xy / (p_x * p_y)) / -math.log(p_xy)
    return max(-1.0, min(1.0, value))


_METRIC_DIMENSIONS = {"trace_status": "status", "trace_name": "name"}


@router.post("/traces/metrics")
async def query_trace_metrics(request: Request, state: State) -> JSONResponse:
    """MLflow's ``QueryTraceMetrics`` for the trace count (``trace_count``, aggregation ``COUNT``), grouped by
    ``trace_status`` and/or ``trace_name``; other metrics answer 400 naming what is supported."""
    import sqlalchemy as sa

    from ...store.sql.tracing_schema import trace_info
    from ...tracing.search import parse_trace_filter

    body = await _body(request)
    ids = _readable(request, state, [str(i) for i in body.get("experiment_ids") or ()])
    view = body.get("view_type") or "TRACES"
    metric = body.get("metric_name")
    aggregations = body.get("aggregations") or []
    kinds = [a.get("aggregation_type") for a in aggregations if isinstance(a, dict)]
    if view != "TRACES" or metric != "trace_count" or any(k != "COUNT" for k in kinds):
        raise InvalidParameterError(
            f"QueryTraceMetrics: this server computes view_type TRACES, metric_name trace_count, aggregation "
            f"COUNT (asked {view}, {metric}, {kinds})"
        )
    dims = [str(d) for d in body.get("dimensions") or ()]
    unknown = [d for d in dims if d not in _METRIC_DIMENSIONS]
    if unknown:
        raise InvalidParameterError(f"Unsupported dimensions {unknown}: give {sorted(_METRIC_DIMENSIONS)}")
    if not ids:
        return JSONResponse({"data_points": []})
    store = _sql_store(state)
    cols = [trace_info.c[_METRIC_DIMENSIONS[d]] for d in dims]
    query = sa.select(*cols, sa.func.count()).where(trace_info.c.experiment_id.in_([int(i) for i in ids]))
    for text in body.get("filters") or ():
        for c in parse_trace_filter(text):
            query = query.where(store._condition(c))
    if body.get("start_time_ms") is not None:
        query = query.where(trace_info.c.timestamp_ms >= int(body["start_time_ms"]))
    if body.get("end_time_ms") is not None:
        query = query.where(trace_info.c.timestamp_ms < int(body["end_time_ms"]))
    if cols:
        query = query.group_by(*cols).order_by(*cols)
    with store.engine.connect() as conn:
        rows = list(conn.execute(query))
    points = [
        {
            "metric_name": metric,
            "dimensions": {d: str(r[i]) for i, d in enumerate(dims)},
            "values": {"COUNT": float(r[len(dims)])},
        }
        for r in rows
    ]
    return JSONResponse({"data_points": points})


# ---- v2 routes the MLflow client falls back to ---------------------------------------------------
def _kv_map(value: Any, field: str) -> dict[str, str]:
    return wire._str_map(value, field)


@v2_router.post("/traces")
async def start_trace_v2(request: Request, state: State) -> JSONResponse:
    """MLflow's deprecated ``StartTrace`` (v2): a trace IN_PROGRESS, ended by ``PATCH /traces/{id}``."""
    body = await _body(request)
    exp = body.get("experiment_id")
    if exp is None or exp == "":
        raise InvalidParameterError("StartTrace needs experiment_id")
    _check_experiment(request, state, str(exp), "EDIT")
    tags = _kv_map(body.get("tags"), "tags")
    name = tags.pop(wire.MLFLOW_TRACE_NAME_TAG, None)
    metadata = _kv_map(body.get("request_metadata"), "request_metadata")
    info = TraceInfo(
        request_id="tr-" + uuid.uuid4().hex,
        experiment_id=str(exp),
        timestamp_ms=int(body.get("timestamp_ms") or time.time() * 1000),
        execution_time_ms=0,
        status=TraceStatus.IN_PROGRESS,
        name=name,
        run_id=metadata.get(wire.SOURCE_RUN_METADATA),
        tags={TRACE_NAME_TAG: name, **tags} if name else tags,
        request_metadata=metadata,
    )
    stored = _sql_store(state).start_trace(info)
    return JSONResponse({"trace_info": wire.trace_info_to_v2(stored)})


@v2_router.patch("/traces/{request_id}")
async def end_trace_v2(request_id: str, request: Request, state: State) -> JSONResponse:
    """MLflow's deprecated ``EndTrace`` (v2): the end time, the status; metadata and tags are merged."""
    body = await _body(request)
    store = _sql_store(state)
    info = store.get_trace_info(request_id)
    end = body.get("timestamp_ms")
    if end is not None:
        try:
            info.execution_time_ms = max(0, int(end) - info.timestamp_ms)
        except (TypeError, ValueError):
            raise InvalidParameterError(f"Invalid timestamp_ms {end!r}: give milliseconds") from None
    status = body.get("status")
    if status:
        if status not in (TraceStatus.OK, TraceStatus.ERROR, TraceStatus.IN_PROGRESS):
            raise InvalidParameterError(f"Invalid status {status!r}: give OK, ERROR or IN_PROGRESS")
        info.status = status
    info.request_metadata.update(_kv_map(body.get("request_metadata"), "request_metadata"))
    tags = _kv_map(body.get("tags"), "tags")
    name = tags.pop(wire.MLFLOW_TRACE_NAME_TAG, None)
    if name:
        info.name = name
        tags[TRACE_NAME_TAG] = name
    info.tags.update(tags)
    stored = store.start_trace(info)
    return JSONResponse({"trace_info": wire.trace_info_to_v2(stored)})


@v2_router.post("/traces/link-to-run")
async def link_traces_to_run(request: Request, state: State) -> JSONResponse:
    """MLflow's ``LinkTracesToRun``: ``{"trace_ids": [...], "run_id": "..."}`` (at most 100 traces)."""
    body = await _body(request)
    ids = body.get("trace_ids") or []
    run_id = body.get("run_id")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise InvalidParameterError("LinkTracesToRun needs trace_ids: a list of trace ids")
    if len(ids) > LINK_MAX_TRACES:
        raise InvalidParameterError(f"LinkTracesToRun takes at most {LINK_MAX_TRACES} trace ids, got {len(ids)}")
    if not isinstance(run_id, str) or not run_id:
        raise InvalidParameterError("LinkTracesToRun needs run_id")
    run = state.store.get_run(run_id)  # 404 for an unknown run
    if ids:
        _sql_store(state).link_traces_to_run(ids, run_id, run.info.experiment_id)
    return JSONResponse({})
