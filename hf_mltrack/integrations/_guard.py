"""Crash handling for Trainer runs: a failed ``train()`` marks the run FAILED (KILLED on Ctrl-C).

A `TrainerCallback` gets no event when training raises, which is why transformers' MLflow callback
leaves crashed runs RUNNING (transformers#30333). When our callback joins a Trainer (``on_init_end``,
or at train begin at the latest) it wraps two methods *on that Trainer instance* — never on the class,
so nothing global changes and other Trainers are untouched:

- ``train``: an exception ends the callbacks' runs as FAILED/KILLED, then propagates unchanged;
- ``hyperparameter_search``: opens the parent run of the trials and records the best trial.

The callback finds its Trainer by looking for the frame whose ``self`` holds it in its callback
handler (the Trainer calls every hook from its own methods). An ``atexit`` handler is the last resort
for runs still open when the process ends.
"""

from __future__ import annotations

import contextvars
import functools
import sys
import types
from typing import Any

_MARK = "_hf_mltrack_guarded"

# True while a guarded Trainer trains: the Trainer callback owns the run then, so the PyTorch-level
# autolog (Accelerator hooks the Trainer calls internally) stays out of its way.
TRAINER_ACTIVE: contextvars.ContextVar[bool] = contextvars.ContextVar("hf_mltrack_trainer_active", default=False)


def find_trainer(callback: Any, max_depth: int = 25) -> Any | None:
    """The Trainer whose callback handler holds ``callback``, found on the call stack."""
    frame: types.FrameType | None = sys._getframe(1)
    for _ in range(max_depth):
        if frame is None:
            return None
        obj = frame.f_locals.get("self")
        handler = getattr(obj, "callback_handler", None)
        if handler is not None and any(cb is callback for cb in getattr(handler, "callbacks", ())):
            return obj
        frame = frame.f_back
    return None


def our_callbacks(trainer: Any) -> list[Any]:
    handler = getattr(trainer, "callback_handler", None)
    return [cb for cb in getattr(handler, "callbacks", ()) if getattr(cb, "_hf_mltrack_callback", False)]


def _guarded_train(self: Any, *args: Any, **kwargs: Any) -> Any:
    for cb in our_callbacks(self):
        cb._safe_call("train", cb._before_train, self)
    token = TRAINER_ACTIVE.set(True)
    try:
        return type(self).train(self, *args, **kwargs)
    except BaseException as exc:
        for cb in our_callbacks(self):
            cb._safe_call("train", cb._train_failed, exc)
        raise
    finally:
        TRAINER_ACTIVE.reset(token)


def _guarded_hyperparameter_search(self: Any, *args: Any, **kwargs: Any) -> Any:
    for cb in our_callbacks(self):
        cb._safe_call("hyperparameter_search", cb._before_train, self)
    try:
        result = type(self).hyperparameter_search(self, *args, **kwargs)
    except BaseException as exc:
        for cb in our_callbacks(self):
            cb._safe_call("hyperparameter_search", cb._hpo_end, None, exc)
        raise
    for cb in our_callbacks(self):
        cb._safe_call("hyperparameter_search", cb._hpo_end, result, None)
    return result


def _wrapper(func: Any, original: Any) -> Any:
    @functools.wraps(original)  # keeps the docstring and signature for IDEs
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        return func(self, *args, **kwargs)

    return wrapper


def attach(trainer: Any) -> bool:
    """Wrap ``train`` and ``hyperparameter_search`` of this Trainer instance (once)."""
    if trainer is None or trainer.__dict__.get(_MARK):
        return False
    cls = type(trainer)
    for name, func in (("train", _guarded_train), ("hyperparameter_search", _guarded_hyperparameter_search)):
        original = getattr(cls, name, None)
        if original is None:
            continue
        setattr(trainer, name, types.MethodType(_wrapper(func, original), trainer))
    trainer.__dict__[_MARK] = True
    return True


def detach(trainer: Any) -> None:
    """Remove the instance wrappers (the class methods show through again)."""
    for name in ("train", "hyperparameter_search"):
        trainer.__dict__.pop(name, None)
    trainer.__dict__.pop(_MARK, None)
