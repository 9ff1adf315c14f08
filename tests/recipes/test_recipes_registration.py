"""The register step: registers when the validation criteria pass, and only then."""

from __future__ import annotations

import pytest

import hf_mltrack.pyfunc
from hf_mltrack.exceptions import InvalidParameterError
from hf_mltrack.tracking import MlTrackClient


def test_registers_when_criteria_pass(classification_recipe, tracking_uri: str) -> None:
    folder = classification_recipe(
        steps={
            "evaluate": {
                "validation_criteria": [
                    {"metric": "accuracy", "threshold": 0.6},
                    {"metric": "log_loss", "threshold": 1.0},
                ]
            },
            "register": {"registered_model_name": "churn-model"},
        }
    )
    recipe = folder.recipe()
    recipe.run()
    mv = recipe.get_artifact("registered_model_version")
    assert mv is not None and mv.name == "churn-model" and str(mv.version) == "1"
    assert mv.tags["hf_mltrack.recipe.model_validation_status"] == "VALIDATED"
    run = recipe.get_artifact("run")
    assert mv.run_id == run.info.run_id
    assert run.data.tags["hf_mltrack.recipe.registered_model_version"] == "churn-model/1"
    model = hf_mltrack.pyfunc.load_model("models:/churn-model/1")
    assert len(model.predict({"feature1": 1.0, "feature2": 2.0, "color": "red"})) == 1
    validation = recipe.get_artifact("model_validation")
    assert validation["status"] == "VALIDATED" and all(c["passed"] for c in validation["criteria"])
    # a cached register step does not register the same model twice
    recipe.run()
    client = MlTrackClient(tracking_uri)
    assert [v.version for v in client.search_model_versions("name='churn-model'")] == ["1"]


def test_rejected_model_is_not_registered(classification_recipe, tracking_uri: str) -> None:
    folder = classification_recipe(
        steps={
            "evaluate": {"validation_criteria": [{"metric": "accuracy", "threshold": 0.999}]},
            "register": {"registered_model_name": "too-strict"},
        }
    )
    recipe = folder.recipe()
    recipe.run()
    assert recipe.get_artifact("registered_model_version") is None
    card = recipe.inspect("register")
    summary = dict(card.section("Summary")["items"])
    assert summary["registered"] == "no"
    assert "accuracy" in summary["reason"] and "allow_non_validated_model" in summary["reason"]
    assert recipe.get_artifact("run").data.tags["hf_mltrack.recipe.model_validation_status"] == "REJECTED"
    assert MlTrackClient(tracking_uri).search_registered_models() == []
    # allowing non-validated models registers it, marked REJECTED
    folder.write_profile("local", {"steps": {"register": {"allow_non_validated_model": True}}})
    assert folder.recipe().run()["register"] == "ran"
    mv = recipe.get_artifact("registered_model_version")
    assert mv.tags["hf_mltrack.recipe.model_validation_status"] == "REJECTED"


def test_regression_error_metric_threshold_is_an_upper_bound(recipe_folder, make_regression_frame) -> None:
    recipe_folder.write_csv(make_regression_frame())
    recipe_folder.write_recipe(
        {
            "recipe": "regression/v1",
            "target": "price",
            "data": {"location": "./data/train.csv", "format": "csv"},
            "model": {"algorithm": "linear_regression"},
            "steps": {
                "evaluate": {"validation_criteria": [{"metric": "rmse", "threshold": 5.0}]},
                "register": {"registered_model_name": "house-prices"},
            },
        }
    )
    recipe_folder.write_profile("local", {})
    recipe = recipe_folder.recipe()
    recipe.run()
    criteria = recipe.get_artifact("model_validation")["criteria"]
    assert criteria[0]["metric"] == "root_mean_squared_error" and criteria[0]["passed"]
    assert recipe.get_artifact("registered_model_version").name == "house-prices"


def test_no_model_name_means_no_registration(classification_recipe) -> None:
    recipe = classification_recipe().recipe()
    recipe.run()
    assert recipe.get_artifact("registered_model_version") is None
    summary = dict(recipe.inspect("register").section("Summary")["items"])
    assert "registered_model_name" in summary["reason"]


def test_unknown_criteria_metric_is_an_error(classification_recipe) -> None:
    folder = classification_recipe(steps={"evaluate": {"validation_criteria": [{"metric": "r2", "threshold": 0.5}]}})
    with pytest.raises(InvalidParameterError, match="valid metrics are"):
        folder.recipe().run()


def test_experiment_from_config(classification_recipe, tracking_uri: str) -> None:
    folder = classification_recipe(experiment={"name": "recipes-demo"})
    recipe = folder.recipe()
    recipe.run()
    client = MlTrackClient(tracking_uri)
    experiment = client.get_experiment_by_name("recipes-demo")
    assert experiment is not None
    assert recipe.get_artifact("run").info.experiment_id == experiment.experiment_id
