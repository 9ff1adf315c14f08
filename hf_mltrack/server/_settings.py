"""The server's settings of `hf_mltrack._env`, under short names for this package."""

from __future__ import annotations

from hf_mltrack._env import (
    AUTH_ADMIN_PASSWORD,
    AUTH_ADMIN_USERNAME,
    AUTH_DEFAULT_PERMISSION,
    HTTP_JOURNAL_DIR,
    HTTP_REQUEST_BACKOFF_FACTOR,
    SERVER_CONFIG,
)

__all__ = [
    "AUTH_ADMIN_PASSWORD",
    "AUTH_ADMIN_USERNAME",
    "AUTH_DEFAULT_PERMISSION",
    "HTTP_JOURNAL_DIR",
    "HTTP_REQUEST_BACKOFF_FACTOR",
    "SERVER_CONFIG",
]
