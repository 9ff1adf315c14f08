"""System metrics sampled while a run is active (start_run(log_system_metrics=True))."""

from __future__ import annotations

import time

import pytest

import hf_mltrack
from hf_mltrack.tracking import MlTrackClient

pytest.importorskip("psutil")


def test_system_metrics_logged_while_run_is_active(tracking_uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_MLTRACK_SYSTEM_METRICS_SAMPLING_INTERVAL", "0.05")
    with hf_mltrack.start_run(log_system_metrics=True) as run:
        deadline = time.time() + 20
        while time.time() < deadline:
            hf_mltrack.flush_async_logging()
            if len(MlTrackClient().get_metric_history(run.info.run_id, "system/cpu_utilization_percentage")) >= 2:
                break
            time.sleep(0.05)
    client = MlTrackClient()
    metrics = client.get_run(run.info.run_id).data.metrics
    assert {"system/cpu_utilization_percentage", "system/system_memory_usage_megabytes"} <= set(metrics)
    assert metrics["system/system_memory_usage_megabytes"] > 0
    steps = [m.step for m in client.get_metric_history(run.info.run_id, "system/cpu_utilization_percentage")]
    assert steps == list(range(len(steps))) and len(steps) >= 2
    # the sampler stops with the run
    time.sleep(0.3)
    count = len(client.get_metric_history(run.info.run_id, "system/cpu_utilization_percentage"))
    time.sleep(0.3)
    assert len(client.get_metric_history(run.info.run_id, "system/cpu_utilization_percentage")) == count


def test_env_var_turns_it_on(tracking_uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_MLTRACK_ENABLE_SYSTEM_METRICS_LOGGING", "true")
    with hf_mltrack.start_run() as run:
        assert run._system_monitor is not None
    assert run._system_monitor._thread is None  # stopped and joined by end_run
