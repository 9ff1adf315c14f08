"""The REST contract: MLflow's paths, JSON shapes, limits and error bodies."""

from __future__ import annotations

import json

import pytest

API = "/api/2.0/mlflow"


def _create_run(api, experiment_id: str = "0", **extra) -> dict:
    r = api.post(f"{API}/runs/create", json={"experiment_id": experiment_id, "start_time": 1000, **extra})
    assert r.status_code == 200, r.text
    return r.json()["run"]


def test_health_version_and_openapi(api):
    assert api.get("/health").text == "OK"
    assert api.get("/version").status_code == 200
    spec = api.get("/openapi.json").json()
    for path in (
        f"{API}/experiments/create",
        f"{API}/runs/log-batch",
        f"{API}/metrics/get-history",
        f"{API}/metrics/get-history-bulk-interval",
        f"{API}/artifacts/list",
        "/api/2.0/mlflow-artifacts/artifacts/{artifact_path}",
    ):
        assert path in spec["paths"], path
    # log-batch documents its body although it is parsed by hand
    schema = spec["paths"][f"{API}/runs/log-batch"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert "metrics" in schema["properties"]
    # the ajax-api twins exist but stay out of the spec
    assert not any(p.startswith("/ajax-api") for p in spec["paths"])


def test_experiments_lifecycle(api):
    r = api.post(f"{API}/experiments/create", json={"name": "exp-a", "tags": [{"key": "team", "value": "nlp"}]})
    exp_id = r.json()["experiment_id"]
    assert exp_id.isdigit()
    exp = api.get(f"{API}/experiments/get", params={"experiment_id": exp_id}).json()["experiment"]
    assert exp["name"] == "exp-a"
    assert exp["lifecycle_stage"] == "active"
    assert exp["tags"] == [{"key": "team", "value": "nlp"}]
    assert exp["artifact_location"] == f"mlflow-artifacts:/{exp_id}"
    by_name = api.get(f"{API}/experiments/get-by-name", params={"experiment_name": "exp-a"}).json()
    assert by_name["experiment"]["experiment_id"] == exp_id

    dup = api.post(f"{API}/experiments/create", json={"name": "exp-a"})
    assert dup.status_code == 400
    assert dup.json()["error_code"] == "RESOURCE_ALREADY_EXISTS"

    assert api.post(f"{API}/experiments/update", json={"experiment_id": exp_id, "new_name": "exp-b"}).json() == {}
    api.post(f"{API}/experiments/set-experiment-tag", json={"experiment_id": exp_id, "key": "k", "value": "v"})
    found = api.post(f"{API}/experiments/search", json={"filter": "name = 'exp-b'"}).json()["experiments"]
    assert [e["experiment_id"] for e in found] == [exp_id]
    assert {"key": "k", "value": "v"} in found[0]["tags"]

    api.post(f"{API}/experiments/delete", json={"experiment_id": exp_id})
    active = api.get(f"{API}/experiments/search", params={"max_results": 10}).json()["experiments"]
    assert exp_id not in [e["experiment_id"] for e in active]
    deleted = api.post(f"{API}/experiments/search", json={"view_type": "DELETED_ONLY"}).json()["experiments"]
    assert [e["experiment_id"] for e in deleted] == [exp_id]
    api.post(f"{API}/experiments/restore", json={"experiment_id": exp_id})
    assert (
        api.get(f"{API}/experiments/get", params={"experiment_id": exp_id}).json()["experiment"]["lifecycle_stage"]
        == "active"
    )


def test_experiment_search_pages(api):
    for i in range(5):
        api.post(f"{API}/experiments/create", json={"name": f"page-{i}"})
    seen, token = [], None
    while True:
        body = {"max_results": 2, "filter": "name LIKE 'page-%'", "order_by": ["name ASC"]}
        if token:
            body["page_token"] = token
        out = api.post(f"{API}/experiments/search", json=body).json()
        seen += [e["name"] for e in out["experiments"]]
        token = out.get("next_page_token")
        if not token:
            break
    assert seen == [f"page-{i}" for i in range(5)]


def test_run_lifecycle_and_logging(api):
    run = _create_run(api, run_name="first", tags=[{"key": "mlflow.user", "value": "alice"}])
    info = run["info"]
    run_id = info["run_id"]
    assert info["run_uuid"] == run_id
    assert info["run_name"] == "first"
    assert info["status"] == "RUNNING"
    assert info["artifact_uri"] == f"mlflow-artifacts:/0/{run_id}/artifacts"
    assert "end_time" not in info  # protobuf JSON omits unset fields rather than writing null

    assert api.post(f"{API}/runs/log-parameter", json={"run_id": run_id, "key": "lr", "value": "0.1"}).json() == {}
    api.post(
        f"{API}/runs/log-metric",
        json={"run_id": run_id, "key": "loss", "value": 2.0, "timestamp": 5, "step": 1},
    )
    api.post(
        f"{API}/runs/log-metric",
        json={"run_uuid": run_id, "key": "loss", "value": 1.0, "timestamp": 6, "step": 2},
    )
    api.post(f"{API}/runs/set-tag", json={"run_id": run_id, "key": "stage", "value": "sft"})
    api.post(f"{API}/runs/set-tag", json={"run_id": run_id, "key": "tmp", "value": "x"})
    api.post(f"{API}/runs/delete-tag", json={"run_id": run_id, "key": "tmp"})

    got = api.get(f"{API}/runs/get", params={"run_id": run_id}).json()["run"]
    assert got["data"]["params"] == [{"key": "lr", "value": "0.1"}]
    assert got["data"]["metrics"] == [{"key": "loss", "value": 1.0, "timestamp": 6, "step": 2}]
    tags = {t["key"]: t["value"] for t in got["data"]["tags"]}
    assert tags["stage"] == "sft" and "tmp" not in tags and tags["mlflow.user"] == "alice"

    # a param never changes value
    conflict = api.post(f"{API}/runs/log-parameter", json={"run_id": run_id, "key": "lr", "value": "0.2"})
    assert conflict.status_code == 400
    assert conflict.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "lr" in conflict.json()["message"]

    upd = api.post(f"{API}/runs/update", json={"run_id": run_id, "status": "FINISHED", "end_time": 99})
    assert upd.json()["run_info"]["status"] == "FINISHED"
    assert upd.json()["run_info"]["end_time"] == 99

    api.post(f"{API}/runs/delete", json={"run_id": run_id})
    assert api.get(f"{API}/runs/get", params={"run_id": run_id}).json()["run"]["info"]["lifecycle_stage"] == "deleted"
    refused = api.post(f"{API}/runs/log-metric", json={"run_id": run_id, "key": "x", "value": 1, "timestamp": 1})
    assert refused.status_code == 400 and refused.json()["error_code"] == "INVALID_STATE"
    api.post(f"{API}/runs/restore", json={"run_id": run_id})
    assert api.get(f"{API}/runs/get", params={"run_id": run_id}).json()["run"]["info"]["lifecycle_stage"] == "active"


def test_log_batch_and_metric_history(api):
    run_id = _create_run(api)["info"]["run_id"]
    metrics = [{"key": "loss", "value": 1.0 / (i + 1), "timestamp": 10 + i, "step": i} for i in range(998)]
    metrics.append({"key": "loss", "value": "NaN", "timestamp": 1, "step": 998})
    metrics.append({"key": "gnorm", "value": "Infinity", "timestamp": 1, "step": 0})
    body = {
        "run_id": run_id,
        "metrics": metrics[:900],
        "params": [{"key": f"p{i}", "value": str(i)} for i in range(50)],
        "tags": [{"key": "t", "value": "v"}],
    }
    assert api.post(f"{API}/runs/log-batch", json=body).json() == {}
    api.post(f"{API}/runs/log-batch", json={"run_id": run_id, "metrics": metrics[900:]})

    history = api.get(f"{API}/metrics/get-history", params={"run_id": run_id, "metric_key": "loss"}).json()["metrics"]
    assert len(history) == 999
    assert [m["step"] for m in history] == list(range(999))
    assert history[998]["value"] == "NaN"  # protobuf JSON for non-finite doubles
    gnorm = api.get(f"{API}/metrics/get-history", params={"run_id": run_id, "metric_key": "gnorm"}).json()
    assert gnorm["metrics"][0]["value"] == "Infinity"

    page = api.get(f"{API}/metrics/get-history", params={"run_id": run_id, "metric_key": "loss", "max_results": 400})
    assert len(page.json()["metrics"]) == 400 and page.json()["next_page_token"]
    rest = api.get(
        f"{API}/metrics/get-history",
        params={
            "run_id": run_id,
            "metric_key": "loss",
            "max_results": 1000,
            "page_token": page.json()["next_page_token"],
        },
    ).json()
    assert [m["step"] for m in rest["metrics"]] == list(range(400, 999))
    assert "next_page_token" not in rest

    run = api.get(f"{API}/runs/get", params={"run_id": run_id}).json()["run"]
    assert len(run["data"]["params"]) == 50


def test_bulk_interval_downsamples_per_run(api):
    ids = [_create_run(api)["info"]["run_id"] for _ in range(2)]
    for run_id in ids:
        metrics = [{"key": "loss", "value": float(i), "timestamp": 1, "step": i} for i in range(1000)]
        api.post(f"{API}/runs/log-batch", json={"run_id": run_id, "metrics": metrics})
    out = api.get(
        f"{API}/metrics/get-history-bulk-interval",
        params={"run_ids": ids, "metric_key": "loss", "max_results": 50},
    ).json()["metrics"]
    for run_id in ids:
        points = [m for m in out if m["run_id"] == run_id]
        assert 2 <= len(points) <= 50
        steps = [m["step"] for m in points]
        assert steps[0] == 0 and steps[-1] == 999
    window = api.get(
        "/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval",
        params={
            "run_ids": ids[:1],
            "metric_key": "loss",
            "start_step": 100,
            "end_step": 200,
            "max_results": 500,
        },
    ).json()["metrics"]
    assert {m["step"] for m in window} == set(range(100, 201))
    too_many = api.get(
        f"{API}/metrics/get-history-bulk-interval",
        params={"run_ids": [f"r{i}" for i in range(101)], "metric_key": "x"},
    )
    assert too_many.status_code == 400


@pytest.mark.parametrize(
    ("n_metrics", "n_params", "n_tags"),
    [(1001, 0, 0), (0, 101, 0), (0, 0, 101), (901, 100, 0)],
    ids=["1001-metrics", "101-params", "101-tags", "1001-items"],
)
def test_log_batch_limits(api, n_metrics, n_params, n_tags):
    run_id = _create_run(api)["info"]["run_id"]
    body = {
        "run_id": run_id,
        "metrics": [{"key": "m", "value": 1.0, "timestamp": 1, "step": i} for i in range(n_metrics)],
        "params": [{"key": f"p{i}", "value": "v"} for i in range(n_params)],
        "tags": [{"key": f"t{i}", "value": "v"} for i in range(n_tags)],
    }
    r = api.post(f"{API}/runs/log-batch", json=body)
    assert r.status_code == 400
    assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "at most 1000 metrics, 100 params and 100 tags" in r.json()["message"]
    assert api.get(f"{API}/runs/get", params={"run_id": run_id}).json()["run"]["data"]["metrics"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"metrics": [{"key": "m", "value": 1, "timestamp": 1}]},
        {"run_id": "R", "metrics": [{"key": "m", "value": "abc", "timestamp": 1}]},
        {"run_id": "R", "metrics": [{"key": "../m", "value": 1, "timestamp": 1}]},
        {"run_id": "R", "metrics": [{"value": 1, "timestamp": 1}]},
        {"run_id": "R", "metrics": {"key": "m"}},
        {"run_id": "R", "params": [{"key": "p", "value": 3}]},
    ],
    ids=["no-run-id", "non-numeric", "dotdot-key", "no-key", "not-a-list", "non-string-param"],
)
def test_log_batch_rejects_malformed(api, body):
    run_id = _create_run(api)["info"]["run_id"]
    body = json.loads(json.dumps(body).replace('"R"', json.dumps(run_id)))
    r = api.post(f"{API}/runs/log-batch", json=body)
    assert r.status_code == 400
    assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE"


@pytest.mark.parametrize(
    ("metric", "field"),
    [
        ({"key": "mae", "value": 2.5}, "metrics[0].timestamp"),
        ({"key": "mae", "value": 2.5, "timestamp": None}, "metrics[0].timestamp"),
        ({"key": "mae", "value": 2.5, "timestamp": ""}, "metrics[0].timestamp"),
        ({"value": 2.5}, "metrics[0].key"),
        ({"key": "mae", "timestamp": 1}, "metrics[0].value"),
    ],
)
def test_log_batch_metrics_need_key_value_and_timestamp(api, metric, field):
    """MLflow's server requires each metric's timestamp (no server clock stands in for it), with its wording."""
    run_id = _create_run(api)["info"]["run_id"]
    r = api.post(f"{API}/runs/log-batch", json={"run_id": run_id, "metrics": [metric]})
    assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert r.json()["message"].startswith(f"Missing value for required parameter '{field}'")
    single = api.post(f"{API}/runs/log-metric", json={"run_id": run_id, **metric})
    assert single.status_code == 400 and f"parameter '{field.split('.')[-1]}'" in single.json()["message"]
    assert api.get(f"{API}/runs/get", params={"run_id": run_id}).json()["run"]["data"].get("metrics", []) == []
    ok = api.post(
        f"{API}/runs/log-batch", json={"run_id": run_id, "metrics": [{"key": "mae", "value": 2.5, "timestamp": 7}]}
    )
    assert ok.status_code == 200  # a timestamp without a step is enough (step 0)
    history = api.get(f"{API}/metrics/get-history", params={"run_id": run_id, "metric_key": "mae"}).json()["metrics"]
    assert [(m["timestamp"], m["step"]) for m in history] == [(7, 0)]


def test_search_runs(api):
    exp_id = api.post(f"{API}/experiments/create", json={"name": "s"}).json()["experiment_id"]
    ids = []
    for i in range(5):
        run_id = _create_run(api, exp_id)["info"]["run_id"]
        ids.append(run_id)
        api.post(
            f"{API}/runs/log-batch",
            json={
                "run_id": run_id,
                "metrics": [{"key": "acc", "value": i / 10, "timestamp": 1, "step": 0}],
                "params": [{"key": "lr", "value": str(i)}],
            },
        )
    out = api.post(
        f"{API}/runs/search",
        json={
            "experiment_ids": [exp_id],
            "filter": "metrics.acc >= 0.2",
            "order_by": ["metrics.acc DESC"],
            "max_results": 2,
        },
    ).json()
    assert [r["info"]["run_id"] for r in out["runs"]] == [ids[4], ids[3]]
    nxt = api.post(
        f"{API}/runs/search",
        json={
            "experiment_ids": [exp_id],
            "filter": "metrics.acc >= 0.2",
            "order_by": ["metrics.acc DESC"],
            "max_results": 2,
            "page_token": out["next_page_token"],
        },
    ).json()
    assert [r["info"]["run_id"] for r in nxt["runs"]] == [ids[2]]
    bad = api.post(f"{API}/runs/search", json={"experiment_ids": [exp_id], "filter": "metrics.acc >>> 1"})
    assert bad.status_code == 400 and bad.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_errors_are_json_with_4xx(api):
    missing = api.get(f"{API}/runs/get", params={"run_id": "0" * 32})
    assert missing.status_code == 404
    assert missing.json() == {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": missing.json()["message"]}
    no_route = api.get(f"{API}/no-such-endpoint")
    assert no_route.status_code == 404 and no_route.json()["error_code"] == "ENDPOINT_NOT_FOUND"
    wrong_method = api.get(f"{API}/runs/log-batch")
    assert wrong_method.status_code == 405 and "error_code" in wrong_method.json()
    invalid = api.post(f"{API}/experiments/create", json={"name": ""})
    assert invalid.status_code == 400 and invalid.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    bad_json = api.post(f"{API}/runs/log-batch", content=b"{not json", headers={"Content-Type": "application/json"})
    assert bad_json.status_code == 400 and bad_json.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_artifacts_list_and_proxy_roundtrip(api):
    run = _create_run(api)
    run_id, uri = run["info"]["run_id"], run["info"]["artifact_uri"]
    base = "/api/2.0/mlflow-artifacts/artifacts/" + uri.split(":/", 1)[1]
    assert api.put(f"{base}/model/config.json", content=b'{"a": 1}').json() == {}
    assert api.put(f"{base}/notes.txt", content=b"hello").status_code == 200
    got = api.get(f"{base}/model/config.json")
    assert got.content == b'{"a": 1}'
    assert got.headers["content-type"] == "application/json"
    assert "sandbox" in got.headers["content-security-policy"]

    listing = api.get(f"{API}/artifacts/list", params={"run_id": run_id}).json()
    assert listing["root_uri"] == uri
    assert listing["files"] == [
        {"path": "model", "is_dir": True},
        {"path": "notes.txt", "is_dir": False, "file_size": 5},
    ]
    sub = api.get(f"{API}/artifacts/list", params={"run_id": run_id, "path": "model"}).json()["files"]
    assert sub == [{"path": "model/config.json", "is_dir": False, "file_size": 8}]
    proxy_list = api.get(
        "/api/2.0/mlflow-artifacts/artifacts", params={"path": uri.split(":/", 1)[1] + "/model"}
    ).json()
    assert proxy_list["files"] == [{"path": "config.json", "is_dir": False, "file_size": 8}]

    assert api.delete(f"{base}/notes.txt").json() == {}
    assert api.get(f"{base}/notes.txt").status_code == 404
    html = api.put(f"{base}/x.html", content=b"<script>alert(1)</script>")
    assert html.status_code == 200
    # HTML never renders on the server's origin: it is served as plain text, sandboxed
    assert api.get(f"{base}/x.html").headers["content-type"].startswith("text/plain")
    svg = api.put(f"{base}/x.svg", content=b"<svg onload=alert(1)>")
    assert svg.status_code == 200
    assert api.get(f"{base}/x.svg").headers["content-type"] == "application/octet-stream"


def test_no_artifact_proxy_without_serve_artifacts(make_app, tmp_path):
    from fastapi.testclient import TestClient

    client = TestClient(make_app(serve_artifacts=False))
    run = client.post(f"{API}/runs/create", json={"experiment_id": "0"}).json()["run"]
    assert run["info"]["artifact_uri"].startswith("file://")
    assert client.get("/api/2.0/mlflow-artifacts/artifacts", params={"path": "0"}).status_code == 404


@pytest.mark.parametrize("prefix", ["/api/2.0/mlflow", "/ajax-api/2.0/mlflow"])
def test_a_missing_run_is_answered_in_mlflow_sql_stores_words(api, prefix):
    """``mlflow server`` (its SQL store) says ``Run with id=<id> not found``; MLflow's clients (its optuna
    storage among them) match on ``Run with id=``. Ours says the same first, then the fix."""
    missing = "0" * 32
    for method, route, kwargs in (
        ("GET", "runs/get", {"params": {"run_id": missing}}),
        ("POST", "runs/set-tag", {"json": {"run_id": missing, "key": "k", "value": "v"}}),
        ("POST", "runs/log-batch", {"json": {"run_id": missing, "metrics": []}}),
    ):
        r = api.request(method, f"{prefix}/{route}", **kwargs)
        assert r.status_code == 404, (route, r.text)
        assert r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
        assert r.json()["message"].startswith(f"Run with id={missing} not found"), (route, r.text)
