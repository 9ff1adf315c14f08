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


PASSWORD = "a-pass-word-123"


def basic_auth(user: str, password: str) -> dict[str, str]:
    """The ``Authorization`` header of HTTP basic auth."""
    import base64

    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def shared_and_private_runs(client, admin: dict[str, str], users: tuple[str, ...]) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """Two experiments, "shared" and "private", each with one run holding one point of ``m`` (made by the
    admin); ``users`` created with `PASSWORD`, and READ on "shared" given to user ``r``.
    Returns ``[(experiment_id, run_id)]`` of "shared", then "private"."""
    ids = []
    for name in ("shared", "private"):
        exp = client.post(f"{API}/experiments/create", json={"name": name}, headers=admin).json()["experiment_id"]
        run = client.post(f"{API}/runs/create", json={"experiment_id": exp}, headers=admin).json()["run"]["info"]
        point = {"run_id": run["run_id"], "key": "m", "value": 1, "timestamp": 1, "step": 0}
        client.post(f"{API}/runs/log-metric", json=point, headers=admin)
        ids.append((exp, run["run_id"]))
    for user in users:
        client.post(f"{API}/users/create", json={"username": user, "password": PASSWORD}, headers=admin)
    client.post(
        f"{API}/experiments/permissions/create",
        json={"experiment_id": ids[0][0], "username": "r", "permission": "READ"},
        headers=admin,
    )
    return ids
