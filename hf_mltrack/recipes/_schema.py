"""The keys of ``recipe.yaml`` (merged with its profile) as pydantic models.

Unknown keys are errors (a typo like ``primry_metric`` must not be silently ignored); values the steps
interpret themselves (fractions, data options, validation criteria) stay as given and are checked by
their step. Error messages name the file, the key path and the valid keys.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataConfig(_Section):
    location: Any = None
    format: Any = None
    using: Any = None
    options: Any = None
    loader_options: Any = None


class SplitOptions(_Section):
    train_fraction: Any = None
    validation_fraction: Any = None
    test_fraction: Any = None
    split_ratios: Any = None
    seed: Any = None
    stratify: Any = None
    shuffle: Any = None


class TransformOptions(_Section):
    scaling: Any = None
    categorical_encoding: Any = None
    numeric_imputation: Any = None
    categorical_imputation: Any = None
    max_categories: Any = None
    drop_columns: Any = None
    numeric_columns: Any = None
    categorical_columns: Any = None


class TrainOptions(_Section):
    algorithm: Any = None
    estimator_params: Mapping[str, Any] | None = None
    seed: Any = None


class EvaluateOptions(_Section):
    validation_criteria: Any = None


class RegisterOptions(_Section):
    registered_model_name: Any = None
    model_name: Any = None
    allow_non_validated_model: bool = False
    tags: Mapping[str, Any] | None = None


class StepsConfig(_Section):
    ingest: DataConfig | None = None
    split: SplitOptions | None = None
    transform: TransformOptions | None = None
    train: TrainOptions | None = None
    evaluate: EvaluateOptions | None = None
    # `register` is also the name of a class method of pydantic's model class (ABCMeta.register)
    register_step: RegisterOptions | None = Field(None, alias="register")


class ModelConfig(_Section):
    algorithm: Any = None
    estimator_params: Mapping[str, Any] | None = None


class ExperimentConfig(_Section):
    name: Any = None
    tracking_uri: Any = None
    artifact_location: Any = None


class RegistryConfig(_Section):
    registry_uri: Any = None
    model_name: Any = None
    registered_model_name: Any = None


class RecipeConfig(_Section):
    recipe: Any = None
    target: Any = None
    target_col: Any = None
    positive_class: Any = None
    primary_metric: Any = None
    data: DataConfig | None = None
    model: ModelConfig | None = None
    steps: StepsConfig | None = None
    experiment: ExperimentConfig | None = None
    model_registry: RegistryConfig | None = None


def _model_at(path: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class that validates the mapping at `path` (None if the path leaves the models)."""
    model: type[BaseModel] = RecipeConfig
    for part in path:
        field = next((f for name, f in model.model_fields.items() if (f.alias or name) == str(part)), None)
        if field is None:
            return None
        annotation = field.annotation
        if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
            annotation = next((a for a in typing.get_args(annotation) if a is not type(None)), None)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model


def error_message(exc: ValidationError, where: str) -> str:
    """The first problem, as a sentence naming the file(s), the key path and the fix."""
    error = exc.errors(include_url=False)[0]
    loc = tuple(error["loc"])
    path = ".".join(str(p) for p in loc)
    if error["type"] == "extra_forbidden":
        parent = loc[:-1]
        model = _model_at(parent)
        valid = ", ".join(f.alias or n for n, f in model.model_fields.items()) if model is not None else "?"
        if parent == ("steps",):
            return f"Unknown step {loc[-1]!r} under 'steps' in {where}: the steps are {valid}"
        if not parent:
            return f"Unknown top-level key {loc[-1]!r} in {where}: valid keys are {valid}"
        return f"Unknown key {loc[-1]!r} under '{'.'.join(map(str, parent))}' in {where}: valid keys are {valid}"
    return f"'{path}' in {where}: {error['msg']} (got {error['input']!r})"
