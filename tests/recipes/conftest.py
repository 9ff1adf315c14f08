"""Fixtures for recipe tests: a recipe folder with generated data, written from Python dicts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


def classification_frame(n: int = 240, seed: int = 0, labels: tuple[Any, Any] = (0, 1)) -> Any:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "feature1": rng.normal(size=n),
            "feature2": rng.normal(size=n),
            "color": rng.choice(["red", "green", "blue"], size=n),
        }
    )
    score = df.feature1 + df.feature2 + (df.color == "red") * 1.5
    df["label"] = np.where(score > 0.5, labels[1], labels[0])
    return df


def regression_frame(n: int = 240, seed: int = 0) -> Any:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "size": rng.uniform(20, 200, size=n),
            "rooms": rng.integers(1, 6, size=n),
            "city": rng.choice(["paris", "lyon", "nice"], size=n),
        }
    )
    city = df.city.map({"paris": 100.0, "lyon": 50.0, "nice": 70.0})
    df["price"] = 3.0 * df["size"] + 10.0 * df["rooms"] + city + rng.normal(scale=2.0, size=n)
    return df


def write_yaml(path: Path, data: Any) -> None:
    import yaml

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


class RecipeFolder:
    """A recipe folder under tmp_path: ``recipe.yaml``, ``profiles/*.yaml`` and ``data/``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write_recipe(self, conf: dict[str, Any]) -> None:
        write_yaml(self.root / "recipe.yaml", conf)

    def write_profile(self, name: str, conf: dict[str, Any]) -> None:
        write_yaml(self.root / "profiles" / f"{name}.yaml", conf)

    def write_csv(self, df: Any, name: str = "data/train.csv") -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        df.to_csv(path, index=False)
        return path

    def recipe(self, profile: str | None = "local") -> Any:
        from hf_mltrack.recipes import Recipe

        return Recipe(profile=profile, recipe_root=self.root)


@pytest.fixture
def recipe_folder(tmp_path: Path, tracking_uri: str) -> RecipeFolder:
    folder = RecipeFolder(tmp_path / "my_recipe")
    folder.root.mkdir()
    return folder


@pytest.fixture
def classification_recipe(recipe_folder: RecipeFolder) -> Callable[..., RecipeFolder]:
    """Write a classification/v1 recipe with a fast algorithm; keyword arguments update its config."""

    def make(**overrides: Any) -> RecipeFolder:
        recipe_folder.write_csv(classification_frame())
        conf: dict[str, Any] = {
            "recipe": "classification/v1",
            "target": "label",
            "primary_metric": "accuracy",
            "data": {"location": "./data/train.csv", "format": "csv"},
            "model": {"algorithm": "logistic_regression"},
            "steps": {"split": {"seed": 7}},
        }
        conf.update(overrides)
        recipe_folder.write_recipe(conf)
        recipe_folder.write_profile("local", {})
        return recipe_folder

    return make


@pytest.fixture
def make_classification_frame() -> Callable[..., Any]:
    return classification_frame


@pytest.fixture
def make_regression_frame() -> Callable[..., Any]:
    return regression_frame
