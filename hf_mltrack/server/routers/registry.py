"""Model registry: ``/api/2.0/mlflow/registered-models/*`` and ``/model-versions/*`` (MLflow's paths).

The server validates everything itself (names, versions, aliases, tags) and checks each version's
source with `hf_mltrack.registry.sources`: it must be a model inside this server's artifact locations,
so nobody registers ``/etc`` or another bucket and downloads it through the registry. With basic-auth
the caller must also be able to read the run a version comes from.
"""

from __future__ import annotations

import contextvars
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from ...entities import ViewType
from ...exceptions import InvalidParameterError
from .._json import JSONResponse
from ..state import ServerState, get_state
from ._common import KeyValue, OkResponse, ok
from ._limits import INT64_MAX, Description, Id, Name, Uri

#: A version number, as an int or the string protobuf JSON writes for one.
Version = Annotated[str, Field(max_length=20)] | Annotated[int, Field(ge=0, le=INT64_MAX)]

router = APIRouter(tags=["model registry"])

_USER: contextvars.ContextVar[str] = contextvars.ContextVar("hf_mltrack_registry_user", default="")
SEARCH_MAX_RESULTS = 1000


def available() -> bool:
    try:
        from ...registry.client_mixin import RegistryClientMixin  # noqa: F401
        from ...registry.stores import get_registry_store  # noqa: F401
    except ImportError:
        return False
    return True


def make_registry_store(state: ServerState) -> Any:
    """The registry logic bound to the server's own tracking store (sources checked against it)."""
    from ...registry.client_mixin import RegistryClientMixin

    class ServerRegistry(RegistryClientMixin):
        def __init__(self) -> None:
            self._registry_uri = state.backend_store_uri
            self.store = state.store

        def get_run(self, run_id: str) -> Any:
            return state.store.get_run(run_id)

        def get_logged_model(self, model_id: str, allow_deleted: bool = False) -> Any:
            return state.store.get_logged_model(model_id, allow_deleted)

        def set_logged_model_tags(self, model_id: str, tags: dict[str, Any]) -> None:
            state.store.set_logged_model_tags(model_id, tags)

        def search_experiments(
            self,
            view_type: int = ViewType.ALL,
            max_results: int = 1000,
            filter_string: str | None = None,
            order_by: Sequence[str] | None = None,
            page_token: str | None = None,
        ) -> Any:
            return state.store.search_experiments(view_type, max_results, filter_string, order_by, page_token)

        @staticmethod
        def _registry_user() -> str:
            return _USER.get()

    return ServerRegistry()


def _registry(request: Request) -> Any:
    state = get_state(request)
    _USER.set(state.auth.username(request) if state.auth is not None else "")
    return state.registry()


def _mv(mv: Any) -> dict:
    return mv.to_dict()


def _rm(rm: Any) -> dict:
    return rm.to_dict()


# ---- models --------------------------------------------------------------------------------------
class ModelVersionModel(BaseModel):
    name: str
    version: str
    creation_timestamp: int | None = None
    last_updated_timestamp: int | None = None
    description: str = ""
    user_id: str = ""
    current_stage: str = "None"
    source: str | None = None
    run_id: str = ""
    model_id: str | None = None
    status: str = "READY"
    status_message: str = ""
    run_link: str = ""
    tags: list[KeyValue] = Field(default_factory=list)
    aliases: list[str] = Field(default_factory=list)


class Alias(BaseModel):
    alias: str
    version: str


class RegisteredModelModel(BaseModel):
    name: str
    creation_timestamp: int | None = None
    last_updated_timestamp: int | None = None
    description: str = ""
    latest_versions: list[ModelVersionModel] = Field(default_factory=list)
    tags: list[KeyValue] = Field(default_factory=list)
    aliases: list[Alias] = Field(default_factory=list)


class RegisteredModelResponse(BaseModel):
    registered_model: RegisteredModelModel


class ModelVersionResponse(BaseModel):
    model_version: ModelVersionModel


class ModelVersionsResponse(BaseModel):
    model_versions: list[ModelVersionModel] = Field(default_factory=list)
    next_page_token: str | None = None


class RegisteredModelsResponse(BaseModel):
    registered_models: list[RegisteredModelModel] = Field(default_factory=list)
    next_page_token: str | None = None


class CreateRegisteredModel(BaseModel):
    name: Name
    tags: list[KeyValue] = Field(default_factory=list)
    description: Description | None = None


class RenameRegisteredModel(BaseModel):
    name: Name
    new_name: Name


class UpdateRegisteredModel(BaseModel):
    name: Name
    description: Description | None = None


class ModelName(BaseModel):
    name: str


class GetLatestVersions(BaseModel):
    name: str
    stages: list[str] = Field(default_factory=list)


class ModelTag(BaseModel):
    name: str
    key: str
    value: str = ""


class ModelTagRef(BaseModel):
    name: str
    key: str


class SetAlias(BaseModel):
    name: Name
    alias: Name
    version: Version


class AliasRef(BaseModel):
    name: str
    alias: str


class CreateModelVersion(BaseModel):
    name: Name
    model_id: Id | None = None
    source: Uri
    run_id: Id | None = None
    tags: list[KeyValue] = Field(default_factory=list)
    run_link: Uri | None = None
    description: Description | None = None


class VersionRef(BaseModel):
    name: Name
    version: Version


class UpdateModelVersion(VersionRef):
    description: Description | None = None


class TransitionStage(VersionRef):
    stage: str
    archive_existing_versions: bool = False


class VersionTag(VersionRef):
    key: str
    value: str = ""


class VersionTagRef(VersionRef):
    key: str


class DownloadUriResponse(BaseModel):
    artifact_uri: str


class HistoryResponse(BaseModel):
    events: list[dict] = Field(default_factory=list)


R = "/registered-models"
V = "/model-versions"


# ---- registered models -------------------------------------------------------------------------------
@router.post(f"{R}/create", response_model=RegisteredModelResponse)
def create_registered_model(body: CreateRegisteredModel, request: Request) -> JSONResponse:
    reg = _registry(request)
    rm = reg.create_registered_model(body.name, {t.key: t.value for t in body.tags}, body.description)
    state = get_state(request)
    if state.auth is not None:
        state.auth.on_registered_model_created(request, rm.name)
    state.fire_webhooks(
        "registered_model",
        "created",
        {"name": rm.name, "tags": dict(rm.tags or {}), "description": rm.description or None},
    )
    return JSONResponse({"registered_model": _rm(rm)})


@router.post(f"{R}/rename", response_model=RegisteredModelResponse)
def rename_registered_model(body: RenameRegisteredModel, request: Request) -> JSONResponse:
    state = get_state(request)
    rm = _registry(request).rename_registered_model(body.name, body.new_name)
    if state.auth is not None:
        state.auth.store.rename_model(body.name, body.new_name)
    return JSONResponse({"registered_model": _rm(rm)})


@router.patch(f"{R}/update", response_model=RegisteredModelResponse)
def update_registered_model(body: UpdateRegisteredModel, request: Request) -> JSONResponse:
    return JSONResponse(
        {"registered_model": _rm(_registry(request).update_registered_model(body.name, body.description))}
    )


@router.delete(f"{R}/delete", response_model=OkResponse)
def delete_registered_model(body: ModelName, request: Request) -> JSONResponse:
    _registry(request).delete_registered_model(body.name)
    return ok()


@router.get(f"{R}/get", response_model=RegisteredModelResponse)
def get_registered_model(request: Request, name: Annotated[str, Query()]) -> JSONResponse:
    return JSONResponse({"registered_model": _rm(_registry(request).get_registered_model(name))})


@router.get(f"{R}/search", response_model=RegisteredModelsResponse)
def search_registered_models(
    request: Request,
    filter: str | None = None,
    max_results: Annotated[int, Query(ge=1, le=SEARCH_MAX_RESULTS)] = 100,
    order_by: Annotated[list[str] | None, Query()] = None,
    page_token: str | None = None,
) -> JSONResponse:
    page = _registry(request).search_registered_models(filter or None, max_results, order_by or None, page_token)
    items = list(page)
    state = get_state(request)
    if state.auth is not None:
        items = state.auth.filter_models(request, items)
    out: dict = {"registered_models": [_rm(m) for m in items]}
    if page.token:
        out["next_page_token"] = page.token
    return JSONResponse(out)


def _latest(request: Request, name: str, stages: list[str] | None) -> JSONResponse:
    versions = _registry(request).get_latest_versions(name, stages or None)
    return JSONResponse({"model_versions": [_mv(v) for v in versions]})


@router.post(f"{R}/get-latest-versions", response_model=ModelVersionsResponse)
def get_latest_versions(body: GetLatestVersions, request: Request) -> JSONResponse:
    return _latest(request, body.name, body.stages)


@router.get(f"{R}/get-latest-versions", response_model=ModelVersionsResponse)
def get_latest_versions_get(
    request: Request, name: Annotated[str, Query()], stages: Annotated[list[str] | None, Query()] = None
) -> JSONResponse:
    return _latest(request, name, stages)


@router.post(f"{R}/set-tag", response_model=OkResponse)
def set_registered_model_tag(body: ModelTag, request: Request) -> JSONResponse:
    _registry(request).set_registered_model_tag(body.name, body.key, body.value)
    return ok()


@router.delete(f"{R}/delete-tag", response_model=OkResponse)
def delete_registered_model_tag(body: ModelTagRef, request: Request) -> JSONResponse:
    _registry(request).delete_registered_model_tag(body.name, body.key)
    return ok()


@router.post(f"{R}/alias", response_model=OkResponse)
def set_alias(body: SetAlias, request: Request) -> JSONResponse:
    _registry(request).set_registered_model_alias(body.name, body.alias, body.version)
    get_state(request).fire_webhooks(
        "model_version_alias", "created", {"name": body.name, "alias": body.alias, "version": str(body.version)}
    )
    return ok()


@router.delete(f"{R}/alias", response_model=OkResponse)
def delete_alias(body: AliasRef, request: Request) -> JSONResponse:
    _registry(request).delete_registered_model_alias(body.name, body.alias)
    get_state(request).fire_webhooks("model_version_alias", "deleted", {"name": body.name, "alias": body.alias})
    return ok()


@router.get(f"{R}/alias", response_model=ModelVersionResponse)
def get_by_alias(request: Request, name: Annotated[str, Query()], alias: Annotated[str, Query()]) -> JSONResponse:
    return JSONResponse({"model_version": _mv(_registry(request).get_model_version_by_alias(name, alias))})


# ---- model versions --------------------------------------------------------------------------------
def _is_local_source(source: str | None) -> bool:
    if not source:
        return False
    return source.startswith(("/", "file:")) or (len(source) > 2 and source[1] == ":" and source[2] in "\\/")


@router.post(f"{V}/create", response_model=ModelVersionResponse)
def create_model_version(body: CreateModelVersion, request: Request) -> JSONResponse:
    # Registering a version exposes its files to readers of the model: with basic-auth the boundary
    # already required READ on the run and on what the source points at (policy: model-versions/create).
    reg = _registry(request)
    if not body.run_id and not body.model_id and _is_local_source(body.source):
        # MLflow's rule: a local path names the run (or logged model) whose artifact folder holds it
        from ...registry.sources import LOCAL_SOURCE_RULE

        raise InvalidParameterError(f"Invalid model version source {body.source!r}. {LOCAL_SOURCE_RULE}")
    mv = reg.create_model_version(
        body.name,
        body.source,
        run_id=body.run_id,
        tags={t.key: t.value for t in body.tags},
        run_link=body.run_link,
        description=body.description,
        model_id=body.model_id or None,
    )
    get_state(request).fire_webhooks(
        "model_version",
        "created",
        {
            "name": mv.name,
            "version": str(mv.version),
            "source": mv.source,
            "run_id": mv.run_id,
            "tags": dict(mv.tags or {}),
            "description": mv.description or None,
        },
    )
    return JSONResponse({"model_version": _mv(mv)})


@router.get(f"{V}/get", response_model=ModelVersionResponse)
def get_model_version(
    request: Request, name: Annotated[str, Query()], version: Annotated[str, Query()]
) -> JSONResponse:
    return JSONResponse({"model_version": _mv(_registry(request).get_model_version(name, version))})


@router.patch(f"{V}/update", response_model=ModelVersionResponse)
def update_model_version(body: UpdateModelVersion, request: Request) -> JSONResponse:
    mv = _registry(request).update_model_version(body.name, body.version, body.description)
    return JSONResponse({"model_version": _mv(mv)})


@router.delete(f"{V}/delete", response_model=OkResponse)
def delete_model_version(body: VersionRef, request: Request) -> JSONResponse:
    _registry(request).delete_model_version(body.name, body.version)
    return ok()


@router.get(f"{V}/search", response_model=ModelVersionsResponse)
def search_model_versions(
    request: Request,
    filter: str | None = None,
    max_results: Annotated[int, Query(ge=1, le=200_000)] = 10_000,
    order_by: Annotated[list[str] | None, Query()] = None,
    page_token: str | None = None,
) -> JSONResponse:
    page = _registry(request).search_model_versions(filter or None, max_results, order_by or None, page_token)
    items = list(page)
    state = get_state(request)
    if state.auth is not None:
        items = state.auth.filter_models(request, items)
    out: dict = {"model_versions": [_mv(v) for v in items]}
    if page.token:
        out["next_page_token"] = page.token
    return JSONResponse(out)


@router.post(f"{V}/transition-stage", response_model=ModelVersionResponse)
def transition_stage(body: TransitionStage, request: Request) -> JSONResponse:
    reg = _registry(request)
    before = reg.get_model_version(body.name, body.version).current_stage
    mv = reg.transition_model_version_stage(body.name, body.version, body.stage, body.archive_existing_versions)
    get_state(request).fire_webhooks(  # hf_mltrack's event: MLflow 3 has no stage transition event
        "model_version",
        "updated",
        {
            "name": mv.name,
            "version": str(mv.version),
            "from_stage": before,
            "to_stage": mv.current_stage,
            "archive_existing_versions": body.archive_existing_versions,
        },
    )
    return JSONResponse({"model_version": _mv(mv)})


@router.get(f"{V}/get-download-uri", response_model=DownloadUriResponse)
def get_download_uri(request: Request, name: Annotated[str, Query()], version: Annotated[str, Query()]) -> JSONResponse:
    return JSONResponse({"artifact_uri": _registry(request).get_model_version_download_uri(name, version)})


@router.post(f"{V}/set-tag", response_model=OkResponse)
def set_model_version_tag(body: VersionTag, request: Request) -> JSONResponse:
    _registry(request).set_model_version_tag(body.name, body.version, body.key, body.value)
    get_state(request).fire_webhooks(
        "model_version_tag",
        "set",
        {"name": body.name, "version": str(body.version), "key": body.key, "value": body.value},
    )
    return ok()


@router.delete(f"{V}/delete-tag", response_model=OkResponse)
def delete_model_version_tag(body: VersionTagRef, request: Request) -> JSONResponse:
    _registry(request).delete_model_version_tag(body.name, body.version, body.key)
    get_state(request).fire_webhooks(
        "model_version_tag", "deleted", {"name": body.name, "version": str(body.version), "key": body.key}
    )
    return ok()


@router.get(f"{V}/history", response_model=HistoryResponse)
def history(
    request: Request,
    name: Annotated[str, Query()],
    version: str | None = None,
    event: str | None = None,
    alias: str | None = None,
) -> JSONResponse:
    """hf_mltrack's audit trail of a model: every stage transition and alias move (not in MLflow)."""
    events = _registry(request).get_registered_model_history(name, version, event, alias)
    return JSONResponse({"events": [e.to_dict() for e in events]})


__all__ = ["available", "make_registry_store", "router"]
