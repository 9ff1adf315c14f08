"""Registry store registry: URI scheme -> store class (dotted path, imported on use), one store per URI."""

from __future__ import annotations

import importlib
import threading
from typing import TYPE_CHECKING

from ..exceptions import InvalidParameterError

if TYPE_CHECKING:
    from .base import AbstractRegistryStore

_SQL = "hf_mltrack.store.sql.registry_store:SqlRegistryStore"
_REST = "hf_mltrack.store.rest_registry:RestRegistryStore"
_REGISTRY_STORES: dict[str, str] = {
    "sqlite": _SQL,
    "postgresql": _SQL,
    "postgres": _SQL,
    "mysql": _SQL,
    "http": _REST,
    "https": _REST,
}

_CACHE: dict[str, AbstractRegistryStore] = {}
_LOCK = threading.Lock()


def register_registry_store(scheme: str, dotted_path: str) -> None:
    """Plug in a registry store for a URI scheme, e.g. ``register_registry_store("http", "pkg.mod:Cls")``.

    The class is built with the resolved registry URI as its only argument.
    """
    _REGISTRY_STORES[scheme] = dotted_path
    for uri in [u for u in _CACHE if _scheme(u) == scheme]:
        _CACHE.pop(uri, None)


def _scheme(uri: str) -> str:
    return uri.split("://", 1)[0].split("+", 1)[0].lower() if "://" in uri else ""


def get_registry_store(registry_uri: str | None = None) -> AbstractRegistryStore:
    """The registry store for a registry URI (one instance per URI per process).

    Args:
        registry_uri (`str`, *optional*): a folder, ``sqlite:///file.db`` or ``postgresql://...``;
            defaults to the current registry URI (``set_registry_uri``, ``HF_MLTRACK_REGISTRY_URI``,
            then the tracking URI).
    """
    from ..tracking._uri import resolve_tracking_uri

    if registry_uri is None:
        from .fluent import get_registry_uri

        registry_uri = get_registry_uri()
    uri = resolve_tracking_uri(registry_uri)
    store = _CACHE.get(uri)
    if store is not None:
        return store
    scheme = _scheme(uri)
    if scheme not in _REGISTRY_STORES:
        raise InvalidParameterError(
            f"No model registry store for URI scheme {scheme!r} in {uri!r}: use one of "
            f"{', '.join(sorted(_REGISTRY_STORES))} (a server's registry is plugged in with "
            "hf_mltrack.registry.stores.register_registry_store)"
        )
    module_name, attr = _REGISTRY_STORES[scheme].split(":")
    cls = getattr(importlib.import_module(module_name), attr)
    with _LOCK:
        store = _CACHE.get(uri)
        if store is None:
            store = cls(uri)
            _CACHE[uri] = store
    return store


def _clear_cache() -> None:
    _CACHE.clear()
