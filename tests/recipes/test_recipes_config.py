"""Reading recipe.yaml and profiles: overrides, placeholders, and clear errors naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from hf_mltrack.exceptions import InvalidParameterError
from hf_mltrack.recipes import Recipe
from hf_mltrack.recipes.config import load_config

BASE = {
    "recipe": "classification/v1",
    "target": "label",
    "data": {"location": "./data/train.csv", "format": "csv"},
    "model": {"algorithm": "random_forest"},
    "steps": {"train": {"estimator_params": {"n_estimators": 100, "max_depth": 6}}},
}


def test_profile_overrides_recipe(recipe_folder) -> None:
    recipe_folder.write_recipe(BASE)
    recipe_folder.write_profile(
        "local",
        {"model": {"algorithm": "logistic_regression"}, "steps": {"train": {"estimator_params": {"C": 0.5}}}},
    )
    recipe_folder.write_profile("prod", {"steps": {"split": {"seed": 3}}})
    conf, files = load_config(str(recipe_folder.root), "local")
    assert conf["model"]["algorithm"] == "logistic_regression"
    # mappings merge key by key: the profile replaced the whole estimator_params mapping's keys it names
    assert conf["model"]["estimator_params"] == {"n_estimators": 100, "max_depth": 6, "C": 0.5}
    assert files[-1].endswith("profiles/local.yaml")
    prod, _ = load_config(str(recipe_folder.root), "prod")
    assert prod["model"]["algorithm"] == "random_forest"
    assert prod["steps"]["split"]["seed"] == 3
    # defaults filled: the template's primary metric
    assert prod["primary_metric"] == "f1_score"


def test_placeholders_are_filled_from_the_profile(recipe_folder) -> None:
    (recipe_folder.root / "recipe.yaml").write_text(
        "recipe: regression/v1\n"
        "target: {{ TARGET }}\n"
        "data:\n  location: {{ INGEST.location }}\n  format: csv\n"
        "model:\n  algorithm: ridge\n"
        "steps:\n  split:\n    seed: {{ SEED }}\n",
        encoding="utf-8",
    )
    recipe_folder.write_profile("local", {"TARGET": "price", "INGEST": {"location": "d.csv"}, "SEED": 11})
    conf, _ = load_config(str(recipe_folder.root), "local")
    assert conf["target"] == "price"
    assert conf["data"]["location"] == "d.csv"
    assert conf["steps"]["split"]["seed"] == 11  # typed, not the string "11"


def test_placeholders_are_not_a_template_engine(recipe_folder) -> None:
    (recipe_folder.root / "recipe.yaml").write_text(
        "recipe: regression/v1\ntarget: {{ ''.__class__.__mro__ }}\n", encoding="utf-8"
    )
    recipe_folder.write_profile("local", {})
    with pytest.raises(InvalidParameterError, match="only plain names"):
        load_config(str(recipe_folder.root), "local")
    (recipe_folder.root / "recipe.yaml").write_text("{% for x in range(3) %}a: 1\n{% endfor %}\n", encoding="utf-8")
    with pytest.raises(InvalidParameterError, match="template statements"):
        load_config(str(recipe_folder.root), "local")


def test_undefined_placeholder_names_variable_and_profile(recipe_folder) -> None:
    (recipe_folder.root / "recipe.yaml").write_text("recipe: regression/v1\ntarget: {{ TARGET }}\n")
    recipe_folder.write_profile("local", {})
    with pytest.raises(InvalidParameterError, match=r"TARGET.*profiles/local\.yaml|profiles/local\.yaml.*TARGET"):
        load_config(str(recipe_folder.root), "local")


def test_missing_profile_names_the_file_and_the_choices(recipe_folder) -> None:
    recipe_folder.write_recipe(BASE)
    recipe_folder.write_profile("local", {})
    with pytest.raises(InvalidParameterError) as info:
        Recipe(profile="staging", recipe_root=recipe_folder.root)
    message = str(info.value)
    assert "profiles/staging.yaml" in message and "local" in message


def test_bad_profile_yaml_names_the_file_and_line(recipe_folder) -> None:
    recipe_folder.write_recipe(BASE)
    path: Path = recipe_folder.root / "profiles" / "local.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("steps:\n  train: [unclosed\n", encoding="utf-8")
    with pytest.raises(InvalidParameterError) as info:
        Recipe(profile="local", recipe_root=recipe_folder.root)
    assert str(path) in str(info.value) and "line" in str(info.value)
    path.write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(InvalidParameterError, match="local.yaml.*must hold a mapping"):
        Recipe(profile="local", recipe_root=recipe_folder.root)


def test_profile_name_cannot_escape_the_profiles_folder(recipe_folder) -> None:
    recipe_folder.write_recipe(BASE)
    with pytest.raises(InvalidParameterError, match="Invalid profile"):
        Recipe(profile="../recipe", recipe_root=recipe_folder.root)


def test_yaml_python_tags_are_refused(recipe_folder) -> None:
    (recipe_folder.root / "recipe.yaml").write_text(
        "recipe: !!python/object/apply:os.system ['echo hacked']\n", encoding="utf-8"
    )
    with pytest.raises(InvalidParameterError, match="Invalid YAML"):
        load_config(str(recipe_folder.root), None)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param({"model": {"algorithm": "linear_regression"}}, "valid algorithms are", id="unknown-algorithm"),
        pytest.param({"recipe": "clustering/v1"}, "valid templates are", id="unknown-template"),
        pytest.param({"primary_metric": "rmse"}, "valid metrics are", id="metric-of-other-template"),
        pytest.param({"primry_metric": "accuracy"}, "Unknown top-level key", id="typo-top-level"),
        pytest.param({"steps": {"trian": {}}}, "the steps are", id="unknown-step"),
        pytest.param({"steps": {"split": {"sed": 1}}}, "valid keys are", id="unknown-step-option"),
        pytest.param({"target": None}, "target: <column>", id="no-target"),
        pytest.param({"model": {}}, "must choose an algorithm", id="no-algorithm"),
    ],
)
def test_config_errors_are_clear(recipe_folder, change, expected) -> None:
    conf = {**BASE, **change}
    conf = {k: v for k, v in conf.items() if v is not None}
    recipe_folder.write_recipe(conf)
    with pytest.raises(InvalidParameterError, match=expected) as info:
        load_config(str(recipe_folder.root), None)
    assert "recipe.yaml" in str(info.value)


def test_unknown_algorithm_lists_every_valid_one(recipe_folder) -> None:
    recipe_folder.write_recipe({**BASE, "model": {"algorithm": "linear_regression"}})
    with pytest.raises(InvalidParameterError) as info:
        load_config(str(recipe_folder.root), None)
    message = str(info.value)
    for name in ("xgboost", "random_forest", "logistic_regression", "gradient_boosting"):
        assert name in message
    assert "'linear_regression'" in message


def test_missing_recipe_yaml(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterError, match="No recipe.yaml"):
        Recipe(profile="local", recipe_root=tmp_path)


def test_recipe_without_profiles_folder_runs_the_profile_as_no_overrides(recipe_folder, caplog) -> None:
    recipe_folder.write_recipe(BASE)
    with caplog.at_level("WARNING", logger="hf_mltrack.recipes.config"):
        conf, files = load_config(str(recipe_folder.root), "local")
    assert conf["model"]["algorithm"] == "random_forest"
    assert files == [str(recipe_folder.root / "recipe.yaml")]
    assert "profiles/local.yaml" in caplog.text
