"""The model registry: registered models, numbered versions, stages, aliases and their history.

``import hf_mltrack.registry`` is cheap; the SQL store loads on first use.
"""

from __future__ import annotations

from .client_mixin import RegistryClientMixin
from .fluent import get_registry_uri, register_model, resolve_model_uri, set_registry_uri
from .stores import get_registry_store, register_registry_store

__all__ = [
    "RegistryClientMixin",
    "get_registry_store",
    "get_registry_uri",
    "register_model",
    "register_registry_store",
    "resolve_model_uri",
    "set_registry_uri",
]
