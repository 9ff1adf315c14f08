"""System metrics read every GPU through NVML while a loop keeps it busy."""

from __future__ import annotations

import time

import pytest
import torch

import hf_mltrack

from .conftest import GPU_ONLY

pytest.importorskip("pynvml", reason="nvidia-ml-py is not installed")
pytest.importorskip("psutil")


@GPU_ONLY
def test_gpu_utilization_memory_power_temperature_logged(store, monkeypatch):
    monkeypatch.setenv("HF_MLTRACK_SYSTEM_METRICS_SAMPLING_INTERVAL", "0.2")
    a = torch.randn(4096, 4096, device="cuda:0")
    with hf_mltrack.start_run(log_system_metrics=True) as run:
        deadline = time.monotonic() + 4.0
        while time.monotonic() < deadline:
            for _ in range(20):
                a = (a @ a).clamp_(-1, 1)
            torch.cuda.synchronize()
    client = hf_mltrack.MlTrackClient()
    keys = set(client.get_run(run.info.run_id).data.metrics)
    for suffix in ("utilization_percentage", "memory_usage_megabytes", "memory_total_megabytes"):
        assert f"system/gpu_0_{suffix}" in keys, sorted(keys)
    util = [m.value for m in client.get_metric_history(run.info.run_id, "system/gpu_0_utilization_percentage")]
    assert len(util) >= 5 and max(util) > 0
    total = client.get_metric_history(run.info.run_id, "system/gpu_0_memory_total_megabytes")[0].value
    used = max(m.value for m in client.get_metric_history(run.info.run_id, "system/gpu_0_memory_usage_megabytes"))
    assert 0 < used <= total
    if "system/gpu_0_temperature_celsius" in keys:
        temps = client.get_metric_history(run.info.run_id, "system/gpu_0_temperature_celsius")
        assert all(0 < m.value < 120 for m in temps)
    if "system/gpu_0_power_watts" in keys:
        assert max(m.value for m in client.get_metric_history(run.info.run_id, "system/gpu_0_power_watts")) > 0
