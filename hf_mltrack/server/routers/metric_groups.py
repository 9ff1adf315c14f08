"""``/api/2.0/hf-mltrack/metrics/group-aggregate``: the web UI's grouped charts (hf_mltrack's own prefix).

A sweep's chart draws, for each group of runs (the runs sharing a param or tag value), one line (the mean
or median across the group's runs, step by step) and a band (min-max, or mean +- one standard deviation).
The server computes them from the same points `history-columns` would send (every point of a series that
fits in ``max_results``, else its min and max per step column), so the page gets a few series instead of
every run's, and draws exactly what it drew when it aggregated those points itself::

    POST /metrics/group-aggregate
    {"metric_key": "loss", "run_ids": ["a", "b", "c"], "groups": ["0.1", "0.1", "0.3"],
     "aggregate": "mean", "band": "minmax", "max_bins": 2000, "max_results": 2500}
    -> {"metric_key": "loss", "groups": [{"group": "0.1", "xs": [0, 1], "line": [2.1, 1.9],
        "lower": [2.0, 1.8], "upper": [2.2, 2.0]}, {"group": "0.3", ...}]}

``groups`` gives each run's group (any label; groups come back in the order they first appear). The steps
are binned into at most ``max_bins`` equal bins (each distinct step is its own bin when there are no more
than that); a run's value in a bin is the mean of its finite points there, and the line and band of a bin
are taken across the runs with a value in it. Bins no run has a value in are left out; ``band: "none"``
leaves ``lower`` and ``upper`` out. READ on every run is needed (the auth policy table).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field, model_validator

from .._json import JSONResponse
from ..state import State
from ._limits import INT64_MAX, INT64_MIN, Id, Key
from .metrics import DEFAULT_RESULTS_PER_RUN, MAX_RESULTS_PER_RUN

if TYPE_CHECKING:
    import numpy as np

router = APIRouter(prefix="/metrics", tags=["metrics"])

#: Runs one grouped chart aggregates (the web UI's cap; 5 history-columns requests' worth of points).
MAX_GROUP_RUNS = 500
MAX_BINS = 20_000
MAX_LABEL_LENGTH = 8000  # a param or tag value


class GroupAggregateRequest(BaseModel):
    metric_key: Key = Field(min_length=1)
    run_ids: list[Annotated[Id, Field(min_length=1)]] = Field(min_length=1, max_length=MAX_GROUP_RUNS)
    groups: list[Annotated[str, Field(max_length=MAX_LABEL_LENGTH)]] = Field(max_length=MAX_GROUP_RUNS)
    aggregate: Literal["mean", "median"] = "mean"
    band: Literal["minmax", "std", "none"] = "minmax"
    max_bins: int = Field(default=2000, ge=1, le=MAX_BINS)
    max_results: int = Field(default=DEFAULT_RESULTS_PER_RUN, ge=2, le=MAX_RESULTS_PER_RUN)
    start_step: int | None = Field(default=None, ge=INT64_MIN, le=INT64_MAX)
    end_step: int | None = Field(default=None, ge=INT64_MIN, le=INT64_MAX)

    @model_validator(mode="after")
    def _consistent(self) -> GroupAggregateRequest:
        if len(self.groups) != len(self.run_ids):
            raise ValueError(
                f"groups must give one group per run: {len(self.groups)} groups for {len(self.run_ids)} run_ids"
            )
        if (self.start_step is None) != (self.end_step is None):
            raise ValueError("If either start step or end step are specified, both must be specified.")
        if self.start_step is not None and self.end_step is not None and self.start_step > self.end_step:
            raise ValueError(
                f"end_step must be greater than start_step. Found start_step={self.start_step} and "
                f"end_step={self.end_step}."
            )
        return self


class GroupLine(BaseModel):
    group: str
    xs: list[float]
    line: list[float | str]
    lower: list[float | str] | None = None
    upper: list[float | str] | None = None


class GroupAggregateResponse(BaseModel):
    metric_key: str
    groups: list[GroupLine] = Field(default_factory=list)


@router.post("/group-aggregate", response_model=GroupAggregateResponse)
def group_aggregate(state: State, body: GroupAggregateRequest) -> JSONResponse:
    """The line and band of each group of runs for one metric (see the module docstring)."""
    import numpy as np

    rows = state.store.metric_history_rows(
        body.run_ids, body.metric_key, body.max_results, body.start_step, body.end_step, timestamps=False
    )
    members: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    for run_id, label in zip(body.run_ids, body.groups, strict=True):
        group = members.setdefault(label, [])  # a group whose runs have no point is listed, empty
        if points := rows.get(run_id):
            table = np.array(points, dtype=np.float64)  # (step, value[, timestamp]) rows; None (a NaN) -> nan
            group.append((table[:, 0], table[:, 1]))
    out = []
    for label, series in members.items():
        out.append({"group": label, **aggregate_group(series, body.aggregate, body.band, body.max_bins)})
    return JSONResponse({"metric_key": body.metric_key, "groups": out})


def aggregate_group(
    series: Sequence[tuple[np.ndarray, np.ndarray]], aggregate: str, band: str, max_bins: int
) -> dict[str, list]:
    """One group's line and band from its runs' ``(steps, values)`` arrays (each in step order).

    Sums run in the order the web UI summed when it aggregated in the page (points in step order, then
    runs in the given order), so the figures are the same to the last bit.
    """
    import numpy as np

    filled = [s for s, _ in series if len(s)]
    if not filled:
        return {"xs": [], "line": []} | ({} if band == "none" else {"lower": [], "upper": []})
    lo = min(s[0] for s in filled)
    hi = max(s[-1] for s in filled)
    distinct = np.unique(np.concatenate(filled))
    exact = len(distinct) <= max_bins  # every distinct step its own bin (most sweeps log the same steps)
    n_bins = len(distinct) if exact else max_bins
    width = (hi - lo + 1) / n_bins
    # a run's mean in each bin: runs x bins, NaN where the run has no finite point
    cells = np.full((len(series), n_bins), np.nan)
    for r, (steps, values) in enumerate(series):
        ok = np.isfinite(values)
        if not ok.any():
            continue
        at = steps[ok]
        bins = (
            np.searchsorted(distinct, at)
            if exact
            else np.minimum(n_bins - 1, np.floor((at - lo) / width)).astype(np.intp)
        )
        counts = np.bincount(bins, minlength=n_bins)
        sums = np.bincount(bins, weights=values[ok], minlength=n_bins)
        has = counts > 0
        cells[r, has] = sums[has] / counts[has]
    present = ~np.isnan(cells)
    k = present.sum(axis=0)
    keep = k > 0
    cells, present, k = cells[:, keep], present[:, keep], k[keep]
    mean = _sum_rows(np.where(present, cells, 0.0)) / k
    out: dict[str, list] = {}
    out["xs"] = (
        distinct[keep].astype(np.int64).tolist() if exact else (lo + (np.flatnonzero(keep) + 0.5) * width).tolist()
    )
    ordered = np.sort(cells, axis=0) if aggregate == "median" or band == "minmax" else None  # NaN last
    if aggregate == "median":
        assert ordered is not None
        below = np.take_along_axis(ordered, ((k - 1) // 2)[None, :], axis=0)[0]
        above = np.take_along_axis(ordered, (k // 2)[None, :], axis=0)[0]
        out["line"] = np.where(k % 2 == 1, below, (below + above) / 2).tolist()
    else:
        out["line"] = mean.tolist()
    if band == "minmax":
        assert ordered is not None
        out["lower"] = ordered[0].tolist()
        out["upper"] = np.take_along_axis(ordered, (k - 1)[None, :], axis=0)[0].tolist()
    elif band == "std":
        # the page summed the squares over the values as it held them: sorted when it took a median
        held = cells if ordered is None else ordered
        deviation = np.where(np.isnan(held), 0.0, held - mean)
        sd = np.sqrt(_sum_rows(deviation * deviation) / k)
        out["lower"] = (mean - sd).tolist()
        out["upper"] = (mean + sd).tolist()
    return out


def _sum_rows(a: np.ndarray) -> np.ndarray:
    """Column sums added row after row (numpy's own reductions may add pairwise, in another order)."""
    import numpy as np

    total = np.zeros(a.shape[1])
    for row in a:
        total += row
    return total
