"""Request hardening, as one ASGI middleware in front of everything else.

In order, for each HTTP request:

1. ``Host`` allow-list (DNS rebinding): loopback names plus ``allowed_hosts``; anything else is 400.
2. ``Origin`` check for state-changing methods: a browser request from another origin that CORS does
   not allow is 403 before any handler runs.
   Then a path with repeated slashes (``//model-versions/get-artifact``) is redirected (308, method and
   body kept) to the path with them merged, as MLflow's server (werkzeug) does; an artifact path inside
   the proxy is left as sent, for its own checks.
3. JSON-only bodies (CSRF): ``POST``/``PATCH`` (and ``PUT``/``DELETE`` with a body) to API endpoints must
   be ``application/json``; ``text/plain`` and form posts, which browsers send cross-origin without a
   preflight, get 415 and change nothing. Artifact uploads (binary ``PUT``) are exempt: ``PUT`` always
   needs a preflight.
4. Body size caps: ``Content-Length`` over the limit is 413 up front; chunked bodies are counted.
5. Security headers on every response.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from urllib.parse import urlsplit

from fastapi import HTTPException
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._json import dumps

_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_ARTIFACT_PROXY = ("/api/2.0/mlflow-artifacts/", "/ajax-api/2.0/mlflow-artifacts/")

SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"SAMEORIGIN"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a streamed body passes its cap; handlers turn it into a 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"Request body exceeds {limit} bytes")


def host_allowed(host_header: str, patterns: Iterable[str]) -> bool:
    """Whether a ``Host`` header (port and IPv6 brackets stripped) matches an allowed name."""
    host = host_header.strip().lower()
    if host.startswith("["):
        host = host[1:].split("]", 1)[0]
    elif host.count(":") == 1:
        host = host.rsplit(":", 1)[0]
    if not host:
        return False
    for pattern in patterns:
        p = pattern.strip().lower()
        if p.startswith("[") and p.endswith("]"):
            p = p[1:-1]
        if p == "*" or p == host:
            return True
        if p.startswith("*.") and (host.endswith(p[1:]) or fnmatch.fnmatchcase(host, p)):
            return True
    return False


# MLflow's ``upload-artifact`` takes the file as the raw body. Browsers send a body cross-origin without a
# preflight only as text/plain or a form: those are refused; no Content-Type or a binary type is accepted.
_RAW_UPLOAD = "/mlflow/upload-artifact"
_SIMPLE_TYPES = frozenset({"text/plain", "application/x-www-form-urlencoded", "multipart/form-data"})


def _is_browser_simple(content_type: str | None) -> bool:
    if not content_type:
        return False
    return content_type.split(";", 1)[0].strip().lower() in _SIMPLE_TYPES


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


class SecurityMiddleware:
    """See the module docstring.

    Args:
        app: the wrapped ASGI app.
        allowed_hosts (`Iterable[str]`): accepted host names (loopback names are added by the caller).
        cors_allowed_origins (`Iterable[str]`): origins allowed to make cross-origin writes.
        max_request_bytes (`int`): cap on API request bodies.
        max_artifact_bytes (`int`, *optional*): cap on artifact uploads; `None` for no cap.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        allowed_hosts: Iterable[str],
        cors_allowed_origins: Iterable[str] = (),
        max_request_bytes: int,
        max_artifact_bytes: int | None = None,
    ) -> None:
        self.app = app
        self.allowed_hosts = tuple(allowed_hosts)
        self.cors_allowed_origins = frozenset(o.rstrip("/").lower() for o in cors_allowed_origins)
        self.max_request_bytes = max_request_bytes
        self.max_artifact_bytes = max_artifact_bytes

    async def _reject(self, send: Send, status: int, code: str, message: str) -> None:
        body = dumps({"error_code": code, "message": message})
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    *SECURITY_HEADERS,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _merge_slashes(self, scope: Scope, send: Send) -> bool:
        """308 to the same request target with repeated slashes merged; whether it was sent.

        Only the raw (still percent-encoded) path is merged, so no decoded character reaches the header,
        and only when the raw path itself repeats a slash (``%2F`` is left to the app: a redirect could
        not change it). The target must start with one ``/`` followed by neither ``/`` nor ``\\`` (a
        browser reads ``//host`` and ``/\\host`` as another site) and differ from the request (no loop).
        """
        raw: bytes = scope.get("raw_path") or scope["path"].encode("utf-8")
        raw = raw.split(b"?", 1)[0]
        if b"//" not in raw:
            return False
        merged = raw
        while b"//" in merged:
            merged = merged.replace(b"//", b"/")
        if merged == raw or not merged.startswith(b"/") or merged[1:2] in (b"/", b"\\"):
            return False
        query: bytes = scope.get("query_string") or b""
        location = merged + (b"?" + query if query else b"")
        await send(
            {
                "type": "http.response.start",
                "status": 308,
                "headers": [(b"location", location), (b"content-length", b"0"), *SECURITY_HEADERS],
            }
        )
        await send({"type": "http.response.body", "body": b""})
        return True

    def _origin_allowed(self, origin: str, host: str) -> bool:
        origin = origin.rstrip("/").lower()
        if origin in self.cors_allowed_origins or "*" in self.cors_allowed_origins:
            return True
        if origin == "null":
            return False
        return urlsplit(origin).netloc == host.strip().lower()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        method = scope["method"]
        path: str = scope["path"]
        host = headers.get("host", "")
        if not host_allowed(host, self.allowed_hosts):
            await self._reject(
                send,
                400,
                "BAD_REQUEST",
                f"Host {host!r} is not allowed. Start the server with --allowed-hosts "
                f"{host.split(':')[0] or 'NAME'} "
                "to accept it",
            )
            return
        if method in _UNSAFE:
            origin = headers.get("origin")
            if origin is not None and not self._origin_allowed(origin, host):
                await self._reject(
                    send,
                    403,
                    "PERMISSION_DENIED",
                    f"Cross-origin request from {origin!r} refused. Allow it with --cors-allowed-origins {origin}",
                )
                return
        if "\\" in path:  # raw or %5C: no route has one, and a browser reads it as "/"
            await self._reject(
                send, 400, "BAD_REQUEST", f"Invalid path {path[:200]!r}: a backslash (\\ or %5C) is not allowed"
            )
            return
        is_artifact = path.startswith(_ARTIFACT_PROXY)
        if "//" in path and not is_artifact and await self._merge_slashes(scope, send):
            return
        is_api = path.startswith(("/api/", "/ajax-api/"))
        content_length = headers.get("content-length")
        has_body = (content_length not in (None, "0")) or "chunked" in headers.get("transfer-encoding", "").lower()
        needs_json = method in ("POST", "PATCH") or (method in ("PUT", "DELETE") and has_body)
        if (
            is_api
            and needs_json
            and not (is_artifact and method == "PUT")
            and not _is_json(headers.get("content-type"))
            and not (path.endswith(_RAW_UPLOAD) and not _is_browser_simple(headers.get("content-type")))
        ):
            await self._reject(
                send,
                415,
                "BAD_REQUEST",
                f"{method} {path} needs a JSON body with 'Content-Type: application/json', "
                f"got {headers.get('content-type')!r}",
            )
            return
        limit = self.max_artifact_bytes if is_artifact else self.max_request_bytes
        if limit is not None and content_length is not None:
            try:
                too_large = int(content_length) > limit
            except ValueError:
                await self._reject(send, 400, "BAD_REQUEST", f"Invalid Content-Length {content_length!r}")
                return
            if too_large:
                await self._reject(
                    send,
                    413,
                    "INVALID_PARAMETER_VALUE",
                    f"Request body of {content_length} bytes exceeds {limit} bytes",
                )
                return

        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                existing = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in existing]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        if limit is None:
            await self.app(scope, receive, send_with_headers)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:  # type: ignore[operator]
                    raise BodyTooLarge(limit)  # type: ignore[arg-type]
            return message

        try:
            await self.app(scope, counting_receive, send_with_headers)
        except BodyTooLarge:
            if not started:
                await self._reject(send, 413, "INVALID_PARAMETER_VALUE", f"Request body exceeds {limit} bytes")
