"""Safe patching for autolog: reversible, idempotent, and never the cause of a failed training.

The contract (MLflow's, kept strictly):

- the user's exceptions propagate unchanged: a patch calls the original *outside* any ``try`` of ours;
- an exception in our own code becomes one warning per integration (later ones go to the
  ``hf_mltrack.autolog`` logger) and the original behaviour continues;
- ``revert(integration)`` puts back exactly what was there: the original object when the attribute was
  defined on the class itself, nothing (the inherited attribute shows through) when it was inherited;
- patching twice is a no-op, so calling ``autolog()`` twice is harmless.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..utils.warn import warn

logger = logging.getLogger("hf_mltrack.autolog")

_lock = threading.RLock()


@dataclass
class Patch:
    owner: Any
    name: str
    original: Any  # the raw attribute as found in owner.__dict__ (or the inherited value)
    owned: bool  # whether owner.__dict__ held the attribute before patching
    wrapper: Any


_patches: dict[str, list[Patch]] = {}
_configs: dict[str, dict[str, Any]] = {}
_warned: set[str] = set()


# ---- configuration ----------------------------------------------------------------------------
def set_config(integration: str, config: dict[str, Any]) -> None:
    with _lock:
        _configs[integration] = dict(config)


def get_config(integration: str) -> dict[str, Any] | None:
    """The options of an enabled integration, or None when it is disabled."""
    return _configs.get(integration)


def is_enabled(integration: str) -> bool:
    return integration in _configs


def clear_config(integration: str) -> None:
    with _lock:
        _configs.pop(integration, None)
        _warned.discard(integration)


# ---- error handling ------------------------------------------------------------------------------
def report_error(integration: str, where: str, exc: BaseException) -> None:
    """One warning per integration for our own failures; the rest go to the logger."""
    config = _configs.get(integration) or {}
    if integration not in _warned and not config.get("silent", False):
        _warned.add(integration)
        warn(
            f"hf_mltrack autolog ({integration}): {where} failed ({exc!r}); your code continues without it. "
            "Further errors go to the 'hf_mltrack.autolog' logger.",
            RuntimeWarning,
        )
    logger.debug("hf_mltrack autolog (%s) error in %s", integration, where, exc_info=exc)


def call_safely(integration: str, where: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run our code; on failure report it once and return None."""
    try:
        return fn(*args, **kwargs)
    except Exception as exc:
        report_error(integration, where, exc)
        return None


# ---- patching ------------------------------------------------------------------------------------
def safe_patch(integration: str, owner: Any, name: str, patch: Callable[..., Any]) -> bool:
    """Replace ``owner.name`` by ``lambda *a, **k: patch(original, *a, **k)``.

    ``patch`` receives the original function first and must call it itself (outside of any exception
    handling of its own, so the user's exceptions propagate unchanged). Returns False when this
    integration has already patched that attribute.
    """
    with _lock:
        for existing in _patches.get(integration, ()):
            if existing.owner is owner and existing.name == name:
                return False
        owned = name in vars(owner)
        raw = vars(owner)[name] if owned else getattr(owner, name)
        if isinstance(raw, (staticmethod, classmethod)):
            raise TypeError(f"safe_patch does not patch {type(raw).__name__} {owner!r}.{name}")
        original = raw

        @functools.wraps(original)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return patch(original, *args, **kwargs)

        wrapper._hf_mltrack_patch = integration  # type: ignore[attr-defined]
        setattr(owner, name, wrapper)
        _patches.setdefault(integration, []).append(Patch(owner, name, raw, owned, wrapper))
        return True


def revert(integration: str) -> None:
    """Undo every patch of ``integration``, newest first, restoring the originals exactly."""
    with _lock:
        for p in reversed(_patches.pop(integration, [])):
            current = vars(p.owner).get(p.name)
            if current is not p.wrapper:
                # Someone patched over us: unwrap only our layer if it is still reachable.
                logger.debug("hf_mltrack autolog: %r.%s was re-patched by someone else", p.owner, p.name)
            if p.owned:
                setattr(p.owner, p.name, p.original)
            else:
                try:
                    delattr(p.owner, p.name)
                except AttributeError:
                    pass


def patches(integration: str) -> list[Patch]:
    return list(_patches.get(integration, ()))
