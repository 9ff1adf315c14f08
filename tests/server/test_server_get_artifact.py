"""``GET /get-artifact``: MLflow's download route, which the web UI's previews use, on every store the
server reads runs' artifacts from (its proxied destination, a plain folder, S3)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator

import pytest

API = "/api/2.0/mlflow"


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    pytest.importorskip("boto3")
    server_mod = pytest.importorskip("moto.server")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def _root(kind: str, tmp_path, request, monkeypatch) -> dict:
    if kind == "proxy":
        return {}
    if kind == "folder":
        return {"serve_artifacts": False, "default_artifact_root": (tmp_path / "runs-root").as_uri()}
    endpoint = request.getfixturevalue("moto_endpoint")
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("HF_MLTRACK_S3_ENDPOINT_URL", endpoint)
    from hf_mltrack.artifacts.s3 import get_s3_client

    bucket = f"bkt-{uuid.uuid4().hex[:12]}"
    get_s3_client().create_bucket(Bucket=bucket)
    return {"serve_artifacts": False, "default_artifact_root": f"s3://{bucket}/artifacts"}


@pytest.mark.parametrize("kind", ["proxy", "folder", "s3"])
def test_get_artifact_serves_previews_from_every_store(make_app, tmp_path, request, monkeypatch, kind):
    from fastapi.testclient import TestClient

    from hf_mltrack.artifacts.registry import get_artifact_repository

    client = TestClient(make_app(**_root(kind, tmp_path, request, monkeypatch)))
    run = client.post(f"{API}/runs/create", json={"experiment_id": "0"}).json()["run"]["info"]
    uri = run["artifact_uri"]
    (tmp_path / "eval").mkdir()
    (tmp_path / "eval" / "samples.txt").write_text("hello preview")
    if kind == "proxy":
        base = "/api/2.0/mlflow-artifacts/artifacts/" + uri.split(":/", 1)[1]
        assert client.put(f"{base}/eval/samples.txt", content=b"hello preview").status_code == 200
    else:
        assert uri.startswith("file://" if kind == "folder" else "s3://")
        get_artifact_repository(uri).log_artifact(tmp_path / "eval" / "samples.txt", "eval")

    got = client.get("/get-artifact", params={"path": "eval/samples.txt", "run_uuid": run["run_id"]})
    assert got.status_code == 200, got.text
    assert got.text == "hello preview"
    assert got.headers["content-type"].startswith("text/plain")
    assert "sandbox" in got.headers["content-security-policy"]
    # the ajax twin of MLflow's UI is not needed: the route sits at the server root like MLflow's
    missing = client.get("/get-artifact", params={"path": "eval/nope.txt", "run_uuid": run["run_id"]})
    assert missing.status_code == 404
    bad = client.get("/get-artifact", params={"path": "../../etc/passwd", "run_uuid": run["run_id"]})
    assert bad.status_code == 400 and "path" in bad.json()["message"]
    no_run = client.get("/get-artifact", params={"path": "eval/samples.txt"})
    assert no_run.status_code == 400 and "run_uuid" in no_run.json()["message"]


@pytest.mark.parametrize(
    ("route", "params"),
    [
        (f"{API}/artifacts/list", {"path": "../path"}),
        ("/get-artifact", {"path": "../path"}),
        ("/model-versions/get-artifact", {"name": "model", "version": "1", "path": "../path"}),
        ("/api/2.0/mlflow-artifacts/artifacts", {"path": "0/../../etc"}),
    ],
)
def test_unsafe_paths_are_refused_in_mlflow_words_with_the_reason_in_details(api, route, params):
    """MLflow's clients compare the message whole ('Invalid path'); the value and the fix ride in ``details``."""
    run_id = api.post(f"{API}/runs/create", json={"experiment_id": "0"}).json()["run"]["info"]["run_id"]
    r = api.get(route, params={"run_id": run_id, **params})
    assert r.status_code == 400
    body = r.json()
    assert body["error_code"] == "INVALID_PARAMETER_VALUE" and body["message"] == "Invalid path"
    assert repr(params["path"]) in body["details"] and "'..' segment" in body["details"]


def test_our_client_shows_the_details_of_a_refused_path(remote):
    import hf_mltrack
    from hf_mltrack.store.rest import http_client

    with hf_mltrack.start_run() as run:
        pass
    with pytest.raises(hf_mltrack.MlTrackException, match=r"^Invalid path: Invalid artifact path '\.\./x': .*'\.\.'"):
        http_client(remote).call("GET", "/artifacts/list", params={"run_id": run.info.run_id, "path": "../x"})
