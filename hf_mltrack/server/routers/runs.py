"""``/api/2.0/mlflow/runs/*``: create, get, update, delete, restore, search and logging.

Limits are MLflow's: one log-batch carries at most 1000 metrics, 100 params and 100 tags (1000 items
in all); keys are at most 250 characters; param values at most 6000 and tag values 8000.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from ... import _env
from ...entities import Metric, Param, RunTag
from ...exceptions import InvalidParameterError
from ...utils import validation as v
from ...utils.fast_json import loads
from .._json import JSONResponse, run_info_to_json, run_to_json
from ..state import ServerState, State, get_state
from ._common import KeyValue, OkResponse, ok, view_type
from ._limits import INT64_MAX, INT64_MIN, Filter, Id, Int64, Key, Name, RunName

router = APIRouter(prefix="/runs", tags=["runs"])

MAX_BATCH_METRICS = 1000
MAX_BATCH_PARAMS = 100
MAX_BATCH_TAGS = 100
MAX_BATCH_ITEMS = 1000
SEARCH_MAX_RESULTS = 50_000


class _RunRef(BaseModel):
    """The run a request acts on. MLflow's clients also send it as ``run_uuid``: the server boundary
    (`hf_mltrack.server.boundary`) reads both, refuses empty or conflicting ones, and hands the handler
    ``run_id`` alone."""

    run_id: str = Field(min_length=1)

    @property
    def id(self) -> str:
        return self.run_id


class CreateRun(BaseModel):
    experiment_id: Id = "0"
    user_id: Name | None = None
    run_name: RunName | None = None
    start_time: Int64 | None = None
    tags: list[KeyValue] = Field(default_factory=list)


class MetricModel(BaseModel):
    key: Key
    value: float
    timestamp: Int64  # required, as MLflow's server requires it
    step: Int64 = 0
    model_id: str | None = None
    dataset_name: str | None = None
    dataset_digest: str | None = None


class RunInfoModel(BaseModel):
    run_id: str
    run_uuid: str
    run_name: str | None = None
    experiment_id: str
    user_id: str | None = None
    status: str
    start_time: int | None = None
    end_time: int | None = None
    artifact_uri: str | None = None
    lifecycle_stage: str


class RunDataModel(BaseModel):
    metrics: list[MetricModel] = Field(default_factory=list)
    params: list[KeyValue] = Field(default_factory=list)
    tags: list[KeyValue] = Field(default_factory=list)


class RunModel(BaseModel):
    info: RunInfoModel
    data: RunDataModel


class RunResponse(BaseModel):
    run: RunModel


class UpdateRun(_RunRef):
    status: str | None = None
    end_time: Int64 | None = None
    run_name: RunName | None = None


class UpdateRunResponse(BaseModel):
    run_info: RunInfoModel


class SearchRuns(BaseModel):
    experiment_ids: list[Id] = Field(default_factory=list)
    filter: Filter | None = None
    run_view_type: str | int | None = None
    max_results: int = Field(default=1000, ge=1, le=SEARCH_MAX_RESULTS)
    order_by: list[Filter] = Field(default_factory=list)
    page_token: Filter | None = None


class SearchRunsResponse(BaseModel):
    runs: list[RunModel] = Field(default_factory=list)
    next_page_token: str | None = None


class LogMetric(_RunRef):
    key: Key
    value: float
    timestamp: Int64  # required, as MLflow's server requires it
    step: Int64 = 0
    model_id: str | None = Field(default=None, max_length=36)
    dataset_name: str | None = Field(default=None, max_length=500)
    dataset_digest: str | None = Field(default=None, max_length=36)


class LogParam(_RunRef):
    key: str
    value: str = ""


class SetTag(_RunRef):
    key: str
    value: str = ""


class DeleteTag(_RunRef):
    key: Key


class LogBatch(_RunRef):
    metrics: list[MetricModel] = Field(default_factory=list)
    params: list[KeyValue] = Field(default_factory=list)
    tags: list[KeyValue] = Field(default_factory=list)


async def _raw_body(request: Request) -> bytes:
    return await request.body()


def _now_ms() -> int:
    return int(time.time() * 1000)


def _param(key: str, value: str) -> Param:
    v.validate_key("param", key)
    limit = _env.PARAM_VALUE_MAX_LENGTH.get()
    if len(value) > limit:
        raise InvalidParameterError(
            f"Param {key!r} has a value of {len(value)} characters: the limit is {limit}. Log long text as an artifact"
        )
    return Param(key, value)


def _tag(key: str, value: str) -> RunTag:
    v.validate_key("tag", key)
    if len(value) > v.MAX_TAG_VALUE_LENGTH:
        raise InvalidParameterError(
            f"Tag {key!r} has a value of {len(value)} characters: the limit is {v.MAX_TAG_VALUE_LENGTH}"
        )
    return RunTag(key, value)


def _metric(key: str, value: float, timestamp: int, step: int) -> Metric:
    v.validate_key("metric", key)
    return Metric(key, value, timestamp, step)


@router.post("/create", response_model=RunResponse)
def create_run(body: CreateRun, request: Request, state: State) -> JSONResponse:
    user = body.user_id or ""
    if state.auth is not None:
        user = state.auth.username(request)  # the authenticated user, whatever the body claims
    tags = [_tag(t.key, t.value) for t in body.tags]
    run = state.store.create_run(body.experiment_id, user, body.start_time or _now_ms(), tags, body.run_name)
    return JSONResponse({"run": run_to_json(run)})


@router.get("/get", response_model=RunResponse)
def get_run(state: State, run_id: Annotated[str, Query(min_length=1)]) -> JSONResponse:
    return JSONResponse({"run": run_to_json(state.store.get_run(run_id))})


@router.post("/update", response_model=UpdateRunResponse)
def update_run(body: UpdateRun, state: State) -> JSONResponse:
    info = state.store.update_run_info(body.id, body.status, body.end_time, body.run_name)
    return JSONResponse({"run_info": run_info_to_json(info)})


@router.post("/delete", response_model=OkResponse)
def delete_run(body: _RunRef, state: State) -> JSONResponse:
    state.store.delete_run(body.id)
    return ok()


@router.post("/restore", response_model=OkResponse)
def restore_run(body: _RunRef, state: State) -> JSONResponse:
    state.store.restore_run(body.id)
    return ok()


def _search(body: SearchRuns, request: Request, state: ServerState) -> JSONResponse:
    ids = list(body.experiment_ids)
    if state.auth is not None:
        ids = state.auth.readable_experiment_ids(request, ids)
    if not ids:
        return JSONResponse({"runs": []})
    page = state.store.search_runs(
        ids,
        body.filter or None,
        view_type(body.run_view_type),
        body.max_results,
        body.order_by or None,
        body.page_token,
    )
    out: dict = {"runs": [run_to_json(r) for r in page]}
    if page.token:
        out["next_page_token"] = page.token
    return JSONResponse(out)


@router.post("/search", response_model=SearchRunsResponse)
def search_runs(body: SearchRuns, request: Request, state: State) -> JSONResponse:
    return _search(body, request, state)


@router.get("/search", response_model=SearchRunsResponse)
def search_runs_get(
    state: State,
    request: Request,
    experiment_ids: Annotated[list[str] | None, Query()] = None,
    filter: str | None = None,
    run_view_type: str | None = None,
    max_results: Annotated[int, Query(ge=1, le=SEARCH_MAX_RESULTS)] = 1000,
    order_by: Annotated[list[str] | None, Query()] = None,
    page_token: str | None = None,
) -> JSONResponse:
    body = SearchRuns(
        experiment_ids=experiment_ids or [],
        filter=filter,
        run_view_type=run_view_type,
        max_results=max_results,
        order_by=order_by or [],
        page_token=page_token,
    )
    return _search(body, request, state)


@router.post("/log-metric", response_model=OkResponse)
def log_metric(body: LogMetric, state: State) -> JSONResponse:
    metric = _metric(body.key, body.value, body.timestamp, body.step)
    if body.model_id or body.dataset_name:
        metric = metric._replace(
            model_id=body.model_id or None,
            dataset_name=body.dataset_name or None,
            dataset_digest=body.dataset_digest or None,
        )
    state.store.log_batch(body.id, metrics=[metric])
    return ok()


@router.post("/log-parameter", response_model=OkResponse)
def log_param(body: LogParam, state: State) -> JSONResponse:
    state.store.log_batch(body.id, params=[_param(body.key, body.value)])
    return ok()


@router.post("/set-tag", response_model=OkResponse)
def set_tag(body: SetTag, state: State) -> JSONResponse:
    state.store.log_batch(body.id, tags=[_tag(body.key, body.value)])
    return ok()


@router.post("/delete-tag", response_model=OkResponse)
def delete_tag(body: DeleteTag, state: State) -> JSONResponse:
    state.store.delete_tag(body.id, body.key)
    return ok()


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON schema of ``model`` with its ``$defs`` inlined (for ``openapi_extra``)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(defs[ref.rsplit("/", 1)[1]])
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    return resolve(schema)  # type: ignore[no-any-return]


def _bad(message: str) -> InvalidParameterError:
    return InvalidParameterError(f"Invalid log-batch request: {message}")


def _items(data: dict, name: str) -> list:
    items = data.get(name) or []
    if not isinstance(items, list):
        from ..errors import shown_value

        raise InvalidParameterError(
            f"Invalid value {shown_value(items)} for parameter '{name}' supplied: {name} must be a list of objects, "
            f"got {type(items).__name__}"  # MLflow's wording first: its clients and tests look for it
        )
    return items


def parse_log_batch(raw: bytes | dict) -> tuple[str, list[Metric], list[Param], list[RunTag]]:
    """Parse and validate a log-batch body (its bytes, or the JSON object the boundary already parsed).

    The hot path of every client, so it is checked by hand rather than through Pydantic (several
    times faster for 1000 metrics); `LogBatch` documents the same shape in the OpenAPI spec.
    """
    if isinstance(raw, dict):
        data: Any = raw
    else:
        try:
            data = loads(raw)
        except ValueError as exc:
            raise _bad(f"the body is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise _bad("the body must be a JSON object")
    run_id = data.get("run_id")  # the boundary resolved run_uuid into it
    if not isinstance(run_id, str) or not run_id:
        raise _bad("give run_id (the run's id)")
    raw_metrics, raw_params, raw_tags = _items(data, "metrics"), _items(data, "params"), _items(data, "tags")
    n_m, n_p, n_t = len(raw_metrics), len(raw_params), len(raw_tags)
    if n_m > MAX_BATCH_METRICS or n_p > MAX_BATCH_PARAMS or n_t > MAX_BATCH_TAGS or n_m + n_p + n_t > MAX_BATCH_ITEMS:
        raise InvalidParameterError(
            f"A log-batch request carries at most {MAX_BATCH_METRICS} metrics, {MAX_BATCH_PARAMS} params and "
            f"{MAX_BATCH_TAGS} tags ({MAX_BATCH_ITEMS} items in all); got {n_m} metrics, {n_p} params and "
            f"{n_t} tags. Split it into several requests"
        )
    checked: set[str] = set()
    metrics: list[Metric] = []
    append = metrics.append
    for i, m in enumerate(raw_metrics):
        try:
            key = m["key"]
            if key not in checked:
                if type(key) is not str:
                    raise TypeError
                v.validate_key("metric", key)
                checked.add(key)
            value = m["value"]
            if type(value) is not float:
                if isinstance(value, bool) or not isinstance(value, (int, float, str)):
                    raise TypeError
                value = float(value)
            ts = m["timestamp"]
            step = m.get("step", 0)
            if type(ts) is not int or not INT64_MIN <= ts <= INT64_MAX:
                ts = _int(ts)
            if type(step) is not int or not INT64_MIN <= step <= INT64_MAX:
                step = _int(step) if step is not None else 0
        except (KeyError, TypeError, ValueError, AttributeError):
            if type(m) is dict:
                _missing_metric_field(m, i)
            raise _bad(
                f"metrics[{i}] = {str(m)[:120]} must be an object with a string key, a numeric value and "
                f"integer timestamp and step (from {INT64_MIN} to {INT64_MAX})"
            ) from None
        if "model_id" in m or "dataset_name" in m:  # MLflow 3 points may name a logged model and a dataset
            extra = _linked(m, i)
            append(Metric(key, value, ts, step, *extra))
            continue
        append(Metric(key, value, ts, step))
    params = [_param(*_pair(p, "params", i)) for i, p in enumerate(raw_params)]
    tags = [_tag(*_pair(t, "tags", i)) for i, t in enumerate(raw_tags)]
    return run_id, metrics, params, tags


def _missing_metric_field(m: dict, i: int) -> None:
    """MLflow's 400 for a log-batch metric without its key, value or timestamp (checked in that order)."""
    for name in ("key", "value", "timestamp"):
        if m.get(name) is None or m.get(name) == "":
            raise InvalidParameterError(
                f"Missing value for required parameter 'metrics[{i}].{name}'. Give each metric its key, value "
                "and timestamp (milliseconds since the epoch)"
            )


def _linked(m: dict, i: int) -> tuple[str | None, str | None, str | None]:
    """``(dataset_name, dataset_digest, model_id)`` of a log-batch metric, checked."""
    out = []
    for name, limit in (("dataset_name", 500), ("dataset_digest", 36), ("model_id", 36)):
        value = m.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            raise _bad(f"metrics[{i}].{name} must be a string of at most {limit} characters")
        out.append(value or None)
    return out[0], out[1], out[2]


def _int(value: Any) -> int:
    if isinstance(value, bool):
        raise TypeError
    if isinstance(value, str):
        if not value.lstrip("-").isascii() or len(value) > 20:  # int() also reads '³' and 4000 digits
            raise ValueError
        value = int(value)  # protobuf JSON writes int64 as strings
    elif isinstance(value, float) and value.is_integer():
        value = int(value)
    elif not isinstance(value, int):
        raise TypeError
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError
    return value  # type: ignore[no-any-return]


def _pair(item: Any, name: str, i: int) -> tuple[str, str]:
    if not isinstance(item, dict) or not isinstance(item.get("key"), str) or not isinstance(item.get("value", ""), str):
        raise _bad(f"{name}[{i}] = {str(item)[:120]} must be an object with string key and value")
    return item["key"], item.get("value", "")


@router.post(
    "/log-batch",
    response_model=OkResponse,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": inline_schema(LogBatch)}},
        }
    },
)
async def log_batch(request: Request) -> JSONResponse:
    """Log metrics, params and tags of one run in one transaction (see `LogBatch` for the shape)."""
    from starlette.concurrency import run_in_threadpool

    from ..boundary import JSON_STATE_KEY

    parsed = request.scope.get("state", {}).get(JSON_STATE_KEY)
    body = parsed if isinstance(parsed, dict) else await request.body()
    return await run_in_threadpool(_log_batch, get_state(request), body)


def _log_batch(state: ServerState, body: bytes | dict) -> JSONResponse:
    run_id, metrics, params, tags = parse_log_batch(body)
    state.store.log_batch(run_id, metrics, params, tags)
    return ok()
