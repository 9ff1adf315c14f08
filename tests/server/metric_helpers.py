"""A run with given metric points, logged through the REST API (the chart-read tests' setup)."""

from __future__ import annotations

import math

API = "/api/2.0/mlflow"


def run_with(api, points: list[tuple[int, float]], key: str = "loss") -> str:  # type: ignore[no-untyped-def]
    """A new run in the Default experiment with ``(step, value)`` points of ``key`` (timestamps 1000 + step;
    NaN and infinities sent as MLflow's strings), in log-batches of 1,000."""
    run_id = api.post(f"{API}/runs/create", json={"experiment_id": "0"}).json()["run"]["info"]["run_id"]
    for i in range(0, len(points), 1000):
        metrics = [
            {"key": key, "value": v if math.isfinite(v) else str(v), "timestamp": 1000 + s, "step": s}
            for s, v in points[i : i + 1000]
        ]
        assert api.post(f"{API}/runs/log-batch", json={"run_id": run_id, "metrics": metrics}).status_code == 200
    return run_id
