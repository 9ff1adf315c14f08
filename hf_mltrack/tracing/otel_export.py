"""Sending finished traces to an OpenTelemetry collector (``HF_MLTRACK_OTLP_ENDPOINT``) with the
OpenTelemetry SDK's OTLP/HTTP exporter (protobuf), on the SDK's own batch thread.

The trace exporter (`hf_mltrack.tracing.export`) hands each trace over once, when it is first built,
before it writes the trace to the tracking store: a store write that is retried does not post the
spans again, and a collector that is slow or down never delays the store writes (the hand-over only
appends to the batch processor's queue, which drops spans when full). ``flush()`` waits for the queued
spans to be sent, about 12 seconds at most per endpoint. A collector that fails is one
warning (logger ``hf_mltrack.tracing``), never an exception in the traced program.

Needs the ``otel`` extra: ``pip install 'hf_mltrack[otel]'`` (``opentelemetry-sdk`` and
``opentelemetry-exporter-otlp-proto-http``). hf_mltrack's own fields travel as attributes, as in
`hf_mltrack.tracing.otlp.export_otlp_json`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Sequence
from typing import Any

from ..entities.trace import Span, SpanStatusCode, Trace

_TIMEOUT_S = 10.0
_lock = threading.Lock()
_forwarders: dict[tuple[str, str, str], _Forwarder] = {}


def _otel_value(value: Any) -> Any:
    """An attribute value OpenTelemetry accepts: a scalar, a list of scalars of one type, else JSON text."""
    if isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, (str, bool, int, float)) for v in value):
        kinds = {type(v) for v in value}
        if len(kinds) == 1:
            return tuple(value)
    return json.dumps(value, default=str, ensure_ascii=False)


def _attributes(span: Span, trace: Trace) -> dict[str, Any]:
    attributes: dict[str, Any] = {"hf_mltrack.spanType": span.span_type}
    if span.inputs is not None:
        attributes["hf_mltrack.spanInputs"] = json.dumps(span.inputs, default=str, ensure_ascii=False)
    if span.outputs is not None:
        attributes["hf_mltrack.spanOutputs"] = json.dumps(span.outputs, default=str, ensure_ascii=False)
    if span.parent_id is None:
        attributes["hf_mltrack.requestId"] = trace.info.request_id
        attributes["hf_mltrack.experimentId"] = trace.info.experiment_id
        if trace.info.run_id:
            attributes["hf_mltrack.runId"] = trace.info.run_id
    for key, value in span.attributes.items():
        if value is not None:
            attributes[str(key)] = _otel_value(value)
    return attributes


def readable_spans(traces: Iterable[Trace], resource: Any) -> list[Any]:
    """Our spans as the SDK's ``ReadableSpan`` objects (what its exporters take)."""
    from opentelemetry.sdk.trace import Event, ReadableSpan
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope
    from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

    from .. import __version__

    scope = InstrumentationScope("hf_mltrack.tracing", __version__)
    codes = {SpanStatusCode.OK: StatusCode.OK, SpanStatusCode.ERROR: StatusCode.ERROR}
    out = []
    for trace in traces:
        for span in trace.data.spans:
            trace_id = int(span.trace_id, 16)
            context = SpanContext(trace_id, int(span.span_id, 16), False, TraceFlags(TraceFlags.SAMPLED))
            parent = (
                SpanContext(trace_id, int(span.parent_id, 16), False, TraceFlags(TraceFlags.SAMPLED))
                if span.parent_id
                else None
            )
            code = codes.get(span.status_code, StatusCode.UNSET)
            out.append(
                ReadableSpan(
                    name=span.name,
                    context=context,
                    parent=parent,
                    resource=resource,
                    attributes=_attributes(span, trace),
                    events=[
                        Event(e.name, {k: _otel_value(v) for k, v in e.attributes.items()}, e.timestamp_ns)
                        for e in span.events
                    ],
                    kind=SpanKind.INTERNAL,
                    status=Status(code, span.status_message or None) if code is StatusCode.ERROR else Status(code),
                    start_time=span.start_time_ns,
                    end_time=span.end_time_ns if span.end_time_ns is not None else span.start_time_ns,
                    instrumentation_scope=scope,
                )
            )
    return out


def _headers(raw: str | None) -> dict[str, str]:
    headers: dict[str, str] = {}
    for item in (raw or "").split(","):
        if "=" in item:
            key, value = item.split("=", 1)
            headers[key.strip()] = value.strip()
    return headers


class _Forwarder:
    """One endpoint: the SDK's batch span processor over its OTLP/HTTP exporter, failures as warnings."""

    def __init__(self, url: str, headers: dict[str, str], service_name: str) -> None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

        from .. import __version__
        from .span import warn_once

        inner = OTLPSpanExporter(endpoint=url, headers=headers, timeout=_TIMEOUT_S)

        class _Warning(SpanExporter):
            def export(self, spans: Sequence[Any]) -> Any:
                try:
                    result = inner.export(spans)
                except Exception as exc:  # the SDK catches most; anything else is still one warning
                    result = SpanExportResult.FAILURE
                    detail = f"{type(exc).__name__}: {exc}"
                else:
                    detail = "the request failed"
                if result is not SpanExportResult.SUCCESS:
                    warn_once(
                        f"otlp:{url}",
                        f"hf_mltrack could not send {len(spans)} span(s) to the OTLP endpoint {url} ({detail})",
                    )
                return result

            def shutdown(self) -> None:
                inner.shutdown()

            def force_flush(self, timeout_millis: int = 30000) -> bool:
                return True

        self.resource = Resource.create(
            {
                "service.name": service_name,
                "telemetry.sdk.name": "hf_mltrack",
                "telemetry.sdk.language": "python",
                "telemetry.sdk.version": __version__,
            }
        )
        self.processor = BatchSpanProcessor(_Warning(), schedule_delay_millis=200)

    def submit(self, traces: Sequence[Trace]) -> None:
        for span in readable_spans(traces, self.resource):
            self.processor.on_end(span)

    def flush(self) -> None:
        self.processor.force_flush(int((_TIMEOUT_S + 2) * 1000))

    def shutdown(self) -> None:
        self.processor.shutdown()


def _forwarder(endpoint: str) -> _Forwarder | None:
    from .._env import OTLP_HEADERS, OTLP_SERVICE_NAME
    from .otlp import traces_url
    from .span import warn_once

    url = traces_url(endpoint)
    raw_headers = OTLP_HEADERS.get() or ""
    service = OTLP_SERVICE_NAME.get()
    key = (url, raw_headers, service)
    with _lock:
        forwarder = _forwarders.get(key)
        if forwarder is None:
            try:
                forwarder = _Forwarder(url, _headers(raw_headers), service)
            except ImportError:
                warn_once(
                    "otlp:missing-extra",
                    "HF_MLTRACK_OTLP_ENDPOINT is set, but sending to an OTLP endpoint needs the 'otel' extra: "
                    "pip install 'hf_mltrack[otel]'",
                )
                return None
            _forwarders[key] = forwarder
        return forwarder


def submit(traces: Sequence[Trace], endpoint: str) -> None:
    """Queue traces for the collector at ``endpoint`` (returns at once)."""
    from .span import warn_once

    if not traces:
        return
    try:
        forwarder = _forwarder(endpoint)
        if forwarder is not None:
            forwarder.submit(traces)
    except Exception as exc:
        warn_once(
            f"otlp:{endpoint}:{type(exc).__name__}",
            f"hf_mltrack could not send traces to the OTLP endpoint {endpoint} ({type(exc).__name__}: {exc})",
        )


def flush() -> None:
    """Wait until every queued span was sent (or failed), endpoint by endpoint."""
    with _lock:
        forwarders = list(_forwarders.values())
    for forwarder in forwarders:
        forwarder.flush()


def reset() -> None:
    """Stop every forwarder (a forked child, tests)."""
    with _lock:
        forwarders = list(_forwarders.values())
        _forwarders.clear()
    for forwarder in forwarders:
        try:
            forwarder.shutdown()
        except Exception:
            pass
