"""Per-experiment and per-registered-model permissions (MLflow's basic-auth paths); basic-auth only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from .._json import JSONResponse
from ..state import State
from ._common import OkResponse, ok

router = APIRouter(tags=["permissions"])


class ExperimentPermissionBody(BaseModel):
    experiment_id: str
    username: str
    permission: str


class ExperimentPermissionRef(BaseModel):
    experiment_id: str
    username: str


class ModelPermissionBody(BaseModel):
    name: str
    username: str
    permission: str


class ModelPermissionRef(BaseModel):
    name: str
    username: str


class ExperimentPermissionModel(BaseModel):
    experiment_id: str
    user_id: int
    permission: str


class ExperimentPermissionResponse(BaseModel):
    experiment_permission: ExperimentPermissionModel


class ModelPermissionModel(BaseModel):
    name: str
    user_id: int
    permission: str


class ModelPermissionResponse(BaseModel):
    registered_model_permission: ModelPermissionModel


E = "/experiments/permissions"
R = "/registered-models/permissions"


@router.post(f"{E}/create", response_model=ExperimentPermissionResponse)
def create_experiment_permission(body: ExperimentPermissionBody, state: State) -> JSONResponse:
    state.store.get_experiment(body.experiment_id)  # 404 for an unknown experiment
    rec = state.auth.store.set_permission("experiment", body.experiment_id, body.username, body.permission, create=True)
    return JSONResponse({"experiment_permission": rec})


@router.get(f"{E}/get", response_model=ExperimentPermissionResponse)
def get_experiment_permission(
    experiment_id: Annotated[str, Query()], username: Annotated[str, Query()], state: State
) -> JSONResponse:
    return JSONResponse(
        {"experiment_permission": state.auth.store.get_permission_record("experiment", experiment_id, username)}
    )


@router.patch(f"{E}/update", response_model=OkResponse)
def update_experiment_permission(body: ExperimentPermissionBody, state: State) -> JSONResponse:
    state.auth.store.set_permission("experiment", body.experiment_id, body.username, body.permission, create=False)
    return ok()


@router.delete(f"{E}/delete", response_model=OkResponse)
def delete_experiment_permission(body: ExperimentPermissionRef, state: State) -> JSONResponse:
    state.auth.store.delete_permission("experiment", body.experiment_id, body.username)
    return ok()


@router.post(f"{R}/create", response_model=ModelPermissionResponse)
def create_model_permission(body: ModelPermissionBody, state: State) -> JSONResponse:
    rec = state.auth.store.set_permission("model", body.name, body.username, body.permission, create=True)
    return JSONResponse({"registered_model_permission": rec})


@router.get(f"{R}/get", response_model=ModelPermissionResponse)
def get_model_permission(
    name: Annotated[str, Query()], username: Annotated[str, Query()], state: State
) -> JSONResponse:
    return JSONResponse(
        {"registered_model_permission": state.auth.store.get_permission_record("model", name, username)}
    )


@router.patch(f"{R}/update", response_model=OkResponse)
def update_model_permission(body: ModelPermissionBody, state: State) -> JSONResponse:
    state.auth.store.set_permission("model", body.name, body.username, body.permission, create=False)
    return ok()


@router.delete(f"{R}/delete", response_model=OkResponse)
def delete_model_permission(body: ModelPermissionRef, state: State) -> JSONResponse:
    state.auth.store.delete_permission("model", body.name, body.username)
    return ok()
