"""The hf_mltrack client over HTTP: the fluent API and MlTrackClient against a real server."""

from __future__ import annotations

import base64
import math
import os

import pytest

import hf_mltrack
from hf_mltrack.entities import Metric, Param, RunTag, ViewType
from hf_mltrack.exceptions import (
    InvalidParameterError,
    ResourceAlreadyExistsError,
    ResourceNotFoundError,
    UnauthenticatedError,
)
from hf_mltrack.tracking import MlTrackClient


def test_fluent_api_over_http(remote):
    from hf_mltrack.store.rest import RestStore

    hf_mltrack.set_experiment("remote-exp")
    with hf_mltrack.start_run(run_name="lora", tags={"team": "nlp"}) as run:
        hf_mltrack.log_param("learning_rate", 2e-5)
        hf_mltrack.log_params({"epochs": 3, "lora_rank": 8})
        for step in range(50):
            hf_mltrack.log_metric("train_loss", 2.0 / (step + 1), step=step)
        hf_mltrack.log_metrics({"eval_loss": 0.5, "eval_acc": 0.9}, step=49)
        hf_mltrack.set_tag("stage", "sft")
    assert isinstance(MlTrackClient().store, RestStore)

    got = hf_mltrack.get_run(run.info.run_id)
    assert got.info.status == "FINISHED" and got.info.end_time is not None
    assert got.info.run_name == "lora"
    assert got.data.params == {"learning_rate": "2e-05", "epochs": "3", "lora_rank": "8"}
    assert got.data.metrics["train_loss"] == pytest.approx(2.0 / 50)
    assert got.data.tags["team"] == "nlp" and got.data.tags["stage"] == "sft"
    history = MlTrackClient().get_metric_history(run.info.run_id, "train_loss")
    assert [m.step for m in history] == list(range(50))

    df = hf_mltrack.search_runs(filter_string="metrics.eval_acc > 0.8 and params.lora_rank = '8'")
    assert list(df["run_id"]) == [run.info.run_id]
    assert df.loc[0, "params.learning_rate"] == "2e-05"
    assert [r.info.run_id for r in hf_mltrack.search_runs(output_format="list")] == [run.info.run_id]


def test_client_api_over_http(remote):
    client = MlTrackClient()
    exp_id = client.create_experiment("c-exp", tags={"k": "v"})
    with pytest.raises(ResourceAlreadyExistsError):
        client.create_experiment("c-exp")
    assert client.get_experiment(exp_id).tags == {"k": "v"}
    assert client.get_experiment_by_name("c-exp").experiment_id == exp_id
    assert client.get_experiment_by_name("absent") is None
    client.rename_experiment(exp_id, "c-exp-2")
    client.set_experiment_tag(exp_id, "k2", "v2")
    exp = client.get_experiment(exp_id)
    assert exp.name == "c-exp-2" and exp.tags["k2"] == "v2"
    names = [e.name for e in client.search_experiments(filter_string="tags.k = 'v'")]
    assert names == ["c-exp-2"]

    run = client.create_run(exp_id, run_name="r", params={"a": 1}, metrics={"m": 1.5})
    run_id = run.info.run_id
    assert run.info.artifact_uri == f"mlflow-artifacts:/{exp_id}/{run_id}/artifacts"
    assert client.get_run(run_id).data.params == {"a": "1"}
    client.log_metric(run_id, "m", 2.5, step=3, synchronous=True)
    client.set_tag(run_id, "t", "x", synchronous=True)
    client.delete_tag(run_id, "t")
    assert "t" not in client.get_run(run_id).data.tags
    with pytest.raises(InvalidParameterError, match="'a'"):
        client.log_param(run_id, "a", 2, synchronous=True)
    client.update_run(run_id, status="KILLED", name="renamed")
    info = client.get_run(run_id).info
    assert info.status == "KILLED" and info.run_name == "renamed"

    bulk = client.get_metric_history_bulk_interval([run_id], "m", max_results=10)
    assert [(m.step, m.value) for m in bulk[run_id]] == [(0, 1.5), (3, 2.5)]

    client.delete_run(run_id)
    assert client.search_runs(exp_id) == []
    assert [r.info.run_id for r in client.search_runs(exp_id, run_view_type=ViewType.DELETED_ONLY)] == [run_id]
    client.restore_run(run_id)
    client.delete_experiment(exp_id)
    assert client.get_experiment(exp_id).lifecycle_stage == "deleted"
    client.restore_experiment(exp_id)
    with pytest.raises(ResourceNotFoundError):
        client.get_run("f" * 32)


def test_large_batches_are_chunked_to_server_limits(remote):
    client = MlTrackClient()
    run_id = client.create_run("0").info.run_id
    metrics = [Metric("loss", float(i), 1000 + i, i) for i in range(2500)]
    params = [Param(f"p{i}", str(i)) for i in range(250)]
    tags = [RunTag(f"t{i}", "v") for i in range(150)]
    client.log_batch(run_id, metrics, params, tags, synchronous=True)
    run = client.get_run(run_id)
    assert len(run.data.params) == 250
    assert sum(1 for k in run.data.tags if k.startswith("t")) == 150
    assert [m.step for m in client.get_metric_history(run_id, "loss")] == list(range(2500))


def test_async_logging_over_http_loses_nothing(remote):
    client = MlTrackClient()
    run_id = client.create_run("0").info.run_id
    for i in range(5000):
        client.log_metric(run_id, "loss", i * 0.5, step=i)
    client.flush()
    history = client.get_metric_history(run_id, "loss")
    assert len(history) == 5000 and history[-1].value == 4999 * 0.5


def test_non_finite_metrics_roundtrip(remote):
    client = MlTrackClient()
    run_id = client.create_run("0").info.run_id
    for step, value in enumerate([math.nan, math.inf, -math.inf, 1.0]):
        client.log_metric(run_id, "x", value, step=step, synchronous=True)
    values = [m.value for m in client.get_metric_history(run_id, "x")]
    assert math.isnan(values[0]) and values[1:] == [math.inf, -math.inf, 1.0]


def test_artifacts_through_the_proxy(remote, tmp_path):
    from hf_mltrack.artifacts import get_artifact_repository
    from hf_mltrack.store.rest_artifacts import HttpArtifactRepository

    run = MlTrackClient().create_run("0")
    repo = get_artifact_repository(run.info.artifact_uri)
    assert isinstance(repo, HttpArtifactRepository)
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text('{"layers": 2}')
    (model / "weights.bin").write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    repo.log_artifacts(str(model), artifact_path="model")
    repo.write_text("hello", "notes.txt")

    assert [(f.path, f.is_dir) for f in repo.list_artifacts()] == [("model", True), ("notes.txt", False)]
    assert {f.path for f in repo.list_artifacts("model")} == {"model/config.json", "model/weights.bin"}
    assert repo.read_text("notes.txt") == "hello"
    local = repo.download_artifacts("model", tmp_path / "dl")
    assert (tmp_path / "dl" / "model" / "weights.bin").read_bytes() == (model / "weights.bin").read_bytes()
    assert local.endswith("model")
    # the server's own listing endpoint agrees
    from hf_mltrack.store import get_tracking_store

    listed = get_tracking_store(remote).list_artifacts(run.info.run_id, "model")
    assert {f.path for f in listed} == {"model/config.json", "model/weights.bin"}
    repo.delete_artifacts("notes.txt")
    assert not repo.exists("notes.txt") and repo.exists("model/config.json")


def test_proxy_uri_with_explicit_host(live_server, tmp_path):
    from hf_mltrack.store.rest_artifacts import HttpArtifactRepository

    host = live_server.url.split("://", 1)[1]
    repo = HttpArtifactRepository(f"mlflow-artifacts://{host}/0/x/artifacts")
    repo.write_bytes(b"abc", "a.bin")
    assert (
        HttpArtifactRepository(f"{live_server.url}/api/2.0/mlflow-artifacts/artifacts/0/x/artifacts").read_bytes(
            "a.bin"
        )
        == b"abc"
    )


def test_proxy_uri_needs_an_http_tracking_uri(tracking_uri):
    from hf_mltrack.store.rest_artifacts import HttpArtifactRepository

    with pytest.raises(InvalidParameterError, match="set_tracking_uri"):
        HttpArtifactRepository("mlflow-artifacts:/0/x/artifacts")


# ---- credentials ---------------------------------------------------------------------------------
@pytest.fixture
def auth_server(make_app, monkeypatch):
    from fastapi.testclient import TestClient

    monkeypatch.setenv("HF_MLTRACK_AUTH_ADMIN_PASSWORD", "admin-password-123")
    app = make_app(auth="basic-auth")
    token = base64.b64encode(b"admin:admin-password-123").decode()
    admin = TestClient(app, headers={"Authorization": f"Basic {token}"})
    admin.post("/api/2.0/mlflow/users/create", json={"username": "alice", "password": "alice-password-1"})
    admin.post(
        "/api/2.0/mlflow/experiments/permissions/create",
        json={"experiment_id": "0", "username": "alice", "permission": "EDIT"},
    )
    return app


def test_credentials_from_environment(auth_server, monkeypatch, server_thread):
    server = server_thread(auth_server)
    monkeypatch.setenv("HF_MLTRACK_TRACKING_USERNAME", "alice")
    monkeypatch.setenv("HF_MLTRACK_TRACKING_PASSWORD", "alice-password-1")
    hf_mltrack.set_tracking_uri(server.url)
    with hf_mltrack.start_run() as run:
        hf_mltrack.log_metric("m", 1.0)
    got = hf_mltrack.get_run(run.info.run_id)
    assert got.info.user_id == "alice" and got.data.metrics == {"m": 1.0}


def test_wrong_credentials_fail_clearly_at_first_call(auth_server, monkeypatch, server_thread):
    server = server_thread(auth_server)
    monkeypatch.setenv("HF_MLTRACK_TRACKING_USERNAME", "alice")
    monkeypatch.setenv("HF_MLTRACK_TRACKING_PASSWORD", "not-her-password")
    hf_mltrack.set_tracking_uri(server.url)
    with pytest.raises(
        UnauthenticatedError, match="rejected the credentials of user 'alice'.*HF_MLTRACK_TRACKING_PASSWORD"
    ):
        hf_mltrack.start_run()
    monkeypatch.delenv("HF_MLTRACK_TRACKING_USERNAME")
    monkeypatch.delenv("HF_MLTRACK_TRACKING_PASSWORD")
    with pytest.raises(UnauthenticatedError, match="HF_MLTRACK_TRACKING_USERNAME"):
        MlTrackClient(server.url).get_experiment("0")


# ---- retries ---------------------------------------------------------------------------------------
def test_retries_on_503_without_duplicating_points(make_app, monkeypatch, server_thread):
    monkeypatch.setenv("HF_MLTRACK_HTTP_REQUEST_BACKOFF_FACTOR", "0.01")
    inner = make_app()
    calls = {"log-batch": 0}

    async def flaky(scope, receive, send):
        """The real app, behind a front that fails the first two log-batch calls after running them."""
        if scope["type"] == "http" and scope["path"].endswith("/runs/log-batch"):
            calls["log-batch"] += 1
            if calls["log-batch"] <= 2:
                # the write happens, then the answer is lost: the retry must not duplicate anything
                async def swallow(message):
                    pass

                await inner(scope, receive, swallow)
                body = b'{"error_code":"TEMPORARILY_UNAVAILABLE","message":"busy"}'
                await send(
                    {
                        "type": "http.response.start",
                        "status": 503,
                        "headers": [(b"content-type", b"application/json")],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await inner(scope, receive, send)

    server = server_thread(flaky)
    client = MlTrackClient(server.url)
    run_id = client.create_run("0").info.run_id
    client.log_batch(run_id, [Metric("m", float(i), 1, i) for i in range(10)], synchronous=True)
    assert calls["log-batch"] == 3
    assert [m.step for m in client.get_metric_history(run_id, "m")] == list(range(10))


def test_non_transient_errors_are_not_retried(live_server):
    client = MlTrackClient(live_server.url)
    with pytest.raises(ResourceNotFoundError):
        client.log_batch("0" * 32, [Metric("m", 1.0, 1, 0)], synchronous=True)
