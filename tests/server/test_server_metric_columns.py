"""``/api/2.0/hf-mltrack/metrics/history-columns``: get-history-bulk-interval's series as columns per
run (the web UI's chart reads), the same points, limits and errors, under READ on every run."""

from __future__ import annotations

import math

import pytest
from metric_helpers import PASSWORD, basic_auth, run_with, shared_and_private_runs

API = "/api/2.0/mlflow"
COLUMNS = "/api/2.0/hf-mltrack/metrics/history-columns"


def _as_points(series: dict) -> list[tuple]:
    return list(zip(series["steps"], series["values"], series["timestamps"], strict=True))


@pytest.mark.parametrize(
    ("max_results", "window"),
    [(2500, None), (50, None), (500, (100, 1500)), (20, (100, 1500))],
    ids=["whole", "downsampled", "window-whole", "window-downsampled"],
)
def test_same_points_as_bulk_interval(api, max_results, window):
    short = run_with(api, [(s, float((s * 37) % 101)) for s in range(300)])
    long = run_with(api, [(s, float((s * 7919) % 1009)) for s in range(5000)])
    params: dict = {"run_ids": [short, long], "metric_key": "loss", "max_results": max_results}
    if window:
        params |= {"start_step": window[0], "end_step": window[1]}
    points = api.get(f"{API}/metrics/get-history-bulk-interval", params=params).json()["metrics"]
    columns = api.get(COLUMNS, params=params)
    assert columns.status_code == 200, columns.text
    body = columns.json()
    assert body["metric_key"] == "loss"
    got = {s["run_id"]: _as_points(s) for s in body["series"]}
    for run_id in (short, long):
        want = [(m["step"], m["value"], m["timestamp"]) for m in points if m["run_id"] == run_id]
        assert got.get(run_id, []) == want
        assert len(want) <= max(max_results, 2)
    # a series longer than max_results keeps its min and max: never only the first points
    if not window and max_results == 50:
        assert 2 < len(got[long]) <= 50 and got[long][-1][0] == 4999


def test_non_finite_values_and_step_only(api):
    run_id = run_with(api, [(0, 1.5), (1, math.nan), (2, math.inf), (3, -math.inf)])
    body = api.get(COLUMNS, params={"run_ids": [run_id], "metric_key": "loss"}).json()
    (series,) = body["series"]
    assert series["values"] == [1.5, None, "Infinity", "-Infinity"]
    lean = api.get(COLUMNS, params={"run_ids": [run_id], "metric_key": "loss", "timestamps": "false"}).json()
    assert "timestamps" not in lean["series"][0] and lean["series"][0]["steps"] == [0, 1, 2, 3]
    assert lean["series"][0]["values"] == series["values"]
    # a run without the metric has no series
    other = run_with(api, [(0, 1.0)], key="other")
    body = api.get(COLUMNS, params={"run_ids": [run_id, other], "metric_key": "loss"}).json()
    assert [s["run_id"] for s in body["series"]] == [run_id]


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"metric_key": "loss"}, "run_ids"),
        ({"run_ids": ["x"] * 101, "metric_key": "loss"}, "at most 100 run_ids"),
        ({"run_ids": ["x"]}, "metric_key"),
        ({"run_ids": ["x"], "metric_key": "loss", "max_results": 0}, "max_results"),
        ({"run_ids": ["x"], "metric_key": "loss", "start_step": 5}, "both must be specified"),
        ({"run_ids": ["x"], "metric_key": "loss", "start_step": 5, "end_step": 1}, "end_step"),
        ({"run_ids": ["x"], "metric_key": "loss", "timestamps": "maybe"}, "timestamps"),
    ],
    ids=["no-runs", "too-many-runs", "no-key", "max-results", "half-window", "inverted-window", "bad-flag"],
)
def test_bad_requests_are_4xx_naming_the_value(api, params, needle):
    if params.get("run_ids") == ["x"]:
        params = {**params, "run_ids": [run_with(api, [(0, 1.0)])]}
    r = api.get(COLUMNS, params=params)
    assert 400 <= r.status_code < 500, r.text
    assert needle in r.text


def test_unknown_run_answers_as_bulk_interval(api):
    params = {"run_ids": ["f" * 32], "metric_key": "loss"}
    mlflow = api.get(f"{API}/metrics/get-history-bulk-interval", params=params)
    r = api.get(COLUMNS, params=params)
    assert r.status_code == mlflow.status_code and r.status_code < 500, r.text
    if r.status_code == 200:
        assert r.json()["series"] == [] and mlflow.json()["metrics"] == []


def test_needs_read_on_every_run(make_app, monkeypatch):
    from fastapi.testclient import TestClient

    monkeypatch.setenv("HF_MLTRACK_AUTH_ADMIN_PASSWORD", "admin-password-123")
    monkeypatch.setenv("HF_MLTRACK_AUTH_ADMIN_USERNAME", "admin")
    app = make_app(auth="basic-auth", auth_default_permission="NO_PERMISSIONS")

    with TestClient(app) as c:
        admin = basic_auth("admin", "admin-password-123")
        ids = shared_and_private_runs(c, admin, ("r",))
        reader = basic_auth("r", PASSWORD)
        ok = c.get(COLUMNS, params={"run_ids": [ids[0][1]], "metric_key": "m"}, headers=reader)
        assert ok.status_code == 200 and ok.json()["series"][0]["values"] == [1.0]
        mixed = c.get(COLUMNS, params={"run_ids": [ids[0][1], ids[1][1]], "metric_key": "m"}, headers=reader)
        assert mixed.status_code == 403
