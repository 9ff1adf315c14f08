"""``POST /v1/traces``: OpenTelemetry's OTLP/HTTP trace ingest, as MLflow 3's server serves it.

Any OpenTelemetry SDK (and MLflow 3's client, which sends its spans here) can export to us:

- body: an ``ExportTraceServiceRequest`` as protobuf (``application/x-protobuf``) or OTLP/JSON
  (``application/json``; trace and span ids in hex, as the OTLP spec writes them), optionally
  ``Content-Encoding: gzip`` or ``deflate`` (zlib or raw);
- ``X-MLflow-Experiment-Id`` names the experiment (required: 422 without it, as FastAPI's header
  validation answers in MLflow); ``X-MLflow-Run-Id`` optionally links the finished traces to a run;
- statuses as MLflow: 400 for another content type, an undecodable or empty body ("no spans found");
  422 for a span that cannot be converted (no span id); the store's own errors (404 for an unknown
  experiment) as MLflow's JSON errors; 200 with an empty ``ExportTraceServiceResponse`` (protobuf).

Spans are added to their traces (`SqlTraceStore.log_spans`): a trace is created on its first span, and
the trace info the MLflow client posts afterwards (``StartTraceV3``) completes it. The resource's
``service.name`` is kept as a tag and as an attribute of the root span. Decoding needs the
``opentelemetry-proto`` package (the ``otel`` extra); without it this route answers 501 naming it.
"""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from ...exceptions import MlTrackException
from ..errors import error_response
from ..state import State

router = APIRouter(tags=["opentelemetry"])

EXPERIMENT_HEADER = "x-mlflow-experiment-id"
RUN_HEADER = "x-mlflow-run-id"
_MEDIA_TYPES = ("application/x-protobuf", "application/json")
_HEX_ID_FIELDS = ("traceId", "spanId", "parentSpanId")


def _decompress(body: bytes, encoding: str, limit: int | None) -> bytes:
    """Inflate a gzip or deflate body, refusing one that inflates beyond ``limit`` bytes."""
    if encoding in ("", "identity"):
        return body
    if encoding == "gzip":
        modes = [16 + zlib.MAX_WBITS]
    elif encoding == "deflate":
        modes = [zlib.MAX_WBITS, -zlib.MAX_WBITS]  # zlib-wrapped, then raw DEFLATE (some clients send it)
    else:
        raise _Reject(400, f"Unsupported Content-Encoding: {encoding}")
    cap = (limit or 64 * 1024 * 1024) + 1
    for wbits in modes:
        try:
            inflater = zlib.decompressobj(wbits)
            out = inflater.decompress(body, cap)
            if len(out) >= cap or inflater.unconsumed_tail:
                raise _Reject(413, f"The decompressed body exceeds {cap - 1} bytes")
            return out + inflater.flush()
        except zlib.error:
            continue
    raise _Reject(400, f"Failed to decompress {encoding} payload")


class _Reject(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _hex_ids_to_base64(data: Any) -> Any:
    """OTLP/JSON writes ids in hex; protobuf's JSON mapping reads ``bytes`` as base64."""
    for resource_spans in data.get("resourceSpans") or ():
        for scope_spans in resource_spans.get("scopeSpans") or ():
            for span in scope_spans.get("spans") or ():
                for key in _HEX_ID_FIELDS:
                    value = span.get(key)
                    if isinstance(value, str) and value:
                        span[key] = base64.b64encode(bytes.fromhex(value)).decode("ascii")
    return data


def _parse(body: bytes, media_type: str) -> Any:
    from google.protobuf.json_format import ParseDict
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    message = ExportTraceServiceRequest()
    try:
        if media_type == "application/json":
            data = json.loads(body)
            if not isinstance(data, dict):
                raise ValueError("not an object")
            ParseDict(_hex_ids_to_base64(data), message, ignore_unknown_fields=True)
        else:
            message.ParseFromString(body)
    except (DecodeError, ValueError, TypeError, AttributeError) as exc:  # json_format.ParseError is a ValueError
        raise _Reject(400, f"Invalid OpenTelemetry format ({type(exc).__name__})") from None
    if not message.resource_spans:
        raise _Reject(400, "Invalid OpenTelemetry format - no spans found")
    return message


def _service_name(resource: Any) -> str | None:
    from ...tracing.mlflow_wire import decode_any_value

    for kv in resource.attributes:
        if kv.key == "service.name":
            value = decode_any_value(kv.value)
            return None if value is None else str(value)
    return None


@router.post("/v1/traces")
async def export_traces(request: Request, state: State) -> Response:
    """OTLP/HTTP trace export (see the module docstring)."""
    headers = request.headers
    experiment_id = headers.get(EXPERIMENT_HEADER)
    if not experiment_id:
        return error_response(
            422, "INVALID_PARAMETER_VALUE", f"Missing the {EXPERIMENT_HEADER} header: name the experiment"
        )
    content_type = headers.get("content-type")
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type not in _MEDIA_TYPES:
        return error_response(
            400,
            "BAD_REQUEST",
            f"Invalid Content-Type: {content_type}. Expected: application/x-protobuf or application/json",
        )
    try:
        import opentelemetry.proto.collector.trace.v1.trace_service_pb2  # noqa: F401
    except ImportError:
        return error_response(
            501,
            "NOT_IMPLEMENTED",
            "OTLP ingest needs the 'otel' extra on the server: pip install 'hf_mltrack[otel]'",
        )
    from ...tracing.mlflow_wire import span_from_otel

    try:
        body = _decompress(
            await request.body(),
            (headers.get("content-encoding") or "").strip().lower(),
            state.config.max_request_bytes,
        )
        message = _parse(body, media_type)
    except _Reject as exc:
        return error_response(
            exc.status, "BAD_REQUEST" if exc.status == 400 else "INVALID_PARAMETER_VALUE", exc.message
        )

    spans = []
    service_names: dict[str, str] = {}
    for resource_spans in message.resource_spans:
        service = _service_name(resource_spans.resource)
        for scope_spans in resource_spans.scope_spans:
            for pb in scope_spans.spans:
                is_root = not pb.parent_span_id
                try:
                    span = span_from_otel(pb, {"service.name": service} if service and is_root else None)
                except (ValueError, TypeError):
                    return error_response(
                        422, "INVALID_PARAMETER_VALUE", "Cannot convert OpenTelemetry span to MLflow span"
                    )
                if service:
                    service_names[span.request_id] = service
                spans.append(span)
    if state.auth is not None:
        from .traces_v3 import _check_experiment

        _check_experiment(request, state, experiment_id, "EDIT")
    from .traces import trace_store

    store = trace_store(state)
    try:
        store.log_spans(experiment_id, spans, {})  # type: ignore[attr-defined]
        for rid, service in service_names.items():
            store.set_trace_tag(rid, "service.name", service)
        run_id = headers.get(RUN_HEADER)
        roots = sorted({s.request_id for s in spans if s.parent_id is None})
        if run_id and roots:
            store.link_traces_to_run(roots, run_id)  # type: ignore[attr-defined]
    except MlTrackException as exc:
        return error_response(exc.get_http_status_code(), exc.error_code, exc.message)
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

    return Response(ExportTraceServiceResponse().SerializeToString(), media_type="application/x-protobuf")
