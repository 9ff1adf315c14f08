"""Store registry: URI scheme -> store class (dotted path, imported on use)."""

from __future__ import annotations

import importlib
import threading
from typing import TYPE_CHECKING

from ..exceptions import InvalidParameterError

if TYPE_CHECKING:
    from .base import AbstractStore

_TRACKING_STORES: dict[str, str] = {
    "sqlite": "hf_mltrack.store.sql.tracking_store:SqlTrackingStore",
    "postgresql": "hf_mltrack.store.sql.tracking_store:SqlTrackingStore",
    "postgres": "hf_mltrack.store.sql.tracking_store:SqlTrackingStore",
    "mysql": "hf_mltrack.store.sql.tracking_store:SqlTrackingStore",
    "http": "hf_mltrack.store.rest:RestStore",
    "https": "hf_mltrack.store.rest:RestStore",
}

_CACHE: dict[str, AbstractStore] = {}
_LOCK = threading.Lock()


def register_tracking_store(scheme: str, dotted_path: str) -> None:
    """Plug in a store for a URI scheme, e.g. ``register_tracking_store("mystore", "pkg.mod:Cls")``."""
    _TRACKING_STORES[scheme] = dotted_path


def _scheme(uri: str) -> str:
    return uri.split("://", 1)[0].split("+", 1)[0].lower() if "://" in uri else ""


def get_tracking_store(store_uri: str) -> AbstractStore:
    """The store for a resolved tracking URI (one instance per URI per process)."""
    store = _CACHE.get(store_uri)
    if store is not None:
        return store
    scheme = _scheme(store_uri)
    if scheme not in _TRACKING_STORES:
        raise InvalidParameterError(
            f"No tracking store for URI scheme {scheme!r} in {store_uri!r}: use one of "
            f"{', '.join(sorted(_TRACKING_STORES))}"
        )
    module_name, attr = _TRACKING_STORES[scheme].split(":")
    cls = getattr(importlib.import_module(module_name), attr)
    with _LOCK:
        store = _CACHE.get(store_uri)
        if store is None:
            store = cls(store_uri)
            _CACHE[store_uri] = store
    return store


def _clear_cache() -> None:
    _CACHE.clear()
