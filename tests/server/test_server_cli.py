"""``hf-mltrack server``, ``ui`` and ``gc``."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import click
import httpx
import pytest
from click.testing import CliRunner

from hf_mltrack.cli.server import gc, parse_duration_ms, server
from hf_mltrack.exceptions import ResourceNotFoundError
from hf_mltrack.tracking import MlTrackClient


@pytest.mark.parametrize(
    ("text", "ms"), [("30d", 30 * 86_400_000), ("1d12h", 129_600_000), ("90m", 5_400_000), ("45s", 45_000)]
)
def test_parse_duration(text, ms):
    assert parse_duration_ms(text) == ms


@pytest.mark.parametrize("text", ["", "10", "3w", "1d 2x"])
def test_parse_duration_rejects(text):
    with pytest.raises(click.BadParameter, match="30d"):
        parse_duration_ms(text)


def _run_with_artifact(client: MlTrackClient, exp_id: str) -> str:
    from hf_mltrack.artifacts import get_artifact_repository

    run = client.create_run(exp_id)
    get_artifact_repository(run.info.artifact_uri).write_text("x", "f.txt")
    return run.info.run_id


def test_gc_removes_deleted_runs_and_their_artifacts(tmp_path):
    from hf_mltrack.artifacts import get_artifact_repository
    from hf_mltrack.artifacts.uri import local_path_from_uri

    uri = f"sqlite:///{tmp_path / 'gc' / 'mltrack.db'}"
    client = MlTrackClient(uri)
    keep = _run_with_artifact(client, "0")
    drop = _run_with_artifact(client, "0")
    drop_dir = local_path_from_uri(client.get_run(drop).info.artifact_uri)
    assert os.path.isfile(os.path.join(drop_dir, "f.txt"))
    client.delete_run(drop)

    runner = CliRunner()
    dry = runner.invoke(gc, ["--backend-store-uri", uri, "--dry-run"])
    assert dry.exit_code == 0 and f"would remove run {drop}" in dry.output
    assert os.path.isdir(drop_dir)
    recent = runner.invoke(gc, ["--backend-store-uri", uri, "--older-than", "1d"])
    assert recent.exit_code == 0 and "no deleted runs" in recent.output
    refused = runner.invoke(gc, ["--backend-store-uri", uri, "--run-ids", keep])
    assert refused.exit_code != 0 and "not deleted" in refused.output

    result = runner.invoke(gc, ["--backend-store-uri", uri])
    assert result.exit_code == 0, result.output
    assert f"removed run {drop}" in result.output
    with pytest.raises(ResourceNotFoundError):
        client.get_run(drop)
    assert not os.path.exists(drop_dir)
    assert get_artifact_repository(client.get_run(keep).info.artifact_uri).read_text("f.txt") == "x"


def test_gc_removes_proxied_artifacts(api, db_uri, tmp_path):
    run = api.post("/api/2.0/mlflow/runs/create", json={"experiment_id": "0"}).json()["run"]
    run_id, uri = run["info"]["run_id"], run["info"]["artifact_uri"]
    rel = uri.split(":/", 1)[1]
    api.put(f"/api/2.0/mlflow-artifacts/artifacts/{rel}/w.bin", content=b"123")
    stored = tmp_path / "mlartifacts" / rel / "w.bin"
    assert stored.read_bytes() == b"123"
    api.post("/api/2.0/mlflow/runs/delete", json={"run_id": run_id})
    result = CliRunner().invoke(
        gc, ["--backend-store-uri", db_uri, "--artifacts-destination", str(tmp_path / "mlartifacts")]
    )
    assert result.exit_code == 0, result.output
    assert not stored.exists() and (tmp_path / "mlartifacts" / "0").exists()


def test_server_refuses_basic_auth_without_admin_password(tmp_path):
    result = CliRunner().invoke(
        server, ["--backend-store-uri", f"sqlite:///{tmp_path / 'a.db'}", "--app-name", "basic-auth"]
    )
    assert result.exit_code == 1
    assert "HF_MLTRACK_AUTH_ADMIN_PASSWORD" in result.output


def test_gunicorn_opts_without_gunicorn_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no gunicorn on PATH
    result = CliRunner().invoke(
        server, ["--backend-store-uri", f"sqlite:///{tmp_path / 'a.db'}", "--gunicorn-opts", "--timeout 120"]
    )
    assert result.exit_code == 2
    assert "pip install 'hf_mltrack[gunicorn]'" in result.output and "--workers" in result.output


def test_server_options_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_MLTRACK_SERVER_APP_NAME", "basic-auth")
    result = CliRunner().invoke(
        server,
        ["--backend-store-uri", f"sqlite:///{tmp_path / 'a.db'}"],
        auto_envvar_prefix="HF_MLTRACK_SERVER",
    )
    assert result.exit_code == 1 and "HF_MLTRACK_AUTH_ADMIN_PASSWORD" in result.output


@pytest.mark.slow
def test_server_with_two_workers(server_process, tmp_path):
    proc = server_process(
        [
            "--backend-store-uri",
            f"sqlite:///{tmp_path / 'w' / 'mltrack.db'}",
            "--artifacts-destination",
            str(tmp_path / "art"),
            "--workers",
            "2",
        ]
    )
    client = MlTrackClient(proc.url)
    run_id = client.create_run("0").info.run_id
    for i in range(20):  # spread over both workers by new connections
        MlTrackClient(proc.url).log_metric(run_id, "m", float(i), step=i, synchronous=True)
    assert len(client.get_metric_history(run_id, "m")) == 20
    assert httpx.get(proc.url + "/health").text == "OK"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_ui_command(tmp_path):
    """`hf-mltrack ui` serves the embedded store that local scripts write to (file:// artifacts)."""
    from hf_mltrack.artifacts import get_artifact_repository

    home = tmp_path / "mltrack_home"
    local = MlTrackClient()  # the local default store under HF_MLTRACK_HOME
    run = local.create_run("0", run_name="local-run")
    get_artifact_repository(run.info.artifact_uri).write_text("hi", "a.txt")
    local.log_metric(run.info.run_id, "m", 1.0, synchronous=True)

    port = _free_port()
    code = "from hf_mltrack.cli.server import ui; ui()"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "--port", str(port)],
        env={**os.environ, "HF_MLTRACK_HOME": str(home)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        remote = MlTrackClient(url)
        got = remote.get_run(run.info.run_id)
        assert got.info.run_name == "local-run" and got.data.metrics == {"m": 1.0}
        listing = httpx.get(f"{url}/api/2.0/mlflow/artifacts/list", params={"run_id": run.info.run_id}).json()
        assert listing["files"] == [{"path": "a.txt", "is_dir": False, "file_size": 2}]
        new_exp = remote.create_experiment("from-ui")
        assert remote.get_experiment(new_exp).artifact_location.startswith("file://")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_cli_module_is_cheap_to_import():
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, hf_mltrack.cli.server, hf_mltrack.server; print('fastapi' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.stdout.strip() == "False", out.stderr


def test_hosts_for_adds_a_named_bind_address():
    from hf_mltrack.cli.server import _hosts_for

    assert _hosts_for("0.0.0.0", ()) == ()
    assert _hosts_for("tracking.corp", ("a",)) == ("a", "tracking.corp")


@pytest.mark.parametrize(("workers", "per_worker"), [(1, 40), (2, 40), (4, 20), (8, 10), (32, 5)])
def test_database_pool_is_sized_per_worker(monkeypatch: pytest.MonkeyPatch, workers: int, per_worker: int) -> None:
    from hf_mltrack import _env
    from hf_mltrack.cli.server import size_db_pool

    monkeypatch.delenv(_env.SQLALCHEMY_POOL_SIZE.name, raising=False)
    monkeypatch.delenv(_env.SQLALCHEMY_MAX_OVERFLOW.name, raising=False)
    size_db_pool("postgresql://u@db/x", workers)
    assert (_env.SQLALCHEMY_POOL_SIZE.get(), _env.SQLALCHEMY_MAX_OVERFLOW.get()) == (per_worker, 0)


def test_a_worker_freezes_its_startup_heap_with_the_s3_client_built(tmp_path, monkeypatch) -> None:
    import gc

    from hf_mltrack.server.app import create_app, settle_heap

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("HF_MLTRACK_S3_ENDPOINT_URL", "http://127.0.0.1:9")  # never contacted
    app = create_app(f"sqlite:///{tmp_path}/m.db", artifacts_destination="s3://bucket/art")
    assert app.state.server._dest_repo is None  # lazy until the server settles
    try:
        settle_heap(app)
        assert app.state.server._dest_repo._client is not None  # built, not left to the first upload
        frozen = gc.get_freeze_count()
        assert frozen > 50_000  # the modules, routes and boto3's service model
        gc.collect()  # a collection leaves the frozen objects alone (a few freed by reference counting
        assert gc.get_freeze_count() > frozen - 1_000  # meanwhile, by this process's other threads, may go)
    finally:
        gc.unfreeze()


@pytest.mark.parametrize("uri", ["sqlite:///tmp/x.db", "/tmp/folder"])
def test_database_pool_of_sqlite_and_explicit_settings_stay(monkeypatch: pytest.MonkeyPatch, uri: str) -> None:
    from hf_mltrack import _env
    from hf_mltrack.cli.server import size_db_pool

    monkeypatch.delenv(_env.SQLALCHEMY_POOL_SIZE.name, raising=False)
    monkeypatch.delenv(_env.SQLALCHEMY_MAX_OVERFLOW.name, raising=False)
    size_db_pool(uri, 2)
    assert not _env.SQLALCHEMY_POOL_SIZE.is_set() and not _env.SQLALCHEMY_MAX_OVERFLOW.is_set()
    monkeypatch.setenv(_env.SQLALCHEMY_POOL_SIZE.name, "7")
    size_db_pool("postgresql://u@db/x", 2)
    assert _env.SQLALCHEMY_POOL_SIZE.get() == 7 and not _env.SQLALCHEMY_MAX_OVERFLOW.is_set()
