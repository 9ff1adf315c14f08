"""``/api/2.0/mlflow/experiments/*``: create, get, get-by-name, search, update, delete, restore, tags."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from ...entities import ViewType
from ...exceptions import InvalidParameterError, ResourceNotFoundError
from ...utils.validation import validate_key
from .._json import JSONResponse, experiment_to_json
from ..state import ServerState, State
from ._common import KeyValue, OkResponse, ok, view_type
from ._limits import MAX_EXPERIMENT_TAG_VALUE_LENGTH, Filter, Id, Key, Name, Uri

router = APIRouter(prefix="/experiments", tags=["experiments"])

SEARCH_MAX_RESULTS = 50_000


class CreateExperiment(BaseModel):
    name: Annotated[Name, Field(min_length=1)]
    artifact_location: Uri | None = None
    tags: list[KeyValue] = Field(default_factory=list)


class ExperimentIdResponse(BaseModel):
    experiment_id: str


class ExperimentModel(BaseModel):
    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str
    creation_time: int | None = None
    last_update_time: int | None = None
    tags: list[KeyValue] = Field(default_factory=list)


class ExperimentResponse(BaseModel):
    experiment: ExperimentModel


class SearchExperiments(BaseModel):
    max_results: int = Field(default=1000, ge=1, le=SEARCH_MAX_RESULTS)
    page_token: Filter | None = None
    filter: Filter | None = None
    order_by: list[Filter] = Field(default_factory=list)
    view_type: str | int | None = None


class SearchExperimentsResponse(BaseModel):
    experiments: list[ExperimentModel] = Field(default_factory=list)
    next_page_token: str | None = None


class ExperimentIdBody(BaseModel):
    experiment_id: Id


class UpdateExperiment(BaseModel):
    experiment_id: Id
    new_name: Annotated[Name, Field(min_length=1)]


class SetExperimentTag(BaseModel):
    """Keys are checked like run tag keys (non-empty, no NUL, control or bidi characters)."""

    experiment_id: Id
    key: Key
    value: str = Field(default="", max_length=MAX_EXPERIMENT_TAG_VALUE_LENGTH)


class DeleteExperimentTag(BaseModel):
    experiment_id: Id
    key: Key


def _experiment_tags(tags: list[KeyValue]) -> dict[str, str]:
    out = {}
    for i, tag in enumerate(tags):
        validate_key("experiment tag", tag.key)
        if len(tag.value) > MAX_EXPERIMENT_TAG_VALUE_LENGTH:
            raise InvalidParameterError(
                f"tags[{i}].value of experiment tag {tag.key!r} has {len(tag.value)} characters: the limit is "
                f"{MAX_EXPERIMENT_TAG_VALUE_LENGTH}"
            )
        out[tag.key] = tag.value
    return out


@router.post("/create", response_model=ExperimentIdResponse)
def create_experiment(body: CreateExperiment, request: Request, state: State) -> JSONResponse:
    location = state.check_artifact_location(body.artifact_location) if body.artifact_location else None
    exp_id = state.store.create_experiment(body.name, location, _experiment_tags(body.tags))
    if state.auth is not None:
        state.auth.on_experiment_created(request, exp_id)
    return JSONResponse({"experiment_id": exp_id})


@router.get("/get", response_model=ExperimentResponse)
def get_experiment(experiment_id: Annotated[str, Query()], state: State) -> JSONResponse:
    return JSONResponse({"experiment": experiment_to_json(state.store.get_experiment(experiment_id))})


@router.get("/get-by-name", response_model=ExperimentResponse)
def get_experiment_by_name(experiment_name: Annotated[str, Query()], state: State) -> JSONResponse:
    exp = state.store.get_experiment_by_name(experiment_name)
    if exp is None:
        raise ResourceNotFoundError(f"No experiment named {experiment_name!r}")
    return JSONResponse({"experiment": experiment_to_json(exp)})


def _search(body: SearchExperiments, request: Request, state: ServerState) -> JSONResponse:
    page = state.store.search_experiments(
        view_type(body.view_type),
        body.max_results,
        body.filter or None,
        body.order_by or None,
        body.page_token,
    )
    items = list(page)
    if state.auth is not None:
        items = state.auth.filter_experiments(request, items)
    out: dict = {"experiments": [experiment_to_json(e) for e in items]}
    if page.token:
        out["next_page_token"] = page.token
    return JSONResponse(out)


@router.post("/search", response_model=SearchExperimentsResponse)
def search_experiments(body: SearchExperiments, request: Request, state: State) -> JSONResponse:
    return _search(body, request, state)


@router.get("/search", response_model=SearchExperimentsResponse)
def search_experiments_get(
    state: State,
    request: Request,
    max_results: Annotated[int, Query(ge=1, le=SEARCH_MAX_RESULTS)] = 1000,
    page_token: str | None = None,
    filter: str | None = None,
    order_by: Annotated[list[str] | None, Query()] = None,
    view_type: str | None = None,
) -> JSONResponse:
    body = SearchExperiments(
        max_results=max_results,
        page_token=page_token,
        filter=filter,
        order_by=order_by or [],
        view_type=view_type,
    )
    return _search(body, request, state)


@router.post("/delete", response_model=OkResponse)
def delete_experiment(body: ExperimentIdBody, state: State) -> JSONResponse:
    state.store.delete_experiment(body.experiment_id)
    return ok()


@router.post("/restore", response_model=OkResponse)
def restore_experiment(body: ExperimentIdBody, state: State) -> JSONResponse:
    state.store.restore_experiment(body.experiment_id)
    return ok()


@router.post("/update", response_model=OkResponse)
def update_experiment(body: UpdateExperiment, state: State) -> JSONResponse:
    state.store.rename_experiment(body.experiment_id, body.new_name)
    return ok()


@router.post("/set-experiment-tag", response_model=OkResponse)
def set_experiment_tag(body: SetExperimentTag, state: State) -> JSONResponse:
    validate_key("experiment tag", body.key)
    state.store.set_experiment_tag(body.experiment_id, body.key, body.value)
    return ok()


@router.post("/delete-experiment-tag", response_model=OkResponse)
def delete_experiment_tag(body: DeleteExperimentTag, state: State) -> JSONResponse:
    delete = getattr(state.store, "delete_experiment_tag", None)
    if delete is None:  # pragma: no cover - every SQL store has it
        raise InvalidParameterError("This tracking store cannot delete experiment tags")
    delete(body.experiment_id, body.key)
    return ok()


__all__ = ["ViewType", "router"]
