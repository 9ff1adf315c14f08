"""Several processes registering versions of one model at once get distinct, contiguous numbers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

_WORKER = """
import sys, time
from pathlib import Path
import hf_mltrack
from hf_mltrack.registry import register_model

uri, model_uri, name, count, go = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), Path(sys.argv[5])
hf_mltrack.set_tracking_uri(uri)
while not go.exists():  # start together
    time.sleep(0.005)
print(",".join(register_model(model_uri, name).version for _ in range(count)))
"""

PROCESSES = 4
PER_PROCESS = 5


def test_concurrent_registrations_get_distinct_contiguous_versions(reg, store_uri, log_model, tmp_path) -> None:
    _, model_uri = log_model(reg)
    go = tmp_path / "go"
    repo_root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(repo_root), os.environ.get("PYTHONPATH", "")])}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, store_uri, model_uri, "shared-model", str(PER_PROCESS), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(PROCESSES)
    ]
    time.sleep(0.5)
    go.touch()
    outputs = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        outputs.append([int(v) for v in out.strip().split(",")])

    every = sorted(v for out in outputs for v in out)
    assert every == list(range(1, PROCESSES * PER_PROCESS + 1))  # distinct and contiguous
    assert all(out == sorted(out) for out in outputs)  # each process saw increasing numbers
    versions = reg.search_model_versions("name = 'shared-model'")
    assert sorted(int(mv.version) for mv in versions) == every
    # the model was created exactly once, by whichever process came first
    assert [rm.name for rm in reg.search_registered_models()] == ["shared-model"]
