"""The web UI: a single-page app served at ``/``, its assets under ``/static/``.

The assets in ``static/`` are built from ``ui/`` at the repository root (``npm ci && npm run build``)
and ship in the package, so the UI needs no Node.js, no CDN and no internet. The app talks to the
server only through the REST API 2.0 (``/api/2.0/mlflow/...``).

```python
from fastapi import FastAPI
from hf_mltrack.server.ui import mount_ui

app = FastAPI()
mount_ui(app)  # GET / -> the app, GET /static/app.js -> an asset
```

Every UI response carries a strict Content-Security-Policy: scripts and styles only from this
origin (no inline script, no ``eval``), no plugins, no framing by other sites.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import mimetypes
import os
import re
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.requests import Request
    from starlette.responses import Response

STATIC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")

#: The policy of every UI response. ``img-src data: blob:`` serves image previews; ``connect-src
#: 'self'`` keeps the app talking to this server only.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
)

#: ``(route path, methods)`` of the UI routes, for access policies (with basic auth they should need a
#: signed-in user, so the browser asks for credentials when the page loads).
UI_ROUTES: tuple[tuple[str, frozenset[str]], ...] = (
    ("/", frozenset({"GET", "HEAD"})),
    ("/static/{asset_path:path}", frozenset({"GET", "HEAD"})),
)

_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".png": "image/png",
    ".woff2": "font/woff2",
}
_COMPRESSIBLE = (".js", ".css", ".html", ".svg", ".json")
#: The build's chunks (``ui/build.mjs``: ``chunk-[name]-[hash].js``), named by their content.
_CHUNK = re.compile(r"chunk-[\w.-]+-[A-Z0-9]{8}\.js")
_IMMUTABLE = "public, max-age=31536000, immutable"


class _Asset:
    __slots__ = ("body", "etag", "gzipped", "media_type", "mtime")

    def __init__(self, body: bytes, mtime: float, media_type: str) -> None:
        self.body = body
        self.mtime = mtime
        self.media_type = media_type
        self.etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        self.gzipped = gzip.compress(body, 6, mtime=0) if len(body) > 1024 else None


class _AssetCache:
    """Reads each asset once (and again when its file changes), with a gzipped copy."""

    def __init__(self, root: str) -> None:
        self.root = os.path.realpath(root)
        self._assets: dict[str, _Asset] = {}
        self._lock = threading.Lock()

    def resolve(self, rel: str) -> str | None:
        """The file of ``rel`` inside the static folder, or `None` (missing, a folder, or outside it)."""
        if not rel or "\\" in rel or "\0" in rel or rel.startswith("/"):
            return None
        parts = rel.split("/")
        if any(p in ("", ".", "..") or p.startswith(".") for p in parts):
            return None
        full = os.path.realpath(os.path.join(self.root, *parts))
        if not full.startswith(self.root + os.sep) or not os.path.isfile(full):
            return None
        return full

    def get(self, rel: str) -> _Asset | None:
        full = self.resolve(rel)
        if full is None:
            return None
        mtime = os.stat(full).st_mtime
        with self._lock:
            asset = self._assets.get(full)
            if asset is not None and asset.mtime == mtime:
                return asset
        ext = os.path.splitext(full)[1].lower()
        media = _TYPES.get(ext) or mimetypes.guess_type(full)[0] or "application/octet-stream"
        with open(full, "rb") as f:
            asset = _Asset(f.read(), mtime, media)
        if ext not in _COMPRESSIBLE:
            asset.gzipped = None
        with self._lock:
            self._assets[full] = asset
        return asset


def _respond(request: Request, asset: _Asset, cache_control: str) -> Response:
    from starlette.responses import Response

    headers = {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "Cache-Control": cache_control,
        "ETag": asset.etag,
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
    }
    if asset.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    body = asset.body
    if asset.gzipped is not None and "gzip" in request.headers.get("accept-encoding", "").lower():
        body = asset.gzipped
        headers["Content-Encoding"] = "gzip"
    if request.method == "HEAD":
        headers["Content-Length"] = str(len(body))
        return Response(status_code=200, headers=headers, media_type=asset.media_type)
    return Response(body, headers=headers, media_type=asset.media_type)


def ui_available(static_dir: str = STATIC_DIR) -> bool:
    """Whether the built assets are present (they are in every release; a bare checkout builds them)."""
    return os.path.isfile(os.path.join(static_dir, "index.html")) and os.path.isfile(os.path.join(static_dir, "app.js"))


def mount_ui(app: FastAPI, static_dir: str = STATIC_DIR) -> None:
    """Serve the web UI from ``app``: ``GET /`` is the app, ``GET /static/<file>`` its assets.

    Assets are revalidated on every load (``ETag``; 304 when unchanged), but for the build's chunks, whose
    names change with their content (cached for a year); all are sent gzipped to browsers that accept
    it. Unknown or unsafe asset paths are 404. Without built assets (a source checkout before
    ``npm run build``) ``/`` explains how to build them.

    Args:
        app (`fastapi.FastAPI`): the tracking server's app.
        static_dir (`str`, *optional*, defaults to the packaged ``static/`` folder): the built assets.
    """
    from starlette.responses import PlainTextResponse

    cache = _AssetCache(static_dir)
    pages: dict[tuple[float, str], _Asset] = {}

    def page_for(asset: _Asset, request: Request) -> _Asset:
        """index.html telling the app whether the server asks for sign-in (so it only then asks who is
        signed in: without auth that probe would be a 404 in the browser's console)."""
        server = getattr(request.app.state, "server", None)
        auth = getattr(getattr(server, "config", None), "auth", None) or ""
        key = (asset.mtime, auth)
        page = pages.get(key)
        if page is None:
            body = asset.body.replace(
                b'<meta name="hf-mltrack-auth" content="" />',
                f'<meta name="hf-mltrack-auth" content="{html.escape(auth)}" />'.encode(),
            )
            page = pages[key] = _Asset(body, asset.mtime, asset.media_type)
        return page

    async def index(request: Request) -> Response:
        asset = cache.get("index.html")
        if asset is None:
            return PlainTextResponse(
                "The hf_mltrack web UI is not built in this checkout: run `npm ci && npm run build` in ui/ "
                "(released packages include it). The REST API is at /api/2.0/mlflow/.",
                status_code=503,
            )
        return _respond(request, page_for(asset, request), "no-cache")

    async def static(request: Request) -> Response:
        asset_path = request.path_params["asset_path"]
        asset = cache.get(asset_path)
        if asset is None:
            return PlainTextResponse(f"No UI asset {asset_path!r}", status_code=404)
        # a chunk's name holds its content's hash (a new build, a new name): cached for good
        return _respond(request, asset, _IMMUTABLE if _CHUNK.fullmatch(asset_path) else "no-cache")

    handlers = {"/": (index, "ui"), "/static/{asset_path:path}": (static, "ui-static")}
    routes = getattr(app.state, "routes", None)  # the server's route table (auth looks routes up there)
    for path, methods in UI_ROUTES:
        endpoint, name = handlers[path]
        # plain Starlette routes: the handlers read the request themselves (no FastAPI parameter parsing)
        app.add_route(path, endpoint, methods=sorted(methods), name=name, include_in_schema=False)
        if routes is not None and hasattr(routes, "add"):
            routes.add(path, set(methods))


__all__ = ["CONTENT_SECURITY_POLICY", "STATIC_DIR", "UI_ROUTES", "mount_ui", "ui_available"]
