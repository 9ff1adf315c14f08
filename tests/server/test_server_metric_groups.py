"""``/api/2.0/hf-mltrack/metrics/group-aggregate``: each group's line (mean or median across its runs, step
by step) and band (min-max or mean +- std), equal to a numpy computation on the same points that
history-columns sends, under READ on every run (both prefixes)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from metric_helpers import PASSWORD, basic_auth, run_with, shared_and_private_runs

API = "/api/2.0/mlflow"
GROUPS = "/api/2.0/hf-mltrack/metrics/group-aggregate"
COLUMNS = "/api/2.0/hf-mltrack/metrics/history-columns"


def _reference(series: list[dict[int, list[float]]], aggregate: str, band: str) -> dict[str, list]:
    """numpy, step by step: each run's mean of its finite points at the step, then across the runs."""
    steps = sorted({s for run in series for s in run})
    out: dict[str, list] = {"xs": [], "line": [], "lower": [], "upper": []}
    for step in steps:
        per_run = [np.mean(finite) for run in series if (finite := [v for v in run.get(step, []) if math.isfinite(v)])]
        if not per_run:
            continue
        values = np.array(per_run)
        out["xs"].append(step)
        out["line"].append(np.median(values) if aggregate == "median" else np.mean(values))
        if band == "minmax":
            out["lower"].append(values.min())
            out["upper"].append(values.max())
        elif band == "std":
            out["lower"].append(np.mean(values) - np.std(values))
            out["upper"].append(np.mean(values) + np.std(values))
    if band == "none":
        del out["lower"], out["upper"]
    return out


@pytest.fixture
def sweep(api):
    """Two groups of runs: different step sets, a repeated step, NaN and inf points, a run without the key."""
    rng = np.random.default_rng(3)
    runs: dict[str, list[tuple[int, float]]] = {
        "a1": [(s, float(rng.normal(2 / (1 + s), 0.1))) for s in range(0, 40)],
        "a2": [(s, float(rng.normal(2 / (1 + s), 0.1))) for s in range(0, 40, 3)] + [(41, math.nan), (42, math.inf)],
        "a3": [(s, float(rng.normal(1 / (1 + s), 0.1))) for s in range(5, 30)],
        "b1": [(s, float(rng.normal(3 / (1 + s), 0.2))) for s in range(0, 40, 2)],
        "b2": [(s, float(rng.normal(3 / (1 + s), 0.2))) for s in range(0, 40, 2)] + [(10, -math.inf)],
    }
    ids = {name: run_with(api, points) for name, points in runs.items()}
    ids["b3"] = run_with(api, [(0, 1.0)], key="other")  # no "loss": counts for nothing
    by_step: dict[str, dict[int, list[float]]] = {}
    for name, points in runs.items():
        for step, value in points:
            by_step.setdefault(name, {}).setdefault(step, []).append(value)
    # a step logged twice keeps the later value (the seed's rule): what the store holds
    for name, points in runs.items():
        by_step[name] = {step: [v for s, v in points if s == step][-1:] for step in by_step[name]}
    return ids, by_step


@pytest.mark.parametrize("band", ["minmax", "std", "none"])
@pytest.mark.parametrize("aggregate", ["mean", "median"])
@pytest.mark.parametrize("prefix", ["/api/2.0", "/ajax-api/2.0"])
def test_lines_and_bands_equal_numpy(api, sweep, aggregate, band, prefix):
    ids, by_step = sweep
    names = ["a1", "b1", "a2", "b2", "a3", "b3"]
    body = {
        "metric_key": "loss",
        "run_ids": [ids[n] for n in names],
        "groups": [n[0] for n in names],
        "aggregate": aggregate,
        "band": band,
    }
    r = api.post(f"{prefix}/hf-mltrack/metrics/group-aggregate", json=body)
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["metric_key"] == "loss"
    assert [g["group"] for g in got["groups"]] == ["a", "b"]  # in the order they first appear
    for line in got["groups"]:
        members = [by_step[n] for n in names if n[0] == line["group"] and n in by_step]
        want = _reference(members, aggregate, band)
        assert line["xs"] == want["xs"]
        assert set(line) - {"group"} == set(want)
        for field in set(want) - {"xs"}:
            assert line[field] == pytest.approx(want[field], rel=1e-12, abs=1e-15), field


def test_binned_when_more_steps_than_bins(api):
    """Past max_bins distinct steps, steps fall into max_bins equal bins: a run's mean per bin, then across runs."""
    first = [(s, float(s % 17)) for s in range(0, 1000)]
    second = [(s, float(s % 5) + 0.5) for s in range(500, 1500, 2)]
    ids = [run_with(api, first), run_with(api, second)]
    body = {"metric_key": "loss", "run_ids": ids, "groups": ["g", "g"], "max_bins": 30, "band": "minmax"}
    (line,) = api.post(GROUPS, json=body).json()["groups"]
    lo, hi, n_bins = 0, 1498, 30
    width = (hi - lo + 1) / n_bins
    cells = np.full((2, n_bins), np.nan)
    for r, points in enumerate((first, second)):
        steps = np.array([s for s, _ in points], dtype=float)
        values = np.array([v for _, v in points])
        bins = np.minimum(n_bins - 1, np.floor((steps - lo) / width)).astype(int)
        for b in np.unique(bins):
            cells[r, b] = values[bins == b].mean()
    keep = ~np.isnan(cells).all(axis=0)
    assert line["xs"] == pytest.approx((lo + (np.flatnonzero(keep) + 0.5) * width).tolist())
    assert line["line"] == pytest.approx(np.nanmean(cells, axis=0)[keep].tolist(), rel=1e-12)
    assert line["lower"] == pytest.approx(np.nanmin(cells, axis=0)[keep].tolist())
    assert line["upper"] == pytest.approx(np.nanmax(cells, axis=0)[keep].tolist())


def test_aggregates_the_points_history_columns_sends(api):
    """A series longer than max_results is aggregated from its min/max summary, in a window too."""
    long = run_with(api, [(s, float((s * 7919) % 1009)) for s in range(5000)])
    short = run_with(api, [(s, float(s)) for s in range(0, 5000, 50)])
    for window in (None, (1000, 3000)):
        params: dict = {"run_ids": [long, short], "metric_key": "loss", "max_results": 200}
        if window:
            params |= {"start_step": window[0], "end_step": window[1]}
        columns = api.get(COLUMNS, params=params).json()["series"]
        held = [{s: [v] for s, v in zip(c["steps"], c["values"], strict=True)} for c in columns]
        body = {**params, "groups": ["g", "g"], "max_bins": 10_000, "aggregate": "median", "band": "std"}
        (line,) = api.post(GROUPS, json=body).json()["groups"]
        want = _reference(held, "median", "std")
        assert line["xs"] == want["xs"] and len(want["xs"]) < 400
        assert line["line"] == pytest.approx(want["line"], rel=1e-12)
        assert line["lower"] == pytest.approx(want["lower"], rel=1e-12)
        if window:
            assert window[0] <= line["xs"][0] and line["xs"][-1] <= window[1]


def test_a_group_without_points_is_empty(api):
    only_other = run_with(api, [(0, 1.0)], key="other")
    nan_only = run_with(api, [(0, math.nan), (1, math.nan)])
    body = {"metric_key": "loss", "run_ids": [only_other, nan_only], "groups": ["x", "y"]}
    got = api.post(GROUPS, json=body).json()["groups"]
    assert got == [
        {"group": "x", "xs": [], "line": [], "lower": [], "upper": []},
        {"group": "y", "xs": [], "line": [], "lower": [], "upper": []},
    ]


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"groups": ["a"]}, "one group per run"),
        ({"run_ids": []}, "run_ids"),
        ({"run_ids": ["x"] * 501, "groups": ["a"] * 501}, "run_ids"),
        ({"metric_key": ""}, "metric_key"),
        ({"band": "iqr"}, "band"),
        ({"aggregate": "max"}, "aggregate"),
        ({"max_bins": 0}, "max_bins"),
        ({"max_results": 1}, "max_results"),
        ({"start_step": 5}, "both must be specified"),
        ({"start_step": 5, "end_step": 1}, "end_step"),
    ],
    ids=[
        "groups-length",
        "no-runs",
        "too-many-runs",
        "no-key",
        "bad-band",
        "bad-aggregate",
        "no-bins",
        "max-results",
        "half-window",
        "inverted-window",
    ],
)
def test_bad_requests_are_400_naming_the_value(api, change, needle):
    run_id = run_with(api, [(0, 1.0)])
    body = {"metric_key": "loss", "run_ids": [run_id, run_id], "groups": ["a", "a"], **change}
    r = api.post(GROUPS, json=body)
    assert r.status_code == 400, r.text
    assert needle in r.text


@pytest.mark.parametrize("prefix", ["/api/2.0", "/ajax-api/2.0"])
def test_needs_read_on_every_run(make_app, monkeypatch, prefix):
    from fastapi.testclient import TestClient

    monkeypatch.setenv("HF_MLTRACK_AUTH_ADMIN_PASSWORD", "admin-password-123")
    monkeypatch.setenv("HF_MLTRACK_AUTH_ADMIN_USERNAME", "admin")
    app = make_app(auth="basic-auth", auth_default_permission="NO_PERMISSIONS")
    url = f"{prefix}/hf-mltrack/metrics/group-aggregate"

    with TestClient(app) as c:
        admin = basic_auth("admin", "admin-password-123")
        ids = shared_and_private_runs(c, admin, ("r", "nobody"))
        reader, nobody = basic_auth("r", PASSWORD), basic_auth("nobody", PASSWORD)
        shared = {"metric_key": "m", "run_ids": [ids[0][1]], "groups": ["g"]}
        ok = c.post(url, json=shared, headers=reader)
        assert ok.status_code == 200 and ok.json()["groups"][0]["line"] == [1.0]
        # a NO_PERMISSIONS user is refused, and so is a reader for a run of an experiment it cannot read
        refused = c.post(url, json=shared, headers=nobody)
        assert refused.status_code == 403 and "m" not in refused.json().get("groups", [])
        mixed = {"metric_key": "m", "run_ids": [ids[0][1], ids[1][1]], "groups": ["g", "g"]}
        assert c.post(url, json=mixed, headers=reader).status_code == 403
        assert c.post(url, json=shared).status_code == 401  # no credentials
