"""The model registry half of `MlTrackClient` (mixed in; uses ``self._registry_uri``).

Names and signatures are MLflow's ``MlflowClient`` registry methods, plus the registry's history
(`get_model_version_stage_history`, `get_registered_model_history`), which MLflow lacks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from hf_mltrack._client_host import RegistryHostBase

from ..entities.registry import ModelVersionStage, RegistryEventType
from ..exceptions import InvalidParameterError, ResourceNotFoundError
from . import validation as rv

if TYPE_CHECKING:
    from ..entities.paged_list import PagedList
    from ..entities.registry import ModelVersion, RegisteredModel, RegistryEvent
    from .base import AbstractRegistryStore


class RegistryClientMixin(RegistryHostBase):
    """Model registry methods of `MlTrackClient`.

    The host class provides ``_registry_uri`` (the registry store URI) and the tracking methods
    ``get_run`` and ``search_experiments``, used to check that sources live in this tracking store.
    """

    _registry_uri: str

    @property
    def _registry_store(self) -> AbstractRegistryStore:
        from .stores import get_registry_store

        return get_registry_store(self._registry_uri)

    @staticmethod
    def _registry_user() -> str:
        from .. import _env
        from ..tracking.context import current_user

        return _env.TRACKING_USERNAME.get() or current_user()

    # ---- registered models -----------------------------------------------------------------
    def create_registered_model(
        self, name: str, tags: dict[str, Any] | None = None, description: str | None = None
    ) -> RegisteredModel:
        """Create an empty registered model.

        Args:
            name (`str`): unique name (no ``/`` or ``@``; it appears in ``models:/<name>/...`` URIs).
            tags (`dict`, *optional*): model tags.
            description (`str`, *optional*): free text.

        Raises:
            `ResourceAlreadyExistsError`: when a model of that name exists.
        """
        return self._registry_store.create_registered_model(
            rv.validate_model_name(name), rv.validate_tags(tags), rv.validate_description(description)
        )

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        """Rename a model; its versions, tags, aliases and history follow.

        Args:
            name (`str`): the registered model.
            new_name (`str`): its new name (unused by any other model).

        Returns:
            `RegisteredModel`: the renamed model.
        """
        return self._registry_store.rename_registered_model(
            rv.validate_model_name(name), rv.validate_model_name(new_name, "new registered model name")
        )

    def update_registered_model(self, name: str, description: str | None = None) -> RegisteredModel:
        """Set a model's description.

        Args:
            name (`str`): the registered model.
            description (`str`, *optional*): Markdown text; None clears it.

        Returns:
            `RegisteredModel`: the updated model.
        """
        return self._registry_store.update_registered_model(
            rv.validate_model_name(name), rv.validate_description(description)
        )

    def delete_registered_model(self, name: str) -> None:
        """Delete a model with all its versions. Refused while a version is in Staging or Production.

        Args:
            name (`str`): the registered model.
        """
        self._registry_store.delete_registered_model(rv.validate_model_name(name))

    def get_registered_model(self, name: str) -> RegisteredModel:
        """The model with its tags, aliases and the newest version in each stage (`latest_versions`).

        Args:
            name (`str`): the registered model.

        Returns:
            `RegisteredModel`

        Raises:
            [`~hf_mltrack.exceptions.ResourceNotFoundError`]: no model has that name.
        """
        return self._registry_store.get_registered_model(rv.validate_model_name(name))

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        """Registered models matching a filter, by name unless ``order_by`` says otherwise.

        Args:
            filter_string (`str`, *optional*): e.g. ``"name LIKE 'llama%'"``, ``"name ILIKE '%lora%'"``,
                ``"name = 'x'"`` or ``"tags.framework = 'transformers'"``, joined by AND.
            max_results (`int`, *optional*, defaults to `100`): page size (at most 1000).
            order_by (`list[str]`, *optional*): e.g. ``["last_updated_timestamp DESC"]``.
            page_token (`str`, *optional*): the ``token`` of the previous page.
        """
        return self._registry_store.search_registered_models(filter_string, max_results, order_by, page_token)

    def set_registered_model_tag(self, name: str, key: str, value: Any) -> None:
        """Set a tag on a registered model (the value is stored as a string).

        Args:
            name (`str`): the registered model.
            key (`str`): the tag name.
            value (`Any`): the tag value.
        """
        key, text = rv.validate_tag(key, value)
        self._registry_store.set_registered_model_tag(rv.validate_model_name(name), key, text)

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Remove a tag from a registered model.

        Args:
            name (`str`): the registered model.
            key (`str`): the tag name.
        """
        self._registry_store.delete_registered_model_tag(rv.validate_model_name(name), key)

    # ---- versions ----------------------------------------------------------------------------
    def _resolve_source(self, source: str, run_id: str | None) -> tuple[str, str | None]:
        from ..models.uri import logged_model_id
        from .sources import resolve_source

        model_ref = logged_model_id(source) if isinstance(source, str) else None
        if model_ref is not None:
            # models:/m-<id>[/sub/path]: the logged model's own files, produced by its source run.
            model = self.get_logged_model(model_ref[0])  # type: ignore[attr-defined]
            return _join(model.artifact_location, model_ref[1]), run_id or model.source_run_id

        def run_artifact_uri(rid: str) -> str:
            return self.get_run(rid).info.artifact_uri

        def artifact_roots() -> list[str]:
            return _artifact_roots(self)

        def models_uri_source(uri: str) -> tuple[str, str | None]:
            from .uris import parse_models_uri

            parts = parse_models_uri(uri)
            mv = self._version_for(parts.name, parts.version, parts.stage, parts.alias)
            return _join(mv.source or "", parts.sub_path), mv.run_id

        resolved = resolve_source(
            source,
            run_id,
            run_artifact_uri=run_artifact_uri,
            artifact_roots=artifact_roots,
            models_uri_source=models_uri_source,
        )
        return resolved.source, resolved.run_id

    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: dict[str, Any] | None = None,
        run_link: str | None = None,
        description: str | None = None,
        await_creation_for: int | None = None,
        model_id: str | None = None,
    ) -> ModelVersion:
        """Register a new version of a model; numbers count from 1 and are never reused.

        Args:
            name (`str`): an existing registered model.
            source (`str`): the model's files, inside this tracking store: ``runs:/<run_id>/<path>``,
                ``models:/<name>/<version>`` or a run's artifact URI (see `hf_mltrack.registry.sources`).
            run_id (`str`, *optional*): the run that produced it (taken from a ``runs:/`` source).
            tags (`dict`, *optional*): version tags.
            run_link (`str`, *optional*): a link to the run, shown in the UI.
            description (`str`, *optional*): free text.
            await_creation_for (`int`, *optional*): accepted for MLflow compatibility; versions are
                ready as soon as they are created.
            model_id (`str`, *optional*): the logged model (``m-...``) it comes from; taken from a
                ``models:/m-...`` source when not given.
        """
        name = rv.validate_model_name(name)
        tag_map = rv.validate_tags(tags)
        from ..models.uri import logged_model_id

        model_ref = logged_model_id(source) if isinstance(source, str) else None
        if model_id is None and model_ref is not None:
            model_id = model_ref[0]
        if model_id is not None:
            self.get_logged_model(model_id)  # type: ignore[attr-defined]  # 404 for an unknown id
        resolved, resolved_run = self._resolve_source(source, run_id)
        store = self._registry_store
        mv = store.create_model_version(
            name,
            resolved,
            resolved_run,
            tag_map,
            run_link,
            rv.validate_description(description),
            user_id=self._registry_user(),
            model_id=model_id,
        )
        if model_id is not None and not store.served:
            self._list_version_on_logged_model(model_id, mv)
        return mv

    def _list_version_on_logged_model(self, model_id: str, mv: ModelVersion) -> None:
        """Add ``{"name", "version"}`` to the logged model's ``mlflow.modelVersions`` tag (a JSON list,
        as MLflow keeps it: the versions registered from that model, oldest first).

        The SQL registry store already rebuilt the tag in the version's own transaction when the model
        lives in its database (then the entry is there and nothing is written); this is the path for a
        registry kept in another database than the tracking store, which adds the entry atomically."""
        self.store.list_model_version(model_id, mv.name, int(mv.version))  # type: ignore[attr-defined]

    def copy_model_version(self, src_model_uri: str, dst_name: str) -> ModelVersion:
        """Register the version a ``models:/`` URI names as a new version of ``dst_name``.

        The files are not copied: the new version has the same source. ``dst_name`` is created if needed,
        e.g. to promote from a "staging" registered model to a "production" one.

        Args:
            src_model_uri (`str`): ``models:/<name>/<version>`` (or a stage, or ``@alias``).
            dst_name (`str`): the registered model receiving the new version.

        Returns:
            `ModelVersion`: the new version.
        """
        from ..exceptions import ResourceAlreadyExistsError

        if not isinstance(src_model_uri, str) or not src_model_uri.startswith("models:"):
            raise InvalidParameterError(f"Invalid src_model_uri {src_model_uri!r}: give a models:/<name>/<version> URI")
        rv.validate_model_name(dst_name)
        source, run_id = self._resolve_source(src_model_uri, None)  # before creating anything
        try:
            self.create_registered_model(dst_name)
        except ResourceAlreadyExistsError:
            pass
        return self.create_model_version(dst_name, source, run_id=run_id)

    def get_model_version(self, name: str, version: int | str) -> ModelVersion:
        """One version, e.g. ``get_model_version("llama2-lora-sft", "1")``.

        Args:
            name (`str`): the registered model.
            version (`int` or `str`): the version number.

        Returns:
            `ModelVersion`: its stage, aliases, tags, description, source and run id.
        """
        name = rv.validate_model_name(name)
        return self._registry_store.get_model_version(name, rv.parse_version(version, name))

    def update_model_version(self, name: str, version: int | str, description: str | None = None) -> ModelVersion:
        """Set a version's description.

        Args:
            name (`str`): the registered model.
            version (`int` or `str`): the version number.
            description (`str`, *optional*): Markdown text; None clears it.

        Returns:
            `ModelVersion`: the updated version.
        """
        name = rv.validate_model_name(name)
        return self._registry_store.update_model_version(
            name, rv.parse_version(version, name), rv.validate_description(description)
        )

    def delete_model_version(self, name: str, version: int | str) -> None:
        """Delete a version (its number is not reused). Refused while it is in Staging or Production.

        Args:
            name (`str`): the registered model.
            version (`int` or `str`): the version number.
        """
        name = rv.validate_model_name(name)
        self._registry_store.delete_model_version(name, rv.parse_version(version, name), self._registry_user())

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = 10_000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        """Versions matching a filter such as ``"name='llama2-lora-sft'"``, ``"run_id='...'"`` or
        ``"tags.approved_by = 'team-lead'"``; the most recently updated first (then by name, newest version
        first), as MLflow orders them, unless ``order_by`` says otherwise.

        Args:
            filter_string (`str`, *optional*): the filter; every version when not given.
            max_results (`int`, *optional*, defaults to 10000): the page size.
            order_by (`list[str]`, *optional*): e.g. ``["version_number DESC"]``.
            page_token (`str`, *optional*): the ``token`` of the previous page.

        Returns:
            `PagedList[ModelVersion]`
        """
        return self._registry_store.search_model_versions(filter_string, max_results, order_by, page_token)

    def get_latest_versions(self, name: str, stages: Sequence[str] | None = None) -> list[ModelVersion]:
        """The newest version in each of ``stages`` (any case; all stages when not given).

        Args:
            name (`str`): the registered model.
            stages (`list[str]`, *optional*): e.g. ``["Production"]``; one stage as a `str` is accepted too.

        Returns:
            `list[ModelVersion]`: at most one per stage.
        """
        if isinstance(stages, str):
            stages = [stages]
        return self._registry_store.get_latest_versions(rv.validate_model_name(name), stages)

    def transition_model_version_stage(
        self, name: str, version: int | str, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion:
        """Move a version to a stage: None -> Staging -> Production -> Archived, and back.

        Args:
            name (`str`): the registered model.
            version (`int` or `str`): the version.
            stage (`str`): ``"None"``, ``"Staging"``, ``"Production"`` or ``"Archived"`` (any case).
            archive_existing_versions (`bool`, *optional*, defaults to `False`): archive the versions now
                in the target stage (Staging or Production only).

        The transition (and each archived version) is recorded in the registry's history.
        """
        name = rv.validate_model_name(name)
        return self._registry_store.transition_model_version_stage(
            name,
            rv.parse_version(version, name),
            ModelVersionStage.canonical(stage),
            bool(archive_existing_versions),
            user_id=self._registry_user(),
        )

    def set_model_version_tag(self, name: str, version: int | str, key: str, value: Any) -> None:
        """Set a tag on a version (the value is stored as a string), e.g. ``approved_by``.

        Args:
            name (`str`): the registered model.
            version (`int` or `str`): the version number.
            key (`str`): the tag name.
            value (`Any`): the tag value.
        """
        name = rv.validate_model_name(name)
        key, text = rv.validate_tag(key, value)
        self._registry_store.set_model_version_tag(name, rv.parse_version(version, name), key, text)

    def delete_model_version_tag(self, name: str, version: int | str, key: str) -> None:
        """Remove a tag from a version.

        Args:
            name (`str`): the registered model.
            version (`int` or `str`): the version number.
            key (`str`): the tag name.
        """
        name = rv.validate_model_name(name)
        self._registry_store.delete_model_version_tag(name, rv.parse_version(version, name), key)

    def get_model_version_download_uri(self, name: str, version: int | str) -> str:
        """Where the version's files are (its source, an artifact URI).

        Args:
            name (`str`): the registered model.
            version (`int` or `str`): the version number.

        Returns:
            `str`: e.g. ``file:///.../artifacts/model`` or ``s3://bucket/.../model``.
        """
        return self.get_model_version(name, version).source or ""

    # ---- aliases -------------------------------------------------------------------------------
    def set_registered_model_alias(self, name: str, alias: str, version: int | str) -> None:
        """Point ``alias`` at a version (moving it if it points elsewhere), for ``models:/name@alias``.

        Args:
            name (`str`): the registered model.
            alias (`str`): e.g. ``"champion"`` (not a number, not ``latest``).
            version (`int` or `str`): the version number.
        """
        name = rv.validate_model_name(name)
        self._registry_store.set_registered_model_alias(
            name, rv.validate_alias(alias), rv.parse_version(version, name), self._registry_user()
        )

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        """Remove an alias from a registered model (the move is kept in its history).

        Args:
            name (`str`): the registered model.
            alias (`str`): the alias.
        """
        self._registry_store.delete_registered_model_alias(rv.validate_model_name(name), alias, self._registry_user())

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version an alias points at.

        Args:
            name (`str`): the registered model.
            alias (`str`): the alias.

        Returns:
            `ModelVersion`
        """
        return self._registry_store.get_model_version_by_alias(rv.validate_model_name(name), alias)

    # ---- history -------------------------------------------------------------------------------
    def get_model_version_stage_history(self, name: str, version: int | str) -> list[RegistryEvent]:
        """Every stage transition of one version, oldest first (``from_stage``, ``to_stage``, user, time).

        Args:
            name (`str`): the registered model.
            version (`int` or `str`): the version number.

        Returns:
            `list[RegistryEvent]`
        """
        name = rv.validate_model_name(name)
        number = rv.parse_version(version, name)
        self._registry_store.get_model_version(name, number)  # a clear error for an unknown version
        return self._registry_store.get_registry_events(name, number, RegistryEventType.STAGE_TRANSITION)

    def get_registered_model_history(
        self, name: str, version: int | str | None = None, event: str | None = None, alias: str | None = None
    ) -> list[RegistryEvent]:
        """The registry's audit trail of a model, oldest first: stage transitions and alias moves.

        Args:
            name (`str`): the registered model.
            version (`int` or `str`, *optional*): only events about this version (kept after it is deleted).
            event (`str`, *optional*): ``"stage_transition"``, ``"alias_set"`` or ``"alias_deleted"``.
            alias (`str`, *optional*): only events of this alias.
        """
        name = rv.validate_model_name(name)
        number = None if version is None else rv.parse_version(version, name)
        return self._registry_store.get_registry_events(name, number, event, alias)

    # ---- resolution ----------------------------------------------------------------------------
    def _version_for(
        self,
        name: str,
        version: int | str | None = None,
        stage: str | None = None,
        alias: str | None = None,
    ) -> ModelVersion:
        """The version that ``models:/`` selectors name: a number, a stage, an alias, or the latest."""
        given = [k for k, val in (("version", version), ("stage", stage), ("alias", alias)) if val is not None]
        if len(given) > 1:
            raise InvalidParameterError(
                f"Give at most one of version, stage and alias to select a version of {name!r}, "
                f"not {' and '.join(given)}"
            )
        name = rv.validate_model_name(name)
        store = self._registry_store
        if version is not None:
            return store.get_model_version(name, rv.parse_version(version, name))
        if alias is not None:
            return store.get_model_version_by_alias(name, alias)
        model = store.get_registered_model(name)
        if stage is not None:
            canonical = ModelVersionStage.canonical(stage)
            found = [mv for mv in model.latest_versions if mv.current_stage == canonical]
            if not found:
                have = ", ".join(f"{mv.current_stage}: version {mv.version}" for mv in model.latest_versions)
                raise ResourceNotFoundError(
                    f"Registered model {name!r} has no version in stage {canonical!r} "
                    f"({'newest per stage: ' + have if have else 'it has no versions'}); move one there with "
                    f"transition_model_version_stage({name!r}, <version>, {canonical!r})"
                )
            return found[0]
        if not model.latest_versions:
            raise ResourceNotFoundError(
                f"Registered model {name!r} has no versions: register one with "
                f"hf_mltrack.register_model('runs:/<run_id>/<path>', {name!r})"
            )
        return max(model.latest_versions, key=lambda mv: int(mv.version))


def _join(base: str, path: str) -> str:
    return base.rstrip("/") + "/" + path if path else base


def _artifact_roots(client: Any) -> list[str]:
    """Every experiment's artifact location (deleted ones too) and the store's default root."""
    from ..entities import ViewType

    roots: list[str] = []
    default_root = getattr(getattr(client, "store", None), "default_artifact_root", None)
    if default_root:
        roots.append(default_root)
    token = None
    while True:
        page = client.search_experiments(view_type=ViewType.ALL, max_results=1000, page_token=token)
        roots += [e.artifact_location for e in page if e.artifact_location]
        token = page.token
        if not token:
            return roots
