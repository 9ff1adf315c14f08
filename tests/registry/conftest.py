"""Registry fixtures: a client with the registry methods on each backend, and models logged to runs."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from registry_helpers import client_class, local_path, write_model


@pytest.fixture(autouse=True)
def _reset_registry_uri() -> Iterator[None]:
    from hf_mltrack.registry import fluent

    fluent._reset_state()
    yield
    fluent._reset_state()


@pytest.fixture
def reg(store_uri: str):
    """A registry client on a fresh store, on SQLite and on PostgreSQL."""
    return client_class()(store_uri)


@pytest.fixture
def sqlite_reg(tracking_uri: str):
    """A registry client on a fresh SQLite store only."""
    return client_class()(tracking_uri)


@pytest.fixture
def log_model() -> Callable[..., tuple[str, str]]:
    """``log_model(client, path="model")`` -> ``(run_id, "runs:/<run_id>/<path>")`` with a model there."""

    def _log(client, path: str = "model", marker: str = "", experiment_id: str = "0") -> tuple[str, str]:
        run = client.create_run(experiment_id)
        write_model(local_path(run.info.artifact_uri) / path, marker)
        client.set_terminated(run.info.run_id)
        return run.info.run_id, f"runs:/{run.info.run_id}/{path}"

    return _log
