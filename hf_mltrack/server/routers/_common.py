"""Pydantic pieces shared by the routers."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from ...entities import ViewType
from .._json import JSONResponse


class KeyValue(BaseModel):
    model_config = ConfigDict(extra="ignore")

    key: str
    value: str = ""


class OkResponse(BaseModel):
    """Writes answer ``{}`` as MLflow's server does."""


def ok() -> JSONResponse:
    return JSONResponse({})


def view_type(value: str | int | None) -> int:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    return ViewType.parse(value)
