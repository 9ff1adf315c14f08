"""``/api/2.0/hf-mltrack/metrics/history-columns``: the web UI's chart reads (hf_mltrack's own prefix).

The same series as MLflow's ``get-history-bulk-interval`` (same parameters, limits and errors: every
point of a series that fits in ``max_results``, else the min and max point of each step column), but
columnar: one object per run with its ``steps``, ``values`` and ``timestamps`` arrays instead of one
object per point, about a quarter of the bytes and far less to build and parse::

    GET /metrics/history-columns?metric_key=loss&run_ids=a&run_ids=b&max_results=1200
    -> {"metric_key": "loss", "series": [{"run_id": "a", "steps": [0, 1], "values": [2.3, null],
        "timestamps": [1700000000000, 1700000000100]}, ...]}

A NaN value is ``null``; +-inf are ``"Infinity"`` / ``"-Infinity"`` (the API's wire strings).
``timestamps=false`` leaves the timestamps out (a chart on the step axis: a third fewer bytes).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from .._json import JSONResponse
from ..state import State
from .metrics import IntervalQuery

router = APIRouter(prefix="/metrics", tags=["metrics"])


class SeriesColumns(BaseModel):
    run_id: str
    steps: list[int]
    values: list[float | str | None]
    timestamps: list[int] | None = None


class HistoryColumnsResponse(BaseModel):
    metric_key: str
    series: list[SeriesColumns] = Field(default_factory=list)


@router.get("/history-columns", response_model=HistoryColumnsResponse)
def history_columns(state: State, q: Annotated[IntervalQuery, Depends()], timestamps: bool = True) -> JSONResponse:
    """Downsampled histories of one metric for several runs, as columns per run (``timestamps=false``:
    without the timestamps column, for a chart on the step axis)."""
    rows = state.store.metric_history_rows(
        q.run_ids, q.metric_key, q.max_results, q.start_step, q.end_step, timestamps=timestamps
    )
    series = []
    for run_id in q.run_ids:
        points = rows.get(run_id)
        if not points:
            continue
        one: dict = {"run_id": run_id, "steps": [r[0] for r in points], "values": [r[1] for r in points]}
        if timestamps:
            one["timestamps"] = [r[2] for r in points]
        series.append(one)
    return JSONResponse({"metric_key": q.metric_key, "series": series})
