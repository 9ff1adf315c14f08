"""Asynchronous export of finished traces: a queue drained by one background thread.

Ending a root span only appends its trace to a deque (well under a microsecond). The exporter thread
wakes every ``HF_MLTRACK_TRACE_EXPORT_INTERVAL`` seconds (0.5 by default), builds the `Trace` objects
(JSON of inputs/outputs, previews), writes each tracking store's traces in one transaction, and
hands them to the OpenTelemetry SDK's exporter for the collector named by ``HF_MLTRACK_OTLP_ENDPOINT``
when one is set (`hf_mltrack.tracing.otel_export`: its own thread, each trace handed over once).

`flush` (also ``hf_mltrack.flush_trace_async_logging``) writes everything queued before it returns;
it runs at interpreter exit, and trace reads (``get_trace``, ``search_traces``) call it first, so a
process always reads its own traces. Transient store errors (a locked database, a server that does
not answer) are retried; what still fails is reported once as a warning and dropped: tracing never
fails or blocks the traced program.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import time
from collections import deque
from typing import Any

from .._env import OTLP_ENDPOINT, TRACE_EXPORT_INTERVAL, TRACE_EXPORT_MAX_QUEUE
from ..entities.trace import (
    SOURCE_RUN_KEY,
    TRACE_NAME_TAG,
    TRACE_SCHEMA_VERSION_KEY,
    Span,
    SpanStatusCode,
    Trace,
    TraceData,
    TraceInfo,
)
from ..exceptions import is_transient
from ..utils.threads import background_thread
from ._serialize import Deferred, preview, resolve
from .span import _TraceRecord, new_span_id, resolve_destination, trace_status, warn_once

SCHEMA_VERSION = "1"

_RETRIES = 3
_WAKE_AT = 512  # queued traces that wake the exporter before its interval ends
_static: dict[str, str] | None = None
_RESOLVABLE = frozenset((dict, list, Deferred))


def _static_metadata() -> dict[str, str]:
    global _static
    if _static is None:
        from ..tracking.context import SOURCE_NAME_TAG, USER_TAG, current_user, source_name

        _static = {USER_TAG: current_user(), SOURCE_NAME_TAG: source_name()}
    return _static


def build_trace(record: _TraceRecord) -> Trace:
    """The `Trace` of a finished record: root first, then spans by start time; spans that were still
    open when the root ended are closed at the root's end time (status left UNSET)."""
    if record.tracking_uri is None or record.experiment_id is None:
        resolve_destination(record)
    return _build(record)


def _build(record: _TraceRecord) -> Trace:
    root = record.root
    spans: list[Span] = list(record.spans)
    if record.steps:
        spans.extend(_step_spans(record))
    if record.deferred:
        for live in record.deferred:  # only containers and `Deferred` values can hold a `Deferred`
            if type(live.inputs) in _RESOLVABLE:
                live.inputs = resolve(live.inputs)
            if type(live.outputs) in _RESOLVABLE:
                live.outputs = resolve(live.outputs)
            if live.attributes:
                live.attributes = resolve(live.attributes)
    end = root.end_time_ns if root is not None and root.end_time_ns is not None else None
    for span in spans:
        if span.end_time_ns is None and end is not None:
            span.end_time_ns = end
        if type(span.events) is not list:  # `NO_EVENTS`
            span.events = []
    # Root first, then by start time (spans are usually recorded in that order already).
    in_order = bool(spans) and spans[0] is root
    for i in range(1, len(spans) - 1):
        if not in_order:
            break
        in_order = spans[i].start_time_ns <= spans[i + 1].start_time_ns
    if not in_order:
        spans.sort(key=lambda s: (s.parent_id is not None, s.start_time_ns))
    start_ns = root.start_time_ns if root is not None else (spans[0].start_time_ns if spans else 0)
    duration = None if end is None else int(round((end - start_ns) / 1e6))
    name = root.name if root is not None else None
    # Fixed facts go in the metadata (a JSON column); tags are only what the user set (rows of their
    # own, searchable and mutable). The trace name is the `name` column, also readable as the tag
    # hf_mltrack.traceName.
    metadata = {TRACE_SCHEMA_VERSION_KEY: SCHEMA_VERSION, **_static_metadata()}
    if record.run_id:
        metadata[SOURCE_RUN_KEY] = record.run_id
    info = TraceInfo(
        request_id=record.request_id,
        experiment_id=record.experiment_id or "0",
        timestamp_ms=start_ns // 1_000_000,
        execution_time_ms=duration,
        status=trace_status(record),
        name=name,
        run_id=record.run_id,
        request_preview=None if root is None else preview(root.inputs),
        response_preview=None if root is None else preview(root.outputs),
        tags={TRACE_NAME_TAG: name or "", **record.tags},
        request_metadata=metadata,
    )
    return Trace(info, TraceData(spans))  # type: ignore[arg-type]


def _step_spans(record: _TraceRecord) -> list[Span]:
    """The spans of the steps recorded as tuples (see `span.StepRecorder`); their status is OK (a step
    that raised was recorded as a live span)."""
    trace_id = record.trace_id
    out = []
    for parent_id, name, span_type, start, end, inputs, outputs, attributes in record.steps or ():
        if type(outputs) in _RESOLVABLE:
            outputs = resolve(outputs)
        out.append(
            Span(
                trace_id,
                new_span_id(),
                parent_id,
                name,
                span_type,
                start,
                end,
                SpanStatusCode.OK,
                "",
                inputs,
                outputs,
                attributes,
            )
        )
    return out


class TraceExporter:
    """The process-wide export queue and its thread."""

    def __init__(self) -> None:
        self._queue: deque[tuple[_TraceRecord, int]] = deque()
        self._lock = threading.Lock()  # one export at a time (thread or flush)
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._thread_lock = threading.Lock()
        self._stopping = False

    def enqueue(self, record: _TraceRecord) -> None:
        queue = self._queue
        queue.append((record, 0))
        if self._thread is None:
            self._start()
        n = len(queue)
        if n >= _WAKE_AT:
            wake = self._wake
            if not wake.is_set():  # Event.set takes a lock and notifies: only when it changes something
                wake.set()
            # The limit (an environment read) is checked every 64 traces: the queue may exceed it by
            # at most 63 before the producer helps.
            if not n & 63 and n > _max_queue():
                self.flush()  # backpressure: the producer helps instead of growing memory

    def _start(self) -> None:
        with self._thread_lock:
            if self._thread is None:
                thread = background_thread(self._loop, "hf_mltrack-trace-exporter")
                thread.start()
                self._thread = thread

    def _loop(self) -> None:
        while not self._stopping:
            self._wake.wait(_interval())
            self._wake.clear()
            if self._queue:
                self._export_pending()

    def flush(self) -> None:
        """Export everything queued now, on the calling thread; returns when it is written (and, with an
        OTLP endpoint, sent to the collector)."""
        while True:
            self._export_pending()  # takes the lock: also waits for a batch the thread is writing
            if not self._queue:
                break
        otel = sys.modules.get(__package__ + ".otel_export")
        if otel is not None:
            otel.flush()

    def _export_pending(self) -> None:
        with self._lock:
            batch: list[tuple[_TraceRecord, int]] = []
            queue = self._queue
            while queue:
                batch.append(queue.popleft())
            if batch:
                self._export(batch)

    def _export(self, batch: list[tuple[_TraceRecord, int]]) -> None:
        by_uri: dict[str | None, list[tuple[_TraceRecord, int]]] = {}
        memo: dict[Any, str] = {}
        for item in batch:
            record = item[0]
            if record.tracking_uri is None or record.experiment_id is None:
                try:
                    resolve_destination(record, memo)
                except Exception as exc:
                    warn_once(
                        f"destination:{type(exc).__name__}",
                        f"hf_mltrack cannot place a trace ({exc}); dropped",
                    )
                    continue
            by_uri.setdefault(record.tracking_uri, []).append(item)
        endpoint = OTLP_ENDPOINT.get()
        for uri, items in by_uri.items():
            try:
                traces = [record.to_trace() for record, _ in items]
            except Exception as exc:
                warn_once(f"build:{type(exc).__name__}", f"hf_mltrack could not build traces ({exc}); dropped")
                continue
            if endpoint:
                # Handed to the collector's own thread once, on the first attempt: a store write that is
                # retried below does not post the spans again, and a dead collector never delays it.
                first = [t for t, (_, attempt) in zip(traces, items, strict=True) if attempt == 0]
                if first:
                    from . import otel_export

                    otel_export.submit(first, endpoint)
            if uri is None:
                continue
            try:
                from .stores import get_trace_store

                get_trace_store(uri).log_traces(traces)
            except Exception as exc:
                retry = [(r, n + 1) for r, n in items if n + 1 < _RETRIES] if is_transient(exc) else []
                if retry:
                    self._queue.extendleft(reversed(retry))
                    time.sleep(0.05 * (2 ** retry[0][1]))
                else:
                    warn_once(
                        f"store:{uri}:{type(exc).__name__}",
                        f"hf_mltrack could not store {len(items)} trace(s) in {_redact(uri)} "
                        f"({type(exc).__name__}: {exc}); they are dropped",
                    )

    def shutdown(self) -> None:
        try:
            self.flush()
        finally:
            self._stopping = True
            self._wake.set()


def _redact(uri: str) -> str:
    try:
        from ..store.sql.engine import redact

        return redact(uri)
    except Exception:
        return uri


def _interval() -> float:
    try:
        return max(0.01, TRACE_EXPORT_INTERVAL.get())
    except ValueError:
        return 0.5


def _max_queue() -> int:
    try:
        return max(1, TRACE_EXPORT_MAX_QUEUE.get())
    except ValueError:
        return 10_000


_EXPORTER = TraceExporter()


def enqueue(record: _TraceRecord) -> None:
    _EXPORTER.enqueue(record)


def flush(timeout: Any = None) -> None:
    """Write every finished trace still queued (to the tracking store and the OTLP endpoint).

    Args:
        timeout: accepted for MLflow compatibility; the flush always completes.
    """
    _EXPORTER.flush()


# MLflow's name for `flush`.
flush_trace_async_logging = flush


def pending() -> int:
    """Traces queued and not yet written."""
    return len(_EXPORTER._queue)


def _after_fork_in_child() -> None:
    # A forked child starts with an empty queue and no thread (the parent's traces are the parent's).
    _EXPORTER.__init__()  # type: ignore[misc]
    otel = sys.modules.get(__package__ + ".otel_export")
    if otel is not None:
        otel._forwarders.clear()


atexit.register(_EXPORTER.shutdown)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
