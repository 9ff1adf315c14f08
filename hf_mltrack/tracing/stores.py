"""Trace store registry: URI scheme -> store class (dotted path, imported on use), one store per URI."""

from __future__ import annotations

import importlib
import threading
from typing import TYPE_CHECKING

from ..exceptions import InvalidParameterError

if TYPE_CHECKING:
    from .base import AbstractTraceStore

_SQL = "hf_mltrack.store.sql.trace_store:SqlTraceStore"
_REST = "hf_mltrack.tracing.rest_store:RestTraceStore"
_TRACE_STORES: dict[str, str] = {
    "sqlite": _SQL,
    "postgresql": _SQL,
    "postgres": _SQL,
    "mysql": _SQL,
    "http": _REST,
    "https": _REST,
}

_CACHE: dict[str, AbstractTraceStore] = {}
_LOCK = threading.Lock()


def register_trace_store(scheme: str, dotted_path: str) -> None:
    """Plug in a trace store for a URI scheme, e.g. ``register_trace_store("mystore", "pkg.mod:Cls")``.

    The class is built with the tracking URI as its only argument.
    """
    _TRACE_STORES[scheme] = dotted_path
    for uri in [u for u in _CACHE if _scheme(u) == scheme]:
        _CACHE.pop(uri, None)


def _scheme(uri: str) -> str:
    return uri.split("://", 1)[0].split("+", 1)[0].lower() if "://" in uri else ""


def get_trace_store(tracking_uri: str) -> AbstractTraceStore:
    """The trace store of a resolved tracking URI (one instance per URI per process)."""
    store = _CACHE.get(tracking_uri)
    if store is not None:
        return store
    scheme = _scheme(tracking_uri)
    if scheme not in _TRACE_STORES:
        raise InvalidParameterError(
            f"No trace store for URI scheme {scheme!r} in {tracking_uri!r}: use one of "
            f"{', '.join(sorted(_TRACE_STORES))} (or plug one in with "
            "hf_mltrack.tracing.stores.register_trace_store)"
        )
    module_name, attr = _TRACE_STORES[scheme].split(":")
    cls = getattr(importlib.import_module(module_name), attr)
    with _LOCK:
        store = _CACHE.get(tracking_uri)
        if store is None:
            store = cls(tracking_uri)
            _CACHE[tracking_uri] = store
    return store


def _clear_cache() -> None:
    _CACHE.clear()
