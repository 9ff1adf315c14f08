"""``/api/2.0/mlflow/metrics/*``: full history (paged) and downsampled multi-run history for charts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from ...exceptions import InvalidParameterError
from .._json import JSONResponse, metric_to_json
from ..state import State

router = APIRouter(prefix="/metrics", tags=["metrics"])

MAX_RUNS_BULK_INTERVAL = 100
MAX_RESULTS_PER_RUN = 10_000  # MLflow caps at 2500; the web UI asks for every point of a few-thousand-step series
DEFAULT_RESULTS_PER_RUN = 2500
MAX_HISTORY_PAGE = 1_000_000


class MetricPoint(BaseModel):
    key: str
    value: float | str
    timestamp: int
    step: int
    run_id: str | None = None


class MetricsResponse(BaseModel):
    metrics: list[MetricPoint] = Field(default_factory=list)
    next_page_token: str | None = None


@router.get("/get-history", response_model=MetricsResponse)
def get_metric_history(
    state: State,
    metric_key: str,
    run_id: Annotated[str, Query(min_length=1)],
    max_results: Annotated[int | None, Query(ge=1, le=MAX_HISTORY_PAGE)] = None,
    page_token: str | None = None,
) -> JSONResponse:
    from ...tracking.search import decode_page_token, encode_page_token

    history = state.store.get_metric_history(run_id, metric_key)  # run_uuid: resolved by the boundary
    out: dict = {}
    if max_results is None and not page_token:
        points = history
    else:
        start = decode_page_token(page_token)
        size = max_results or MAX_HISTORY_PAGE
        points = history[start : start + size]
        if start + size < len(history):
            out["next_page_token"] = encode_page_token(start + size)
    out["metrics"] = [metric_to_json(m) for m in points]
    return JSONResponse(out)


@router.get("/get-history-bulk-interval", response_model=MetricsResponse)
def get_metric_history_bulk_interval(
    state: State,
    metric_key: str,
    run_ids: Annotated[list[str], Query()],
    start_step: int | None = None,
    end_step: int | None = None,
    max_results: Annotated[int, Query(ge=2, le=MAX_RESULTS_PER_RUN)] = DEFAULT_RESULTS_PER_RUN,
) -> JSONResponse:
    if not run_ids or len(run_ids) > MAX_RUNS_BULK_INTERVAL:
        raise InvalidParameterError(
            f"get-history-bulk-interval takes 1 to {MAX_RUNS_BULK_INTERVAL} run_ids, got {len(run_ids)}"
        )
    if (start_step is None) != (end_step is None):
        raise InvalidParameterError("Give both start_step and end_step, or neither")
    if start_step is not None and end_step is not None and start_step > end_step:
        raise InvalidParameterError(f"start_step={start_step} is after end_step={end_step}")
    series = state.store.get_metric_history_bulk_interval(run_ids, metric_key, max_results, start_step, end_step)
    metrics = [metric_to_json(m, run_id) for run_id in run_ids for m in series.get(run_id, [])]
    return JSONResponse({"metrics": metrics})
