"""Accelerator(log_with="hf_mltrack"): accelerate's tracker API on an hf_mltrack run."""

from __future__ import annotations

import pytest
from integrations_helpers import metric_steps, only_run

import hf_mltrack
import hf_mltrack.integrations  # noqa: F401  (registers the "hf_mltrack" tracker name)
from hf_mltrack.integrations import HfMlTrackTracker

pytest.importorskip("accelerate")


def test_log_with_name_creates_experiment_run_params_and_metrics(tracked, client):
    from accelerate import Accelerator

    accelerator = Accelerator(cpu=True, log_with="hf_mltrack")
    accelerator.init_trackers("accel-project", config={"lr": 3e-4, "epochs": 2, "hub_token": "secret-value"})
    for step in range(3):
        accelerator.log({"train_loss": 1.0 - step / 10, "tag": "skipped"}, step=step)
    tracker = accelerator.get_tracker("hf_mltrack")
    assert isinstance(tracker, HfMlTrackTracker)
    accelerator.end_training()

    experiment = client.get_experiment_by_name("accel-project")
    run = only_run(client, experiment.experiment_id)
    assert run.info.status == "FINISHED"
    assert run.data.params == {"lr": "0.0003", "epochs": "2", "hub_token": "<redacted>"}
    assert [s for s, _ in metric_steps(client, run.info.run_id, "train_loss")] == [0, 1, 2]
    assert "tag" not in run.data.metrics


def test_tracker_instance_joins_the_active_run(tracked, client):
    from accelerate import Accelerator

    with hf_mltrack.start_run() as run:
        accelerator = Accelerator(cpu=True, log_with=HfMlTrackTracker())
        accelerator.init_trackers("ignored-when-joining")
        accelerator.log({"acc": 0.5}, step=7)
        accelerator.end_training()
        assert client.get_run(run.info.run_id).info.status == "RUNNING"  # the user's run stays open
    assert metric_steps(client, run.info.run_id, "acc") == [(7, 0.5)]
