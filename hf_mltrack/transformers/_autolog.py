"""`hf_mltrack.transformers.autolog`: one switch for training-side and inference-side autologging.

- Training (Trainer runs: params, metrics, checkpoints, the final model) belongs to
  ``hf_mltrack.autologging.transformers.autolog``; it is imported on use and receives the options it accepts.
- Inference tracing (``log_traces=True``: a trace for every pipeline call) is a hook: the module named by
  `TRACING_MODULE` is imported on use and must expose ``autolog(disable: bool = False, silent: bool = False)``
  that patches (or, with ``disable=True``, restores) ``transformers.Pipeline.__call__``. Other code can
  plug in its own with `register_inference_hook`.

Either part being absent is not an error: autolog enables what is installed and says what is missing
(unless ``silent``).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any

from hf_mltrack.transformers._compat import _logger

TRAINING_MODULE = "hf_mltrack.autologging.transformers"
TRACING_MODULE = "hf_mltrack.tracing.transformers"

# name -> fn(enable: bool, silent: bool); called by autolog with enable = log_traces and not disable.
_INFERENCE_HOOKS: dict[str, Callable[[bool, bool], None]] = {}
_state: dict[str, Any] = {"config": None}


def register_inference_hook(name: str, hook: Callable[[bool, bool], None]) -> None:
    """Run ``hook(enable, silent)`` whenever `autolog` switches inference tracing on or off."""
    _INFERENCE_HOOKS[name] = hook


def _import_optional(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and (module == exc.name or module.startswith(exc.name + ".")):
            return None  # the module itself is not there (yet); an error inside it is a real error
        raise


def _call_filtered(fn: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    params = inspect.signature(fn).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        kwargs = {k: v for k, v in kwargs.items() if k in params}
    return fn(**kwargs)


def _tracing_hook(enable: bool, silent: bool) -> bool:
    """Switch the tracing module on or off; returns whether one was found."""
    module = _import_optional(TRACING_MODULE)
    fn = getattr(module, "autolog", None) if module is not None else None
    if fn is None:
        return False
    _call_filtered(fn, {"disable": not enable, "silent": silent, "log_traces": enable})
    return True


def autolog(
    log_models: bool = True,
    log_input_examples: bool = True,
    log_model_signatures: bool = True,
    log_traces: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    registered_model_name: str | None = None,
    **kwargs: Any,
) -> None:
    """Enable (or, with ``disable=True``, disable) autologging for transformers.

    Args:
        log_models (`bool`, *optional*, defaults to `True`): log the final model of Trainer runs.
        log_input_examples (`bool`, *optional*, defaults to `True`): save an input example with it.
        log_model_signatures (`bool`, *optional*, defaults to `True`): save its signature.
        log_traces (`bool`, *optional*, defaults to `True`): trace every pipeline call (inputs, outputs,
            preprocess/forward/postprocess spans, generation parameters, latency).
        log_datasets (`bool`, *optional*, defaults to `True`): log dataset information of Trainer runs.
        disable (`bool`, *optional*, defaults to `False`): undo every patch; the originals are restored.
        exclusive, disable_for_unsupported_versions: accepted for MLflow compatibility, passed on.
        silent (`bool`, *optional*, defaults to `False`): no informational messages or warnings.
        registered_model_name (`str`, *optional*): register each logged final model under this name.
        **kwargs: passed to the Trainer autolog when it accepts them.
    """
    options = {
        "log_models": log_models,
        "log_input_examples": log_input_examples,
        "log_model_signatures": log_model_signatures,
        "log_traces": log_traces,
        "log_datasets": log_datasets,
        "disable": disable,
        "exclusive": exclusive,
        "disable_for_unsupported_versions": disable_for_unsupported_versions,
        "silent": silent,
        "registered_model_name": registered_model_name,
        **kwargs,
    }
    _state["config"] = None if disable else dict(options)
    training = _import_optional(TRAINING_MODULE)
    training_fn = getattr(training, "autolog", None) if training is not None else None
    if training_fn is not None:
        # It only records log_traces; the tracing itself is switched below, once.
        _call_filtered(training_fn, options)
    elif not silent and not disable:
        _logger.warning("Trainer autologging is not available in this installation (%s is missing)", TRAINING_MODULE)

    enable_traces = bool(log_traces) and not disable
    found = _tracing_hook(enable_traces, silent)
    for hook in list(_INFERENCE_HOOKS.values()):
        hook(enable_traces, silent)
        found = True
    if enable_traces and not found and not silent:
        _logger.info("log_traces=True: pipeline tracing is not available yet (%s is missing)", TRACING_MODULE)


def get_autolog_config() -> dict[str, Any] | None:
    """The options of the last `autolog` call (``None`` when disabled or never called)."""
    config = _state["config"]
    return dict(config) if config is not None else None
