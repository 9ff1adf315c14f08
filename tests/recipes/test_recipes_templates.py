"""classification/v1 and regression/v1 end to end on generated data: the seed's example, runs, cards."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hf_mltrack
import hf_mltrack.pyfunc
from hf_mltrack.exceptions import InvalidParameterError, InvalidStateError, MlTrackException
from hf_mltrack.recipes import StepCard

SEED_RECIPE_YAML = """\
recipe: classification/v1  # 或 regression/v1
target: label
primary_metric: accuracy

data:
  location: "./data/train.csv"
  format: csv

model:
  algorithm: xgboost

steps:
  train:
    estimator_params:
      n_estimators: 100
      max_depth: 6
"""

SEED_CODE = """\
from hf_mltrack.recipes import Recipe

recipe = Recipe(profile="local")
recipe.run()
recipe.inspect()  # 查看各步骤结果

# 3. 预测
prediction = recipe.predict({"feature1": 1.0, "feature2": 2.0})
"""


def test_seed_example_verbatim(tmp_path: Path, tracking_uri: str, monkeypatch, capsys) -> None:
    pytest.importorskip("xgboost")
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"feature1": rng.normal(size=300), "feature2": rng.normal(size=300)})
    df["label"] = (df.feature1 + df.feature2 > 0).astype(int)
    (tmp_path / "data").mkdir()
    df.to_csv(tmp_path / "data" / "train.csv", index=False)
    (tmp_path / "recipe.yaml").write_text(SEED_RECIPE_YAML, encoding="utf-8")
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "local.yaml").write_text("{}\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    namespace: dict = {}
    exec(SEED_CODE, namespace)

    assert list(namespace["prediction"]) == [1]  # 1.0 + 2.0 > 0
    out = capsys.readouterr().out
    for step in ("ingest", "split", "transform", "train", "evaluate", "register"):
        assert step in out
    recipe = namespace["recipe"]
    metrics = recipe.get_artifact("metrics")
    assert metrics["test"]["accuracy"] > 0.85
    run = recipe.get_artifact("run")
    assert run.data.params["algorithm"] == "xgboost"
    assert run.data.params["n_estimators"] == "100" and run.data.params["max_depth"] == "6"
    assert run.data.metrics["test_accuracy"] == pytest.approx(metrics["test"]["accuracy"])
    assert run.data.tags["hf_mltrack.recipe.template"] == "classification/v1"
    assert run.info.status == "FINISHED"
    # the logged model loads through pyfunc from the run, with the sklearn flavor
    model = hf_mltrack.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    assert model.metadata.flavors["sklearn"]["serialization_format"] == "skops"
    assert list(model.predict(pd.DataFrame({"feature1": [-3.0], "feature2": [-1.0]}))) == [0]
    assert (tmp_path / ".hf_mltrack_recipe" / "local").is_dir()


def test_classification_with_categories_and_string_labels(recipe_folder, make_classification_frame) -> None:
    df = make_classification_frame(labels=("no", "yes"))
    df.loc[::17, "feature1"] = np.nan  # missing values are imputed
    recipe_folder.write_csv(df)
    recipe_folder.write_recipe(
        {
            "recipe": "classification/v1",
            "target": "label",
            "positive_class": "yes",
            "data": {"location": "./data/train.csv", "format": "csv"},
            "model": {"algorithm": "random_forest"},
            "steps": {
                "split": {
                    "train_fraction": 0.7,
                    "validation_fraction": 0.15,
                    "test_fraction": 0.15,
                    "seed": 3,
                },
                "train": {"estimator_params": {"n_estimators": 20, "max_depth": 5}},
            },
        }
    )
    recipe_folder.write_profile("local", {})
    recipe = recipe_folder.recipe()
    assert recipe.run() == dict.fromkeys(("ingest", "split", "transform", "train", "evaluate", "register"), "ran")
    sizes = [len(recipe.get_artifact(n)) for n in ("training_data", "validation_data", "test_data")]
    assert sum(sizes) == len(df) and sizes[0] == pytest.approx(0.7 * len(df), abs=2)
    transformed = recipe.get_artifact("transformed_training_data")
    assert len(transformed) == sizes[0]
    assert {"categorical__color_red", "categorical__color_blue"} <= set(transformed.columns)
    # standard scaling was fitted on the training set
    assert transformed["numeric__feature2"].mean() == pytest.approx(0.0, abs=1e-9)
    metrics = recipe.get_artifact("metrics")
    assert set(metrics) == {"train", "validation", "test"}
    assert {"accuracy", "f1_score", "precision_score", "recall_score", "roc_auc", "log_loss"} <= set(metrics["test"])
    assert metrics["test"]["accuracy"] > 0.75
    assert set(recipe.predict({"feature1": 3.0, "feature2": 3.0, "color": "red"})) == {"yes"}
    rows = recipe.predict(pd.DataFrame({"feature1": [-3.0, 3.0], "feature2": [-3.0, 3.0], "color": ["blue"] * 2}))
    assert list(rows) == ["no", "yes"]
    # an unseen category is ignored by the encoder rather than failing
    assert len(recipe.predict({"feature1": 0.0, "feature2": 0.0, "color": "purple"})) == 1
    with pytest.raises(InvalidParameterError, match="color"):
        recipe.predict({"feature1": 1.0, "feature2": 2.0})


def test_regression_template(recipe_folder, make_regression_frame) -> None:
    df = make_regression_frame()
    recipe_folder.write_csv(df)
    recipe_folder.write_recipe(
        {
            "recipe": "regression/v1",
            "target": "price",
            "data": {"location": "./data/train.csv"},  # the format is inferred from the extension
            "model": {"algorithm": "linear_regression"},
            "steps": {"transform": {"scaling": "minmax"}},
        }
    )
    recipe_folder.write_profile("local", {})
    recipe = recipe_folder.recipe()
    recipe.run()
    metrics = recipe.get_artifact("metrics")
    assert recipe.config["primary_metric"] == "root_mean_squared_error"
    assert {"root_mean_squared_error", "mean_absolute_error", "r2_score", "mean_squared_error"} <= set(metrics["test"])
    assert metrics["test"]["r2_score"] > 0.99
    assert metrics["test"]["root_mean_squared_error"] < 5
    # integer feature 'rooms' accepts a float value (the signature declares numeric features as double)
    price = recipe.predict({"size": 100.0, "rooms": 2.0, "city": "paris"})[0]
    assert price == pytest.approx(3 * 100 + 10 * 2 + 100, abs=5)
    card = recipe.inspect("evaluate")
    assert card.section("Largest test errors") is not None


def test_regression_needs_numeric_target(recipe_folder, make_classification_frame) -> None:
    df = make_classification_frame(labels=("no", "yes"))
    recipe_folder.write_csv(df)
    recipe_folder.write_recipe(
        {
            "recipe": "regression/v1",
            "target": "label",
            "data": {"location": "./data/train.csv", "format": "csv"},
            "model": {"algorithm": "ridge"},
        }
    )
    recipe_folder.write_profile("local", {})
    with pytest.raises(InvalidParameterError, match="'label'.*numeric target"):
        recipe_folder.recipe().run()


def test_parquet_data_and_run_up_to_a_step(recipe_folder, make_regression_frame) -> None:
    df = make_regression_frame(n=120)
    (recipe_folder.root / "data").mkdir()
    df.to_parquet(recipe_folder.root / "data" / "houses.parquet")
    recipe_folder.write_recipe(
        {
            "recipe": "regression/v1",
            "target": "price",
            "data": {"location": "data/*.parquet", "format": "parquet"},
            "model": {"algorithm": "ridge", "estimator_params": {"alpha": 0.1}},
        }
    )
    recipe_folder.write_profile("local", {})
    recipe = recipe_folder.recipe()
    assert recipe.run("split") == {"ingest": "ran", "split": "ran"}
    pd.testing.assert_frame_equal(recipe.get_artifact("ingested_data"), df)
    with pytest.raises(InvalidStateError, match="call recipe.run\\('train'\\)"):
        recipe.get_artifact("model")
    with pytest.raises(InvalidStateError, match="no trained model"):
        recipe.predict({"size": 1.0, "rooms": 1, "city": "lyon"})
    with pytest.raises(InvalidStateError, match="has not run yet"):
        recipe.inspect("train")
    with pytest.raises(InvalidParameterError, match="the steps are"):
        recipe.run("deploy")


def test_missing_target_column_names_it(classification_recipe) -> None:
    folder = classification_recipe(target="outcome")
    with pytest.raises(InvalidParameterError) as info:
        folder.recipe().run()
    message = str(info.value)
    assert "'outcome'" in message and "feature1" in message and "train.csv" in message


def test_unknown_estimator_param_lists_valid_ones(classification_recipe) -> None:
    folder = classification_recipe(model={"algorithm": "random_forest", "estimator_params": {"n_trees": 5}})
    with pytest.raises(InvalidParameterError) as info:
        folder.recipe().run()
    assert "n_trees" in str(info.value) and "n_estimators" in str(info.value)


def test_bad_data_location_and_format(classification_recipe) -> None:
    folder = classification_recipe(data={"location": "./data/missing.csv", "format": "csv"})
    with pytest.raises(InvalidParameterError, match="missing.csv.*does not exist"):
        folder.recipe().run()
    folder = classification_recipe(data={"location": "./data/train.csv", "format": "pickle"})
    with pytest.raises(InvalidParameterError, match="unpickles"):
        folder.recipe().run()
    folder = classification_recipe(data={"location": "./data/train.csv", "format": "tsvx"})
    with pytest.raises(InvalidParameterError, match="valid formats are"):
        folder.recipe().run()


def test_xgboost_missing_names_install_command(classification_recipe, monkeypatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "xgboost", None)  # make "import xgboost" fail
    folder = classification_recipe(model={"algorithm": "xgboost"})
    with pytest.raises(MlTrackException, match="pip install xgboost"):
        folder.recipe().run()


def test_inspect_writes_escaped_html_cards(recipe_folder, make_classification_frame, capsys) -> None:
    df = make_classification_frame(n=120)
    df["<script>alert(1)</script>"] = "<b>x</b>"
    recipe_folder.write_csv(df)
    recipe_folder.write_recipe(
        {
            "recipe": "classification/v1",
            "target": "label",
            "data": {"location": "./data/train.csv", "format": "csv"},
            "model": {"algorithm": "logistic_regression"},
        }
    )
    recipe_folder.write_profile("local", {})
    recipe = recipe_folder.recipe()
    recipe.run()
    card = recipe.inspect("ingest")
    assert isinstance(card, StepCard)
    text = capsys.readouterr().out
    assert "Schema" in text and "rows" in text
    html = Path(card.html_path).read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in html and "<b>x</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert card._repr_html_() == card.to_html()
    overview = recipe.inspect()
    assert os.path.isfile(overview.html_path)
    steps = overview.section("Steps")
    assert steps is not None and [r[1] for r in steps["rows"]] == ["up to date"] * 6
    train_card = recipe.inspect("train")
    summary = dict(train_card.section("Summary")["items"])
    assert summary["algorithm"] == "logistic_regression"
    # MLflow 3: log_model answers the logged model's URI, which loads like the run's path does
    assert summary["model URI"].startswith("models:/m-")
    loaded = hf_mltrack.pyfunc.load_model(summary["model URI"])
    assert loaded.metadata.run_id == recipe.get_artifact("run").info.run_id


def test_seed_style_predict_output_in_readme_form(classification_recipe) -> None:
    folder = classification_recipe()
    recipe = folder.recipe()
    recipe.run()
    model = recipe.get_artifact("model")
    assert isinstance(model, hf_mltrack.pyfunc.PyFuncModel)
    transformer = recipe.get_artifact("transformer")
    assert hasattr(transformer, "transform")
    with pytest.raises(InvalidParameterError, match="valid names are"):
        recipe.get_artifact("weights")
    assert textwrap.dedent(repr(recipe)).startswith("Recipe(name='my_recipe'")


def test_mlflow_style_keys_folder_of_files_and_no_validation_set(recipe_folder, make_classification_frame) -> None:
    df = make_classification_frame(n=120)
    parts = recipe_folder.root / "data" / "parts"
    parts.mkdir(parents=True)
    df.iloc[:60].to_csv(parts / "a.tsv", sep="\t", index=False)
    df.iloc[60:].to_csv(parts / "b.tsv", sep="\t", index=False)
    recipe_folder.write_recipe(
        {
            "recipe": "classification/v1",
            "target_col": "label",
            "steps": {
                "ingest": {"location": "data/parts", "using": "tsv"},
                "split": {"split_ratios": [8, 0, 2]},
            },
            "model": {"algorithm": "decision_tree", "estimator_params": {"max_depth": 3}},
        }
    )
    recipe = recipe_folder.recipe(profile=None)
    recipe.run()
    assert len(recipe.get_artifact("ingested_data")) == 120
    sizes = [len(recipe.get_artifact(n)) for n in ("training_data", "validation_data", "test_data")]
    assert sizes == [96, 0, 24]
    metrics = recipe.get_artifact("metrics")
    assert metrics["validation"] == {} and metrics["test"]["accuracy"] > 0.5
