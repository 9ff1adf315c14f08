"""The recipe workspace: each step's cached outputs, keyed by a fingerprint of its inputs and configuration.

```
<recipe folder>/.hf_mltrack_recipe/<profile>/
  steps/<step>/state.json     fingerprint, timings, summary of the last successful execution
  steps/<step>/outputs/...    datasets (parquet), the fitted transformer and model (skops), json
  steps/<step>/card.json      the step card; card.html beside it
  last_run.json               what the last recipe.run() did with each step
```

A step's fingerprint hashes its own configuration, the fingerprint of the step before it and the step's
implementation version; the ingest step also hashes the data files. A step runs only when no successful
execution with the same fingerprint is cached, so a change reruns that step and every step after it.
Outputs are written to a temporary folder and swapped in only when the step succeeds, so an interrupted or
failed step never leaves half-written outputs behind a valid fingerprint.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

WORKSPACE_DIR = ".hf_mltrack_recipe"
STATE_FILE = "state.json"
CARD_FILE = "card.json"
CARD_HTML = "card.html"
OUTPUTS = "outputs"
LAST_RUN = "last_run.json"


def fingerprint(step: str, version: int, config: Mapping[str, Any], upstream: str) -> str:
    payload = json.dumps(
        {"step": step, "version": version, "config": config, "upstream": upstream},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _write_json(path: str, data: Any) -> None:
    tmp = f"{path}.{uuid.uuid4().hex}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, sort_keys=True, default=str)
    os.replace(tmp, path)


def _read_json(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


class Workspace:
    """The cache folder of one recipe and profile."""

    def __init__(self, path: str) -> None:
        self.path = os.path.abspath(path)

    def _ensure(self) -> None:
        if not os.path.isdir(self.path):
            os.makedirs(os.path.join(self.path, "steps"), exist_ok=True)
        root = os.path.dirname(self.path)
        ignore = os.path.join(root, ".gitignore")
        if os.path.basename(root) == WORKSPACE_DIR and not os.path.exists(ignore):
            with open(ignore, "w", encoding="utf-8") as f:  # keep the cache out of git
                f.write("*\n")

    def step_dir(self, step: str) -> str:
        return os.path.join(self.path, "steps", step)

    def outputs(self, step: str) -> str:
        return os.path.join(self.step_dir(step), OUTPUTS)

    def state(self, step: str) -> dict[str, Any] | None:
        state = _read_json(os.path.join(self.step_dir(step), STATE_FILE))
        return state if isinstance(state, dict) else None

    def card(self, step: str) -> dict[str, Any] | None:
        card = _read_json(os.path.join(self.step_dir(step), CARD_FILE))
        return card if isinstance(card, dict) else None

    def is_current(self, step: str, fp: str) -> bool:
        state = self.state(step)
        if not state:
            return False
        return state.get("fingerprint") == fp and os.path.isdir(self.outputs(step))

    @contextmanager
    def execute(self, step: str, fp: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """Run a step: yields ``(staging folder, state dict)``; the step writes ``<staging>/outputs/`` and its
        card there, and the folder replaces the cached one only if the block succeeds."""
        self._ensure()
        staging = tempfile.mkdtemp(prefix=f".{step}-", dir=os.path.join(self.path, "steps"))
        previous = self.state(step) or {}
        state: dict[str, Any] = {
            "step": step,
            "fingerprint": fp,
            "started": time.time(),
            "executions": int(previous.get("executions", 0)) + 1,
        }
        try:
            os.makedirs(os.path.join(staging, OUTPUTS))
            yield staging, state
            state["finished"] = time.time()
            state["duration_s"] = round(state["finished"] - state["started"], 3)
            _write_json(os.path.join(staging, STATE_FILE), state)
            final = self.step_dir(step)
            if os.path.exists(final):
                trash = f"{final}.old-{uuid.uuid4().hex}"
                os.replace(final, trash)
                shutil.rmtree(trash, ignore_errors=True)
            os.replace(staging, final)
        finally:
            if os.path.exists(staging):
                shutil.rmtree(staging, ignore_errors=True)

    @staticmethod
    def write_card(folder: str, card: dict[str, Any], html: str) -> None:
        _write_json(os.path.join(folder, CARD_FILE), card)
        with open(os.path.join(folder, CARD_HTML), "w", encoding="utf-8") as f:
            f.write(html)

    def card_html_path(self, step: str) -> str:
        return os.path.join(self.step_dir(step), CARD_HTML)

    def record_run(self, results: Mapping[str, Any]) -> None:
        self._ensure()
        _write_json(os.path.join(self.path, LAST_RUN), {"time": time.time(), "steps": dict(results)})

    def last_run(self) -> dict[str, Any]:
        data = _read_json(os.path.join(self.path, LAST_RUN))
        return data if isinstance(data, dict) else {}

    def clean(self, steps: list[str] | None = None) -> None:
        """Remove the cached outputs of ``steps`` (all of them when ``None``)."""
        if steps is None:
            shutil.rmtree(self.path, ignore_errors=True)
            return
        for step in steps:
            shutil.rmtree(self.step_dir(step), ignore_errors=True)
