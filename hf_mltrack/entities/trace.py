"""Traces: a tree of timed spans recorded for one call (a pipeline inference, a traced function).

A `Trace` is its `TraceInfo` (what searches return: ids, timing, status, previews, tags) and its
`TraceData` (the spans). Ids follow OpenTelemetry: a trace id is 32 hex digits, a span id 16; the
trace's ``request_id`` (MLflow's name, also ``trace_id``) is ``"tr-"`` + the trace id.

Span JSON (the stored and REST shape)::

    {"trace_id": "5b8a...", "span_id": "9c1f...", "parent_id": null, "name": "TextClassificationPipeline",
     "span_type": "CHAIN", "start_time_ns": 1700000000000000000, "end_time_ns": 1700000000002500000,
     "status": {"code": "OK", "message": ""}, "inputs": "hello", "outputs": [{"label": "POS"}],
     "attributes": {"task": "text-classification"},
     "events": [{"name": "exception", "timestamp_ns": 1700000000002000000, "attributes": {...}}]}
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

__all__ = [
    "Span",
    "SpanEvent",
    "SpanStatusCode",
    "SpanType",
    "Trace",
    "TraceData",
    "TraceInfo",
    "TraceStatus",
]

REQUEST_ID_PREFIX = "tr-"
PREVIEW_MAX_CHARS = 1000

# The root span's name, as a tag (stored as the trace's `name`, read back as this tag too).
TRACE_NAME_TAG = "hf_mltrack.traceName"
# Request metadata keys: the run active when the trace started, the schema of the span JSON.
SOURCE_RUN_KEY = "hf_mltrack.sourceRun"
TRACE_SCHEMA_VERSION_KEY = "hf_mltrack.trace_schema.version"


class SpanType:
    """What a span does (free text is allowed too; these are the conventional values)."""

    LLM = "LLM"
    CHAT_MODEL = "CHAT_MODEL"
    CHAIN = "CHAIN"
    AGENT = "AGENT"
    TOOL = "TOOL"
    RETRIEVER = "RETRIEVER"
    EMBEDDING = "EMBEDDING"
    PARSER = "PARSER"
    RERANKER = "RERANKER"
    UNKNOWN = "UNKNOWN"

    ALL = (LLM, CHAT_MODEL, CHAIN, AGENT, TOOL, RETRIEVER, EMBEDDING, PARSER, RERANKER, UNKNOWN)


class SpanStatusCode:
    """OpenTelemetry's span status codes."""

    UNSET = "UNSET"
    OK = "OK"
    ERROR = "ERROR"

    ALL = (UNSET, OK, ERROR)


class TraceStatus:
    """The status of a whole trace (its root span's)."""

    OK = "OK"
    ERROR = "ERROR"
    IN_PROGRESS = "IN_PROGRESS"

    ALL = (OK, ERROR, IN_PROGRESS)


class SpanEvent:
    """Something that happened at a point in time during a span (e.g. an exception).

    Args:
        name (`str`): e.g. ``"exception"``.
        timestamp_ns (`int`): nanoseconds since the epoch.
        attributes (`dict`, *optional*): JSON-compatible values.
    """

    __slots__ = ("name", "timestamp_ns", "attributes")

    def __init__(self, name: str, timestamp_ns: int, attributes: dict[str, Any] | None = None) -> None:
        self.name = name
        self.timestamp_ns = int(timestamp_ns)
        self.attributes = attributes or {}

    def __repr__(self) -> str:
        return f"SpanEvent(name={self.name!r}, timestamp_ns={self.timestamp_ns})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SpanEvent) and self.to_dict() == other.to_dict()

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "timestamp_ns": self.timestamp_ns, "attributes": self.attributes}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SpanEvent:
        return cls(d["name"], d.get("timestamp_ns") or 0, d.get("attributes") or {})


class Span:
    """One timed operation of a trace. Spans read from a store are plain data; the live span yielded by
    ``hf_mltrack.start_span`` is a subclass with setters.

    Args:
        trace_id (`str`): 32 hex digits.
        span_id (`str`): 16 hex digits.
        parent_id (`str`, *optional*): the parent's span id; `None` for the root span.
        name (`str`): e.g. the function name.
        span_type (`str`, *optional*, defaults to `"UNKNOWN"`): one of `SpanType`, or any text.
        start_time_ns (`int`): nanoseconds since the epoch.
        end_time_ns (`int`, *optional*): `None` while the span runs.
        status_code (`str`, *optional*, defaults to `"UNSET"`): one of `SpanStatusCode`.
        status_message (`str`, *optional*): why it failed.
        inputs, outputs (*optional*): JSON-compatible values.
        attributes (`dict`, *optional*): JSON-compatible values.
        events (`list[SpanEvent]`, *optional*).
    """

    __slots__ = (
        "trace_id",
        "span_id",
        "parent_id",
        "name",
        "span_type",
        "start_time_ns",
        "end_time_ns",
        "status_code",
        "status_message",
        "inputs",
        "outputs",
        "attributes",
        "events",
    )

    def __init__(
        self,
        trace_id: str,
        span_id: str,
        parent_id: str | None,
        name: str,
        span_type: str = SpanType.UNKNOWN,
        start_time_ns: int = 0,
        end_time_ns: int | None = None,
        status_code: str = SpanStatusCode.UNSET,
        status_message: str = "",
        inputs: Any = None,
        outputs: Any = None,
        attributes: dict[str, Any] | None = None,
        events: list[SpanEvent] | None = None,
    ) -> None:
        self.trace_id = trace_id
        self.span_id = span_id
        self.parent_id = parent_id
        self.name = name
        self.span_type = span_type
        self.start_time_ns = start_time_ns
        self.end_time_ns = end_time_ns
        self.status_code = status_code
        self.status_message = status_message
        self.inputs = inputs
        self.outputs = outputs
        self.attributes = attributes if attributes is not None else {}
        self.events = events if events is not None else []

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.name!r}, span_type={self.span_type!r}, "
            f"span_id={self.span_id!r}, "
            f"parent_id={self.parent_id!r}, status={self.status_code!r})"
        )

    @property
    def request_id(self) -> str:
        return REQUEST_ID_PREFIX + self.trace_id

    @property
    def status(self) -> str:
        return self.status_code

    @property
    def duration_ms(self) -> float | None:
        if self.end_time_ns is None:
            return None
        return (self.end_time_ns - self.start_time_ns) / 1e6

    def get_attribute(self, key: str) -> Any:
        return self.attributes.get(key)

    def to_dict(self, compact: bool = False) -> dict[str, Any]:
        """The span's JSON object; `compact` leaves out empty fields (no inputs, outputs, attributes,
        events or status message), as the stores write it. `from_dict` reads both forms."""
        if compact:
            d: dict[str, Any] = {
                "trace_id": self.trace_id,
                "span_id": self.span_id,
                "parent_id": self.parent_id,
                "name": self.name,
                "span_type": self.span_type,
                "start_time_ns": self.start_time_ns,
                "end_time_ns": self.end_time_ns,
                "status": {"code": self.status_code, "message": self.status_message}
                if self.status_message
                else {"code": self.status_code},
            }
            if self.inputs is not None:
                d["inputs"] = self.inputs
            if self.outputs is not None:
                d["outputs"] = self.outputs
            if self.attributes:
                d["attributes"] = self.attributes
            if self.events:
                d["events"] = [e.to_dict() for e in self.events]
            return d
        return {
            "trace_id": self.trace_id,
            "span_id": self.span_id,
            "parent_id": self.parent_id,
            "name": self.name,
            "span_type": self.span_type,
            "start_time_ns": self.start_time_ns,
            "end_time_ns": self.end_time_ns,
            "status": {"code": self.status_code, "message": self.status_message},
            "inputs": self.inputs,
            "outputs": self.outputs,
            "attributes": self.attributes,
            "events": [e.to_dict() for e in self.events],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Span:
        """From `to_dict` output, or from MLflow's span dict (``start_time_unix_nano``, base64 ids)."""
        if "start_time_unix_nano" in d:
            from ..tracing.mlflow_wire import span_from_mlflow_dict

            return span_from_mlflow_dict(d)
        status = d.get("status") or {}
        if isinstance(status, str):
            status = {"code": status}
        return Span(
            trace_id=d["trace_id"],
            span_id=d["span_id"],
            parent_id=d.get("parent_id"),
            name=d.get("name", ""),
            span_type=d.get("span_type") or SpanType.UNKNOWN,
            start_time_ns=int(d.get("start_time_ns") or 0),
            end_time_ns=None if d.get("end_time_ns") is None else int(d["end_time_ns"]),
            status_code=status.get("code") or SpanStatusCode.UNSET,
            status_message=status.get("message") or "",
            inputs=d.get("inputs"),
            outputs=d.get("outputs"),
            attributes=dict(d.get("attributes") or {}),
            events=[SpanEvent.from_dict(e) for e in d.get("events") or ()],
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Span) and self.to_dict() == other.to_dict()

    __hash__ = object.__hash__


class TraceInfo:
    """What a trace search returns for each trace.

    Args:
        request_id (`str`): ``"tr-"`` + the 32-hex-digit trace id (also available as `trace_id`).
        experiment_id (`str`): the experiment the trace belongs to.
        timestamp_ms (`int`): start of the root span, milliseconds since the epoch.
        execution_time_ms (`int`, *optional*): duration of the root span.
        status (`str`): one of `TraceStatus`.
        name (`str`, *optional*): the root span's name.
        run_id (`str`, *optional*): the run that was active when the trace started.
        request_preview, response_preview (`str`, *optional*): the root span's inputs and outputs as
            JSON, cut to 1000 characters.
        tags (`dict[str, str]`, *optional*): mutable after the fact (``set_trace_tag``).
        request_metadata (`dict[str, str]`, *optional*): fixed at export.
    """

    __slots__ = (
        "request_id",
        "experiment_id",
        "timestamp_ms",
        "execution_time_ms",
        "status",
        "name",
        "run_id",
        "request_preview",
        "response_preview",
        "tags",
        "request_metadata",
    )

    def __init__(
        self,
        request_id: str,
        experiment_id: str,
        timestamp_ms: int,
        execution_time_ms: int | None = None,
        status: str = TraceStatus.OK,
        name: str | None = None,
        run_id: str | None = None,
        request_preview: str | None = None,
        response_preview: str | None = None,
        tags: dict[str, str] | None = None,
        request_metadata: dict[str, str] | None = None,
    ) -> None:
        self.request_id = request_id
        self.experiment_id = str(experiment_id)
        self.timestamp_ms = int(timestamp_ms)
        self.execution_time_ms = execution_time_ms
        self.status = status
        self.name = name
        self.run_id = run_id
        self.request_preview = request_preview
        self.response_preview = response_preview
        self.tags = tags if tags is not None else {}
        self.request_metadata = request_metadata if request_metadata is not None else {}

    def __repr__(self) -> str:
        return (
            f"TraceInfo(request_id={self.request_id!r}, name={self.name!r}, "
            f"experiment_id={self.experiment_id!r}, "
            f"run_id={self.run_id!r}, status={self.status!r}, execution_time_ms={self.execution_time_ms})"
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TraceInfo) and self.to_dict() == other.to_dict()

    __hash__ = object.__hash__

    @property
    def trace_id(self) -> str:
        """MLflow 3's name for `request_id`."""
        return self.request_id

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON (tags and metadata as objects)."""
        return {
            "request_id": self.request_id,
            "experiment_id": self.experiment_id,
            "timestamp_ms": self.timestamp_ms,
            "execution_time_ms": self.execution_time_ms,
            "status": self.status,
            "name": self.name,
            "run_id": self.run_id,
            "request_preview": self.request_preview,
            "response_preview": self.response_preview,
            "tags": dict(self.tags),
            "request_metadata": dict(self.request_metadata),
        }

    def to_rest(self) -> dict[str, Any]:
        """MLflow's REST ``TraceInfo`` (tags and metadata as ``[{"key", "value"}]``), plus our fields."""
        d = self.to_dict()
        d["tags"] = [{"key": k, "value": v} for k, v in self.tags.items()]
        d["request_metadata"] = [{"key": k, "value": v} for k, v in self.request_metadata.items()]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TraceInfo:
        """From `to_dict` or `to_rest` output."""
        return cls(
            request_id=d["request_id"],
            experiment_id=str(d.get("experiment_id", "0")),
            timestamp_ms=int(d.get("timestamp_ms") or 0),
            execution_time_ms=None if d.get("execution_time_ms") is None else int(d["execution_time_ms"]),
            status=d.get("status") or TraceStatus.OK,
            name=d.get("name"),
            run_id=d.get("run_id"),
            request_preview=d.get("request_preview"),
            response_preview=d.get("response_preview"),
            tags=_kv(d.get("tags")),
            request_metadata=_kv(d.get("request_metadata")),
        )


def _kv(value: Any) -> dict[str, str]:
    if not value:
        return {}
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    return {str(item["key"]): str(item.get("value", "")) for item in value}


class TraceData:
    """The spans of a trace, root first (then in start order)."""

    __slots__ = ("spans",)

    def __init__(self, spans: list[Span] | None = None) -> None:
        self.spans = spans if spans is not None else []

    def __repr__(self) -> str:
        return f"TraceData(spans={len(self.spans)})"

    @property
    def root_span(self) -> Span | None:
        for span in self.spans:
            if span.parent_id is None:
                return span
        return self.spans[0] if self.spans else None

    @property
    def request(self) -> str | None:
        """The root span's inputs as JSON."""
        root = self.root_span
        return None if root is None or root.inputs is None else json.dumps(root.inputs, default=str)

    @property
    def response(self) -> str | None:
        """The root span's outputs as JSON."""
        root = self.root_span
        return None if root is None or root.outputs is None else json.dumps(root.outputs, default=str)

    def to_dict(self) -> dict[str, Any]:
        return {"spans": [s.to_dict() for s in self.spans]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TraceData:
        return cls([Span.from_dict(s) for s in d.get("spans") or ()])


class Trace:
    """A finished trace: its `info` and its `data` (spans).

    Args:
        info (`TraceInfo`).
        data (`TraceData`).
    """

    __slots__ = ("info", "data")

    def __init__(self, info: TraceInfo, data: TraceData) -> None:
        self.info = info
        self.data = data

    def __repr__(self) -> str:
        info = self.info
        return f"Trace(request_id={info.request_id!r}, name={info.name!r}, spans={len(self.data.spans)})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Trace) and self.to_dict() == other.to_dict()

    __hash__ = object.__hash__

    @property
    def request_id(self) -> str:
        return self.info.request_id

    def search_spans(self, name: str | None = None, span_type: str | None = None) -> list[Span]:
        """Spans with this exact name and/or span type, in trace order."""
        return [
            s
            for s in self.data.spans
            if (name is None or s.name == name) and (span_type is None or s.span_type == span_type)
        ]

    def walk(self) -> Iterator[tuple[int, Span]]:
        """(depth, span) in depth-first order, children by start time."""
        children: dict[str | None, list[Span]] = {}
        ids = {s.span_id for s in self.data.spans}
        for s in self.data.spans:
            children.setdefault(s.parent_id if s.parent_id in ids else None, []).append(s)
        for group in children.values():
            group.sort(key=lambda s: s.start_time_ns)

        def visit(parent: str | None, depth: int) -> Iterator[tuple[int, Span]]:
            for s in children.get(parent, ()):
                yield depth, s
                yield from visit(s.span_id, depth + 1)

        return visit(None, 0)

    def to_dict(self) -> dict[str, Any]:
        return {"info": self.info.to_dict(), "data": self.data.to_dict()}

    def to_json(self, pretty: bool = False) -> str:
        return json.dumps(self.to_dict(), indent=2 if pretty else None, default=str)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Trace:
        return cls(TraceInfo.from_dict(d["info"]), TraceData.from_dict(d.get("data") or {}))

    @classmethod
    def from_json(cls, text: str) -> Trace:
        return cls.from_dict(json.loads(text))
