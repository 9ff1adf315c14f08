"""Basic-auth users: ``/api/2.0/mlflow/users/*`` (MLflow's paths); only with ``--app-name basic-auth``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from ...exceptions import InvalidParameterError
from .._json import JSONResponse
from ..state import State
from ._common import OkResponse, ok

router = APIRouter(prefix="/users", tags=["users"])


class CreateUser(BaseModel):
    username: str = Field(min_length=1, max_length=255)
    password: str


class UserModel(BaseModel):
    id: int
    username: str
    is_admin: bool
    experiment_permissions: list[dict] = Field(default_factory=list)
    registered_model_permissions: list[dict] = Field(default_factory=list)


class UserResponse(BaseModel):
    user: UserModel


class UpdatePassword(BaseModel):
    username: str
    password: str


class UpdateAdmin(BaseModel):
    username: str
    is_admin: bool


class Username(BaseModel):
    username: str


@router.post("/create", response_model=UserResponse)
def create_user(body: CreateUser, state: State) -> JSONResponse:
    user = state.auth.store.create_user(body.username, body.password)
    return JSONResponse({"user": user.to_json()})


@router.get("/get", response_model=UserResponse)
def get_user(username: Annotated[str, Query()], state: State) -> JSONResponse:
    return JSONResponse({"user": state.auth.store.get_user(username, with_permissions=True).to_json()})


@router.get("/current", response_model=UserResponse)
def current_user(request: Request, state: State) -> JSONResponse:
    name = state.auth.username(request)
    return JSONResponse({"user": state.auth.store.get_user(name, with_permissions=True).to_json()})


@router.patch("/update-password", response_model=OkResponse)
def update_password(body: UpdatePassword, state: State) -> JSONResponse:
    state.auth.store.update_password(body.username, body.password)
    return ok()


@router.patch("/update-admin", response_model=OkResponse)
def update_admin(body: UpdateAdmin, request: Request, state: State) -> JSONResponse:
    if body.username == state.auth.username(request) and not body.is_admin:
        raise InvalidParameterError("An admin cannot remove their own admin rights: ask another admin")
    state.auth.store.update_admin(body.username, body.is_admin)
    return ok()


@router.delete("/delete", response_model=OkResponse)
def delete_user(body: Username, request: Request, state: State) -> JSONResponse:
    if body.username == state.auth.username(request):
        raise InvalidParameterError("You cannot delete your own user: ask another admin")
    state.auth.store.delete_user(body.username)
    return ok()
