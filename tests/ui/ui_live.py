"""A live tracking server for the browser tests (a module of its own: ``conftest`` is an ambiguous name
when several test folders run together)."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """A uvicorn server running an app in a background thread of this process."""

    def __init__(self, app: object) -> None:
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="error", lifespan="off")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the UI test server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def make_app(root: Path, **kwargs: object) -> object:
    """The tracking server's app on a fresh SQLite store, with the UI mounted."""
    pytest.importorskip("fastapi")
    pytest.importorskip("uvicorn")
    from hf_mltrack.server import create_app
    from hf_mltrack.server.ui import mount_ui, ui_available

    if not ui_available():
        pytest.skip("the UI assets are not built: run `npm ci && npm run build` in ui/")
    root.mkdir(parents=True, exist_ok=True)
    app = create_app(f"sqlite:///{root / 'mltrack.db'}", artifacts_destination=str(root / "mlartifacts"), **kwargs)
    if not any(getattr(r, "name", None) == "ui" for r in app.routes):  # type: ignore[attr-defined]
        mount_ui(app)  # create_app does not mount it (yet): test the UI anyway; test_ui_assets flags it
    return app
