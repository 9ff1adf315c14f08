"""Where a recipe tracks its runs and registers its models (``experiment:`` and ``model_registry:``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def tracking_uri(config: dict[str, Any]) -> str:
    """``experiment.tracking_uri`` when set, else the current tracking URI (resolved)."""
    from hf_mltrack.tracking._uri import resolve_tracking_uri
    from hf_mltrack.tracking.fluent import get_tracking_uri

    uri = (config.get("experiment") or {}).get("tracking_uri")
    return resolve_tracking_uri(str(uri)) if uri else get_tracking_uri()


def registry_uri(config: dict[str, Any]) -> str:
    from hf_mltrack.registry.fluent import get_registry_uri

    uri = (config.get("model_registry") or {}).get("registry_uri")
    if uri:
        return str(uri)
    if (config.get("experiment") or {}).get("tracking_uri"):
        return tracking_uri(config)
    return get_registry_uri()


@contextmanager
def using(config: dict[str, Any]) -> Iterator[None]:
    """Make the recipe's tracking (and registry) URI current for the duration of a step."""
    import hf_mltrack.registry.fluent as registry_fluent
    import hf_mltrack.tracking.fluent as fluent

    exp = config.get("experiment") or {}
    reg = config.get("model_registry") or {}
    if not exp.get("tracking_uri") and not reg.get("registry_uri"):
        yield
        return
    previous_tracking = fluent._tracking_uri
    previous_registry = registry_fluent._registry_uri
    previous_experiment = fluent._active_experiment_id  # set_tracking_uri forgets it when the URI changes
    try:
        if exp.get("tracking_uri"):
            fluent.set_tracking_uri(str(exp["tracking_uri"]))
        registry_fluent.set_registry_uri(registry_uri(config))
        yield
    finally:
        fluent.set_tracking_uri(previous_tracking)
        fluent._active_experiment_id = previous_experiment
        registry_fluent.set_registry_uri(previous_registry)


def experiment_id(config: dict[str, Any]) -> str:
    """The id of ``experiment.name`` (created when missing), else of the current experiment."""
    from hf_mltrack.tracking.fluent import _client, _current_experiment_id

    exp = config.get("experiment") or {}
    name = exp.get("name")
    if not name:
        return _current_experiment_id()
    client = _client()
    found = client.get_experiment_by_name(str(name))
    if found is not None:
        return found.experiment_id
    from hf_mltrack.exceptions import ResourceAlreadyExistsError

    try:
        return client.create_experiment(str(name), artifact_location=exp.get("artifact_location"))
    except ResourceAlreadyExistsError:  # created concurrently
        found = client.get_experiment_by_name(str(name))
        assert found is not None
        return found.experiment_id
