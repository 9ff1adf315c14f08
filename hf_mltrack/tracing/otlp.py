"""OpenTelemetry export: traces as OTLP/JSON (`export_otlp_json`), and the collector URL (`traces_url`).

Sending to a collector is `hf_mltrack.tracing.otel_export` (the OpenTelemetry SDK's OTLP exporter).

`export_otlp_json` gives the body of an OTLP ``ExportTraceServiceRequest`` in its JSON encoding
(``resourceSpans`` -> ``scopeSpans`` -> ``spans``), as accepted at ``POST /v1/traces`` by the
OpenTelemetry Collector, Jaeger, Tempo, Phoenix and others: ids in hex, 64-bit times as decimal
strings, attributes as ``{"key", "value": AnyValue}``, status and kind as enum integers.

hf_mltrack's own fields travel as attributes: ``hf_mltrack.spanType``, ``hf_mltrack.spanInputs`` and
``hf_mltrack.spanOutputs`` (JSON text), and on the root span ``hf_mltrack.requestId``,
``hf_mltrack.experimentId`` and ``hf_mltrack.runId``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from ..entities.trace import Span, SpanStatusCode, Trace
from ._serialize import dumps

SPAN_KIND_INTERNAL = 1
_STATUS = {SpanStatusCode.UNSET: 0, SpanStatusCode.OK: 1, SpanStatusCode.ERROR: 2}


def any_value(value: Any) -> dict[str, Any]:
    """An OTLP ``AnyValue`` for a JSON-compatible Python value."""
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, (list, tuple)):
        return {"arrayValue": {"values": [any_value(v) for v in value]}}
    if isinstance(value, dict):
        return {"kvlistValue": {"values": key_values(value)}}
    if value is None:
        return {}
    return {"stringValue": str(value)}


def key_values(attributes: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": str(k), "value": any_value(v)} for k, v in attributes.items()]


def _otlp_span(span: Span, trace: Trace) -> dict[str, Any]:
    attributes: dict[str, Any] = {"hf_mltrack.spanType": span.span_type}
    if span.inputs is not None:
        attributes["hf_mltrack.spanInputs"] = dumps(span.inputs)
    if span.outputs is not None:
        attributes["hf_mltrack.spanOutputs"] = dumps(span.outputs)
    if span.parent_id is None:
        info = trace.info
        attributes["hf_mltrack.requestId"] = info.request_id
        attributes["hf_mltrack.experimentId"] = info.experiment_id
        if info.run_id:
            attributes["hf_mltrack.runId"] = info.run_id
    attributes.update(span.attributes)
    out: dict[str, Any] = {
        "traceId": span.trace_id,
        "spanId": span.span_id,
        "name": span.name,
        "kind": SPAN_KIND_INTERNAL,
        "startTimeUnixNano": str(span.start_time_ns),
        "endTimeUnixNano": str(span.end_time_ns if span.end_time_ns is not None else span.start_time_ns),
        "attributes": key_values(attributes),
        "events": [
            {"timeUnixNano": str(e.timestamp_ns), "name": e.name, "attributes": key_values(e.attributes)}
            for e in span.events
        ],
        "status": {"code": _STATUS.get(span.status_code, 0)},
    }
    if span.parent_id:
        out["parentSpanId"] = span.parent_id
    if span.status_message:
        out["status"]["message"] = span.status_message
    return out


def export_otlp_json(trace: Trace | Iterable[Trace], service_name: str | None = None) -> dict[str, Any]:
    """A trace (or several) as an OTLP/JSON ``ExportTraceServiceRequest``.

    Args:
        trace (`Trace` or an iterable of them): e.g. ``hf_mltrack.get_last_active_trace()``.
        service_name (`str`, *optional*): the resource's ``service.name``; defaults to
            ``HF_MLTRACK_OTLP_SERVICE_NAME`` (``"hf_mltrack"``).

    Returns:
        `dict`: ``{"resourceSpans": [{"resource": ..., "scopeSpans": [{"scope": ..., "spans": [...]}]}]}``,
        ready for ``json.dumps`` and ``POST <collector>/v1/traces``.
    """
    from .. import __version__
    from .._env import OTLP_SERVICE_NAME

    traces = [trace] if isinstance(trace, Trace) else list(trace)
    spans = [_otlp_span(s, t) for t in traces for s in t.data.spans]
    return {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": key_values(
                        {
                            "service.name": service_name or OTLP_SERVICE_NAME.get(),
                            "telemetry.sdk.name": "hf_mltrack",
                            "telemetry.sdk.language": "python",
                            "telemetry.sdk.version": __version__,
                        }
                    )
                },
                "scopeSpans": [{"scope": {"name": "hf_mltrack.tracing", "version": __version__}, "spans": spans}],
            }
        ]
    }


def traces_url(endpoint: str) -> str:
    """``http://host:4318`` -> ``http://host:4318/v1/traces``; a URL with a path is used as given."""
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        from ..exceptions import InvalidParameterError

        raise InvalidParameterError(
            f"Invalid OTLP endpoint {endpoint!r}: give the collector's OTLP/HTTP address, e.g. "
            "HF_MLTRACK_OTLP_ENDPOINT=http://localhost:4318"
        )
    if parts.path in ("", "/"):
        return endpoint.rstrip("/") + "/v1/traces"
    return endpoint
