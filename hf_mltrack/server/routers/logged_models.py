"""``/api/2.0/mlflow/logged-models/*``: MLflow 3's logged models (create, get, finalize, delete, search,
params, tags, artifact listing and download), shapes and status codes as MLflow 3.17's server."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from ...exceptions import InvalidParameterError
from .._json import JSONResponse
from ..state import State, get_state
from ._common import KeyValue, OkResponse, ok
from ._limits import no_control
from .artifacts import ListArtifactsResponse, file_response, safe_server_path

router = APIRouter(prefix="/logged-models", tags=["logged models"])

SEARCH_MAX_RESULTS = 10_000
MAX_EXPERIMENT_IDS = 100


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class CreateLoggedModel(_Body):
    experiment_id: str = Field(min_length=1)
    name: Annotated[str, AfterValidator(no_control)] | None = Field(default=None, max_length=500)
    model_type: str | None = Field(default=None, max_length=500)
    source_run_id: str | None = Field(default=None, max_length=32)
    params: list[KeyValue] = Field(default_factory=list, max_length=1000)
    tags: list[KeyValue] = Field(default_factory=list, max_length=1000)
    # hf_mltrack clients only: a folder inside the source run's artifacts holding the model's files
    # (where log_model writes them); MLflow clients leave it to the server.
    artifact_location: str | None = None
    output_step: int | None = Field(default=None, ge=-(2**63), le=2**63 - 1)


class LoggedModelResponse(BaseModel):
    model: dict[str, Any]


class FinalizeLoggedModel(_Body):
    model_id: str | None = None
    status: str | int


class DatasetFilter(_Body):
    dataset_name: str = Field(min_length=1)
    dataset_digest: str | None = None


class OrderBy(_Body):
    field_name: str = Field(min_length=1)
    ascending: bool | None = True
    dataset_name: str | None = None
    dataset_digest: str | None = None


class SearchLoggedModels(_Body):
    experiment_ids: list[str] = Field(min_length=1, max_length=MAX_EXPERIMENT_IDS)
    filter: str | None = None
    datasets: list[DatasetFilter] = Field(default_factory=list)
    max_results: int | None = Field(default=None, ge=1, le=SEARCH_MAX_RESULTS)
    order_by: list[OrderBy] = Field(default_factory=list)
    page_token: str | None = None


class SearchLoggedModelsResponse(BaseModel):
    models: list[dict[str, Any]] = Field(default_factory=list)
    next_page_token: str | None = None


class LogLoggedModelParams(_Body):
    model_id: str | None = None
    params: list[KeyValue] = Field(default_factory=list, max_length=1000)


class SetLoggedModelTags(_Body):
    tags: list[KeyValue] = Field(default_factory=list, max_length=1000)


def _check_path_id(model_id: str, body_id: str | None) -> None:
    if body_id and body_id != model_id:
        raise InvalidParameterError(f"model_id {body_id!r} in the body differs from {model_id!r} in the path")


@router.post("", response_model=LoggedModelResponse)
def create_logged_model(body: CreateLoggedModel, state: State) -> JSONResponse:
    model = state.store.create_logged_model(
        body.experiment_id,
        name=body.name or None,
        source_run_id=body.source_run_id or None,
        tags={t.key: t.value for t in body.tags},
        params={p.key: p.value for p in body.params},
        model_type=body.model_type or None,
        artifact_location=body.artifact_location or None,
        output_step=body.output_step,
    )
    return JSONResponse({"model": model.to_dict()})


@router.post("/search", response_model=SearchLoggedModelsResponse)
def search_logged_models(body: SearchLoggedModels, request: Request, state: State) -> JSONResponse:
    ids = body.experiment_ids
    if state.auth is not None:
        ids = state.auth.readable_experiment_ids(request, ids)
        if not ids:
            return JSONResponse({"models": []})
    page = state.store.search_logged_models(
        ids,
        body.filter or None,
        [d.model_dump() for d in body.datasets] or None,
        body.max_results,
        [o.model_dump() for o in body.order_by] or None,
        body.page_token or None,
    )
    out: dict[str, Any] = {"models": [m.to_dict() for m in page]}
    if page.token:
        out["next_page_token"] = page.token
    return JSONResponse(out)


@router.get("/{model_id}", response_model=LoggedModelResponse)
def get_logged_model(model_id: str, state: State, allow_deleted: bool = False) -> JSONResponse:
    return JSONResponse({"model": state.store.get_logged_model(model_id, allow_deleted=allow_deleted).to_dict()})


@router.patch("/{model_id}", response_model=LoggedModelResponse)
def finalize_logged_model(model_id: str, body: FinalizeLoggedModel, state: State) -> JSONResponse:
    _check_path_id(model_id, body.model_id)
    model = state.store.finalize_logged_model(model_id, body.status)
    assert model is not None  # read back (read_back=True)
    return JSONResponse({"model": model.to_dict()})


@router.delete("/{model_id}", response_model=OkResponse)
def delete_logged_model(model_id: str, state: State) -> JSONResponse:
    state.store.delete_logged_model(model_id)
    return ok()


@router.post("/{model_id}/params", response_model=OkResponse)
def log_logged_model_params(model_id: str, body: LogLoggedModelParams, state: State) -> JSONResponse:
    _check_path_id(model_id, body.model_id)
    state.store.log_logged_model_params(model_id, {p.key: p.value for p in body.params})
    return ok()


@router.patch("/{model_id}/tags", response_model=OkResponse)
def set_logged_model_tags(model_id: str, body: SetLoggedModelTags, state: State) -> JSONResponse:
    state.store.set_logged_model_tags(model_id, {t.key: t.value for t in body.tags})
    return ok()


@router.delete("/{model_id}/tags/{tag_key:path}", response_model=OkResponse)
def delete_logged_model_tag(model_id: str, tag_key: str, state: State) -> JSONResponse:
    state.store.delete_logged_model_tag(model_id, tag_key)
    return ok()


@router.get("/{model_id}/artifacts/directories", response_model=ListArtifactsResponse)
def list_logged_model_artifacts(
    model_id: str, state: State, artifact_directory_path: str | None = None, page_token: str | None = None
) -> JSONResponse:
    rel = safe_server_path(artifact_directory_path)
    model = state.store.get_logged_model(model_id)
    repo, prefix = state.repo_for(model.artifact_location)
    full = "/".join(p for p in (prefix, rel) if p)
    files = []
    for info in repo.list_artifacts(full):
        entry = info.to_dict()
        if prefix:
            entry["path"] = info.path[len(prefix) + 1 :]
        files.append(entry)
    return JSONResponse({"root_uri": model.artifact_location, "files": files})


@router.get("/{model_id}/artifacts/files")
def get_logged_model_artifact(model_id: str, request: Request, artifact_file_path: str | None = None) -> Any:
    if not artifact_file_path:
        raise InvalidParameterError('Request must include the "artifact_file_path" query parameter')
    rel = safe_server_path(artifact_file_path, allow_empty=False)
    state = get_state(request)
    model = state.store.get_logged_model(model_id)
    repo, prefix = state.repo_for(model.artifact_location)
    return file_response(repo, "/".join(p for p in (prefix, rel) if p))
