"""Tracking stores by URI scheme (dotted paths, imported on use), one store per URI."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..utils.plugins import SchemeRegistry

if TYPE_CHECKING:
    from .base import AbstractStore

_SQL = "hf_mltrack.store.sql.tracking_store:SqlTrackingStore"
_REST = "hf_mltrack.store.rest:RestStore"
_STORES: SchemeRegistry[AbstractStore] = SchemeRegistry(
    "tracking store",
    {"sqlite": _SQL, "postgresql": _SQL, "postgres": _SQL, "mysql": _SQL, "http": _REST, "https": _REST},
    "hf_mltrack.store.register_tracking_store",
)
_CACHE = _STORES.cache


def register_tracking_store(scheme: str, dotted_path: str) -> None:
    """Plug in a store for a URI scheme, e.g. ``register_tracking_store("mystore", "pkg.mod:Cls")``."""
    _STORES.register(scheme, dotted_path)


def get_tracking_store(store_uri: str) -> AbstractStore:
    """The store for a resolved tracking URI (one instance per URI per process)."""
    return _STORES.get(store_uri)


def _clear_cache() -> None:
    _STORES.clear()
