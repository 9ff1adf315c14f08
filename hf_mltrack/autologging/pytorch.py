"""Autolog for plain PyTorch loops: TensorBoard scalars and accelerate's logging go to the active run.

```python
import hf_mltrack
hf_mltrack.autologging.pytorch.autolog()

writer = SummaryWriter()                    # torch.utils.tensorboard
writer.add_scalar("loss", 0.5, global_step=10)    # -> metric "loss" at step 10 of the active run
accelerator.log({"lr": 1e-4}, step=10)            # -> metric "lr" at step 10
accelerator.save_model(model, "out")              # -> artifacts "model/" (log_models=True)
```

Patched (each reversible with ``disable=True``): ``SummaryWriter.add_scalar``, ``add_scalars`` and
``add_hparams``; ``Accelerator.log``, ``init_trackers``, ``save_model`` and ``prepare``. Values are
logged on the main process only, into the active run (one is started, and ended at exit, when none
is active). An Accelerator that already logs to hf_mltrack through `HfMlTrackTracker` is skipped so
no point is written twice.
"""

from __future__ import annotations

import atexit
import os
import time
from types import ModuleType
from typing import Any

from ..integrations._import_hooks import cancel, when_imported
from . import _patching

INTEGRATION = "pytorch"
_WRITER_MODULE = "torch.utils.tensorboard.writer"
_ACCELERATOR_MODULE = "accelerate.accelerator"
_started_runs: list[str] = []


def autolog(
    log_models: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    silent: bool = False,
    registered_model_name: str | None = None,
) -> None:
    """Route PyTorch-loop logging (TensorBoard ``SummaryWriter``, ``accelerate.Accelerator``) to hf_mltrack.

    Args:
        log_models (`bool`, *optional*, defaults to `True`): log folders saved with
            ``Accelerator.save_model`` as the run's ``model`` artifacts.
        log_datasets (`bool`, *optional*, defaults to `True`): log the sizes of datasets passed to
            ``Accelerator.prepare`` as params.
        disable (`bool`, *optional*, defaults to `False`): turn it off and restore the originals exactly.
        silent (`bool`, *optional*, defaults to `False`): no warnings from autolog itself.
        registered_model_name (`str`, *optional*): accepted for MLflow compatibility; models saved with
            ``save_model`` are logged as artifacts, register them with ``hf_mltrack.register_model``.
    """
    if disable:
        cancel(_WRITER_MODULE, _patch_writer)
        cancel(_ACCELERATOR_MODULE, _patch_accelerator)
        _patching.revert(INTEGRATION)
        _patching.clear_config(INTEGRATION)
        return
    _patching.set_config(
        INTEGRATION,
        {
            "log_models": log_models,
            "log_datasets": log_datasets,
            "silent": silent,
            "registered_model_name": registered_model_name,
        },
    )
    when_imported(_WRITER_MODULE, _patch_writer)
    when_imported(_ACCELERATOR_MODULE, _patch_accelerator)


# ---- where values go ---------------------------------------------------------------------------
def _run_id() -> str:
    from ..tracking import fluent

    active = fluent.active_run()
    if active is not None:
        return active.info.run_id
    run = fluent.start_run(tags={"hf_mltrack.autologging": INTEGRATION})
    if not _started_runs:
        atexit.register(_end_started_runs)
    _started_runs.append(run.info.run_id)
    return run.info.run_id


def _end_started_runs() -> None:
    from ..tracking import MlTrackClient, fluent

    for run_id in _started_runs:
        try:
            active = fluent.active_run()
            if active is not None and active.info.run_id == run_id:
                fluent.end_run()
            else:
                MlTrackClient().set_terminated(run_id)
        except Exception:
            pass
    _started_runs.clear()


def _client() -> Any:
    from ..tracking import fluent

    return fluent._client()


def _numeric(value: Any) -> float | None:
    if value is None or isinstance(value, (bool, str, bytes)):
        return None
    try:
        return float(value.item() if hasattr(value, "item") else value)
    except (TypeError, ValueError, RuntimeError):
        return None


def log_values(values: dict[str, Any], step: int | None) -> None:
    """Log the numeric entries of ``values`` as metrics at ``step`` (non-blocking)."""
    from ..entities import Metric

    ts = int(time.time() * 1000)
    metrics = []
    for key, value in values.items():
        number = _numeric(value)
        if number is not None:
            metrics.append(Metric(str(key), number, ts, int(step or 0)))
    if metrics:
        _client().log_batch(_run_id(), metrics=metrics, synchronous=False)


def log_params(values: dict[str, Any]) -> None:
    from ..entities import Param
    from ..integrations import _params

    run_id = _run_id()
    client = _client()
    params = _params.sanitize_params(values)
    params = _params.drop_keys(params, client.get_run(run_id).data.params)
    if params:
        client.log_batch(run_id, params=[Param(k, v) for k, v in params.items()], synchronous=False)


# ---- TensorBoard -------------------------------------------------------------------------------
def _patch_writer(module: ModuleType) -> None:
    if not _patching.is_enabled(INTEGRATION):
        return
    writer = module.SummaryWriter
    _patching.safe_patch(INTEGRATION, writer, "add_scalar", _add_scalar)
    _patching.safe_patch(INTEGRATION, writer, "add_scalars", _add_scalars)
    _patching.safe_patch(INTEGRATION, writer, "add_hparams", _add_hparams)


def _add_scalar(
    original: Any, self: Any, tag: str, scalar_value: Any, global_step: Any = None, *args: Any, **kwargs: Any
) -> Any:
    result = original(self, tag, scalar_value, global_step, *args, **kwargs)
    _patching.call_safely(INTEGRATION, "SummaryWriter.add_scalar", log_values, {tag: scalar_value}, global_step)
    return result


def _add_scalars(
    original: Any,
    self: Any,
    main_tag: str,
    tag_scalar_dict: dict,
    global_step: Any = None,
    *args: Any,
    **kwargs: Any,
) -> Any:
    result = original(self, main_tag, tag_scalar_dict, global_step, *args, **kwargs)
    values = {f"{main_tag}/{k}": v for k, v in tag_scalar_dict.items()}
    _patching.call_safely(INTEGRATION, "SummaryWriter.add_scalars", log_values, values, global_step)
    return result


def _add_hparams(original: Any, self: Any, hparam_dict: dict, metric_dict: dict, *args: Any, **kwargs: Any) -> Any:
    result = original(self, hparam_dict, metric_dict, *args, **kwargs)
    _patching.call_safely(INTEGRATION, "SummaryWriter.add_hparams", log_params, dict(hparam_dict))
    _patching.call_safely(INTEGRATION, "SummaryWriter.add_hparams", log_values, dict(metric_dict), None)
    return result


# ---- accelerate -----------------------------------------------------------------------------------
def _patch_accelerator(module: ModuleType) -> None:
    if not _patching.is_enabled(INTEGRATION):
        return
    accelerator = module.Accelerator
    _patching.safe_patch(INTEGRATION, accelerator, "log", _accelerator_log)
    _patching.safe_patch(INTEGRATION, accelerator, "init_trackers", _accelerator_init_trackers)
    _patching.safe_patch(INTEGRATION, accelerator, "save_model", _accelerator_save_model)
    _patching.safe_patch(INTEGRATION, accelerator, "prepare", _accelerator_prepare)


def _routes(accelerator: Any) -> bool:
    """Log for this Accelerator: main process, no hf_mltrack tracker or Trainer callback already doing it."""
    from ..integrations._guard import TRAINER_ACTIVE

    if TRAINER_ACTIVE.get() or not getattr(accelerator, "is_main_process", True):
        return False
    return not any(getattr(t, "name", None) == "hf_mltrack" for t in getattr(accelerator, "trackers", ()))


def _accelerator_log(original: Any, self: Any, values: dict, step: int | None = None, *args: Any, **kwargs: Any) -> Any:
    result = original(self, values, step, *args, **kwargs)
    if _routes(self):
        _patching.call_safely(INTEGRATION, "Accelerator.log", log_values, dict(values), step)
    return result


def _accelerator_init_trackers(
    original: Any, self: Any, project_name: str, config: dict | None = None, *args: Any, **kwargs: Any
) -> Any:
    result = original(self, project_name, config, *args, **kwargs)
    if config and _routes(self):
        _patching.call_safely(INTEGRATION, "Accelerator.init_trackers", log_params, dict(config))
    return result


def _accelerator_save_model(
    original: Any, self: Any, model: Any, save_directory: Any, *args: Any, **kwargs: Any
) -> Any:
    result = original(self, model, save_directory, *args, **kwargs)
    config = _patching.get_config(INTEGRATION) or {}
    if config.get("log_models") and _routes(self):
        _patching.call_safely(INTEGRATION, "Accelerator.save_model", _log_saved_model, os.fspath(save_directory))
    return result


def _log_saved_model(folder: str) -> None:
    from ..integrations._checkpoints import artifact_repository

    run_id = _run_id()
    run = _client().get_run(run_id)
    artifact_repository(run.info.artifact_uri, zero_copy=False).log_artifacts(folder, "model")


def _accelerator_prepare(original: Any, self: Any, *args: Any, **kwargs: Any) -> Any:
    result = original(self, *args, **kwargs)
    config = _patching.get_config(INTEGRATION) or {}
    if config.get("log_datasets") and _routes(self):
        _patching.call_safely(INTEGRATION, "Accelerator.prepare", _log_dataloaders, args)
    return result


def _log_dataloaders(objects: tuple) -> None:
    values: dict[str, Any] = {}
    index = 0
    for obj in objects:
        dataset = getattr(obj, "dataset", None)
        if dataset is None or not hasattr(obj, "batch_size"):
            continue
        try:
            values[f"dataloader_{index}.dataset_size"] = len(dataset)
        except TypeError:
            pass
        if obj.batch_size is not None:
            values[f"dataloader_{index}.batch_size"] = obj.batch_size
        index += 1
    if values:
        log_params(values)


__all__ = ["autolog", "log_values"]
