"""The MLproject file's schema as pydantic models: validation errors name the key path of each problem.

Short forms are normalized before validation (a parameter given as a type name, a docker environment
item given as a bare name), so each key has one type and each error one clear message.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, StringConstraints, ValidationError

ParameterType = Literal["string", "float", "int", "path", "uri"]
NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


def scalar_text(value: Any) -> Any:
    """YAML turns ``true`` into True and ``3`` into 3; commands want the text a user would write."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return value
    raise ValueError("must be a scalar (text, a number or a boolean)")


Text = Annotated[str, BeforeValidator(scalar_text)]


def _parameter_form(value: Any) -> Any:
    if value is None:
        return {}  # `name:` alone: a required string
    if isinstance(value, str):
        return {"type": value}  # `name: float`: a type, no default (required)
    return value


def _environment_item(value: Any) -> Any:
    if isinstance(value, str):
        return (value, None)  # NAME: copied from the launching environment
    if isinstance(value, list) and len(value) == 2 and isinstance(value[0], str):
        return (value[0], scalar_text(value[1]))
    raise ValueError("items must be NAME (copied from this environment) or [NAME, value]")


class ParameterSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: ParameterType = "string"
    default: Text | None = None


class EntryPointSpec(BaseModel):
    command: NonEmpty
    parameters: dict[str, Annotated[ParameterSpec, BeforeValidator(_parameter_form)]] | None = None


class DockerEnvSpec(BaseModel):
    image: NonEmpty
    volumes: list[str] | None = None
    environment: list[Annotated[tuple[str, str | None], BeforeValidator(_environment_item)]] | None = None


class MLprojectSpec(BaseModel):
    """The MLproject file (MLflow's keys); other top-level keys are ignored, as MLflow does."""

    name: Text | None = None
    python_env: NonEmpty | None = None
    conda_env: NonEmpty | None = None
    docker_env: DockerEnvSpec | None = None
    entry_points: dict[str, EntryPointSpec] | None = None


def validation_message(source: Any, exc: ValidationError) -> str:
    """One clause per problem: the key path in the file, what is wrong and the value found."""
    problems = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(p) for p in error["loc"]) or "the top level"
        message = error["msg"].removeprefix("Value error, ")
        found = "" if error["type"] == "missing" else f" (got {error['input']!r})"
        problems.append(f"{where}: {message}{found}")
    return f"{source} is malformed: " + "; ".join(dict.fromkeys(problems))
