"""What the browser tests (and benchmarks/bench_ui.py) share: Chromium and its flags, the page probe, a live
tracking server. A module of its own: ``conftest`` is an ambiguous name when several test folders run
together."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest

#: Debian's Chromium (``apt-get install chromium``), driven by Python Playwright (no ``playwright install``).
CHROMIUM = os.environ.get("HF_MLTRACK_CHROMIUM", "/usr/bin/chromium")
#: Its flags for the tests and benchmarks/bench_ui.py. NO_BROWSER_PRELOAD: Chromium's full headless mode loads
#: its own address-bar popup (chrome://omnibox-popup.top-chrome, a WebUI page in a renderer of its own)
#: into every new window, and each test's fresh browser context is a new window: ~110 ms of the browser
#: process's CPU plus that renderer's, at the same moment as the page under test (traced; on 2 cores the
#: 50-run group chart drew in a median ~300 ms with it, ~200 ms without). A user's browser loads it when
#: a window opens, not for each page of ours.
NO_BROWSER_PRELOAD = "--disable-features=WebUIOmniboxPopup,WebUIOmniboxFullPopup,WebUIOmniboxAimPopup"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-dev-shm-usage",
    NO_BROWSER_PRELOAD,
]

VIEWPORT = {"width": 1400, "height": 900}


class PageProbe:
    """A page plus what it reported: uncaught errors, console errors, dialogs."""

    def __init__(self, page: object) -> None:
        self.page = page
        self.errors: list[str] = []
        self.console_errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("pageerror", lambda e: self.errors.append(str(e)))  # type: ignore[attr-defined]
        page.on("console", self._console)  # type: ignore[attr-defined]
        page.on("dialog", self._dialog)  # type: ignore[attr-defined]

    def _console(self, msg: object) -> None:
        if msg.type != "error":  # type: ignore[attr-defined]
            return
        url = (msg.location or {}).get("url", "")  # type: ignore[attr-defined]
        self.console_errors.append(f"{msg.text} ({url})")  # type: ignore[attr-defined]

    def _dialog(self, dialog: object) -> None:
        self.dialogs.append(dialog.message)  # type: ignore[attr-defined]
        dialog.dismiss()  # type: ignore[attr-defined]

    def assert_clean(self) -> None:
        assert not self.errors, f"uncaught page errors: {self.errors}"
        assert not self.console_errors, f"console errors: {self.console_errors}"
        assert not self.dialogs, f"dialogs opened: {self.dialogs}"


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
