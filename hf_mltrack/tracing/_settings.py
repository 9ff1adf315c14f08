"""The tracing settings of `hf_mltrack._env`, under short names for this package."""

from __future__ import annotations

from hf_mltrack._env import (
    OTLP_ENDPOINT,
    OTLP_HEADERS,
    OTLP_SERVICE_NAME,
    TRACE_EXPORT_INTERVAL,
    TRACE_EXPORT_MAX_QUEUE,
    TRACING_ENABLED,
)

__all__ = [
    "OTLP_ENDPOINT",
    "OTLP_HEADERS",
    "OTLP_SERVICE_NAME",
    "TRACE_EXPORT_INTERVAL",
    "TRACE_EXPORT_MAX_QUEUE",
    "TRACING_ENABLED",
]
