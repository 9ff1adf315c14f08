"""Multipart uploads through the artifact proxy (``/mlflow-artifacts/mpu/*``): local and S3 destinations."""

from __future__ import annotations

import base64
import os
import time
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

MPU = "/api/2.0/mlflow-artifacts/mpu"
PROXY = "/api/2.0/mlflow-artifacts/artifacts"
API = "/api/2.0/mlflow"
ADMIN_PASSWORD = "admin-password-123"
STAGING_DIR_NAME = ".hfmltrack-partial-multipart"
ALICE = ("alice", "alice-password-1")
BOB = ("bob", "bob-password-123")


def _staged(tmp_path: Path) -> list[str]:
    from hf_mltrack.server.multipart import STAGING_DIR

    staging = tmp_path / "mlartifacts" / STAGING_DIR
    return sorted(os.listdir(staging)) if staging.exists() else []


def _part_path(url: str) -> str:
    """A credential's URL without scheme and host (TestClient requests take paths)."""
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


@pytest.fixture
def small_parts(monkeypatch):
    monkeypatch.setenv("HF_MLTRACK_S3_MULTIPART_THRESHOLD_MB", "1")
    monkeypatch.setenv("HF_MLTRACK_S3_MULTIPART_CHUNKSIZE_MB", "1")


def test_large_file_round_trips_in_parts(remote, tmp_path, small_parts):
    from hf_mltrack.artifacts import get_artifact_repository
    from hf_mltrack.tracking import MlTrackClient

    run = MlTrackClient().create_run("0")
    repo = get_artifact_repository(run.info.artifact_uri)
    data = os.urandom(3 * 1024 * 1024 + 12345)  # 4 parts of 1 MiB
    src = tmp_path / "weights.bin"
    src.write_bytes(data)
    repo.log_artifact(str(src), artifact_path="model")

    local = repo.download_artifacts("model/weights.bin", tmp_path / "dl")
    assert Path(local).read_bytes() == data
    stored = tmp_path / "mlartifacts" / "0" / run.info.run_id / "artifacts" / "model"
    assert sorted(os.listdir(stored)) == ["weights.bin"]  # no temporary file left beside it
    # the multipart path was taken (its staging folder exists) and cleaned up
    from hf_mltrack.server.multipart import STAGING_DIR

    assert (tmp_path / "mlartifacts" / STAGING_DIR).is_dir() and _staged(tmp_path) == []
    # listings hide the staging folder, and the proxy refuses to touch it
    assert [f.path for f in get_artifact_repository("mlflow-artifacts:/").list_artifacts()] == ["0"]
    import httpx

    assert httpx.get(f"{remote}{PROXY}/{STAGING_DIR}/x").status_code == 400
    # small files still go as one PUT
    (tmp_path / "small.txt").write_text("hi")
    repo.log_artifact(str(tmp_path / "small.txt"))
    assert repo.read_text("small.txt") == "hi"


def test_failed_part_aborts_the_upload(make_app, server_thread, tmp_path, small_parts):
    import hf_mltrack
    from hf_mltrack.exceptions import MlTrackException
    from hf_mltrack.store.rest_artifacts import HttpArtifactRepository

    server = server_thread(make_app(max_artifact_bytes=512 * 1024))  # every 1 MiB part is refused
    hf_mltrack.set_tracking_uri(server.url)
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(2 * 1024 * 1024 + 1))
    repo = HttpArtifactRepository("mlflow-artifacts:/0/r1/artifacts")
    with pytest.raises(MlTrackException):
        repo.log_artifact(str(src))
    assert _staged(tmp_path) == []  # the client aborted
    assert not (tmp_path / "mlartifacts" / "0" / "r1" / "artifacts" / "big.bin").exists()


def _create(client, folder: str, name: str, num_parts: int):
    return client.post(f"{MPU}/create/{folder}", json={"path": name, "num_parts": num_parts})


def _put_parts(client, credentials, chunks):
    etags = []
    for cred, chunk in zip(credentials, chunks, strict=True):
        r = client.put(_part_path(cred["url"]), content=chunk)
        assert r.status_code == 200, r.text
        assert r.headers["etag"].strip('"') == r.json()["etag"]
        etags.append({"part_number": cred["part_number"], "etag": r.json()["etag"]})
    return etags


def test_protocol_atomic_complete_and_abort(api, tmp_path):
    final = tmp_path / "mlartifacts" / "0" / "r" / "artifacts" / "data.bin"
    r = _create(api, "0/r/artifacts", "/home/me/local/data.bin", 3)  # MLflow sends the local path
    assert r.status_code == 200, r.text
    body = r.json()
    assert [c["part_number"] for c in body["credentials"]] == [1, 2, 3]
    assert body["credentials"][0]["url"].startswith("http://testserver/api/2.0/mlflow-artifacts/mpu/part/")
    chunks = [b"a" * 1000, b"b" * 1000, b"c" * 10]
    parts = _put_parts(api, body["credentials"][::-1], chunks[::-1])[::-1]  # any order
    assert not final.exists()  # nothing under the final name before completion
    # a retried part replaces the earlier one
    parts[1] = _put_parts(api, body["credentials"][1:2], [b"B" * 1000])[0]
    wrong = [{**parts[0], "etag": "0" * 32}, *parts[1:]]
    done = {"path": "data.bin", "upload_id": body["upload_id"]}
    assert api.post(f"{MPU}/complete/0/r/artifacts", json={**done, "parts": wrong}).status_code == 400
    assert api.post(f"{MPU}/complete/0/r/artifacts", json={**done, "parts": parts[::-1]}).status_code == 400
    assert api.post(f"{MPU}/complete/0/r/artifacts", json={**done, "parts": parts}).status_code == 200
    assert final.read_bytes() == b"a" * 1000 + b"B" * 1000 + b"c" * 10
    assert api.get(f"{PROXY}/0/r/artifacts/data.bin").content == final.read_bytes()
    assert _staged(tmp_path) == []
    # the upload is gone: completing again, or a late part, is 404
    assert api.post(f"{MPU}/complete/0/r/artifacts", json={**done, "parts": parts}).status_code == 404
    assert api.put(_part_path(body["credentials"][0]["url"]), content=b"x").status_code == 404

    # abort: nothing is left, and the upload cannot be used afterwards
    body = _create(api, "0/r/artifacts", "other.bin", 2).json()
    _put_parts(api, body["credentials"][:1], [b"x" * 100])
    assert len(_staged(tmp_path)) == 1
    aborted = {"path": "other.bin", "upload_id": body["upload_id"]}
    assert api.post(f"{MPU}/abort/0/r/artifacts", json=aborted).status_code == 200
    assert _staged(tmp_path) == []
    assert not (final.parent / "other.bin").exists()
    assert api.put(_part_path(body["credentials"][1]["url"]), content=b"y").status_code == 404
    assert api.post(f"{MPU}/abort/0/r/artifacts", json=aborted).status_code == 404
    assert api.get(f"{PROXY}", params={"path": "0/r/artifacts"}).json()["files"] == [
        {"path": "data.bin", "is_dir": False, "file_size": 2010}
    ]


def test_bad_ids_part_numbers_and_paths(api, tmp_path):
    body = _create(api, "0/r/artifacts", "f.bin", 2).json()
    uid = body["upload_id"]
    part = f"{MPU}/part/0/r/artifacts/f.bin"
    for bad_id in ("../../etc", "x" * 32, uid.upper(), "%2e%2e%2f" + uid, ""):
        r = api.put(part, params={"upload_id": bad_id, "part_number": 1}, content=b"x")
        assert r.status_code == 400, (bad_id, r.text)
    for bad_number in ("0", "3", "-1", "abc", "10001", ""):
        r = api.put(part, params={"upload_id": uid, "part_number": bad_number}, content=b"x")
        assert r.status_code == 400, (bad_number, r.text)
    unknown = "0" * 32
    assert api.put(part, params={"upload_id": unknown, "part_number": 1}, content=b"x").status_code == 404
    # the id belongs to f.bin: another artifact path does not find it
    other = f"{MPU}/part/0/r/artifacts/g.bin"
    assert api.put(other, params={"upload_id": uid, "part_number": 1}, content=b"x").status_code == 404
    for folder, name in (
        ("0/r/artifacts/%2e%2e", "f.bin"),
        ("0/r/artifacts/%252e%252e", "f.bin"),
        ("0/r/%2e%2e/%2e%2e", "f.bin"),
        ("0/r/artifacts", ".."),
        ("0/r/artifacts", "a;b"),
        ("0/r/artifacts", "a#b"),
        ("", "/etc/passwd/.."),
    ):
        assert _create(api, folder, name, 1).status_code in (400, 404), (folder, name)
    traversal = api.put(f"{MPU}/part/0/%2e%2e/%2e%2e/x", params={"upload_id": uid, "part_number": 1})
    assert traversal.status_code in (400, 404)
    for num_parts in (0, -1, 10001, "x", None, True):
        assert _create(api, "0/r/artifacts", "f.bin", num_parts).status_code == 400, num_parts
    # complete with malformed parts
    done = {"path": "f.bin", "upload_id": uid}
    for parts in ([], [{"part_number": 1}], [{"part_number": 1, "etag": "../x"}], "x"):
        assert api.post(f"{MPU}/complete/0/r/artifacts", json={**done, "parts": parts}).status_code == 400
    assert api.post(f"{MPU}/complete/0/r/artifacts", json=done).status_code == 400
    # the staging folder is not reachable through the proxy
    from hf_mltrack.server.multipart import STAGING_DIR

    assert api.get(f"{PROXY}/{STAGING_DIR}/{uid}/manifest.json").status_code == 400
    assert api.put(f"{PROXY}/{STAGING_DIR}/{uid}/part-00001", content=b"x").status_code == 400
    assert _create(api, STAGING_DIR, "f.bin", 1).status_code == 400


def _as(app, creds):
    token = base64.b64encode(f"{creds[0]}:{creds[1]}".encode()).decode()
    return TestClient(app, headers={"Authorization": f"Basic {token}"})


def test_multipart_needs_edit_on_the_experiment(make_app, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_MLTRACK_AUTH_ADMIN_PASSWORD", ADMIN_PASSWORD)
    app = make_app(auth="basic-auth")
    admin = _as(app, ("admin", ADMIN_PASSWORD))
    for name, password in (ALICE, BOB):
        r = admin.post(f"{API}/users/create", json={"username": name, "password": password})
        assert r.status_code == 200, r.text
    alice, bob = _as(app, ALICE), _as(app, BOB)
    exp = alice.post(f"{API}/experiments/create", json={"name": "mine"}).json()["experiment_id"]
    folder = f"{exp}/run1/artifacts"

    assert _create(bob, folder, "w.bin", 1).status_code == 403  # READ only (the default)
    assert _create(TestClient(app), folder, "w.bin", 1).status_code == 401
    body = _create(alice, folder, "w.bin", 1).json()
    part_url = _part_path(body["credentials"][0]["url"])
    assert bob.put(part_url, content=b"evil").status_code == 403
    etag = _put_parts(alice, body["credentials"], [b"data"])
    done = {"path": "w.bin", "upload_id": body["upload_id"], "parts": etag}
    assert bob.post(f"{MPU}/complete/{folder}", json=done).status_code == 403
    assert bob.post(f"{MPU}/abort/{folder}", json=done).status_code == 403
    # a folder outside any experiment is for admins only
    assert _create(alice, "notanexperiment", "w.bin", 1).status_code == 403
    assert alice.post(f"{MPU}/complete/{folder}", json=done).status_code == 200
    assert bob.get(f"{PROXY}/{folder}/w.bin").content == b"data"  # READ still reads it
    # EDIT granted: bob may upload now
    r = alice.post(
        f"{API}/experiments/permissions/create",
        json={"experiment_id": exp, "username": "bob", "permission": "EDIT"},
    )
    assert r.status_code == 200, r.text
    assert _create(bob, folder, "b.bin", 1).status_code == 200


@pytest.fixture
def moto_s3(monkeypatch):
    pytest.importorskip("boto3")
    server_mod = pytest.importorskip("moto.server")
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("HF_MLTRACK_S3_ENDPOINT_URL", f"http://{host}:{port}")
    from hf_mltrack.artifacts.s3 import get_s3_client

    bucket = f"bkt-{uuid.uuid4().hex[:12]}"
    get_s3_client().create_bucket(Bucket=bucket)
    yield bucket
    server.stop()


def test_s3_destination_proxies_the_parts(make_app, server_thread, tmp_path, moto_s3, monkeypatch):
    import hf_mltrack
    from hf_mltrack.artifacts.s3 import get_s3_client
    from hf_mltrack.store.rest_artifacts import HttpArtifactRepository

    monkeypatch.setenv("HF_MLTRACK_S3_MULTIPART_THRESHOLD_MB", "5")
    monkeypatch.setenv("HF_MLTRACK_S3_MULTIPART_CHUNKSIZE_MB", "5")  # S3's minimum part size
    server = server_thread(make_app(artifacts_destination=f"s3://{moto_s3}/root"))
    hf_mltrack.set_tracking_uri(server.url)
    data = os.urandom(11 * 1024 * 1024)  # 3 parts
    (tmp_path / "big.bin").write_bytes(data)
    repo = HttpArtifactRepository("mlflow-artifacts:/0/r/artifacts")
    repo.log_artifact(str(tmp_path / "big.bin"), artifact_path="m")
    s3 = get_s3_client()
    obj = s3.get_object(Bucket=moto_s3, Key="root/0/r/artifacts/m/big.bin")
    assert obj["Body"].read() == data
    assert obj["ETag"].strip('"').endswith("-3")  # assembled by S3 from 3 parts
    # abort: S3 forgets the upload
    api = TestClient(make_app(artifacts_destination=f"s3://{moto_s3}/root"))
    body = _create(api, "0/r/artifacts", "gone.bin", 2).json()
    assert body["upload_id"].startswith("s3-")
    _put_parts(api, body["credentials"][:1], [b"x" * 100])
    done = {"path": "gone.bin", "upload_id": body["upload_id"]}
    assert api.post(f"{MPU}/abort/0/r/artifacts", json=done).status_code == 200
    assert s3.list_multipart_uploads(Bucket=moto_s3).get("Uploads", []) == []
    assert (
        api.put(
            f"{MPU}/part/0/r/artifacts/gone.bin",
            params={"upload_id": "s3-!!", "part_number": 1},
            content=b"y",
        ).status_code
        == 400
    )


# ---- issue 18: abandoned uploads are aborted by the client, swept by the server, and bounded ----------
def _age(folder: Path, seconds: float) -> None:
    old = time.time() - seconds
    for path in [folder, *folder.iterdir()]:
        os.utime(path, (old, old))


def test_abandoned_uploads_are_swept_after_an_hour_by_default(api, tmp_path):
    from hf_mltrack import _env
    from hf_mltrack.server import multipart

    assert _env.MULTIPART_STALE_SECONDS.get() == 3600
    stale = _create(api, "0/r/artifacts", "stale.bin", 2).json()
    _put_parts(api, stale["credentials"][:1], [b"s" * 1000])
    slow = _create(api, "0/r/artifacts", "slow.bin", 2).json()
    _put_parts(api, slow["credentials"][:1], [b"w" * 1000])
    staging = tmp_path / "mlartifacts" / multipart.STAGING_DIR
    _age(staging / stale["upload_id"], 3700)  # abandoned 1 h 2 min ago
    _age(staging / slow["upload_id"], 1800)  # a slow client, still within the hour
    multipart._last_sweep.clear()
    # the next multipart request of any client sweeps
    _create(api, "0/r/artifacts", "next.bin", 1)
    assert stale["upload_id"] not in _staged(tmp_path)
    assert slow["upload_id"] in _staged(tmp_path)
    late = api.put(_part_path(stale["credentials"][1]["url"]), content=b"x")
    assert late.status_code == 404


def test_abandoned_s3_uploads_are_aborted_by_the_sweep(make_app, moto_s3, monkeypatch):
    """S3 keeps (and bills) an abandoned upload's parts until it is aborted: the server's sweep aborts the
    uploads under its destination whose newest part is older than the stale time, and keeps the rest."""
    from hf_mltrack.artifacts.s3 import get_s3_client
    from hf_mltrack.server import multipart

    s3 = get_s3_client()
    outside = s3.create_multipart_upload(Bucket=moto_s3, Key="elsewhere/x.bin")["UploadId"]
    s3.upload_part(Bucket=moto_s3, Key="elsewhere/x.bin", UploadId=outside, PartNumber=1, Body=b"o")
    api = TestClient(make_app(artifacts_destination=f"s3://{moto_s3}/root"))
    # (moto dates every upload's initiation in 2010: no sweep may run while the uploads are set up; none
    # does, the first one comes an interval after the process first uploads to a destination)
    stale = _create(api, "0/r/artifacts", "stale.bin", 2).json()
    _put_parts(api, stale["credentials"][:1], [b"s" * 100])
    time.sleep(2.2)
    slow = _create(api, "0/r/artifacts", "slow.bin", 3).json()
    _put_parts(api, slow["credentials"][:1], [b"w" * 100])
    monkeypatch.setenv("HF_MLTRACK_MULTIPART_STALE_SECONDS", "1.5")

    def keys() -> set[str]:
        return {u["Key"] for u in s3.list_multipart_uploads(Bucket=moto_s3).get("Uploads", [])}

    assert keys() == {"elsewhere/x.bin", "root/0/r/artifacts/stale.bin", "root/0/r/artifacts/slow.bin"}
    # an interval later, the next multipart request starts the sweep in the background (no S3 round trip
    # on the request's time)
    multipart._last_sweep[f"s3://{moto_s3}/root"] -= multipart.SWEEP_INTERVAL_SECONDS
    _put_parts(api, slow["credentials"][1:2], [b"w" * 100])
    deadline = time.monotonic() + 10
    while "root/0/r/artifacts/stale.bin" in keys() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert keys() == {"elsewhere/x.bin", "root/0/r/artifacts/slow.bin"}
    # (a late part of the aborted upload is S3's NoSuchUpload, a 404 here; moto answers it with a 500)
    # within the interval no second sweep runs; the destination's own uploads only
    assert multipart.S3Multipart(multipart_repo(moto_s3, "root")).sweep() == 0
    assert multipart.S3Multipart(multipart_repo(moto_s3, "empty")).sweep(force=True) == 0
    # a destination at the bucket's root sweeps nothing (other writers' uploads live there)
    assert multipart.S3Multipart(multipart_repo(moto_s3, "")).sweep(force=True) == 0
    assert "elsewhere/x.bin" in keys()
    s3.abort_multipart_upload(Bucket=moto_s3, Key="elsewhere/x.bin", UploadId=outside)


def multipart_repo(bucket: str, prefix: str):
    from hf_mltrack.artifacts.s3 import S3ArtifactRepository

    return S3ArtifactRepository(f"s3://{bucket}/{prefix}")


def test_staging_is_bounded(api, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_MLTRACK_MULTIPART_STAGING_MAX_BYTES", "5000")
    body = _create(api, "0/r/artifacts", "big.bin", 3).json()
    _put_parts(api, body["credentials"][:2], [b"a" * 2000, b"b" * 2000])
    refused = api.put(_part_path(body["credentials"][2]["url"]), content=b"c" * 2000)
    assert refused.status_code == 507, refused.text
    assert refused.json()["error_code"] == "RESOURCE_EXHAUSTED"
    assert "HF_MLTRACK_MULTIPART_STAGING_MAX_BYTES" in refused.json()["message"]
    # aborting frees the room
    api.post(f"{MPU}/abort/0/r/artifacts", json={"path": "big.bin", "upload_id": body["upload_id"]})
    again = _create(api, "0/r/artifacts", "big.bin", 3).json()
    assert len(_put_parts(api, again["credentials"], [b"a" * 2000, b"b" * 2000, b"c" * 500])) == 3


_UPLOADER = """
import os, sys
import hf_mltrack
from hf_mltrack.store.rest_artifacts import HttpArtifactRepository
hf_mltrack.set_tracking_uri(sys.argv[1])
print("uploading", flush=True)
HttpArtifactRepository("mlflow-artifacts:/0/r/artifacts").log_artifact(sys.argv[2])
print("done", flush=True)
"""


def test_client_killed_with_sigterm_aborts_its_upload(make_app, server_thread, tmp_path, monkeypatch):
    """SIGTERM during an upload (a scheduler stopping a job): the client aborts before it exits."""
    import signal
    import subprocess
    import sys

    server = server_thread(make_app())
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(64 * 1024 * 1024))  # 64 parts of 1 MiB
    script = tmp_path / "upload.py"
    script.write_text(_UPLOADER)
    env = {**os.environ, "HF_MLTRACK_S3_MULTIPART_THRESHOLD_MB": "1", "HF_MLTRACK_S3_MULTIPART_CHUNKSIZE_MB": "1"}
    proc = subprocess.Popen([sys.executable, str(script), server.url, str(src)], env=env, stdout=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(
        name.startswith("part-")
        for up in _staged(tmp_path)
        for name in os.listdir(tmp_path / "mlartifacts" / STAGING_DIR_NAME / up)
    ):
        assert proc.poll() is None, "the upload ended before it could be interrupted"
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert b"done" not in out and proc.returncode != 0
    assert _staged(tmp_path) == []  # aborted on the server: nothing left to sweep
    assert not (tmp_path / "mlartifacts" / "0" / "r" / "artifacts" / "big.bin").exists()
