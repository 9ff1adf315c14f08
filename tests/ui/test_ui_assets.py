"""The UI's packaged assets and how the server serves them (no browser needed)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

pytest.importorskip("fastapi")

from hf_mltrack.server.ui import CONTENT_SECURITY_POLICY, STATIC_DIR, mount_ui, ui_available  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
UI_SRC = REPO / "ui"


def _sources_hash() -> str:
    """The same hash as ui/build.mjs: every source file, in sorted order, path and content."""
    files = ["build.mjs", "index.html", "package-lock.json", "package.json", "tsconfig.json"]
    files += [p.relative_to(UI_SRC).as_posix() for p in (UI_SRC / "src").rglob("*") if p.is_file()]
    h = hashlib.sha256()
    for rel in sorted(files):
        h.update(rel.encode())
        h.update(b"\0")
        h.update((UI_SRC / rel).read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def test_built_assets_are_packaged_and_current():
    assert ui_available(), "hf_mltrack/server/ui/static/ lacks index.html/app.js: run `npm ci && npm run build` in ui/"
    if not (UI_SRC / "src").is_dir():
        pytest.skip("no ui/ sources here (an installed package)")
    info = json.loads((Path(STATIC_DIR) / "build-info.json").read_text())
    assert info["sources_sha256"] == _sources_hash(), (
        "the committed UI build is older than ui/ sources: run `npm ci && npm run build` in ui/ and commit "
        "hf_mltrack/server/ui/static/"
    )


def test_assets_are_offline_and_csp_friendly():
    index = (Path(STATIC_DIR) / "index.html").read_text()
    # no inline script or style, nothing from another origin
    assert re.findall(r"<script\b[^>]*>", index) == ['<script type="module" src="static/app.js">']
    assert "<style" not in index and " style=" not in index
    assert not re.search(r"(src|href)=\"(https?:)?//", index)
    scripts = sorted(Path(STATIC_DIR).glob("*.js"))
    assert [p.name for p in scripts if p.name.startswith("chunk-uPlot")], "uPlot is a chunk of its own (loaded on use)"
    for script in scripts:  # app.js and the chunks it imports
        bundle = script.read_text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
            assert sink not in bundle, f"the UI bundle {script.name} uses {sink}"
        for name in re.findall(r"""import\(["']\./([^"']+)["']\)""", bundle):
            assert (Path(STATIC_DIR) / name).is_file(), f"{script.name} imports {name}, which the build lacks"
    # the page preloads exactly the chunks of this build (fetched while the app starts, not when first used)
    preloaded = re.findall(r'<link rel="modulepreload" href="static/([^"]+)" />', index)
    assert sorted(preloaded) == sorted(p.name for p in scripts if p.name.startswith("chunk-"))
    css = (Path(STATIC_DIR) / "app.css").read_text()
    assert "@import" not in css and "url(http" not in css


@pytest.fixture
def ui_client(tmp_path):
    from fastapi.testclient import TestClient

    from hf_mltrack.server import create_app

    app = create_app(
        f"sqlite:///{tmp_path / 'mltrack.db'}",
        artifacts_destination=str(tmp_path / "art"),
        allowed_hosts=["testserver"],
    )
    with TestClient(app) as client:
        yield client


def test_create_app_serves_the_ui(ui_client):
    r = ui_client.get("/")
    assert r.status_code == 200, "create_app must call hf_mltrack.server.ui.mount_ui(app)"
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY and "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert r.headers["x-content-type-options"] == "nosniff"
    assert 'id="app"' in r.text

    js = ui_client.get("/static/app.js", headers={"Accept-Encoding": "gzip"})
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert js.headers["content-encoding"] == "gzip"
    assert js.content == (Path(STATIC_DIR) / "app.js").read_bytes()  # httpx decodes it
    again = ui_client.get("/static/app.js", headers={"If-None-Match": js.headers["etag"]})
    assert again.status_code == 304
    assert ui_client.head("/static/app.css").status_code == 200
    assert js.headers["cache-control"] == "no-cache"  # the entry keeps its name: revalidated
    chunk = next(p.name for p in Path(STATIC_DIR).glob("chunk-*.js"))  # named by its content: kept
    assert ui_client.get(f"/static/{chunk}").headers["cache-control"] == "public, max-age=31536000, immutable"
    # the REST API is still the API
    assert ui_client.get("/api/2.0/mlflow/experiments/search").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/static/../__init__.py",
        "/static/%2e%2e/__init__.py",
        "/static/.hidden",
        "/static/nope.js",
        "/static/",
    ],
    ids=["dotdot", "encoded-dotdot", "hidden", "missing", "folder"],
)
def test_static_refuses_paths_outside_the_assets(ui_client, path):
    r = ui_client.get(path)
    assert r.status_code == 404
    assert "from __future__" not in r.text  # no source file leaks


def test_mount_ui_without_built_assets_explains_the_build(tmp_path):
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    app = FastAPI()
    mount_ui(app, static_dir=str(tmp_path))
    r = TestClient(app).get("/")
    assert r.status_code == 503 and "npm run build" in r.text
