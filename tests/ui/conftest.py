"""Fixtures of the browser tests: a real server on a loopback port, seeded data, headless Chromium.

Chromium is Debian's (``apt-get install chromium``, ``/usr/bin/chromium``) driven by Python Playwright;
``playwright install`` is never needed. Tests skip with the reason when either is missing.
Screenshots go to ``$HF_MLTRACK_UI_SCREENSHOTS`` (default: a folder under pytest's temp dir).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from ui_live import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, LiveServer, PageProbe, make_app


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.skip(f"Chromium not found at {CHROMIUM}: apt-get install -y chromium")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (no `playwright install`)")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = Path(os.environ.get("HF_MLTRACK_UI_SCREENSHOTS") or tmp_path_factory.mktemp("ui-screenshots"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory, browser: object) -> Iterator[object]:
    """A live server with the seed data of `seed_ui` (shared by a test module; tests only add to it)."""
    import seed_ui

    root = tmp_path_factory.mktemp("ui-server")
    server = LiveServer(make_app(root)).start()
    try:
        data = seed_ui.seed(server.url)
        yield data
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def open_page(
    browser: object, screenshot_dir: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[..., PageProbe]]:
    """``open_page(url, credentials=None)``: a fresh browser context and page, checked for errors."""
    contexts: list[object] = []
    probes: list[PageProbe] = []

    def factory(url: str | None = None, credentials: dict[str, str] | None = None) -> PageProbe:
        ctx = browser.new_context(viewport=VIEWPORT, http_credentials=credentials)  # type: ignore[attr-defined]
        ctx.set_default_timeout(10_000)
        contexts.append(ctx)
        probe = PageProbe(ctx.new_page())
        probes.append(probe)
        if url:
            probe.page.goto(url)  # type: ignore[attr-defined]
        return probe

    yield factory
    for i, probe in enumerate(probes):
        try:
            probe.page.screenshot(path=str(screenshot_dir / f"{request.node.name}-{i}.png"))  # type: ignore[attr-defined]
        except Exception:  # a closed page has nothing to show
            pass
    for ctx in contexts:
        ctx.close()  # type: ignore[attr-defined]
