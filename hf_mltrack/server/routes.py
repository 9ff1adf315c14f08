"""The table of every route the app serves: full path template, methods, and a matcher.

Built while `create_app` includes the routers, independently of how FastAPI stores included routers,
so that the auth middleware can look up a request's route (and its policy) before any handler runs,
and a test can check that every route has a policy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from re import Pattern
from typing import Any

from starlette.routing import compile_path


@dataclass(frozen=True)
class RouteEntry:
    path: str
    methods: frozenset[str]
    regex: Pattern[str] = field(compare=False)
    convertors: dict[str, Any] = field(compare=False)


class RouteTable:
    """Routes by full path template (``/api/2.0/mlflow/runs/get``, ``.../artifacts/{artifact_path:path}``)."""

    def __init__(self) -> None:
        self.entries: list[RouteEntry] = []
        # Paths without parameters, for a dict lookup before the regex scan (every request is matched).
        self._static: dict[str, list[RouteEntry]] = {}

    def add(self, path: str, methods: set[str] | frozenset[str]) -> None:
        regex, _, convertors = compile_path(path)
        entry = RouteEntry(path, frozenset(m.upper() for m in methods), regex, convertors)
        # A static path is looked up directly only if no earlier parameterized route (which Starlette
        # would try first) also matches it.
        if not convertors and not any(e.convertors and e.regex.match(path) for e in self.entries):
            self._static.setdefault(path, []).append(entry)
        self.entries.append(entry)

    def add_router(self, router: Any, prefix: str = "") -> None:
        """Register every route of an `APIRouter` included under ``prefix``."""
        for route in router.routes:
            path = getattr(route, "path", None)
            methods = getattr(route, "methods", None)
            if path is None or not methods:
                raise TypeError(f"Cannot register {route!r}: include plain routes only (no nested routers)")
            self.add(prefix + path, methods)

    def match(self, method: str, path: str) -> tuple[RouteEntry | None, dict[str, Any], bool]:
        """(entry, path params, method allowed) of the first entry whose template matches ``path``."""
        found: tuple[RouteEntry | None, dict[str, Any], bool] = (None, {}, False)
        static = self._static.get(path)
        if static is not None:
            for entry in static:
                if method in entry.methods or (method == "HEAD" and "GET" in entry.methods):
                    return entry, {}, True
            found = (static[0], {}, False)
        for entry in self.entries:
            m = entry.regex.match(path)
            if m is None:
                continue
            params = {k: entry.convertors[k].convert(v) for k, v in m.groupdict().items()}
            if method in entry.methods or (method == "HEAD" and "GET" in entry.methods):
                return entry, params, True
            if found[0] is None:
                found = (entry, params, False)
        return found

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.entries)
