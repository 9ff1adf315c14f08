"""Step caching: unchanged steps are skipped; a change reruns that step and every step after it."""

from __future__ import annotations

import os
import time

import pytest
import yaml

from hf_mltrack.exceptions import InvalidStateError

ALL = ("ingest", "split", "transform", "train", "evaluate", "register")


def _runs(result: dict[str, str]) -> list[str]:
    return [step for step, status in result.items() if status == "ran"]


def _edit(folder, path: str, update) -> None:
    file = folder.root / path
    conf = yaml.safe_load(file.read_text()) or {}
    update(conf)
    file.write_text(yaml.safe_dump(conf))


def test_second_run_skips_every_step(classification_recipe) -> None:
    folder = classification_recipe()
    recipe = folder.recipe()
    assert _runs(recipe.run()) == list(ALL)
    states = {s: recipe._workspace.state(s) for s in ALL}
    assert recipe.run() == dict.fromkeys(ALL, "cached")
    # a new Recipe object (a new process) uses the same cache
    assert folder.recipe().run() == dict.fromkeys(ALL, "cached")
    for step in ALL:
        assert recipe._workspace.state(step)["executions"] == 1
        assert recipe._workspace.state(step)["started"] == states[step]["started"]


def test_changing_estimator_params_reruns_train_and_downstream(classification_recipe) -> None:
    folder = classification_recipe()
    recipe = folder.recipe()
    recipe.run()
    first_run = recipe.get_artifact("run").info.run_id
    _edit(folder, "profiles/local.yaml", lambda c: c.update(steps={"train": {"estimator_params": {"C": 0.01}}}))
    assert _runs(recipe.run()) == ["train", "evaluate", "register"]
    run = recipe.get_artifact("run")
    assert run.info.run_id != first_run
    assert run.data.params["C"] == "0.01"
    assert recipe._workspace.state("ingest")["executions"] == 1
    assert recipe._workspace.state("train")["executions"] == 2


def test_changing_split_seed_reruns_from_split(classification_recipe) -> None:
    folder = classification_recipe()
    recipe = folder.recipe()
    recipe.run()
    before = recipe.get_artifact("test_data")
    _edit(folder, "recipe.yaml", lambda c: c["steps"]["split"].update(seed=8))
    assert _runs(recipe.run()) == ["split", "transform", "train", "evaluate", "register"]
    assert not before.equals(recipe.get_artifact("test_data"))


def test_changing_criteria_reruns_only_evaluate_and_register(classification_recipe) -> None:
    folder = classification_recipe()
    recipe = folder.recipe()
    recipe.run()
    _edit(
        folder,
        "recipe.yaml",
        lambda c: c["steps"].update(evaluate={"validation_criteria": [{"metric": "accuracy", "threshold": 0.5}]}),
    )
    assert _runs(recipe.run()) == ["evaluate", "register"]


def test_data_change_reruns_everything_but_touching_does_not(classification_recipe, make_classification_frame):
    folder = classification_recipe()
    recipe = folder.recipe()
    recipe.run()
    data = folder.root / "data" / "train.csv"
    later = time.time() + 5
    os.utime(data, (later, later))  # same content, new modification time
    assert recipe.run() == dict.fromkeys(ALL, "cached")
    folder.write_csv(make_classification_frame(n=200, seed=5))
    assert _runs(recipe.run()) == list(ALL)
    assert len(recipe.get_artifact("ingested_data")) == 200


def test_stale_model_is_not_used_for_predictions(classification_recipe) -> None:
    folder = classification_recipe()
    recipe = folder.recipe()
    recipe.run()
    row = {"feature1": 1.0, "feature2": 2.0, "color": "red"}
    assert len(recipe.predict(row)) == 1
    _edit(folder, "recipe.yaml", lambda c: c["model"].update(algorithm="random_forest"))
    with pytest.raises(InvalidStateError, match=r"step 'train' has new inputs \(algorithm\)"):
        recipe.predict(row)
    overview = recipe.inspect()
    statuses = dict((r[0], r[1]) for r in overview.section("Steps")["rows"])
    assert statuses["transform"] == "up to date" and statuses["train"] == "out of date"
    assert _runs(recipe.run("train")) == ["train"]
    assert len(recipe.predict(row)) == 1


def test_failed_step_keeps_previous_cache_and_is_reported(classification_recipe) -> None:
    folder = classification_recipe()
    recipe = folder.recipe()
    recipe.run()
    _edit(folder, "recipe.yaml", lambda c: c["model"].update(estimator_params={"C": -1.0}))
    with pytest.raises(Exception, match="C"):
        recipe.run()
    # the failed train step did not replace the cached outputs of the previous configuration
    assert recipe._workspace.state("train")["executions"] == 1
    assert not any(name.startswith(".train-") for name in os.listdir(os.path.join(recipe.workspace, "steps")))
    overview = recipe.inspect()
    statuses = dict((r[0], r[1]) for r in overview.section("Steps")["rows"])
    assert statuses["train"].startswith("FAILED")


def test_clean(classification_recipe) -> None:
    folder = classification_recipe()
    recipe = folder.recipe()
    recipe.run()
    recipe.clean("train")
    assert _runs(recipe.run()) == ["train", "evaluate", "register"]
    recipe.clean()
    assert not os.path.exists(recipe.workspace)
    assert _runs(recipe.run("ingest")) == ["ingest"]
    assert (folder.root / ".hf_mltrack_recipe" / ".gitignore").read_text() == "*\n"


def test_profiles_have_separate_caches(classification_recipe) -> None:
    folder = classification_recipe()
    folder.write_profile("other", {"model": {"algorithm": "naive_bayes"}})
    local, other = folder.recipe("local"), folder.recipe("other")
    local.run()
    assert _runs(other.run()) == list(ALL)
    assert local.run() == dict.fromkeys(ALL, "cached")
    assert other.get_artifact("run").data.params["algorithm"] == "naive_bayes"
