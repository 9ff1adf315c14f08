"""MLflow 3.17's logged model, run input/output and dataset routes: shapes, status codes, auth, and
our own client (the REST store) against a live server."""

from __future__ import annotations

import base64

from fastapi.testclient import TestClient

from hf_mltrack.pyfunc import PythonModel

API = "/api/2.0/mlflow"
AJAX = "/ajax-api/2.0/mlflow"
ADMIN_PASSWORD = "admin-password-123"


class Echo(PythonModel):
    """A python_model for pyfunc.log_model (module level, so its class reference resolves on load)."""

    def predict(self, context, model_input, params=None):  # noqa: ANN001, ANN201
        return list(model_input)


def _experiment_with_run(api: TestClient, name: str = "lm") -> tuple[str, str]:
    exp_id = api.post(f"{API}/experiments/create", json={"name": name}).json()["experiment_id"]
    run = api.post(f"{API}/runs/create", json={"experiment_id": exp_id}).json()["run"]
    return exp_id, run["info"]["run_id"]


def test_create_get_finalize_tags_params_delete(api: TestClient) -> None:
    exp_id, run_id = _experiment_with_run(api)
    r = api.post(
        f"{API}/logged-models",
        json={
            "experiment_id": exp_id,
            "name": "ckpt-300",
            "model_type": "checkpoint",
            "source_run_id": run_id,
            "params": [{"key": "lr", "value": "1e-4"}],
            "tags": [{"key": "stage", "value": "dev"}],
        },
    )
    assert r.status_code == 200, r.text
    info = r.json()["model"]["info"]
    model_id = info["model_id"]
    assert info["status"] == "LOGGED_MODEL_PENDING" and info["source_run_id"] == run_id
    assert info["artifact_uri"].endswith(f"/{exp_id}/models/{model_id}/artifacts")
    assert r.json()["model"]["data"]["params"] == [{"key": "lr", "value": "1e-4"}]

    r = api.patch(f"{API}/logged-models/{model_id}", json={"model_id": model_id, "status": "LOGGED_MODEL_READY"})
    assert r.status_code == 200 and r.json()["model"]["info"]["status"] == "LOGGED_MODEL_READY"
    assert api.patch(f"{API}/logged-models/{model_id}", json={"status": 2}).status_code == 200
    assert api.patch(f"{API}/logged-models/{model_id}", json={"status": "DONE"}).status_code == 400
    assert api.patch(f"{API}/logged-models/{model_id}", json={}).status_code == 400  # status is required

    assert api.patch(f"{API}/logged-models/{model_id}/tags", json={"tags": [{"key": "a/b", "value": "1"}]}).json() == {}
    assert (
        api.post(f"{API}/logged-models/{model_id}/params", json={"params": [{"key": "bs", "value": "8"}]}).json() == {}
    )
    assert api.delete(f"{API}/logged-models/{model_id}/tags/a/b").status_code == 200
    assert api.delete(f"{API}/logged-models/{model_id}/tags/a/b").status_code == 404
    got = api.get(f"{API}/logged-models/{model_id}").json()["model"]
    assert {t["key"] for t in got["info"]["tags"]} == {"stage"}
    assert {p["key"] for p in got["data"]["params"]} == {"lr", "bs"}

    # metrics logged with model_id (log-batch and log-metric) are linked to the model
    r = api.post(
        f"{API}/runs/log-batch",
        json={
            "run_id": run_id,
            "metrics": [
                {"key": "eval_loss", "value": 0.5, "timestamp": 1, "step": 300, "model_id": model_id,
                 "dataset_name": "eval", "dataset_digest": "abc"},
            ],
        },
    )  # fmt: skip
    assert r.status_code == 200, r.text
    r = api.post(
        f"{API}/runs/log-metric",
        json={"run_id": run_id, "key": "acc", "value": 0.9, "timestamp": 2, "step": 300, "model_id": model_id},
    )
    assert r.status_code == 200, r.text
    metrics = api.get(f"{API}/logged-models/{model_id}").json()["model"]["data"]["metrics"]
    assert sorted((m["key"], m.get("dataset_name")) for m in metrics) == [("acc", None), ("eval_loss", "eval")]
    assert all(m["run_id"] == run_id and m["model_id"] == model_id for m in metrics)
    bad = api.post(
        f"{API}/runs/log-batch",
        json={"run_id": run_id, "metrics": [{"key": "x", "value": 1, "timestamp": 1, "model_id": "m-" + "0" * 32}]},
    )
    assert bad.status_code == 404 and "model_id" in bad.json()["message"]

    assert api.delete(f"{API}/logged-models/{model_id}").json() == {}
    assert api.get(f"{API}/logged-models/{model_id}").status_code == 404
    assert api.get(f"{API}/logged-models/{model_id}", params={"allow_deleted": "true"}).status_code == 200
    assert api.get(f"{API}/logged-models/m-nope").json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_bad_requests_name_the_field(api: TestClient) -> None:
    exp_id, run_id = _experiment_with_run(api)
    r = api.post(f"{API}/logged-models", json={"name": "x"})
    assert r.status_code == 400 and "experiment_id" in r.json()["message"]
    r = api.post(f"{API}/logged-models", json={"experiment_id": "12345"})
    assert r.status_code == 404
    r = api.post(
        f"{API}/logged-models",
        json={"experiment_id": exp_id, "source_run_id": run_id, "artifact_location": "file:///etc"},
    )
    assert r.status_code == 400 and "artifact_location" in r.json()["message"]
    r = api.post(f"{API}/logged-models/search", json={})
    assert r.status_code == 400 and "experiment_ids" in r.json()["message"]
    r = api.post(f"{API}/logged-models/search", json={"experiment_ids": [exp_id], "filter": "metrics.x <"})
    assert r.status_code == 400
    r = api.post(f"{API}/runs/log-inputs", json={"run_id": run_id, "datasets": [{"dataset": {"name": "d"}}]})
    assert r.status_code == 400 and "digest" in r.json()["message"]
    r = api.post(f"{API}/runs/outputs", json={"run_id": run_id, "models": [{"model_id": "m-" + "1" * 32}]})
    assert r.status_code == 404
    r = api.post(f"{API}/experiments/search-datasets", json={"experiment_ids": []})
    assert r.status_code == 400 and "at least one experiment_id" in r.json()["message"]
    r = api.post(f"{API}/runs/log-inputs", json={"datasets": []})
    assert r.status_code == 400 and "'run_id'" in r.json()["message"]


def test_search_inputs_outputs_and_artifacts(api: TestClient) -> None:
    exp_id, run_id = _experiment_with_run(api)
    ids = []
    for step, loss in ((1, 0.8), (2, 0.3), (3, 0.5)):
        model = api.post(
            f"{API}/logged-models", json={"experiment_id": exp_id, "name": f"c{step}", "source_run_id": run_id}
        ).json()["model"]["info"]["model_id"]
        ids.append(model)
        api.post(
            f"{API}/runs/log-batch",
            json={"run_id": run_id, "metrics": [
                {"key": "eval_loss", "value": loss, "timestamp": 1, "step": step, "model_id": model,
                 "dataset_name": "eval", "dataset_digest": "d1"}]},
        )  # fmt: skip
    r = api.post(
        f"{API}/logged-models/search",
        json={
            "experiment_ids": [exp_id],
            "filter": "metrics.eval_loss < 0.7",
            "order_by": [{"field_name": "metrics.eval_loss", "ascending": True, "dataset_name": "eval"}],
            "max_results": 1,
        },
    )
    body = r.json()
    assert [m["info"]["name"] for m in body["models"]] == ["c2"] and body["next_page_token"]
    nxt = api.post(
        f"{API}/logged-models/search",
        json={
            "experiment_ids": [exp_id],
            "filter": "metrics.eval_loss < 0.7",
            "order_by": [{"field_name": "metrics.eval_loss", "ascending": True}],
            "page_token": body["next_page_token"],
        },
    ).json()
    assert [m["info"]["name"] for m in nxt["models"]] == ["c3"] and "next_page_token" not in nxt

    dataset = {"name": "imdb", "digest": "f00d", "source_type": "hf", "source": '{"path": "imdb"}', "schema": "{}"}
    r = api.post(
        f"{API}/runs/log-inputs",
        json={
            "run_id": run_id,
            "datasets": [{"tags": [{"key": "mlflow.data.context", "value": "training"}], "dataset": dataset}],
            "models": [{"model_id": ids[0]}],
        },
    )
    assert r.status_code == 200, r.text
    assert (
        api.post(f"{API}/runs/outputs", json={"run_id": run_id, "models": [{"model_id": ids[1], "step": 2}]}).json()
        == {}
    )
    run = api.get(f"{API}/runs/get", params={"run_id": run_id}).json()["run"]
    assert run["inputs"]["dataset_inputs"][0]["dataset"]["name"] == "imdb"
    assert run["inputs"]["dataset_inputs"][0]["tags"] == [{"key": "mlflow.data.context", "value": "training"}]
    assert run["inputs"]["model_inputs"] == [{"model_id": ids[0]}]
    assert run["outputs"]["model_outputs"] == [{"model_id": ids[1], "step": 2}]
    for prefix in (API, AJAX):
        r = api.post(f"{prefix}/experiments/search-datasets", json={"experiment_ids": [exp_id]})
        assert r.json() == {
            "dataset_summaries": [{"experiment_id": exp_id, "name": "imdb", "digest": "f00d", "context": "training"}]
        }
    runs = api.post(
        f"{API}/runs/search", json={"experiment_ids": [exp_id], "filter": "datasets.context = 'training'"}
    ).json()["runs"]
    assert [r["info"]["run_id"] for r in runs] == [run_id]

    # artifacts under the model, uploaded through the proxy as MLflow clients do
    location = api.get(f"{API}/logged-models/{ids[1]}").json()["model"]["info"]["artifact_uri"]
    assert location.startswith("mlflow-artifacts:/")
    rel = location.split(":", 1)[1].lstrip("/")
    assert api.put(f"/api/2.0/mlflow-artifacts/artifacts/{rel}/MLmodel", content=b"flavors: {}\n").status_code == 200
    assert api.put(f"/api/2.0/mlflow-artifacts/artifacts/{rel}/data/w.bin", content=b"123").status_code == 200
    listing = api.get(f"{API}/logged-models/{ids[1]}/artifacts/directories").json()
    assert listing["root_uri"] == location
    assert sorted((f["path"], f["is_dir"]) for f in listing["files"]) == [("MLmodel", False), ("data", True)]
    sub = api.get(f"{API}/logged-models/{ids[1]}/artifacts/directories", params={"artifact_directory_path": "data"})
    assert [f["path"] for f in sub.json()["files"]] == ["data/w.bin"]
    r = api.get(f"{AJAX}/logged-models/{ids[1]}/artifacts/files", params={"artifact_file_path": "data/w.bin"})
    assert r.status_code == 200 and r.content == b"123"
    assert r.headers["x-content-type-options"] == "nosniff"
    r = api.get(f"{AJAX}/logged-models/{ids[1]}/artifacts/files", params={"artifact_file_path": "../../x"})
    assert r.status_code == 400
    assert api.get(f"{AJAX}/logged-models/{ids[1]}/artifacts/files").status_code == 400


def _as(app: object, user: str, password: str) -> TestClient:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return TestClient(app, headers={"Authorization": f"Basic {token}"})  # type: ignore[arg-type]


def test_logged_models_are_guarded_by_their_experiment(make_app, monkeypatch) -> None:
    monkeypatch.setenv("HF_MLTRACK_AUTH_ADMIN_PASSWORD", ADMIN_PASSWORD)
    app = make_app(auth="basic-auth", auth_default_permission="NO_PERMISSIONS")
    admin = _as(app, "admin", ADMIN_PASSWORD)
    for name in ("alice", "bob"):
        admin.post(f"{API}/users/create", json={"username": name, "password": f"{name}-password-1"})
    alice, bob = _as(app, "alice", "alice-password-1"), _as(app, "bob", "bob-password-1")
    exp_id, run_id = _experiment_with_run(alice, "private")
    model_id = alice.post(f"{API}/logged-models", json={"experiment_id": exp_id}).json()["model"]["info"]["model_id"]
    assert bob.get(f"{API}/logged-models/{model_id}").status_code == 403
    assert bob.patch(f"{API}/logged-models/{model_id}", json={"status": 2}).status_code == 403
    assert bob.delete(f"{API}/logged-models/{model_id}").status_code == 403
    assert bob.patch(f"{API}/logged-models/{model_id}/tags", json={"tags": []}).status_code == 403
    assert bob.get(f"{API}/logged-models/{model_id}/artifacts/directories").status_code == 403
    assert bob.post(f"{API}/logged-models", json={"experiment_id": exp_id}).status_code == 403
    assert bob.post(f"{API}/runs/log-inputs", json={"run_id": run_id}).status_code == 403
    assert bob.post(f"{API}/logged-models/search", json={"experiment_ids": [exp_id]}).json() == {"models": []}
    assert bob.post(f"{API}/experiments/search-datasets", json={"experiment_ids": [exp_id]}).json() == {
        "dataset_summaries": []
    }
    alice.post(
        f"{API}/experiments/permissions/create", json={"experiment_id": exp_id, "username": "bob", "permission": "READ"}
    )
    assert bob.get(f"{API}/logged-models/{model_id}").status_code == 200
    assert bob.patch(f"{API}/logged-models/{model_id}", json={"status": 2}).status_code == 403
    assert len(bob.post(f"{API}/logged-models/search", json={"experiment_ids": [exp_id]}).json()["models"]) == 1


def test_client_round_trip_over_http(remote: str) -> None:
    import hf_mltrack
    from hf_mltrack.entities import LoggedModelStatus

    hf_mltrack.set_experiment("remote")
    ds = hf_mltrack.data.from_dict({"x": [1, 2]}, name="toy")
    with hf_mltrack.start_run() as run:
        hf_mltrack.log_input(ds, context="eval")
        info = hf_mltrack.pyfunc.log_model(name="echo", python_model=Echo())
        hf_mltrack.log_metric("eval_loss", 0.1, step=5, model_id=info.model_id, dataset=ds)
        other = hf_mltrack.initialize_logged_model(name="other", params={"lr": "1"})
        hf_mltrack.log_metric("eval_loss", 0.2, step=5, model_id=other.model_id, dataset=ds)
    model = hf_mltrack.get_logged_model(info.model_id)
    assert model.status == LoggedModelStatus.READY and model.artifact_location.endswith(
        f"{run.info.run_id}/artifacts/echo"
    )
    best = hf_mltrack.search_logged_models(
        order_by=[{"field_name": "metrics.eval_loss", "ascending": True, "dataset_name": "toy"}], output_format="list"
    )
    assert [m.model_id for m in best] == [info.model_id, other.model_id]
    assert hf_mltrack.pyfunc.load_model(info.model_uri).predict(["z"]) == ["z"]
    mv = hf_mltrack.register_model(info.model_uri, "echo-remote")
    assert mv.model_id == info.model_id and mv.run_id == run.info.run_id
    assert hf_mltrack.pyfunc.load_model("models:/echo-remote/1").predict(["y"]) == ["y"]
    got = hf_mltrack.get_run(run.info.run_id)
    assert got.inputs.dataset_inputs[0].context == "eval"
    assert {o.model_id for o in got.outputs.model_outputs} == {info.model_id}
    found = hf_mltrack.search_runs(filter_string="datasets.name = 'toy'", output_format="list")
    assert [r.info.run_id for r in found] == [run.info.run_id]
    hf_mltrack.set_logged_model_tags(other.model_id, {"k": "v"})
    hf_mltrack.delete_logged_model_tag(other.model_id, "k")
    hf_mltrack.log_model_params({"bs": 8}, model_id=other.model_id)
    assert hf_mltrack.get_logged_model(other.model_id).params == {"lr": "1", "bs": "8"}
    hf_mltrack.delete_logged_model(other.model_id)
    assert [m.model_id for m in hf_mltrack.search_logged_models(output_format="list")] == [info.model_id]


def test_history_over_http_says_which_series_a_point_belongs_to(remote):
    """A run's metric history read through the server keeps each point's logged model and dataset."""
    from hf_mltrack.entities import Metric
    from hf_mltrack.tracking import MlTrackClient

    client = MlTrackClient(remote)
    run_id = client.create_run("0").info.run_id
    model = client.create_logged_model("0", name="ckpt", source_run_id=run_id)
    linked = Metric("eval", 0.25, 2, 3, dataset_name="ev", dataset_digest="d1", model_id=model.model_id)
    client.log_batch(run_id, metrics=[Metric("eval", 0.5, 1, 3), linked], synchronous=True)
    history = client.get_metric_history(run_id, "eval")
    assert sorted((m.value, m.model_id, m.dataset_name, m.dataset_digest) for m in history) == [
        (0.25, model.model_id, "ev", "d1"),
        (0.5, None, None, None),
    ]
