"""Runs as a pandas DataFrame, in MLflow's column layout."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..entities import Run

if TYPE_CHECKING:
    import pandas as pd


def runs_to_dataframe(runs: list[Run]) -> pd.DataFrame:
    """Columns ``run_id, experiment_id, status, artifact_uri, start_time, end_time`` then
    ``metrics.*``, ``params.*``, ``tags.*`` (sorted); missing values are NaN/None."""
    import numpy as np
    import pandas as pd

    n = len(runs)
    columns: dict[str, list] = {
        "run_id": [r.info.run_id for r in runs],
        "experiment_id": [r.info.experiment_id for r in runs],
        "status": [r.info.status for r in runs],
        "artifact_uri": [r.info.artifact_uri for r in runs],
        "start_time": pd.to_datetime([r.info.start_time for r in runs], unit="ms", utc=True),  # type: ignore[dict-item]
        "end_time": pd.to_datetime([r.info.end_time for r in runs], unit="ms", utc=True),  # type: ignore[dict-item]
    }
    metric_cols: dict[str, np.ndarray] = {}
    param_cols: dict[str, list] = {}
    tag_cols: dict[str, list] = {}
    for i, run in enumerate(runs):
        for key, number in run.data.metrics.items():
            col = metric_cols.get(key)
            if col is None:
                col = metric_cols[key] = np.full(n, np.nan)
            col[i] = number
        for key, value in run.data.params.items():
            items = param_cols.get(key)
            if items is None:
                items = param_cols[key] = [None] * n
            items[i] = value
        for key, value in run.data.tags.items():
            items = tag_cols.get(key)
            if items is None:
                items = tag_cols[key] = [None] * n
            items[i] = value
    for key in sorted(metric_cols):
        columns[f"metrics.{key}"] = metric_cols[key]  # type: ignore[assignment]
    for key in sorted(param_cols):
        columns[f"params.{key}"] = param_cols[key]
    for key in sorted(tag_cols):
        columns[f"tags.{key}"] = tag_cols[key]
    return pd.DataFrame(columns)
