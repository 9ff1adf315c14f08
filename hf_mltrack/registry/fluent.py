"""Fluent registry API: ``register_model``, the registry URI, and ``models:/`` resolution.

>>> import hf_mltrack
>>> mv = hf_mltrack.register_model("runs:/<run_id>/model", "llama2-lora-sft", tags={"method": "lora"})
>>> mv.version
'1'
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..entities.registry import ModelVersion
    from ..tracking.client import MlTrackClient

_logger = logging.getLogger(__name__)
_registry_uri: str | None = None


def set_registry_uri(uri: str | None) -> None:
    """Use another store for the model registry than the tracking store (None: follow the tracking URI).

    Args:
        uri (`str`, *optional*): a store URI, as for `set_tracking_uri`.
    """
    global _registry_uri
    _registry_uri = uri


def get_registry_uri() -> str:
    """The current registry URI: `set_registry_uri` > ``HF_MLTRACK_REGISTRY_URI`` > the tracking URI."""
    from .. import _env
    from ..tracking.fluent import get_tracking_uri

    return _registry_uri or _env.REGISTRY_URI.get() or get_tracking_uri()


def _client() -> MlTrackClient:
    """An `MlTrackClient` on the current tracking and registry URIs, with the registry methods."""
    from ..tracking.client import MlTrackClient
    from ..tracking.fluent import get_tracking_uri
    from .client_mixin import RegistryClientMixin

    cls: Any = MlTrackClient
    if not issubclass(cls, RegistryClientMixin):  # until the client mixes the registry in itself
        cls = _with_registry(cls)
    return cls(get_tracking_uri(), registry_uri=get_registry_uri())


_COMBINED: dict[type, type] = {}


def _with_registry(cls: type) -> type:
    from .client_mixin import RegistryClientMixin

    if cls not in _COMBINED:
        _COMBINED[cls] = type(cls.__name__, (cls, RegistryClientMixin), {"__module__": cls.__module__})
    return _COMBINED[cls]


def register_model(
    model_uri: str,
    name: str,
    tags: dict[str, Any] | None = None,
    await_registration_for: int = 300,
) -> ModelVersion:
    """Register the model at ``model_uri`` as a new version of ``name`` (creating the model if needed).

    Args:
        model_uri (`str`): ``models:/m-<id>`` (a logged model: ``model_id`` and its source run are
            recorded), ``runs:/<run_id>/<artifact_path>`` (resolved to the run's artifact location,
            with ``run_id`` recorded), ``models:/<name>/<version>``, or the artifact URI of a model
            logged to this tracking store.
        name (`str`): the registered model.
        tags (`dict`, *optional*): tags of the new version.
        await_registration_for (`int`, *optional*, defaults to `300`): seconds to wait for the version
            to be READY; versions are ready at once, so this only has to be a non-negative number.

    Returns:
        `ModelVersion`: the new version (``version`` counts from ``"1"``).
    """
    from ..exceptions import InvalidParameterError, ResourceAlreadyExistsError

    if await_registration_for is not None and (
        isinstance(await_registration_for, bool)
        or not isinstance(await_registration_for, (int, float))
        or await_registration_for < 0
    ):
        raise InvalidParameterError(f"Invalid await_registration_for={await_registration_for!r}: give seconds >= 0")
    from .validation import validate_model_name

    validate_model_name(name)
    client: Any = _client()
    # Check the source before creating anything, so a refused source leaves no empty model behind.
    source, run_id = client._resolve_source(model_uri, None)
    try:
        client.create_registered_model(name)
        _logger.info("Successfully registered model %r.", name)
    except ResourceAlreadyExistsError:
        _logger.info("Registered model %r already exists. Creating a new version of this model...", name)
    from ..models.uri import logged_model_id

    model_ref = logged_model_id(model_uri) if isinstance(model_uri, str) else None
    model_id = model_ref[0] if model_ref is not None else None
    mv = client.create_model_version(name, source, run_id=run_id, tags=tags, model_id=model_id)
    _logger.info("Created version %r of model %r.", mv.version, mv.name)
    return mv


def resolve_model_uri(
    name: str,
    version: int | str | None = None,
    stage: str | None = None,
    alias: str | None = None,
) -> str:
    """The source URI of the version that ``models:/`` selectors name (used by ``models:/`` resolution).

    Args:
        name (`str`): the registered model.
        version (`int` or `str`, *optional*): a version number (``models:/name/3``).
        stage (`str`, *optional*): the newest version in this stage (``models:/name/Production``).
        alias (`str`, *optional*): the version an alias points to (``models:/name@champion``).

    With none of version, stage and alias: the latest version (``models:/name/latest``).

    Raises:
        `ResourceNotFoundError`: naming the unknown model, version, stage or alias.
    """
    mv = _client()._version_for(name, version, stage, alias)  # type: ignore[attr-defined]
    return mv.source or ""


def get_model_version_by_uri(model_uri: str) -> ModelVersion:
    """The `ModelVersion` a ``models:/`` URI names."""
    from .uris import parse_models_uri

    parts = parse_models_uri(model_uri)
    return _client()._version_for(parts.name, parts.version, parts.stage, parts.alias)  # type: ignore[attr-defined]


def _reset_state() -> None:
    set_registry_uri(None)
