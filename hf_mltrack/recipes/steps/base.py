"""What every recipe step gets: the configuration, the workspace, its outputs folder and its card."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from hf_mltrack.exceptions import MlTrackException
from hf_mltrack.recipes.cards import CardBuilder
from hf_mltrack.recipes.templates import Template
from hf_mltrack.recipes.workspace import Workspace


@dataclass
class RecipeContext:
    """The recipe as the steps see it (built from the configuration at each ``run``)."""

    root: str
    profile: str | None
    config: dict[str, Any]
    template: Template
    workspace: Workspace

    @property
    def target(self) -> str:
        return str(self.config["target"])

    @property
    def is_classification(self) -> bool:
        return self.template.task == "classification"

    def step_config(self, step: str) -> dict[str, Any]:
        return dict(self.config["steps"].get(step) or {})

    def upstream(self, step: str, name: str) -> str:
        """Path of output ``name`` of an earlier step (its cached outputs)."""
        path = os.path.join(self.workspace.outputs(step), name)
        if not os.path.exists(path):
            raise MlTrackException(
                f"The cached output {name!r} of step {step!r} is missing; run recipe.clean({step!r}) and run again"
            )
        return path


@dataclass
class StepRun:
    """One execution of a step."""

    ctx: RecipeContext
    step: str
    outputs: str
    state: dict[str, Any]
    card: CardBuilder
    summary: dict[str, Any] = field(default_factory=dict)

    def output(self, name: str) -> str:
        return os.path.join(self.outputs, name)


def save_frame(df: Any, path: str) -> None:
    """Write a DataFrame as parquet (types preserved, no pickle)."""
    try:
        df.to_parquet(path, index=False)
    except ImportError as exc:
        from hf_mltrack.exceptions import missing_extra

        raise missing_extra("hf_mltrack.recipes", "pyarrow", "recipes") from exc
    except Exception as exc:
        raise MlTrackException(
            f"Cannot cache the dataset as parquet ({exc}); a column probably mixes types (e.g. numbers and "
            "strings): clean it, or set data.options (e.g. dtype: {column: str})"
        ) from exc


def load_frame(path: str) -> Any:
    import pandas as pd

    return pd.read_parquet(path)


def save_json(path: str, data: Any) -> None:
    import json

    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, sort_keys=True, default=str)


def load_json(path: str) -> Any:
    import json

    with open(path, encoding="utf-8") as f:
        return json.load(f)
