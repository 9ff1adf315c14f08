"""The model registry store interface: a small abc that the SQL (and a REST) registry store implement.

Stores take versions as ints, stages already canonical and sources already validated (the client
does both); they raise `hf_mltrack.exceptions` errors, never driver errors. Every method that
moves a stage or an alias takes the acting ``user_id`` for the registry's history.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence

from ..entities.paged_list import PagedList
from ..entities.registry import ModelVersion, RegisteredModel, RegistryEvent


class AbstractRegistryStore(abc.ABC):
    """Where registered models, their versions, tags, aliases and history live."""

    #: a store in front of a tracking server: the server, not the client, tags a logged model with the
    #: versions registered from it
    served: bool = False

    # ---- registered models -----------------------------------------------------------------
    @abc.abstractmethod
    def create_registered_model(
        self, name: str, tags: dict[str, str] | None = None, description: str | None = None
    ) -> RegisteredModel: ...

    @abc.abstractmethod
    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel: ...

    @abc.abstractmethod
    def update_registered_model(self, name: str, description: str | None) -> RegisteredModel: ...

    @abc.abstractmethod
    def delete_registered_model(self, name: str) -> None: ...

    @abc.abstractmethod
    def get_registered_model(self, name: str) -> RegisteredModel: ...

    @abc.abstractmethod
    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]: ...

    @abc.abstractmethod
    def set_registered_model_tag(self, name: str, key: str, value: str) -> None: ...

    @abc.abstractmethod
    def delete_registered_model_tag(self, name: str, key: str) -> None: ...

    # ---- versions ----------------------------------------------------------------------------
    @abc.abstractmethod
    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: dict[str, str] | None = None,
        run_link: str | None = None,
        description: str | None = None,
        user_id: str | None = None,
        model_id: str | None = None,
    ) -> ModelVersion: ...

    @abc.abstractmethod
    def get_model_version(self, name: str, version: int) -> ModelVersion: ...

    @abc.abstractmethod
    def update_model_version(self, name: str, version: int, description: str | None) -> ModelVersion: ...

    @abc.abstractmethod
    def delete_model_version(self, name: str, version: int, user_id: str | None = None) -> None: ...

    @abc.abstractmethod
    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = 10_000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]: ...

    @abc.abstractmethod
    def get_latest_versions(self, name: str, stages: Sequence[str] | None = None) -> list[ModelVersion]: ...

    @abc.abstractmethod
    def transition_model_version_stage(
        self,
        name: str,
        version: int,
        stage: str,
        archive_existing_versions: bool = False,
        user_id: str | None = None,
    ) -> ModelVersion: ...

    @abc.abstractmethod
    def set_model_version_tag(self, name: str, version: int, key: str, value: str) -> None: ...

    @abc.abstractmethod
    def delete_model_version_tag(self, name: str, version: int, key: str) -> None: ...

    # ---- aliases -------------------------------------------------------------------------------
    @abc.abstractmethod
    def set_registered_model_alias(self, name: str, alias: str, version: int, user_id: str | None = None) -> None: ...

    @abc.abstractmethod
    def delete_registered_model_alias(self, name: str, alias: str, user_id: str | None = None) -> None: ...

    @abc.abstractmethod
    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion: ...

    # ---- history -------------------------------------------------------------------------------
    @abc.abstractmethod
    def get_registry_events(
        self, name: str, version: int | None = None, event: str | None = None, alias: str | None = None
    ) -> list[RegistryEvent]: ...
