"""Fixtures for project tests: project folders written on the fly."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from projects_helpers import EVALUATE_PY, SEED_MLPROJECT, TRAIN_PY, write_files


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[..., Path]:
    """Write a project folder: ``make_project({"MLproject": ..., "train.py": ...}, name="proj")``."""

    def make(files: dict[str, str], name: str = "proj") -> Path:
        return write_files(tmp_path / name, files)

    return make


@pytest.fixture
def seed_project(make_project: Callable[..., Path]) -> Path:
    """The seed's MLproject (section 3.5) with a tiny train.py and evaluate.py."""
    return make_project({"MLproject": SEED_MLPROJECT, "train.py": TRAIN_PY, "evaluate.py": EVALUATE_PY})
