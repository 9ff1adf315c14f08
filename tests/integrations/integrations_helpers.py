"""Helpers shared by the integration tests (a uniquely named module, importable from the test files)."""

from __future__ import annotations

import os
from typing import Any


def only_run(client: Any, experiment_id: str = "0") -> Any:
    runs = client.search_runs([experiment_id])
    assert len(runs) == 1, [r.info.run_id for r in runs]
    return runs[0]


def metric_steps(client: Any, run_id: str, key: str) -> list[tuple[int, float]]:
    return [(m.step, m.value) for m in client.get_metric_history(run_id, key)]


def files_under(root: str) -> set[str]:
    out = set()
    for folder, _dirs, files in os.walk(root):
        for name in files:
            out.add(os.path.relpath(os.path.join(folder, name), root))
    return out
