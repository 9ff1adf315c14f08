"""hf_mltrack: experiment tracking and a model registry for HuggingFace fine-tuning.

``import hf_mltrack`` is cheap: every name below is imported on first use (PEP 562), so torch,
transformers, SQLAlchemy, pandas and FastAPI load only when a feature needs them.

    >>> import hf_mltrack
    >>> with hf_mltrack.start_run(run_name="lora-sft"):
    ...     hf_mltrack.log_param("learning_rate", 2e-5)
    ...     hf_mltrack.log_metric("train_loss", 1.234, step=10)
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY_ATTRS: dict[str, str] = {
    "ActiveRun": "hf_mltrack.tracking.fluent",
    "MlTrackClient": "hf_mltrack.tracking.client",
    "MlTrackException": "hf_mltrack.exceptions",
    "SpanType": "hf_mltrack.entities.trace",
    "active_run": "hf_mltrack.tracking.fluent",
    "clear_active_model": "hf_mltrack.tracking.fluent_models",
    "create_experiment": "hf_mltrack.tracking.fluent",
    "create_external_model": "hf_mltrack.tracking.fluent_models",
    "delete_experiment": "hf_mltrack.tracking.fluent",
    "delete_logged_model": "hf_mltrack.tracking.fluent_models",
    "delete_logged_model_tag": "hf_mltrack.tracking.fluent_models",
    "delete_run": "hf_mltrack.tracking.fluent",
    "delete_tag": "hf_mltrack.tracking.fluent",
    "end_run": "hf_mltrack.tracking.fluent",
    "finalize_logged_model": "hf_mltrack.tracking.fluent_models",
    "flush_async_logging": "hf_mltrack.tracking.fluent",
    "flush_trace_async_logging": "hf_mltrack.tracing.export",
    "get_active_model_id": "hf_mltrack.tracking.fluent_models",
    "get_artifact_uri": "hf_mltrack.artifacts.fluent",
    "get_current_active_span": "hf_mltrack.tracing.fluent",
    "get_experiment": "hf_mltrack.tracking.fluent",
    "get_experiment_by_name": "hf_mltrack.tracking.fluent",
    "get_last_active_trace": "hf_mltrack.tracing.fluent",
    "get_logged_model": "hf_mltrack.tracking.fluent_models",
    "get_parent_run": "hf_mltrack.tracking.fluent",
    "get_registry_uri": "hf_mltrack.registry.fluent",
    "get_run": "hf_mltrack.tracking.fluent",
    "get_trace": "hf_mltrack.tracing.fluent",
    "get_tracking_uri": "hf_mltrack.tracking.fluent",
    "initialize_logged_model": "hf_mltrack.tracking.fluent_models",
    "is_tracking_uri_set": "hf_mltrack.tracking.fluent",
    "last_active_run": "hf_mltrack.tracking.fluent",
    "last_logged_model": "hf_mltrack.tracking.fluent_models",
    "load_table": "hf_mltrack.artifacts.fluent",
    "log_artifact": "hf_mltrack.artifacts.fluent",
    "log_artifacts": "hf_mltrack.artifacts.fluent",
    "log_dict": "hf_mltrack.artifacts.fluent",
    "log_figure": "hf_mltrack.artifacts.fluent",
    "log_generations": "hf_mltrack.tracking.generations",
    "log_image": "hf_mltrack.artifacts.fluent",
    "log_input": "hf_mltrack.tracking.fluent_models",
    "log_inputs": "hf_mltrack.tracking.fluent_models",
    "log_metric": "hf_mltrack.tracking.fluent",
    "log_metrics": "hf_mltrack.tracking.fluent",
    "log_model_params": "hf_mltrack.tracking.fluent_models",
    "log_outputs": "hf_mltrack.tracking.fluent_models",
    "log_param": "hf_mltrack.tracking.fluent",
    "log_params": "hf_mltrack.tracking.fluent",
    "log_table": "hf_mltrack.artifacts.fluent",
    "log_text": "hf_mltrack.artifacts.fluent",
    "register_model": "hf_mltrack.registry.fluent",
    "restore_experiment": "hf_mltrack.tracking.fluent",
    "restore_run": "hf_mltrack.tracking.fluent",
    "run": "hf_mltrack.projects.launcher",
    "search_experiments": "hf_mltrack.tracking.fluent",
    "search_logged_models": "hf_mltrack.tracking.fluent_models",
    "search_runs": "hf_mltrack.tracking.fluent",
    "search_traces": "hf_mltrack.tracing.fluent",
    "set_active_model": "hf_mltrack.tracking.fluent_models",
    "set_experiment": "hf_mltrack.tracking.fluent",
    "set_experiment_tag": "hf_mltrack.tracking.fluent",
    "set_experiment_tags": "hf_mltrack.tracking.fluent",
    "set_logged_model_tags": "hf_mltrack.tracking.fluent_models",
    "set_registry_uri": "hf_mltrack.registry.fluent",
    "set_tag": "hf_mltrack.tracking.fluent",
    "set_tags": "hf_mltrack.tracking.fluent",
    "set_tracking_uri": "hf_mltrack.tracking.fluent",
    "start_run": "hf_mltrack.tracking.fluent",
    "start_span": "hf_mltrack.tracing.fluent",
    "trace": "hf_mltrack.tracing.fluent",
    "update_current_trace": "hf_mltrack.tracing.fluent",
}

# submodules reachable as attributes (hf_mltrack.tracking, hf_mltrack.entities, ...)
_LAZY_SUBMODULES: tuple[str, ...] = (
    "artifacts",
    "autolog",
    "data",
    "entities",
    "exceptions",
    "integrations",
    "models",
    "projects",
    "pyfunc",
    "pytorch",
    "recipes",
    "registry",
    "sklearn",
    "tracing",
    "tracking",
    "transformers",
    "types",
)

__all__ = sorted([*_LAZY_ATTRS, *_LAZY_SUBMODULES])

# Registers report_to="hf_mltrack" with transformers when (and only when) transformers' integrations
# are imported; the import itself is standard library only.
from . import integrations as _integrations  # noqa: E402, F401


def __getattr__(name: str) -> Any:
    module_name = _LAZY_ATTRS.get(name)
    if module_name is not None:
        value = getattr(importlib.import_module(module_name), name)
    elif name in _LAZY_SUBMODULES:
        value = importlib.import_module(f"hf_mltrack.{name}")
    else:
        raise AttributeError(f"module 'hf_mltrack' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
