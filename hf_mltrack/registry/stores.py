"""Registry store registry: URI scheme -> store class (dotted path, imported on use), one store per URI."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..utils.plugins import SchemeRegistry

if TYPE_CHECKING:
    from .base import AbstractRegistryStore

_SQL = "hf_mltrack.store.sql.registry_store:SqlRegistryStore"
_REST = "hf_mltrack.store.rest_registry:RestRegistryStore"
_STORES: SchemeRegistry[AbstractRegistryStore] = SchemeRegistry(
    "model registry store",
    {"sqlite": _SQL, "postgresql": _SQL, "postgres": _SQL, "mysql": _SQL, "http": _REST, "https": _REST},
    "hf_mltrack.registry.stores.register_registry_store",
)
_CACHE = _STORES.cache


def register_registry_store(scheme: str, dotted_path: str) -> None:
    """Plug in a registry store for a URI scheme, e.g. ``register_registry_store("http", "pkg.mod:Cls")``.

    The class is built with the resolved registry URI as its only argument.
    """
    _STORES.register(scheme, dotted_path)


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
    return _STORES.get(resolve_tracking_uri(registry_uri))


def _clear_cache() -> None:
    _STORES.clear()
