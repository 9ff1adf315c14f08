"""Tracing: spans for pipeline inference and user code, stored with the runs, searchable, exportable.

    >>> import hf_mltrack
    >>> @hf_mltrack.trace(span_type="LLM")
    ... def answer(question: str) -> str:
    ...     return "42"
    >>> answer("meaning of life?")
    '42'
    >>> hf_mltrack.get_last_active_trace().info.status
    'OK'

- ``@hf_mltrack.trace`` / ``hf_mltrack.start_span(...)`` record spans; nesting follows the current
  context (asyncio tasks, threads started with a copied context).
- Finished traces are written in the background to the tracking store of the active run (or of the
  current experiment), linked to the run; `flush` writes what is queued.
- ``hf_mltrack.search_traces`` / ``get_trace`` read them back; `export_otlp_json` converts a trace to
  OpenTelemetry's OTLP/JSON, and ``HF_MLTRACK_OTLP_ENDPOINT`` also sends every trace to a collector.
- ``hf_mltrack.tracing.transformers.enable_pipeline_tracing()`` traces every transformers pipeline call.

Importing this package is cheap; the parts load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY_ATTRS: dict[str, str] = {
    "LiveSpan": "hf_mltrack.tracing.span",
    "NoOpSpan": "hf_mltrack.tracing.span",
    "Span": "hf_mltrack.entities.trace",
    "SpanEvent": "hf_mltrack.entities.trace",
    "SpanStatusCode": "hf_mltrack.entities.trace",
    "SpanType": "hf_mltrack.entities.trace",
    "Trace": "hf_mltrack.entities.trace",
    "TraceData": "hf_mltrack.entities.trace",
    "TraceInfo": "hf_mltrack.entities.trace",
    "TraceStatus": "hf_mltrack.entities.trace",
    "TracingClientMixin": "hf_mltrack.tracing.client_mixin",
    "disable": "hf_mltrack.tracing.fluent",
    "enable": "hf_mltrack.tracing.fluent",
    "export_otlp_json": "hf_mltrack.tracing.otlp",
    "flush": "hf_mltrack.tracing.export",
    "flush_trace_async_logging": "hf_mltrack.tracing.export",
    "get_current_active_span": "hf_mltrack.tracing.fluent",
    "get_last_active_trace": "hf_mltrack.tracing.fluent",
    "get_trace": "hf_mltrack.tracing.fluent",
    "is_enabled": "hf_mltrack.tracing.fluent",
    "search_traces": "hf_mltrack.tracing.fluent",
    "start_span": "hf_mltrack.tracing.fluent",
    "trace": "hf_mltrack.tracing.fluent",
    "update_current_trace": "hf_mltrack.tracing.fluent",
}

__all__ = sorted(_LAZY_ATTRS)


def __getattr__(name: str) -> Any:
    module_name = _LAZY_ATTRS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'hf_mltrack.tracing' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
