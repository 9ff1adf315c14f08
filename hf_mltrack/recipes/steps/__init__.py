"""The recipe steps, in order.

Each step module has ``VERSION``, ``fingerprint_config(ctx)`` and ``run(step_run)``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from hf_mltrack.recipes.config import STEPS

TITLES = {
    "ingest": "Ingest",
    "split": "Split",
    "transform": "Transform",
    "train": "Train",
    "evaluate": "Evaluate",
    "register": "Register",
}


def step_module(step: str) -> ModuleType:
    return importlib.import_module(f"hf_mltrack.recipes.steps.{step}")


__all__ = ["STEPS", "TITLES", "step_module"]
