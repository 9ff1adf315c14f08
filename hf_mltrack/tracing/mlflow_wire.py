"""MLflow 3's trace shapes on the wire, to and from hf_mltrack's `Span` and `TraceInfo`.

Three span shapes cross the server boundary:

- MLflow's span dict (``Span.to_dict``, the ``traces.json`` artifact and ``get-trace-artifact``): ids in
  base64, times in ``*_unix_nano``, status codes ``STATUS_CODE_*``, every attribute value JSON text, the
  span type, inputs and outputs as the attributes ``mlflow.spanType``, ``mlflow.spanInputs`` and
  ``mlflow.spanOutputs``, and ``mlflow.traceRequestId`` on every span;
- OpenTelemetry's protobuf ``Span`` in its JSON mapping with the proto field names (``traces/get``,
  ``traces/batchGet``): attribute values as ``AnyValue`` (``{"string_value": ...}``);
- OpenTelemetry's protobuf ``Span`` itself (``POST /v1/traces``), read by `span_from_otel`.

hf_mltrack stores its own span shape (`Span.to_dict`), so each conversion is lossless both ways for
JSON-compatible values. A trace info travels as MLflow's ``TraceInfoV3`` (`trace_info_to_v3`,
`trace_info_from_v3`) or ``TraceInfo`` v2 (`trace_info_to_v2`); the trace name, which hf_mltrack keeps
as the tag ``hf_mltrack.traceName``, travels as ``mlflow.traceName``.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone
from typing import Any

from ..entities.trace import TRACE_NAME_TAG, Span, SpanEvent, SpanStatusCode, SpanType, TraceInfo, TraceStatus
from ..exceptions import InvalidParameterError

MLFLOW_TRACE_NAME_TAG = "mlflow.traceName"
SPANS_LOCATION_TAG = "mlflow.trace.spansLocation"
SPANS_IN_TRACKING_STORE = "TRACKING_STORE"
SOURCE_RUN_METADATA = "mlflow.sourceRun"
REQUEST_ID_ATTRIBUTE = "mlflow.traceRequestId"
SPAN_TYPE_ATTRIBUTE = "mlflow.spanType"
INPUTS_ATTRIBUTE = "mlflow.spanInputs"
OUTPUTS_ATTRIBUTE = "mlflow.spanOutputs"
# What hf_mltrack's own OTLP export writes (see `hf_mltrack.tracing.otlp`); read back the same way.
_OWN_ATTRIBUTES = {
    "hf_mltrack.spanType": SPAN_TYPE_ATTRIBUTE,
    "hf_mltrack.spanInputs": INPUTS_ATTRIBUTE,
    "hf_mltrack.spanOutputs": OUTPUTS_ATTRIBUTE,
}
_DROPPED_ATTRIBUTES = frozenset(
    {REQUEST_ID_ATTRIBUTE, "hf_mltrack.requestId", "hf_mltrack.experimentId", "hf_mltrack.runId"}
)

_STATUS_TO_OTEL = {
    SpanStatusCode.UNSET: "STATUS_CODE_UNSET",
    SpanStatusCode.OK: "STATUS_CODE_OK",
    SpanStatusCode.ERROR: "STATUS_CODE_ERROR",
}
_STATUS_FROM_OTEL = {v: k for k, v in _STATUS_TO_OTEL.items()}
_STATUS_FROM_OTEL_INT = {0: SpanStatusCode.UNSET, 1: SpanStatusCode.OK, 2: SpanStatusCode.ERROR}
_TRACE_STATES = frozenset({TraceStatus.OK, TraceStatus.ERROR, TraceStatus.IN_PROGRESS})


# ---- ids, times ----------------------------------------------------------------------------------
def hex_to_b64(hex_id: str | None) -> str | None:
    if not hex_id:
        return None
    return base64.b64encode(bytes.fromhex(hex_id)).decode("ascii")


def b64_to_hex(value: str | None, size: int) -> str | None:
    """A base64 id (MLflow's span dict) as hex; a hex id of the right length is returned as is."""
    if not value:
        return None
    if len(value) == 2 * size and all(c in "0123456789abcdefABCDEF" for c in value):
        return value.lower()
    return base64.b64decode(value).hex().rjust(2 * size, "0")


def request_id_for(trace_id_hex: str) -> str:
    return "tr-" + trace_id_hex


def ms_to_timestamp(ms: int) -> str:
    """Milliseconds since the epoch as a protobuf ``Timestamp`` in JSON (RFC 3339, UTC)."""
    seconds, millis = divmod(int(ms), 1000)
    text = datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{millis:03d}Z" if millis else f"{text}Z"


def timestamp_to_ms(value: Any, field: str) -> int:
    """A protobuf ``Timestamp`` in JSON (or a number of milliseconds) as milliseconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    if not isinstance(value, str) or not value:
        raise InvalidParameterError(f"Invalid {field} {value!r}: give an RFC 3339 time, e.g. 2026-01-01T00:00:00Z")
    try:
        text = value.replace("Z", "+00:00")
        if "." in text:  # Python before 3.11 reads at most 6 fractional digits
            head, rest = text.split(".", 1)
            digits = "".join(c for c in rest if c.isdigit())
            text = f"{head}.{digits[:6].ljust(6, '0')}{rest[len(digits) :]}"
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidParameterError(
            f"Invalid {field} {value!r}: give an RFC 3339 time, e.g. 2026-01-01T00:00:00Z"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(round(moment.timestamp() * 1000))


def ms_to_duration(ms: int) -> str:
    return f"{int(ms) / 1000:.3f}s"


def duration_to_ms(value: Any, field: str) -> int:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, str) and value.endswith("s"):
        try:
            return int(round(float(value[:-1]) * 1000))
        except ValueError:
            pass
    raise InvalidParameterError(f'Invalid {field} {value!r}: give a duration such as "1.5s"')


# ---- attribute values ----------------------------------------------------------------------------
def _dump(value: Any) -> str:
    """MLflow's encoding of a span attribute value (JSON text)."""
    return json.dumps(value, ensure_ascii=False, default=str)


def _load(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def _split_attributes(attributes: dict[str, Any]) -> tuple[str, Any, Any, dict[str, Any]]:
    """(span type, inputs, outputs, other attributes) from decoded attribute values."""
    attrs = dict(attributes)
    for own, mlflow_key in _OWN_ATTRIBUTES.items():
        if own in attrs:
            value = attrs.pop(own)
            # hf_mltrack's OTLP export sends inputs and outputs as JSON text
            attrs.setdefault(mlflow_key, _load(value) if own != "hf_mltrack.spanType" else value)
    for key in _DROPPED_ATTRIBUTES:
        attrs.pop(key, None)
    span_type = attrs.pop(SPAN_TYPE_ATTRIBUTE, None)
    inputs = attrs.pop(INPUTS_ATTRIBUTE, None)
    outputs = attrs.pop(OUTPUTS_ATTRIBUTE, None)
    return (str(span_type) if span_type else SpanType.UNKNOWN), inputs, outputs, attrs


def _mlflow_attributes(span: Span) -> dict[str, Any]:
    """Decoded attribute values of a span as MLflow names them."""
    out: dict[str, Any] = {REQUEST_ID_ATTRIBUTE: request_id_for(span.trace_id), SPAN_TYPE_ATTRIBUTE: span.span_type}
    if span.inputs is not None:
        out[INPUTS_ATTRIBUTE] = span.inputs
    if span.outputs is not None:
        out[OUTPUTS_ATTRIBUTE] = span.outputs
    out.update(span.attributes)
    return out


# ---- MLflow's span dict --------------------------------------------------------------------------
def span_to_mlflow_dict(span: Span) -> dict[str, Any]:
    """A span as MLflow's ``Span.to_dict`` writes it."""
    return {
        "trace_id": hex_to_b64(span.trace_id),
        "span_id": hex_to_b64(span.span_id),
        "parent_span_id": hex_to_b64(span.parent_id),
        "name": span.name,
        "start_time_unix_nano": span.start_time_ns,
        "end_time_unix_nano": span.end_time_ns,
        "events": [{"name": e.name, "time_unix_nano": e.timestamp_ns, "attributes": e.attributes} for e in span.events],
        "status": {"code": _STATUS_TO_OTEL.get(span.status_code, "STATUS_CODE_UNSET"), "message": span.status_message},
        "attributes": {k: _dump(v) for k, v in _mlflow_attributes(span).items()},
        "links": [],
    }


def is_mlflow_span_dict(d: dict[str, Any]) -> bool:
    return "start_time_unix_nano" in d


def span_from_mlflow_dict(d: dict[str, Any]) -> Span:
    """A span from MLflow's span dict (`span_to_mlflow_dict`, or ``Span.to_dict`` of MLflow 3)."""
    status = d.get("status") or {}
    code = status.get("code") or "STATUS_CODE_UNSET"
    span_type, inputs, outputs, attrs = _split_attributes({k: _load(v) for k, v in (d.get("attributes") or {}).items()})
    end = d.get("end_time_unix_nano")
    return Span(
        trace_id=b64_to_hex(d["trace_id"], 16) or "",
        span_id=b64_to_hex(d["span_id"], 8) or "",
        parent_id=b64_to_hex(d.get("parent_span_id"), 8),
        name=d.get("name", ""),
        span_type=span_type,
        start_time_ns=int(d.get("start_time_unix_nano") or 0),
        end_time_ns=int(end) if end else None,
        status_code=_STATUS_FROM_OTEL.get(code, code if code in SpanStatusCode.ALL else SpanStatusCode.UNSET),
        status_message=status.get("message") or "",
        inputs=inputs,
        outputs=outputs,
        attributes=attrs,
        events=[
            SpanEvent(e.get("name", ""), int(e.get("time_unix_nano") or 0), e.get("attributes") or {})
            for e in d.get("events") or ()
        ],
    )


# ---- OpenTelemetry protobuf Span, JSON mapping with proto field names ----------------------------
def any_value_json(value: Any) -> dict[str, Any]:
    """An OTLP ``AnyValue`` in protobuf JSON with the proto field names."""
    if value is None:
        return {}
    if isinstance(value, bool):
        return {"bool_value": value}
    if isinstance(value, int):
        return {"int_value": str(value)}
    if isinstance(value, float):
        return {"double_value": value}
    if isinstance(value, str):
        return {"string_value": value}
    if isinstance(value, (list, tuple)):
        return {"array_value": {"values": [any_value_json(v) for v in value]}}
    if isinstance(value, dict):
        return {"kvlist_value": {"values": [{"key": str(k), "value": any_value_json(v)} for k, v in value.items()]}}
    return {"string_value": str(value)}


def span_to_otel_json(span: Span) -> dict[str, Any]:
    """A span as OpenTelemetry's protobuf ``Span`` in JSON (what MLflow's ``Trace.from_proto`` reads)."""
    out: dict[str, Any] = {
        "trace_id": hex_to_b64(span.trace_id),
        "span_id": hex_to_b64(span.span_id),
        "name": span.name,
        "start_time_unix_nano": str(span.start_time_ns),
        "attributes": [{"key": k, "value": any_value_json(v)} for k, v in _mlflow_attributes(span).items()],
        "events": [
            {
                "time_unix_nano": str(e.timestamp_ns),
                "name": e.name,
                "attributes": [{"key": k, "value": any_value_json(v)} for k, v in e.attributes.items()],
            }
            for e in span.events
        ],
        "status": {"code": _STATUS_TO_OTEL.get(span.status_code, "STATUS_CODE_UNSET")},
    }
    if span.end_time_ns is not None:
        out["end_time_unix_nano"] = str(span.end_time_ns)
    if span.parent_id:
        out["parent_span_id"] = hex_to_b64(span.parent_id)
    if span.status_message:
        out["status"]["message"] = span.status_message
    return out


# ---- OpenTelemetry protobuf Span (OTLP ingest) ---------------------------------------------------
def decode_any_value(value: Any) -> Any:
    """An ``opentelemetry.proto.common.v1.AnyValue`` message as a Python value."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [decode_any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: decode_any_value(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode("ascii")
    return getattr(value, kind)


def span_from_otel(pb: Any, extra_attributes: dict[str, Any] | None = None) -> Span:
    """A span from an ``opentelemetry.proto.trace.v1.Span`` message.

    Raises:
        `ValueError`: the trace id or span id is missing or has the wrong length.
    """
    if len(pb.trace_id) != 16:
        raise ValueError("trace_id must be 16 bytes")
    if len(pb.span_id) != 8:
        raise ValueError("span_id must be 8 bytes")
    if pb.parent_span_id and len(pb.parent_span_id) != 8:
        raise ValueError("parent_span_id must be 8 bytes")
    attributes = {kv.key: decode_any_value(kv.value) for kv in pb.attributes}
    if extra_attributes:
        attributes.update(extra_attributes)
    span_type, inputs, outputs, attrs = _split_attributes(attributes)
    return Span(
        trace_id=pb.trace_id.hex(),
        span_id=pb.span_id.hex(),
        parent_id=pb.parent_span_id.hex() if pb.parent_span_id else None,
        name=pb.name,
        span_type=span_type,
        start_time_ns=int(pb.start_time_unix_nano),
        end_time_ns=int(pb.end_time_unix_nano) if pb.end_time_unix_nano else None,
        status_code=_STATUS_FROM_OTEL_INT.get(int(pb.status.code), SpanStatusCode.UNSET),
        status_message=pb.status.message or "",
        inputs=inputs,
        outputs=outputs,
        attributes=attrs,
        events=[
            SpanEvent(e.name, int(e.time_unix_nano), {kv.key: decode_any_value(kv.value) for kv in e.attributes})
            for e in pb.events
        ],
    )


# ---- trace infos ---------------------------------------------------------------------------------
def wire_tags(info: TraceInfo) -> dict[str, str]:
    """The tags as MLflow clients read them: the trace name as ``mlflow.traceName``, and where the spans
    are (always this server's database: clients then read spans with ``traces/get``)."""
    tags = {k: v for k, v in info.tags.items() if k != TRACE_NAME_TAG}
    name = info.tags.get(TRACE_NAME_TAG) or info.name
    if name:
        tags[MLFLOW_TRACE_NAME_TAG] = name
    tags[SPANS_LOCATION_TAG] = SPANS_IN_TRACKING_STORE
    return tags


def _state(status: str) -> str:
    return status if status in _TRACE_STATES else "STATE_UNSPECIFIED"


def trace_info_to_v3(info: TraceInfo, assessments: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """MLflow's ``TraceInfoV3`` in JSON."""
    metadata = dict(info.request_metadata)
    if info.run_id and SOURCE_RUN_METADATA not in metadata:
        metadata[SOURCE_RUN_METADATA] = info.run_id
    out: dict[str, Any] = {
        "trace_id": info.request_id,
        "trace_location": {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": info.experiment_id}},
        "request_time": ms_to_timestamp(info.timestamp_ms),
        "state": _state(info.status),
        "trace_metadata": metadata,
        "tags": wire_tags(info),
    }
    if info.execution_time_ms is not None:
        out["execution_duration"] = ms_to_duration(info.execution_time_ms)
    if info.request_preview is not None:
        out["request_preview"] = info.request_preview
    if info.response_preview is not None:
        out["response_preview"] = info.response_preview
    if assessments:
        out["assessments"] = assessments
    return out


def trace_info_to_v2(info: TraceInfo) -> dict[str, Any]:
    """MLflow's ``TraceInfo`` (v2) in JSON."""
    status = info.status if info.status in _TRACE_STATES else "TRACE_STATUS_UNSPECIFIED"
    out: dict[str, Any] = {
        "request_id": info.request_id,
        "experiment_id": info.experiment_id,
        "timestamp_ms": info.timestamp_ms,
        "execution_time_ms": info.execution_time_ms or 0,
        "status": status,
        "request_metadata": [{"key": k, "value": v} for k, v in info.request_metadata.items()],
        "tags": [{"key": k, "value": v} for k, v in wire_tags(info).items() if k != SPANS_LOCATION_TAG],
    }
    return out


def _str_map(value: Any, field: str) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, list):  # [{"key", "value"}] (v2)
        try:
            return {str(kv["key"]): str(kv.get("value", "")) for kv in value}
        except (TypeError, KeyError):
            raise InvalidParameterError(f'Invalid {field}: give a list of {{"key", "value"}} objects') from None
    if not isinstance(value, dict):
        raise InvalidParameterError(f"Invalid {field}: give an object of string values")
    return {str(k): "" if v is None else str(v) for k, v in value.items()}


def trace_info_from_v3(d: Any) -> TraceInfo:
    """Our `TraceInfo` from MLflow's ``TraceInfoV3`` JSON (``StartTraceV3.trace.trace_info``)."""
    if not isinstance(d, dict):
        raise InvalidParameterError("Invalid trace_info: give an object")
    trace_id = d.get("trace_id")
    if not isinstance(trace_id, str) or not trace_id or len(trace_id) > 50:
        raise InvalidParameterError(f"Invalid trace_info.trace_id {trace_id!r}: give the id, e.g. tr-<32 hex digits>")
    location = d.get("trace_location") or {}
    experiment_id = (
        (location.get("mlflow_experiment") or {}).get("experiment_id") if isinstance(location, dict) else None
    )
    if not experiment_id:
        raise InvalidParameterError(
            'Invalid trace_info.trace_location: give {"type": "MLFLOW_EXPERIMENT", '
            '"mlflow_experiment": {"experiment_id": "..."}}'
        )
    tags = _str_map(d.get("tags"), "trace_info.tags")
    tags.pop(SPANS_LOCATION_TAG, None)
    name = tags.pop(MLFLOW_TRACE_NAME_TAG, None)
    metadata = _str_map(d.get("trace_metadata"), "trace_info.trace_metadata")
    state = str(d.get("state") or "STATE_UNSPECIFIED")
    request_time = d.get("request_time")
    duration = d.get("execution_duration")
    return TraceInfo(
        request_id=trace_id,
        experiment_id=str(experiment_id),
        timestamp_ms=timestamp_to_ms(request_time, "trace_info.request_time") if request_time is not None else 0,
        execution_time_ms=duration_to_ms(duration, "trace_info.execution_duration") if duration is not None else None,
        status=state if state in _TRACE_STATES else state,
        name=name,
        run_id=metadata.get(SOURCE_RUN_METADATA),
        request_preview=d.get("request_preview"),
        response_preview=d.get("response_preview"),
        tags={TRACE_NAME_TAG: name or "", **tags} if name else tags,
        request_metadata=metadata,
    )
