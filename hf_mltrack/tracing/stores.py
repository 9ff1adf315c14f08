"""Trace store registry: URI scheme -> store class (dotted path, imported on use), one store per URI."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..utils.plugins import SchemeRegistry

if TYPE_CHECKING:
    from .base import AbstractTraceStore

_SQL = "hf_mltrack.store.sql.trace_store:SqlTraceStore"
_REST = "hf_mltrack.tracing.rest_store:RestTraceStore"
_STORES: SchemeRegistry[AbstractTraceStore] = SchemeRegistry(
    "trace store",
    {"sqlite": _SQL, "postgresql": _SQL, "postgres": _SQL, "mysql": _SQL, "http": _REST, "https": _REST},
    "hf_mltrack.tracing.stores.register_trace_store",
)
_CACHE = _STORES.cache


def register_trace_store(scheme: str, dotted_path: str) -> None:
    """Plug in a trace store for a URI scheme, e.g. ``register_trace_store("mystore", "pkg.mod:Cls")``.

    The class is built with the tracking URI as its only argument.
    """
    _STORES.register(scheme, dotted_path)


def get_trace_store(tracking_uri: str) -> AbstractTraceStore:
    """The trace store of a resolved tracking URI (one instance per URI per process)."""
    return _STORES.get(tracking_uri)


def _clear_cache() -> None:
    _STORES.clear()
