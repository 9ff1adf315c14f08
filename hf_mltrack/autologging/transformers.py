"""Autolog for the HF Trainer: every ``Trainer`` gets an `MlTrackCallback`, nothing else to change.

```python
import hf_mltrack
hf_mltrack.autologging.transformers.autolog()        # or hf_mltrack.autolog() for every framework
trainer = Trainer(model=model, args=args, train_dataset=train)   # report_to untouched
trainer.train()   # params, metrics, checkpoints (opt-in), final model -> one run
```

It patches one method, ``Trainer.__init__``, to add the callback after the original constructor ran
(a Trainer that already has one, e.g. from ``report_to="hf_mltrack"``, is left alone: no duplicate
points). Crash handling and resume come with the callback. transformers is not imported here: the patch
is applied when the user imports ``transformers.trainer`` (now, if it already is).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from ..integrations._import_hooks import cancel, when_imported
from . import _patching

INTEGRATION = "transformers"
_TRAINER_MODULE = "transformers.trainer"


def autolog(
    log_models: bool = True,
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_traces: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    silent: bool = False,
    registered_model_name: str | None = None,
    log_checkpoints: bool | None = None,
    log_system_metrics: bool | None = None,
    extra_tags: dict[str, Any] | None = None,
) -> None:
    """Track every HF ``Trainer`` run automatically.

    Args:
        log_models (`bool`, *optional*, defaults to `True`): log the final model with the transformers
            flavor (tokenizer / processor included, task inferred) at the end of training.
        log_input_examples (`bool`, *optional*, defaults to `False`): log a decoded training row as the
            model's input example.
        log_model_signatures (`bool`, *optional*, defaults to `True`): infer and log the model signature.
        log_traces (`bool`, *optional*, defaults to `True`): trace pipeline inference (forwarded to the
            transformers flavor's tracing when it provides it).
        log_datasets (`bool`, *optional*, defaults to `True`): log dataset sizes and fingerprints.
        disable (`bool`, *optional*, defaults to `False`): turn autolog off and restore ``Trainer``
            exactly as it was.
        silent (`bool`, *optional*, defaults to `False`): no warnings from autolog itself.
        registered_model_name (`str`, *optional*): register each final model under this name.
        log_checkpoints (`bool`, *optional*): log checkpoints as artifacts (``HF_MLTRACK_LOG_CHECKPOINTS``).
        log_system_metrics (`bool`, *optional*): sample system metrics during training (on by default).
        extra_tags (`dict`, *optional*): tags set on every autologged run.
    """
    if disable:
        cancel(_TRAINER_MODULE, _patch_trainer_module)
        _patching.revert(INTEGRATION)
        _patching.clear_config(INTEGRATION)
        return
    _patching.set_config(
        INTEGRATION,
        {
            "log_models": log_models,
            "log_input_examples": log_input_examples,
            "log_model_signatures": log_model_signatures,
            "log_traces": log_traces,
            "log_datasets": log_datasets,
            "silent": silent,
            "registered_model_name": registered_model_name,
            "log_checkpoints": log_checkpoints,
            "log_system_metrics": log_system_metrics,
            "extra_tags": dict(extra_tags or {}),
        },
    )
    # report_to="hf_mltrack" works in the same process too.
    from ..integrations import install_import_hooks

    install_import_hooks()
    when_imported(_TRAINER_MODULE, _patch_trainer_module)


def _patch_trainer_module(module: ModuleType) -> None:
    if not _patching.is_enabled(INTEGRATION):
        return
    _patching.safe_patch(INTEGRATION, module.Trainer, "__init__", _patched_init)


def _patched_init(original: Any, self: Any, *args: Any, **kwargs: Any) -> None:
    original(self, *args, **kwargs)  # the user's errors propagate unchanged
    _patching.call_safely(INTEGRATION, "Trainer.__init__", add_callback, self)


def make_callback(config: dict[str, Any]) -> Any:
    from ..integrations.trainer_callback import MlTrackCallback

    return MlTrackCallback(
        tags={**config.get("extra_tags", {})},
        log_model=config["log_models"],
        registered_model_name=config["registered_model_name"],
        log_input_example=config["log_input_examples"],
        log_model_signature=config["log_model_signatures"],
        log_checkpoints=config["log_checkpoints"],
        log_system_metrics=config["log_system_metrics"],
        log_datasets=config["log_datasets"],
        autolog=INTEGRATION,
    )


def add_callback(trainer: Any) -> Any:
    """Give ``trainer`` an autolog callback unless it already has one of ours."""
    config = _patching.get_config(INTEGRATION)
    if config is None:
        return None
    handler = getattr(trainer, "callback_handler", None)
    for cb in getattr(handler, "callbacks", ()):
        if getattr(cb, "_hf_mltrack_callback", False):
            return cb
    callback = make_callback(config)
    trainer.add_callback(callback)
    callback._set_trainer(trainer)  # added after on_init_end: attach the crash guard now
    return callback


__all__ = ["autolog"]
