"""The Trainer integration's settings of `hf_mltrack._env`, under short names for this package."""

from __future__ import annotations

from .._env import DISABLE_STARTUP_HOOK, KEEP_LAST_CHECKPOINTS, LOG_CHECKPOINTS, LOG_MODEL

__all__ = ["DISABLE_STARTUP_HOOK", "KEEP_LAST_CHECKPOINTS", "LOG_CHECKPOINTS", "LOG_MODEL"]
