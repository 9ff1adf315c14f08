"""Shared fixtures: every test gets a fresh embedded store and a clean HF_MLTRACK_* environment."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith("HF_MLTRACK_") or name.startswith("MLFLOW_"):
            monkeypatch.delenv(name, raising=False)
    home = tmp_path / "mltrack_home"
    monkeypatch.setenv("HF_MLTRACK_HOME", str(home))
    import hf_mltrack.tracking.fluent as fluent

    fluent._reset_state()
    yield
    fluent._reset_state()


@pytest.fixture
def tracking_uri(tmp_path: Path) -> str:
    """A fresh SQLite tracking URI, already set as the current one."""
    import hf_mltrack

    uri = f"sqlite:///{tmp_path / 'store' / 'mltrack.db'}"
    hf_mltrack.set_tracking_uri(uri)
    return uri


@pytest.fixture
def client(tracking_uri: str):
    from hf_mltrack.tracking import MlTrackClient

    return MlTrackClient(tracking_uri)
