"""Fixtures of the server tests: in-process apps (TestClient) and real servers on loopback ports."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

ADMIN_PASSWORD = "admin-password-123"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerThread:
    """A uvicorn server running an app in a background thread of this process."""

    def __init__(self, app: object, port: int | None = None) -> None:
        import uvicorn

        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="error", lifespan="off")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class ServerProcess:
    """``python -m hf_mltrack.cli.server`` in a subprocess (can be killed with SIGKILL and restarted)."""

    def __init__(
        self,
        args: list[str],
        port: int | None = None,
        env: dict[str, str] | None = None,
        launcher: list[str] | None = None,
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.args = args
        self.env = {**os.environ, **(env or {})}
        # what runs the server module; a test may wrap it (e.g. a script that sets resource limits first)
        self.launcher = launcher or [sys.executable, "-m", "hf_mltrack.cli.server"]
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> ServerProcess:
        import httpx

        cmd = [*self.launcher, "--port", str(self.port), *self.args]
        # its own process group: `kill` also reaches the workers of ``--workers N``
        self.proc = subprocess.Popen(
            cmd, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError("the server subprocess did not become healthy")

    def kill(self) -> None:
        """SIGKILL the server and its worker processes."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):  # the whole group has exited already
            pass
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def db_uri(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'server' / 'mltrack.db'}"


@pytest.fixture
def make_app(tmp_path: Path, db_uri: str) -> Callable[..., object]:
    """``make_app(**create_app_kwargs)``: an app on this test's database (Host ``testserver`` allowed)."""
    from hf_mltrack.server import create_app

    def factory(**kwargs: object) -> object:
        kwargs.setdefault("artifacts_destination", str(tmp_path / "mlartifacts"))
        kwargs.setdefault("allowed_hosts", ["testserver"])
        return create_app(db_uri, **kwargs)

    return factory


@pytest.fixture
def api(make_app: Callable[..., object]):
    """A TestClient on a fresh server without auth."""
    from fastapi.testclient import TestClient

    with TestClient(make_app()) as client:
        yield client


@pytest.fixture
def live_server(make_app: Callable[..., object]) -> Iterator[ServerThread]:
    """A real uvicorn server on a free loopback port (in a thread)."""
    server = ServerThread(make_app()).start()
    yield server
    server.stop()


@pytest.fixture
def server_thread() -> Iterator[Callable[..., ServerThread]]:
    """``server_thread(app, port=None)``: start a real server for any ASGI app; stopped after the test."""
    started: list[ServerThread] = []

    def start(app: object, port: int | None = None) -> ServerThread:
        server = ServerThread(app, port).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def server_process(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """``server_process(args, port=None, env=None, launcher=None)``: ``hf-mltrack server`` in a subprocess
    (killed after)."""
    started: list[ServerProcess] = []

    def start(
        args: list[str], port: int | None = None, env: dict[str, str] | None = None, launcher: list[str] | None = None
    ) -> ServerProcess:
        proc = ServerProcess(args, port, env, launcher).start()
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.kill()


@pytest.fixture
def remote(live_server: ServerThread) -> str:
    """The live server's URL, set as the current tracking URI."""
    import hf_mltrack

    hf_mltrack.set_tracking_uri(live_server.url)
    return live_server.url
