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
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY_ATTRS: dict[str, str] = {
    "ActiveRun": "hf_mltrack.tracking.fluent",
    "MlTrackClient": "hf_mltrack.tracking.client",
    "MlTrackException": "hf_mltrack.exceptions",
    "SpanType": "hf_mltrack.entities.trace",
    "active_run": "hf_mltrack.tracking.fluent",
    "autolog": "hf_mltrack.autologging",
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

# What type checkers see: the real objects, so `hf_mltrack.start_run` is typed (the map above erases
# them at run time, where these imports never run). tests/test_typing.py keeps the two in sync.
if TYPE_CHECKING:
    from . import artifacts as artifacts
    from . import data as data
    from . import entities as entities
    from . import exceptions as exceptions
    from . import integrations as integrations
    from . import models as models
    from . import projects as projects
    from . import pyfunc as pyfunc
    from . import pytorch as pytorch
    from . import recipes as recipes
    from . import registry as registry
    from . import sklearn as sklearn
    from . import tracing as tracing
    from . import tracking as tracking
    from . import transformers as transformers
    from . import types as types
    from .artifacts.fluent import get_artifact_uri as get_artifact_uri
    from .artifacts.fluent import load_table as load_table
    from .artifacts.fluent import log_artifact as log_artifact
    from .artifacts.fluent import log_artifacts as log_artifacts
    from .artifacts.fluent import log_dict as log_dict
    from .artifacts.fluent import log_figure as log_figure
    from .artifacts.fluent import log_image as log_image
    from .artifacts.fluent import log_table as log_table
    from .artifacts.fluent import log_text as log_text
    from .autologging import autolog as autolog
    from .entities.trace import SpanType as SpanType
    from .exceptions import MlTrackException as MlTrackException
    from .projects.launcher import run as run
    from .registry.fluent import get_registry_uri as get_registry_uri
    from .registry.fluent import register_model as register_model
    from .registry.fluent import set_registry_uri as set_registry_uri
    from .tracing.export import flush_trace_async_logging as flush_trace_async_logging
    from .tracing.fluent import get_current_active_span as get_current_active_span
    from .tracing.fluent import get_last_active_trace as get_last_active_trace
    from .tracing.fluent import get_trace as get_trace
    from .tracing.fluent import search_traces as search_traces
    from .tracing.fluent import start_span as start_span
    from .tracing.fluent import trace as trace
    from .tracing.fluent import update_current_trace as update_current_trace
    from .tracking.client import MlTrackClient as MlTrackClient
    from .tracking.fluent import ActiveRun as ActiveRun
    from .tracking.fluent import active_run as active_run
    from .tracking.fluent import create_experiment as create_experiment
    from .tracking.fluent import delete_experiment as delete_experiment
    from .tracking.fluent import delete_run as delete_run
    from .tracking.fluent import delete_tag as delete_tag
    from .tracking.fluent import end_run as end_run
    from .tracking.fluent import flush_async_logging as flush_async_logging
    from .tracking.fluent import get_experiment as get_experiment
    from .tracking.fluent import get_experiment_by_name as get_experiment_by_name
    from .tracking.fluent import get_parent_run as get_parent_run
    from .tracking.fluent import get_run as get_run
    from .tracking.fluent import get_tracking_uri as get_tracking_uri
    from .tracking.fluent import is_tracking_uri_set as is_tracking_uri_set
    from .tracking.fluent import last_active_run as last_active_run
    from .tracking.fluent import log_metric as log_metric
    from .tracking.fluent import log_metrics as log_metrics
    from .tracking.fluent import log_param as log_param
    from .tracking.fluent import log_params as log_params
    from .tracking.fluent import restore_experiment as restore_experiment
    from .tracking.fluent import restore_run as restore_run
    from .tracking.fluent import search_experiments as search_experiments
    from .tracking.fluent import search_runs as search_runs
    from .tracking.fluent import set_experiment as set_experiment
    from .tracking.fluent import set_experiment_tag as set_experiment_tag
    from .tracking.fluent import set_experiment_tags as set_experiment_tags
    from .tracking.fluent import set_tag as set_tag
    from .tracking.fluent import set_tags as set_tags
    from .tracking.fluent import set_tracking_uri as set_tracking_uri
    from .tracking.fluent import start_run as start_run
    from .tracking.fluent_models import clear_active_model as clear_active_model
    from .tracking.fluent_models import create_external_model as create_external_model
    from .tracking.fluent_models import delete_logged_model as delete_logged_model
    from .tracking.fluent_models import delete_logged_model_tag as delete_logged_model_tag
    from .tracking.fluent_models import finalize_logged_model as finalize_logged_model
    from .tracking.fluent_models import get_active_model_id as get_active_model_id
    from .tracking.fluent_models import get_logged_model as get_logged_model
    from .tracking.fluent_models import initialize_logged_model as initialize_logged_model
    from .tracking.fluent_models import last_logged_model as last_logged_model
    from .tracking.fluent_models import log_input as log_input
    from .tracking.fluent_models import log_inputs as log_inputs
    from .tracking.fluent_models import log_model_params as log_model_params
    from .tracking.fluent_models import log_outputs as log_outputs
    from .tracking.fluent_models import search_logged_models as search_logged_models
    from .tracking.fluent_models import set_active_model as set_active_model
    from .tracking.fluent_models import set_logged_model_tags as set_logged_model_tags
    from .tracking.generations import log_generations as log_generations

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
