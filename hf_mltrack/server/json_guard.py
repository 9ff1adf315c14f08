"""Refuse JSON request bodies that no handler should parse: too deeply nested, or with lone surrogates.

Python's ``json`` parses ``[[[[...]]]]`` a thousand levels deep into a `RecursionError`, and a lone
surrogate escape (``"\\ud800"``) into a `str` that neither the database driver nor the JSON encoder can
write back: both were opaque 500s. This ASGI middleware reads each JSON body of an API request once,
checks it with a fast scan of the raw bytes, and answers 400 naming the field (found by a slower walk
only when the scan finds something) before any handler or auth check parses it. No JSON body MLflow's
API defines nests deeper than ~10 levels; `MAX_JSON_DEPTH` leaves room for trace payloads.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._json import dumps

#: Deepest nesting of arrays and objects accepted in a request body.
MAX_JSON_DEPTH = 64

_ESCAPED = re.compile(rb"\\.", re.DOTALL)
_PAIR = re.compile(rb"\[\]|\{\}")
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'[]{}"')
_SURROGATE_ESCAPE = re.compile(rb"\\+u[dD][89a-fA-F][0-9a-fA-F]{2}")
_HIGH = re.compile(rb"[dD][89abAB]")


def json_depth_exceeds(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the JSON text ``body`` nests arrays/objects deeper than ``limit`` (strings skipped).

    Kept cheap for the hot log-batch path (1000 metrics: ~30 microseconds): escape sequences are cut
    out (so every quote left opens or closes a string), everything but brackets and quotes is dropped
    in C, strings are cut out, then innermost ``[]``/``{}`` pairs are removed one level per pass; a
    body still holding brackets after ``limit`` passes is deeper.
    """
    skeleton = body.translate(None, _NOT_STRUCTURE)
    if skeleton.count(b"[") + skeleton.count(b"{") <= limit:  # cannot nest deeper than it has brackets
        return False
    if b"\\" in body:  # \" \\ \n ...: cut out, else an escaped quote would end its string
        skeleton = _ESCAPED.sub(b"", body).translate(None, _NOT_STRUCTURE)
    # Adjacent quotes are an empty string or the end of one and the start of the next: dropping them
    # never drops anything outside a string (and leaves the rest paired). Most strings hold no bracket,
    # so this is all it takes; the others are cut out by splitting at the quotes.
    skeleton = skeleton.replace(b'""', b"")
    if b'"' in skeleton:
        skeleton = b"".join(skeleton.split(b'"')[::2])  # outside strings only
    passes = 0
    while skeleton and passes < limit:
        reduced = _PAIR.sub(b"", skeleton)
        if reduced == skeleton:  # unbalanced (invalid JSON): count what is left exactly
            break
        skeleton = reduced
        passes += 1
    depth = deepest = 0
    for byte in skeleton:
        depth += 1 if byte in (0x5B, 0x7B) else -1
        deepest = max(deepest, depth)
    return passes + deepest > limit


def has_lone_surrogate(body: bytes) -> bool:
    """Whether the JSON text ``body`` escapes a UTF-16 surrogate that is not half of a valid pair."""
    if b"\\" not in body:  # one byte: a memchr scan
        return False
    pending_high = -1  # end offset of an unpaired high surrogate escape
    for match in _SURROGATE_ESCAPE.finditer(body):
        text = match.group()
        backslashes = len(text) - 5
        if backslashes % 2 == 0:  # "\\ud800" is an escaped backslash followed by plain text
            continue
        is_high = _HIGH.fullmatch(text[-4:-2]) is not None
        if pending_high >= 0:
            if is_high or match.start() + backslashes - 1 != pending_high:
                return True  # the previous high surrogate was not followed by its low half
            pending_high = -1
        elif is_high:
            pending_high = match.end()
        else:
            return True  # a low surrogate with no high one before it
    return pending_high >= 0


def _path(trail: list[Any]) -> str:
    out = ""
    for part in trail:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "the body"


def _find(value: Any, trail: list[Any], predicate: Any) -> str | None:
    """The path of the first place in ``value`` where ``predicate(value, depth)`` holds."""
    if predicate(value, len(trail)):
        return _path(trail)
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        if isinstance(key, str) and predicate(key, len(trail) + 1):
            return _path([*trail, key])
        found = _find(item, [*trail, key], predicate)
        if found is not None:
            return found
    return None


def _is_lone_surrogate_text(value: Any, depth: int) -> bool:
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def describe_problem(body: bytes) -> str | None:
    """A 400 message for a body that is too deep or holds a lone surrogate; `None` if it has neither."""
    if json_depth_exceeds(body):
        where = ""
        try:
            parsed = json.loads(body)
        except (ValueError, RecursionError):
            parsed = None
        if parsed is not None:
            field = _find(parsed, [], lambda v, d: d >= MAX_JSON_DEPTH and isinstance(v, (dict, list)) and bool(v))
            where = f" (at {field})" if field else ""
        return f"Invalid request body: JSON nested deeper than {MAX_JSON_DEPTH} levels{where}"
    if has_lone_surrogate(body):
        try:
            field = _find(json.loads(body), [], _is_lone_surrogate_text)
        except (ValueError, RecursionError):
            field = None
        return (
            f"Invalid value of {field or 'a string'}: it contains a lone UTF-16 surrogate (\\ud800-\\udfff "
            "not part of a pair), which is not valid Unicode text"
        )
    return None


def _is_json(content_type: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


class JsonGuardMiddleware:
    """See the module docstring; wraps the app below the size caps of `SecurityMiddleware`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] in ("GET", "HEAD", "OPTIONS")
            or not scope["path"].startswith(("/api/", "/ajax-api/", "/v1/"))
            or not _is_json(Headers(scope=scope).get("content-type"))
        ):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                await self.app(scope, _replay([message]), send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        problem = describe_problem(body)
        if problem is not None:
            payload = dumps({"error_code": "INVALID_PARAMETER_VALUE", "message": problem})
            await send(
                {
                    "type": "http.response.start",
                    "status": 400,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(payload)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": payload})
            return
        await self.app(scope, _replay([{"type": "http.request", "body": body, "more_body": False}], receive), send)


def _replay(messages: list[Message], then: Receive | None = None) -> Receive:
    """A ``receive`` that hands out ``messages`` first, then defers to ``then`` (disconnects)."""
    queue = list(messages)

    async def receive() -> Message:
        if queue:
            return queue.pop(0)
        if then is not None:
            return await then()
        return {"type": "http.disconnect"}

    return receive
