"""Pydantic pieces shared by the routers."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from ...entities import ViewType
from .._json import JSONResponse
from ._limits import MAX_REGISTRY_TAG_VALUE_LENGTH, Key


class KeyValue(BaseModel):
    """A tag or param; each router checks its own value limit (run tag 8000, experiment tag 20000...)."""

    model_config = ConfigDict(extra="ignore")

    key: Key
    value: Annotated[str, Field(max_length=MAX_REGISTRY_TAG_VALUE_LENGTH)] = ""


class OkResponse(BaseModel):
    """Writes answer ``{}`` as MLflow's server does."""


def ok() -> JSONResponse:
    return JSONResponse({})


def view_type(value: str | int | None) -> int:
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    return ViewType.parse(value)
