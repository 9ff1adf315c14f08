"""A scheme registry: URI scheme -> class (a dotted path, imported on first use), one instance per URI.

The tracking, model-registry and trace stores are each chosen this way, so users can plug in their
own backends (``register("mystore", "pkg.module:Class")``) without importing anything eagerly.
"""

from __future__ import annotations

import importlib
import os
import threading
import weakref
from typing import Generic, TypeVar

from ..exceptions import InvalidParameterError

T = TypeVar("T")


def uri_scheme(uri: str) -> str:
    """``postgresql+psycopg://...`` -> ``"postgresql"``; a plain path -> ``""``."""
    return uri.split("://", 1)[0].split("+", 1)[0].lower() if "://" in uri else ""


class SchemeRegistry(Generic[T]):
    """Classes by URI scheme, built with the URI as their only argument and cached per URI.

    Args:
        what (`str`): what the instances are, for error messages (e.g. ``"tracking store"``).
        classes (`dict[str, str]`): scheme -> ``"module:Class"``.
        plug_in_with (`str`): the function users call to add a scheme, named in errors.
    """

    def __init__(self, what: str, classes: dict[str, str], plug_in_with: str) -> None:
        self.what = what
        self.classes = dict(classes)
        self.plug_in_with = plug_in_with
        self.cache: dict[str, T] = {}
        self._lock = threading.Lock()
        _REGISTRIES.add(self)

    def register(self, scheme: str, dotted_path: str) -> None:
        """Use ``dotted_path`` (``"module:Class"``) for ``scheme``; cached instances of it are dropped."""
        self.classes[scheme] = dotted_path
        for uri in [u for u in self.cache if uri_scheme(u) == scheme]:
            self.cache.pop(uri, None)

    def get(self, uri: str) -> T:
        """The instance for ``uri``, built as ``Class(uri)`` on first use."""
        instance = self.cache.get(uri)
        if instance is not None:
            return instance
        scheme = uri_scheme(uri)
        if scheme not in self.classes:
            raise InvalidParameterError(
                f"No {self.what} for URI scheme {scheme!r} in {uri!r}: use one of "
                f"{', '.join(sorted(self.classes))} (or plug one in with {self.plug_in_with})"
            )
        module_name, attr = self.classes[scheme].split(":")
        cls = getattr(importlib.import_module(module_name), attr)
        with self._lock:
            instance = self.cache.get(uri)
            if instance is None:
                instance = cls(uri)
                self.cache[uri] = instance
        return instance

    def clear(self) -> None:
        self.cache.clear()


# A store is built under the registry's lock, possibly on a thread (a run created in the background):
# a process forked meanwhile has a fresh lock, and builds its own store.
_REGISTRIES: weakref.WeakSet[SchemeRegistry] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for registry in list(_REGISTRIES):
        registry._lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
