"""Trainer.hyperparameter_search(backend="optuna"): one parent run, one nested run per trial."""

from __future__ import annotations

import pytest
from integrations_helpers import metric_steps

pytest.importorskip("optuna")


def test_optuna_search_gives_parent_and_nested_trial_runs(tracked, client, make_gpt2, make_args, lm_dataset):
    import optuna
    from transformers import Trainer

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    args = make_args(max_steps=2, run_name="lr-search")
    trainer = Trainer(model_init=make_gpt2, args=args, train_dataset=lm_dataset, eval_dataset=lm_dataset[:4])

    def space(trial):
        return {"learning_rate": trial.suggest_float("learning_rate", 1e-4, 1e-2, log=True)}

    best = trainer.hyperparameter_search(hp_space=space, backend="optuna", n_trials=2, direction="minimize")

    runs = client.search_runs(["0"])
    parents = [r for r in runs if "hf_mltrack.parentRunId" not in r.data.tags]
    trials = [r for r in runs if "hf_mltrack.parentRunId" in r.data.tags]
    assert len(parents) == 1 and len(trials) == 2
    parent = parents[0]
    assert parent.data.tags["hf_mltrack.runName"] == "lr-search"
    assert parent.data.tags["hf_mltrack.hpo.backend"] == "optuna"
    assert parent.info.status == "FINISHED"
    assert parent.data.params["best_trial"] == best.run_id
    assert parent.data.metrics["best_objective"] == pytest.approx(best.objective)
    objectives = {}
    for trial in trials:
        assert trial.data.tags["hf_mltrack.parentRunId"] == parent.info.run_id
        assert trial.info.status == "FINISHED"
        assert trial.data.tags["hf_mltrack.hpo.trial_state"] == "COMPLETE"
        lr = float(trial.data.params["trial.learning_rate"])
        assert float(trial.data.params["learning_rate"]) == pytest.approx(lr)  # applied to TrainingArguments
        assert "eval_loss" in trial.data.metrics  # optuna's evaluation after train() lands in the trial
        assert [s for s, _ in metric_steps(client, trial.info.run_id, "loss")] == [1, 2]
        objectives[trial.data.tags["hf_mltrack.hpo.trial_number"]] = trial.data.metrics["objective"]
    assert objectives[best.run_id] == pytest.approx(best.objective)
    assert min(objectives.values()) == pytest.approx(best.objective)
