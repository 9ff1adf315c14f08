"""Live spans, the current-span context and the in-progress trace they belong to.

The current span lives in a `ContextVar`: asyncio tasks inherit it from the task that created them,
and a thread sees it when started with a copied context (``contextvars.copy_context().run`` or
``asyncio.to_thread``); a thread started without one begins its own trace. Concurrent traces never
share state: each span points at its own `_TraceRecord`.

When a root span ends, its trace is handed to the background exporter (`hf_mltrack.tracing.export`);
nothing is serialised or written on the caller's thread except a JSON-compatible snapshot of the
values recorded (`to_jsonable`), so that later mutation of those objects does not change the trace.
"""

from __future__ import annotations

import contextvars
import logging
import random
import threading
import time
import traceback
from typing import Any, Literal

from ..entities.trace import REQUEST_ID_PREFIX, Span, SpanEvent, SpanStatusCode, SpanType, TraceStatus
from ._serialize import to_jsonable

_logger = logging.getLogger("hf_mltrack.tracing")

_CURRENT: contextvars.ContextVar[LiveSpan | None] = contextvars.ContextVar("hf_mltrack_span", default=None)

_time_ns = time.time_ns
_getrandbits = random.getrandbits  # the module's instance is reseeded in forked children


def new_span_id() -> str:
    return f"{_getrandbits(64) or 1:016x}"


def new_trace_id() -> str:
    """32 hex digits: the time in milliseconds (48 bits), then 80 random bits.

    Time-ordered ids make the store's inserts append to the id indexes instead of dirtying a random
    index page per trace: a batch of 200 traces writes a few pages instead of one or two per trace
    (2.6x less insert and commit time per trace in a 10,000-trace SQLite store, measured raw). The
    random right part keeps them unique, and random where W3C trace context asks for it (the
    right-most 56 bits)."""
    return f"{_time_ns() // 1_000_000:012x}{_getrandbits(80):020x}"


_build_trace: Any = None  # export.build_trace, imported on first use


class _TraceRecord:
    """One trace while it is being recorded: its spans and where it will be stored."""

    __slots__ = (
        "trace_id",
        "spans",
        "root",
        "run_id",
        "experiment_id",
        "tracking_uri",
        "tags",
        "done",
        "deferred",
        "steps",
        "_trace",
    )

    def __init__(self, trace_id: str, run_id: str | None, experiment_id: str | None, tracking_uri: str | None) -> None:
        self.trace_id = trace_id
        self.spans: list[LiveSpan] = []
        self.root: LiveSpan | None = None
        self.run_id = run_id
        self.experiment_id = experiment_id
        self.tracking_uri = tracking_uri
        self.tags: dict[str, str] = {}
        self.done = False
        # spans holding `Deferred` values (resolved at build); created on first use
        self.deferred: list[LiveSpan] | None = None
        # spans recorded as plain tuples, made `Span` objects at build (see `StepRecorder`)
        self.steps: list[tuple[Any, ...]] | None = None
        self._trace: Any = None

    @property
    def request_id(self) -> str:
        return REQUEST_ID_PREFIX + self.trace_id

    def to_trace(self) -> Any:
        """The finished `Trace` (built once, on the exporter's thread or on first request)."""
        if self._trace is None:
            global _build_trace
            if _build_trace is None:
                from .export import build_trace

                _build_trace = build_trace
            self._trace = _build_trace(self)
        return self._trace


class LiveSpan(Span):
    """A span being recorded; yielded by ``hf_mltrack.start_span`` and
    ``hf_mltrack.get_current_active_span()``.

    Values given to the setters are copied into JSON-compatible form at once (see `to_jsonable`).
    Changes after the span's trace has been exported are not recorded.
    """

    __slots__ = ("_record", "_steps")

    _record: _TraceRecord
    _steps: StepRecorder | None

    # ---- setters ------------------------------------------------------------------------------
    def set_inputs(self, inputs: Any) -> None:
        """Record what the operation received."""
        self.inputs = to_jsonable(inputs)

    def set_outputs(self, outputs: Any) -> None:
        """Record what the operation returned."""
        self.outputs = to_jsonable(outputs)

    def set_attribute(self, key: str, value: Any) -> None:
        """Set one attribute (any JSON-compatible value; others are converted)."""
        self.attributes[str(key)] = to_jsonable(value)

    def set_attributes(self, attributes: dict[str, Any]) -> None:
        """Set several attributes at once."""
        for key, value in attributes.items():
            self.attributes[str(key)] = to_jsonable(value)

    def set_span_type(self, span_type: str) -> None:
        self.span_type = str(span_type)

    def set_status(self, status: str, description: str = "") -> None:
        """Set the status: ``"OK"``, ``"ERROR"`` or ``"UNSET"`` (a `SpanStatusCode`)."""
        code = str(status).upper()
        if code not in SpanStatusCode.ALL:
            from ..exceptions import InvalidParameterError

            raise InvalidParameterError(f"Invalid span status {status!r}: use one of {', '.join(SpanStatusCode.ALL)}")
        self.status_code = code
        self.status_message = description or ""

    def add_event(
        self,
        event: SpanEvent | str,
        attributes: dict[str, Any] | None = None,
        timestamp_ns: int | None = None,
    ) -> None:
        """Add an event: a `SpanEvent`, or a name with optional attributes and time (default: now)."""
        if not isinstance(event, SpanEvent):
            event = SpanEvent(str(event), timestamp_ns or _time_ns(), to_jsonable(attributes or {}))
        self._event_list().append(event)

    def record_exception(self, exception: BaseException) -> None:
        """Record an exception: an ``exception`` event (type, message, stack trace) and status ERROR."""
        exc_type = type(exception)
        qualname = exc_type.__qualname__
        if exc_type.__module__ not in ("builtins", "__main__"):
            qualname = f"{exc_type.__module__}.{qualname}"
        message = str(exception)
        stack = "".join(traceback.format_exception(exc_type, exception, exception.__traceback__))
        self._event_list().append(
            SpanEvent(
                "exception",
                _time_ns(),
                {
                    "exception.type": qualname,
                    "exception.message": message,
                    "exception.stacktrace": stack,
                },
            )
        )
        self.status_code = SpanStatusCode.ERROR
        self.status_message = f"{qualname}: {message}" if message else qualname

    def _event_list(self) -> list[SpanEvent]:
        events = self.events
        if type(events) is not list:  # `NO_EVENTS` until the first event
            events = self.events = list(events)
        return events

    # ---- lifecycle ----------------------------------------------------------------------------
    def end(
        self,
        outputs: Any = None,
        attributes: dict[str, Any] | None = None,
        status: str | None = None,
        end_time_ns: int | None = None,
    ) -> None:
        """End the span (a second call does nothing). Ending a root span finishes its trace.

        Args:
            outputs (*optional*): set the outputs first.
            attributes (`dict`, *optional*): set these attributes first.
            status (`str`, *optional*): set the status first (default: OK unless already set).
            end_time_ns (`int`, *optional*): defaults to now.
        """
        if self.end_time_ns is not None:
            return
        if outputs is not None:
            self.set_outputs(outputs)
        if attributes:
            self.set_attributes(attributes)
        if status is not None:
            self.set_status(status)
        elif self.status_code == SpanStatusCode.UNSET:
            self.status_code = SpanStatusCode.OK
        self.end_time_ns = end_time_ns or _time_ns()
        record = self._record
        if record.root is self:
            _finish(record)

    @property
    def request_id(self) -> str:
        return self._record.request_id

    def __enter__(self) -> LiveSpan:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> Literal[False]:
        if exc is not None:
            self.record_exception(exc)
        self.end()
        return False


class NoOpSpan:
    """What ``start_span`` yields while tracing is disabled: every method accepts and ignores."""

    trace_id = span_id = request_id = ""
    parent_id = None
    name = ""
    span_type = SpanType.UNKNOWN
    inputs = outputs = None
    status_code = SpanStatusCode.UNSET
    start_time_ns = 0
    end_time_ns: int | None = None

    @property
    def attributes(self) -> dict[str, Any]:
        return {}

    @property
    def events(self) -> list[Any]:
        return []

    def _ignore(self, *args: Any, **kwargs: Any) -> None:
        return None

    set_inputs = set_outputs = set_attribute = set_attributes = set_span_type = set_status = _ignore
    add_event = record_exception = end = _ignore

    def __repr__(self) -> str:
        return "NoOpSpan()"


NO_OP_SPAN = NoOpSpan()

# ---- starting and finishing -------------------------------------------------------------------

_fluent: Any = None
_last_record: _TraceRecord | None = None
_warned: set[str] = set()
_warn_lock = threading.Lock()


def warn_once(key: str, message: str) -> None:
    """Log `message` as a warning the first time `key` is seen in this process."""
    with _warn_lock:
        if key in _warned:
            return
        _warned.add(key)
    _logger.warning(message)


def _destination() -> tuple[str | None, str | None, str | None]:
    """(run_id, experiment_id, tracking_uri) for a new trace: the active run's, else the current
    experiment and tracking URI. Only what the program set explicitly is read here (attribute reads);
    ``None`` means "from the environment", resolved by the exporter (`resolve_destination`)."""
    global _fluent
    if _fluent is None:
        from ..tracking import fluent

        _fluent = fluent
    stack = _fluent._run_stack.get()
    if stack:
        info = stack[-1].info
        return info.run_id, str(info.experiment_id), _fluent._tracking_uri
    return None, _fluent._active_experiment_id, _fluent._tracking_uri


_experiment_cache: dict[tuple[str, str], str] = {}
_resolve_lock = threading.Lock()


def resolve_destination(record: _TraceRecord, memo: dict[Any, str] | None = None) -> None:
    """Fill in the tracking URI and experiment a record left to the environment
    (``HF_MLTRACK_TRACKING_URI``/``HF_MLTRACK_HOME``, ``HF_MLTRACK_EXPERIMENT_ID``/``_NAME``, else
    ``"0"``). `memo` shares the answers across one export batch (the environment is read once)."""
    from .. import _env

    memo = {} if memo is None else memo
    with _resolve_lock:
        if record.tracking_uri is None:
            uri = memo.get("uri")
            if uri is None:
                from ..tracking._uri import resolve_tracking_uri

                uri = memo["uri"] = resolve_tracking_uri(None)
            record.tracking_uri = uri
        if record.experiment_id is None:
            key = ("experiment", record.tracking_uri)
            experiment_id = memo.get(key)
            if experiment_id is None:
                experiment_id = _env.EXPERIMENT_ID.get()
                name = _env.EXPERIMENT_NAME.get()
                if not experiment_id and name:
                    experiment_id = _experiment_by_name(record.tracking_uri, name)
                experiment_id = memo[key] = str(experiment_id or "0")
            record.experiment_id = experiment_id


def _experiment_by_name(tracking_uri: str, name: str) -> str:
    key = (tracking_uri, name)
    experiment_id = _experiment_cache.get(key)
    if experiment_id is None:
        from ..exceptions import ResourceAlreadyExistsError
        from ..tracking.client import MlTrackClient

        client = MlTrackClient(tracking_uri)
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            try:
                experiment_id = client.create_experiment(name)
            except ResourceAlreadyExistsError:  # created meanwhile by another process
                experiment_id = client.get_experiment_by_name(name).experiment_id  # type: ignore[union-attr]
        else:
            experiment_id = experiment.experiment_id
        _experiment_cache[key] = experiment_id
    return experiment_id


def new_span(
    name: str,
    span_type: str = SpanType.UNKNOWN,
    attributes: dict[str, Any] | None = None,
    parent: LiveSpan | None = None,
) -> LiveSpan:
    """A started span under `parent` (a new trace when `parent` is None or its trace has finished).
    It is not made current; see `start_span` for that."""
    span = child_span(parent, name, span_type if span_type is not None else SpanType.UNKNOWN)
    if attributes:
        span.attributes = {str(k): to_jsonable(v) for k, v in attributes.items()}
    return span


_enqueue: Any = None

# What a span's ``events`` is until its first event: a live span holds as few objects that the garbage
# collector tracks as it can (finished traces wait up to the export interval, long enough for the
# collector to promote what they hold to its oldest generation, whose full collections then come
# sooner and cost the whole process). `build_trace` gives every span a list.
NO_EVENTS: tuple[SpanEvent, ...] = ()


class StepRecorder:
    """Inner steps of a span recorded cheaply, as tuples, while they run (a pipeline call's preprocess,
    forward and postprocess); the exporter makes them spans. While a step runs, the span that holds
    the recorder stays current; a span started then is parented to the step (`running_span` creates
    the step's live span on first request), so nesting stays exact."""

    __slots__ = ()

    def running_span(self) -> LiveSpan | None:
        """The live span of the step running now (created on first request), or None between steps."""
        raise NotImplementedError


def effective_parent(span: LiveSpan) -> LiveSpan:
    """`span`, or the live span of the inner step it is running now (see `StepRecorder`)."""
    steps = span._steps
    if steps is not None:
        return steps.running_span() or span
    return span


def child_span(parent: LiveSpan | None, name: str, span_type: str) -> LiveSpan:
    """A started span, child of `parent` or the root of a new trace; not made current."""
    if parent is None or parent._record.done:
        return add_span(_TraceRecord(new_trace_id(), *_destination()), None, name, span_type)
    if parent._steps is not None:
        parent = effective_parent(parent)
    return add_span(parent._record, parent.span_id, name, span_type)


def add_span(
    record: _TraceRecord, parent_id: str | None, name: str, span_type: str, start_time_ns: int | None = None
) -> LiveSpan:
    """A started span of `record` (its root when `parent_id` is None); not made current."""
    span = _new_live_span(LiveSpan)
    span.trace_id = record.trace_id
    span.span_id = new_span_id()
    span.parent_id = parent_id
    span.name = name
    span.span_type = span_type
    span.start_time_ns = start_time_ns or _time_ns()
    span.end_time_ns = None
    span.status_code = SpanStatusCode.UNSET
    span.status_message = ""
    span.inputs = None
    span.outputs = None
    span.attributes = {}  # an empty dict (or one of plain values) is not tracked by the collector
    span.events = NO_EVENTS  # type: ignore[assignment]
    span._record = record
    span._steps = None
    if parent_id is None:
        record.root = span
    record.spans.append(span)
    return span


_new_live_span = object.__new__


def _finish(record: _TraceRecord) -> None:
    global _last_record, _enqueue
    record.done = True
    _last_record = record
    if _enqueue is None:
        from .export import enqueue

        _enqueue = enqueue
    _enqueue(record)


def current_span() -> LiveSpan | None:
    return _CURRENT.get()


def last_record() -> _TraceRecord | None:
    return _last_record


def trace_status(record: _TraceRecord) -> str:
    root = record.root
    if root is None or root.end_time_ns is None:
        return TraceStatus.IN_PROGRESS
    return TraceStatus.ERROR if root.status_code == SpanStatusCode.ERROR else TraceStatus.OK
