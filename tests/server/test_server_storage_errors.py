"""A full or read-only artifact store is a 507 that names the cause, and the client surfaces it.

Before issue 18 these were ``500 Internal server error (OSError)``. A file-size limit (``RLIMIT_FSIZE``,
no privileges needed) makes a server subprocess's writes fail with ``EFBIG``; where the tests run as
root, a 1 MiB tmpfs gives a real ``ENOSPC`` and a read-only remount a real ``EROFS``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

PROXY = "/api/2.0/mlflow-artifacts/artifacts"
_LIMITED = (
    "import resource, runpy, signal, sys\n"
    "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG\n"
    "limit = int(sys.argv.pop(1))\n"
    "resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))\n"
    "runpy.run_module('hf_mltrack.cli.server', run_name='__main__', alter_sys=True)\n"
)


def test_file_too_large_is_a_507_and_the_client_says_so(tmp_path, server_process):
    import hf_mltrack
    from hf_mltrack.exceptions import MlTrackException
    from hf_mltrack.store.rest_artifacts import HttpArtifactRepository

    script = tmp_path / "limited.py"
    script.write_text(_LIMITED)  # the server's files may not grow past 2 MiB
    server = server_process(
        [
            "--backend-store-uri",
            f"sqlite:///{tmp_path / 'db' / 'mltrack.db'}",
            "--artifacts-destination",
            str(tmp_path / "art"),
        ],
        launcher=[sys.executable, str(script), str(2 * 1024 * 1024)],
    )
    import httpx

    response = httpx.put(f"{server.url}{PROXY}/0/r/artifacts/big.bin", content=os.urandom(3 * 1024 * 1024), timeout=60)
    assert response.status_code == 507, response.text
    assert response.json()["error_code"] == "RESOURCE_EXHAUSTED"
    assert "file too large" in response.json()["message"]
    assert str(tmp_path) not in response.text  # names the cause, not the server's paths

    hf_mltrack.set_tracking_uri(server.url)
    src = tmp_path / "weights.bin"
    src.write_bytes(os.urandom(3 * 1024 * 1024))
    repo = HttpArtifactRepository("mlflow-artifacts:/0/r/artifacts")
    with pytest.raises(MlTrackException, match="file too large") as caught:
        repo.log_artifact(str(src))
    assert caught.value.error_code == "RESOURCE_EXHAUSTED"
    # small files still fit
    (tmp_path / "small.txt").write_text("ok")
    repo.log_artifact(str(tmp_path / "small.txt"))
    assert repo.read_text("small.txt") == "ok"


def _mount_tmpfs(where: Path) -> bool:
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return False
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(where)], capture_output=True)
    return done.returncode == 0


@pytest.fixture
def tiny_disk(tmp_path):
    where = tmp_path / "tiny"
    if not _mount_tmpfs(where):
        pytest.skip("needs root to mount a 1 MiB tmpfs")
    yield where
    subprocess.run(["umount", "-l", str(where)], capture_output=True)


def test_disk_full_and_read_only_are_507s(tiny_disk, make_app):
    client = TestClient(make_app(artifacts_destination=str(tiny_disk)), raise_server_exceptions=False)
    full = client.put(f"{PROXY}/0/r/artifacts/big.bin", content=os.urandom(2 * 1024 * 1024))
    assert full.status_code == 507, full.text
    assert "no space left on device" in full.json()["message"]
    assert client.put(f"{PROXY}/0/r/artifacts/small.txt", content=b"fits").status_code == 200

    remount = subprocess.run(["mount", "-o", "remount,ro", str(tiny_disk)], capture_output=True)
    if remount.returncode != 0:
        pytest.skip("cannot remount read-only here")
    read_only = client.put(f"{PROXY}/0/r/artifacts/other.txt", content=b"x")
    assert read_only.status_code == 507, read_only.text
    assert "read-only" in read_only.json()["message"]
