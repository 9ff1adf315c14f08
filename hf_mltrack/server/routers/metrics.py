"""``/api/2.0/mlflow/metrics/*``: full history (paged) and downsampled multi-run history for charts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from ...exceptions import InvalidParameterError
from .._json import JSONResponse, metric_to_json
from ..state import State
from ._limits import INT64_MAX, INT64_MIN

if TYPE_CHECKING:
    from ...entities import Metric

router = APIRouter(prefix="/metrics", tags=["metrics"])

MAX_RUNS_BULK_INTERVAL = 100
MAX_RESULTS_PER_RUN = 10_000  # MLflow caps at 2500; the web UI asks for every point of a few-thousand-step series
DEFAULT_RESULTS_PER_RUN = 2500
MAX_HISTORY_PAGE = 1_000_000
MAX_RUNS_BULK = 100
MAX_RESULTS_BULK = 25_000


class MetricPoint(BaseModel):
    key: str
    value: float | str
    timestamp: int
    step: int
    run_id: str | None = None
    # MLflow 3: a point of a logged model's or a dataset's series says which
    model_id: str | None = None
    dataset_name: str | None = None
    dataset_digest: str | None = None


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
    points: Sequence[Metric]
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


class IntervalQuery:
    """The query of a downsampled multi-run history (get-history-bulk-interval, and the UI's
    history-columns): the run ids, key and points per series, checked with MLflow's wording for each
    bad value; one point per series cannot show a line, so at least 2."""

    def __init__(
        self,
        metric_key: str | None = None,
        run_ids: Annotated[list[str] | None, Query()] = None,
        start_step: Annotated[int | None, Query(ge=INT64_MIN, le=INT64_MAX)] = None,
        end_step: Annotated[int | None, Query(ge=INT64_MIN, le=INT64_MAX)] = None,
        max_results: Annotated[int, Query(ge=INT64_MIN, le=INT64_MAX)] = DEFAULT_RESULTS_PER_RUN,
    ) -> None:
        ids = [r for r in run_ids or () if r]
        if not ids:
            raise InvalidParameterError("Missing value for required parameter 'run_ids'.")
        if len(ids) > MAX_RUNS_BULK_INTERVAL:
            raise InvalidParameterError(
                f"GetMetricHistoryBulkInterval request must specify at most {MAX_RUNS_BULK_INTERVAL} run_ids. "
                f"Received {len(ids)} run_ids."
            )
        if not metric_key:
            raise InvalidParameterError("Missing value for required parameter 'metric_key'.")
        if not 1 <= max_results <= MAX_RESULTS_PER_RUN:
            raise InvalidParameterError(
                f"max_results must be between 1 and {DEFAULT_RESULTS_PER_RUN} (MLflow's limit; this server takes "
                f"up to {MAX_RESULTS_PER_RUN}). Got {max_results}."
            )
        if (start_step is None) != (end_step is None):
            raise InvalidParameterError("If either start step or end step are specified, both must be specified.")
        if start_step is not None and end_step is not None and start_step > end_step:
            raise InvalidParameterError(
                f"end_step must be greater than start_step. Found start_step={start_step} and end_step={end_step}."
            )
        self.run_ids, self.metric_key, self.max_results = ids, metric_key, max(2, max_results)
        self.start_step, self.end_step = start_step, end_step


@router.get("/get-history-bulk-interval", response_model=MetricsResponse)
def get_metric_history_bulk_interval(state: State, q: Annotated[IntervalQuery, Depends()]) -> JSONResponse:
    """Downsampled histories of one metric for the chart of several runs (errors worded as MLflow's)."""
    series = state.store.get_metric_history_bulk_interval(
        q.run_ids, q.metric_key, q.max_results, q.start_step, q.end_step
    )
    metrics = [metric_to_json(m, run_id) for run_id in q.run_ids for m in series.get(run_id, [])]
    return JSONResponse({"metrics": metrics})


@router.get("/get-history-bulk", response_model=MetricsResponse)
def get_metric_history_bulk(
    state: State,
    run_id: Annotated[list[str] | None, Query()] = None,
    metric_key: str | None = None,
    max_results: Annotated[int, Query(ge=1, le=MAX_RESULTS_BULK)] = MAX_RESULTS_BULK,
) -> JSONResponse:
    """The full history of one metric for several runs (MLflow's UI route), runs in id order, each
    point with its ``run_id``; at most ``max_results`` points in all."""
    run_ids = [r for r in run_id or () if r]
    if not run_ids:
        raise InvalidParameterError("GetMetricHistoryBulk request must specify at least one run_id.")
    if len(run_ids) > MAX_RUNS_BULK:
        raise InvalidParameterError(
            f"GetMetricHistoryBulk request cannot specify more than {MAX_RUNS_BULK} run_ids. Received "
            f"{len(run_ids)} run_ids."
        )
    if not metric_key:
        raise InvalidParameterError("GetMetricHistoryBulk request must specify a metric_key.")
    metrics: list[dict] = []
    for rid in sorted(dict.fromkeys(run_ids)):
        for m in state.store.get_metric_history(rid, metric_key):
            if len(metrics) >= max_results:
                return JSONResponse({"metrics": metrics})
            metrics.append(metric_to_json(m, rid))
    return JSONResponse({"metrics": metrics})
