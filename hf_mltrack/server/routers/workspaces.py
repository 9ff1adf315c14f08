"""``/api/2.0/hf-mltrack/workspaces/*``: the web UI's saved chart workspaces (hf_mltrack's own prefix:
MLflow has no such API).

A workspace is a named layout of panels for one experiment, readable by whoever may read the
experiment and saved or deleted by whoever may edit it (see the auth policy table)::

    GET    /workspaces/list?experiment_id=1
    GET    /workspaces/get?experiment_id=1&name=sweep
    POST   /workspaces/save     {"experiment_id": "1", "name": "sweep", "spec": {"panels": [...]}}
    DELETE /workspaces/delete   {"experiment_id": "1", "name": "sweep"}
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from .._json import JSONResponse
from ..state import State

router = APIRouter(prefix="/workspaces", tags=["workspaces"])

MAX_PANELS = 48
Key = Annotated[str, Field(min_length=1, max_length=250)]


class Panel(BaseModel):
    """One panel. Fields a kind does not use are ignored by the UI."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["line", "scatter", "parcoords", "bar", "markdown"]
    title: str = Field(default="", max_length=250)
    metrics: list[Key] = Field(default_factory=list, max_length=32)
    x: Literal["step", "time", "relative"] | Key = "step"
    y: Key | None = None
    color: Key | None = None
    smoothing: float = Field(default=0.0, ge=0.0, le=0.99)
    log_y: bool = False
    group_by: Key | None = None
    aggregate: Literal["mean", "median"] = "mean"
    band: Literal["minmax", "std", "none"] = "minmax"
    text: str = Field(default="", max_length=20_000)
    width: Literal[1, 2] = 1


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    panels: list[Panel] = Field(default_factory=list, max_length=MAX_PANELS)
    filter: str = Field(default="", max_length=2000)
    runs: list[Annotated[str, Field(max_length=64)]] = Field(default_factory=list, max_length=100)


class SaveWorkspace(BaseModel):
    model_config = ConfigDict(extra="forbid")

    experiment_id: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=255)
    spec: Spec


class DeleteWorkspace(BaseModel):
    model_config = ConfigDict(extra="forbid")

    experiment_id: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=255)


def _user(request: Request, state: State) -> str | None:
    auth = getattr(state, "auth", None)
    return auth.username(request) if auth is not None else None


@router.get("/list")
def list_workspaces(state: State, experiment_id: Annotated[str, Query(min_length=1, max_length=32)]) -> JSONResponse:
    from ...store.sql.workspace_store import list_workspaces as _list

    return JSONResponse({"workspaces": _list(state.store, experiment_id)})


@router.get("/get")
def get_workspace(
    state: State,
    experiment_id: Annotated[str, Query(min_length=1, max_length=32)],
    name: Annotated[str, Query(min_length=1, max_length=255)],
) -> JSONResponse:
    from ...store.sql.workspace_store import get_workspace as _get

    return JSONResponse({"workspace": _get(state.store, experiment_id, name)})


@router.post("/save")
def save_workspace(body: SaveWorkspace, request: Request, state: State) -> JSONResponse:
    from ...store.sql.workspace_store import save_workspace as _save

    spec = body.spec.model_dump(exclude_defaults=False)
    return JSONResponse({"workspace": _save(state.store, body.experiment_id, body.name, spec, _user(request, state))})


@router.delete("/delete")
def delete_workspace(body: DeleteWorkspace, state: State) -> JSONResponse:
    from ...store.sql.workspace_store import delete_workspace as _delete

    _delete(state.store, body.experiment_id, body.name)
    return JSONResponse({})
