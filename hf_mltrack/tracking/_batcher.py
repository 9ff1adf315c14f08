"""Asynchronous batched writes: ``log_*`` validate, enqueue and return; a background thread writes.

Every batch drained from the queue is written in one store transaction (``log_batches``). The
queue is drained by ``flush()``, ``end_run``, ``atexit`` and SIGTERM. Transient store errors are
retried with backoff and the points kept queued; permanent errors (a deleted run, a param
conflict) are isolated to the entries that caused them and reported: as one warning from the
background thread, and raised by the next ``flush()``. Nothing acknowledged is dropped silently.
"""

from __future__ import annotations

import atexit
import functools
import os
import threading
import time
import warnings
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from itertools import chain
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from .. import _env
from ..entities import Metric, Param, RunTag
from ..entities.metric import PointColumns
from ..exceptions import MlTrackException, is_transient
from ..utils.threads import background_thread
from . import _sigterm
from ._spill import SpillFile

if TYPE_CHECKING:
    from ..store.base import AbstractStore

# (store, run_id, metrics, params, tags); metrics: a list of `Metric` tuples, or a `PointColumns`
# (log_metric's points, see `AsyncBatcher.append_point`)
Entry = tuple["AbstractStore", str, "list[Metric] | PointColumns", Sequence[Param], Sequence[RunTag]]

_RETRY_DELAYS = (0.05, 0.2, 1.0, 3.0)
# Entries per store transaction: bounded, so that one commit holds the database briefly (other writers
# of the same SQLite file wait less) and nothing acknowledged waits long for its commit.
_MAX_ENTRIES_PER_WRITE = 50_000
_MAX_QUEUE = _env.ASYNC_MAX_QUEUE
_TAIL_POINTS = 4096  # metric points per queue entry (per series of a `PointColumns`) at most (`AsyncBatcher._tail`)
_getpid = os.getpid  # a system call (~0.2 us): only where no at-fork hook resets the batcher
_NO_FORK_HOOK = not hasattr(os, "register_at_fork")
_new_tuple = tuple.__new__
_STORE, _RUN, _METRICS, _PARAMS, _TAGS = (itemgetter(i) for i in range(5))


class AsyncBatcher:
    """The process-wide write queue and its flusher thread."""

    def __init__(self) -> None:
        self._queue: deque[Entry] = deque()
        # The newest queue entry while it only holds metrics: later points of the same run and store
        # are appended to its list (under _tail_lock) until an entry is taken off the queue (_seal).
        self._tail: Entry | None = None
        # The open entry's (store, run_id, PointColumns.series) while its metrics are a `PointColumns`:
        # log_metric's points append to their key's columns there (`append_point`).
        self._columns: tuple[AbstractStore, str, dict[str, tuple[list, list, list]]] | None = None
        self._tail_lock = threading.Lock()
        # Metric points in the queue (the backpressure bound, ASYNC_MAX_QUEUE), but for the open
        # `PointColumns` entry's: those are counted when it closes (`_close_columns`), not one by one.
        self._points = 0
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._thread_lock = threading.Lock()
        self._errors: list[MlTrackException] = []
        # The window at risk (see `_spill`): the guard thread spills what waits too long for a commit.
        self._handoff = threading.Lock()  # taking entries off the queue: the flusher or the guard
        self._spilled: deque[list[Entry]] = deque()  # chunks on disk, not yet committed (oldest first)
        self._inflight: list | None = None  # [entries, started (monotonic), spilled?] being written
        self._popped = 0  # entries taken off the queue so far (the sequence number of its head)
        self._spill: SpillFile | None = None
        self._restored = False
        self._stopping = False
        self._pid = os.getpid()

    # ---- producer side --------------------------------------------------------------------
    def enqueue(
        self,
        store: AbstractStore,
        run_id: str,
        metrics: list[Metric],
        params: Sequence[Param],
        tags: Sequence[RunTag],
    ) -> None:
        if _NO_FORK_HOOK and self._pid != _getpid():  # forked child: start clean (else _after_fork_in_child)
            self.__init__()  # type: ignore[misc]
        queue = self._queue
        with self._tail_lock:
            tail = self._tail
            if params or tags:
                self._tail = None
                self._close_columns()
                self._points += len(metrics)
                queue.append((store, run_id, metrics, params, tags))
            elif (
                tail is not None
                and tail[0] is store
                and tail[1] == run_id
                and len(tail[2]) < _TAIL_POINTS
                and (type(tail[2]) is list or tail[2].absorb(metrics))  # type: ignore[union-attr]
            ):
                # Points of the run logged last join its open entry: no entry (and no GC-tracked
                # objects) per point, and the writer joins fewer lists.
                if type(tail[2]) is list:  # (points absorbed into the open columns count when it closes)
                    tail[2].extend(metrics)
                    self._points += len(metrics)
                return
            else:
                self._close_columns()
                self._tail = (store, run_id, list(metrics), (), ())
                self._points += len(metrics)
                queue.append(self._tail)
        if self._thread is None:
            self._start_thread()
        if self._points > _MAX_QUEUE.get() or len(queue) > _MAX_QUEUE.get():
            # Backpressure: the caller helps instead of growing memory without bound (a server store
            # takes the batch at once: into memory, or its journal on disk when the server lags).
            self.flush(raise_errors=False, wait=False)

    def append_point(
        self, store: AbstractStore, run_id: str, key: str, value: float, timestamp: int, step: int
    ) -> None:
        """`enqueue` of one point without a logged model or dataset (``log_metric``'s path): three appends
        to its key's columns in the open entry, no object per point."""
        lock = self._tail_lock
        lock.acquire()  # (not ``with``: its bound __enter__/__exit__ methods cost more than the appends)
        try:
            columns = self._columns
            if columns is not None and columns[0] is store and columns[1] == run_id:
                series = columns[2].get(key)
                if series is not None and len(series[0]) < _TAIL_POINTS:
                    series[0].append(step)
                    series[1].append(timestamp)
                    series[2].append(value)
                    return
        finally:
            lock.release()
        self._open_series(store, run_id, key, value, timestamp, step)

    def _open_series(
        self, store: AbstractStore, run_id: str, key: str, value: float, timestamp: int, step: int
    ) -> None:
        """`append_point` of a key that has no open columns: added to the open `PointColumns` entry, or
        to a new one (the queue's entries keep their order: only the newest entry is ever appended to)."""
        if _NO_FORK_HOOK and self._pid != _getpid():  # forked child: start clean (else _after_fork_in_child)
            self.__init__()  # type: ignore[misc]
        queue = self._queue
        with self._tail_lock:
            columns = self._columns
            if columns is not None and columns[0] is store and columns[1] == run_id and key not in columns[2]:
                columns[2][key] = ([step], [timestamp], [value])
                return
            tail = self._tail
            if (
                tail is not None
                and tail[0] is store
                and tail[1] == run_id
                and type(tail[2]) is list
                and len(tail[2]) < _TAIL_POINTS
            ):
                tail[2].append((key, value, timestamp, step, None, None, None, None))  # type: ignore[arg-type]
                self._points += 1
                return
            self._close_columns()
            points = PointColumns()
            points.series[key] = ([step], [timestamp], [value])
            self._tail, self._columns = (store, run_id, points, (), ()), (store, run_id, points.series)
            queue.append(self._tail)
        if self._thread is None:
            self._start_thread()
        if self._points > _MAX_QUEUE.get() or len(queue) > _MAX_QUEUE.get():
            self.flush(raise_errors=False, wait=False)

    def _seal(self) -> None:
        """Close the open entry to appends: called before entries are taken off the queue."""
        with self._tail_lock:
            self._tail = None
            self._close_columns()

    def _close_columns(self) -> None:
        """(Under ``_tail_lock``.) The open `PointColumns` entry takes no more points; they are counted now."""
        columns = self._columns
        if columns is not None:
            self._columns = None
            self._points += sum(len(series[0]) for series in columns[2].values())

    def _count(self, points: int) -> None:
        with self._tail_lock:
            self._points += points

    def _start_thread(self) -> None:
        with self._thread_lock:
            if self._thread is None:
                self._thread = background_thread(self._run, "hf_mltrack-flusher")
                self._thread.start()
                if _env.ASYNC_COMMIT_INTERVAL_MS.get() > 0:
                    guard = background_thread(self._guard, "hf_mltrack-spill-guard")
                    guard.start()

    # ---- the window at risk ---------------------------------------------------------------------
    def _guard(self) -> None:
        """Spill entries that wait for a commit too long (queued, or in a write that waits for the database)."""
        marks: deque[tuple[float, int]] = deque()  # (time, queue tail sequence number then)
        while not self._stopping:
            limit = max(0.02, _env.ASYNC_COMMIT_INTERVAL_MS.get() / 1000)
            time.sleep(limit / 10)
            try:
                if _SOURCES:  # what producers hold is at risk too: into the queue, where the guard sees it
                    drain_sources()
                self._guard_tick(marks, limit)
            except Exception as exc:  # never let the guard die; the flusher still commits
                warnings.warn(f"hf_mltrack: could not spill queued points to disk: {exc}", stacklevel=1)

    def _guard_tick(self, marks: deque[tuple[float, int]], limit: float) -> None:
        now = time.monotonic()
        old_seq = None
        # Spill what has waited 40% of the window: with the tick (10%) and the write itself, the
        # newest point at risk is younger than the window.
        while marks and now - marks[0][0] >= 0.4 * limit:
            old_seq = marks.popleft()[1]
        with self._handoff:
            inflight = self._inflight
            if inflight is not None and not inflight[2] and now - inflight[1] >= 0.4 * limit:
                self._spill_file().write(inflight[0])  # a write waiting for the database
                inflight[2] = True
            if old_seq is not None and old_seq > self._popped:
                self._seal()
                q = self._queue
                chunk: list[Entry] = []
                for _ in range(min(old_seq - self._popped, len(q))):
                    chunk.append(q.popleft())
                self._popped += len(chunk)
                self._count(-sum(len(e[2]) for e in chunk))
                if chunk:
                    self._spill_file().write(chunk)
                    self._spilled.append(chunk)
                    self._wake.set()
            marks.append((now, self._popped + len(self._queue)))

    def _restore_orphans(self) -> None:
        try:
            from ._spill import has_orphans, replay_orphans

            if has_orphans():
                replay_orphans(self._spill)
        except Exception as exc:
            warnings.warn(f"hf_mltrack: could not restore points spilled by an earlier process: {exc}", stacklevel=1)

    def _spill_file(self) -> SpillFile:
        if self._spill is None:
            self._spill = SpillFile()
        return self._spill

    def _take(self) -> tuple[list[Entry], bool]:
        """The next entries to write: spilled chunks first (they are older), then the queue."""
        with self._handoff:
            if self._spilled:
                entries, spilled = self._spilled.popleft(), True
            else:
                self._seal()
                q = self._queue
                entries = []
                while q and len(entries) < _MAX_ENTRIES_PER_WRITE:
                    entries.append(q.popleft())
                self._popped += len(entries)
                self._count(-sum(len(e[2]) for e in entries))
                spilled = False
            self._inflight = [entries, time.monotonic(), spilled]
        return entries, spilled

    def _written(self) -> None:
        """The in-flight entries are committed; once every spilled entry is, the spill file is emptied."""
        with self._handoff:
            self._inflight = None
            if self._spill is not None and not self._spilled:
                self._spill.clear()

    # ---- consumer side --------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait(_env.ASYNC_FLUSH_INTERVAL.get())
            self._wake.clear()
            try:
                self.flush(raise_errors=False, wait=False)
            except Exception as exc:  # never let the flusher die
                warnings.warn(f"hf_mltrack: background flush failed: {exc}", stacklevel=1)

    def pending(self) -> int:
        return len(self._queue)

    def flush(
        self,
        raise_errors: bool = True,
        terminate: tuple[AbstractStore, str, str, int] | None = None,
        wait: bool = True,
    ) -> None:
        """Write everything queued so far; raise the first permanent error if any occurred.

        ``terminate = (store, run_id, status, end_time)`` ends that run after its queued points are
        written, in the same transaction where the store supports it (one commit per ``end_run``).
        ``wait``: also wait until server stores delivered what they were handed (or journaled it
        because the server is unreachable); the background flusher does not wait.
        """
        if _SOURCES:  # what producers hold on to goes into the queue first (outside the lock: they enqueue)
            drain_sources()
        with self._flush_lock:
            if not self._restored:  # points a killed process had spilled to disk go first
                self._restored = True
                self._restore_orphans()
            while self._queue or self._spilled:
                entries, _ = self._take()
                last = not self._queue and not self._spilled
                try:
                    self._write(entries, terminate if last else None)
                except BaseException:
                    with self._handoff:
                        self._inflight = None
                    raise
                self._written()
                if last:
                    terminate = None
            if terminate is not None:
                store, run_id, status, end_time = terminate
                store.update_run_info(run_id, status, end_time)
            if wait:
                for store in list(_SERVER_STORES):
                    self._errors.extend(store.drain())
        if raise_errors and self._errors:
            errors, self._errors = self._errors, []
            if len(errors) == 1:
                raise errors[0]
            raise MlTrackException(
                f"{len(errors)} logging calls failed: " + "; ".join(e.message for e in errors[:5])
            ) from errors[0]

    def _write(self, entries: list[Entry], terminate: tuple[AbstractStore, str, str, int] | None = None) -> None:
        # Per store and run: the metric parts (each entry's list or columns), params and tags, in order.
        parts: dict[int, tuple[AbstractStore, dict[str, tuple[list, list, list]]]] = {}
        run_ids = set(map(_RUN, entries))
        if len(run_ids) == 1 and len(set(map(id, map(_STORE, entries)))) == 1:
            # One run of one store (a training loop): the lists are joined in C, not entry by entry.
            parts[id(entries[0][0])] = (
                entries[0][0],
                {
                    run_ids.pop(): (
                        list(map(_METRICS, entries)),
                        list(chain.from_iterable(map(_PARAMS, entries))),
                        list(chain.from_iterable(map(_TAGS, entries))),
                    )
                },
            )
            entries = []
        for store, run_id, metrics, params, tags in entries:
            runs = parts.setdefault(id(store), (store, {}))[1]
            acc = runs.get(run_id)
            if acc is None:
                runs[run_id] = ([metrics], list(params), list(tags))
            else:
                acc[0].append(metrics)
                acc[1].extend(params)
                acc[2].extend(tags)
        by_store: dict[int, tuple[AbstractStore, dict[str, tuple[Any, list, list]]]] = {}
        for key, (store, runs) in parts.items():
            columns = getattr(store, "takes_point_columns", False)
            tuples = columns or getattr(store, "takes_point_tuples", False)
            by_store[key] = (store, {run_id: (_joined(m, columns, tuples), p, t) for run_id, (m, p, t) in runs.items()})
        if terminate is not None and id(terminate[0]) not in by_store:
            terminate[0].update_run_info(terminate[1], terminate[2], terminate[3])
            terminate = None
        failure: BaseException | None = None
        for store, batches in by_store.values():
            # Each store on its own: one store failing never costs another store's points.
            mine = terminate if terminate is not None and terminate[0] is store else None
            combined = getattr(store, "log_batches_and_terminate", None)
            if mine is not None and combined is not None:
                try:
                    self._with_retries(functools.partial(combined, batches, mine[1:]))
                    continue
                except Exception:
                    pass  # fall back: write (isolating errors), then end the run on its own
            try:
                self._write_store(store, batches)
                if mine is not None:
                    store.update_run_info(mine[1], mine[2], mine[3])
            except Exception as exc:  # transient: the points are queued again by _write_store
                failure = failure or exc
        if failure is not None:
            raise failure

    def _write_store(self, store: AbstractStore, batches: dict[str, tuple[list, list, list]]) -> None:
        try:
            self._with_retries(lambda: store.log_batches(batches))
            return
        except Exception as exc:
            if is_transient(exc):
                # Still failing after retries: keep the points queued for the next flush.
                for run_id, (m, p, t) in batches.items():
                    self._queue.appendleft((store, run_id, m, p, t))
                    self._count(len(m))
                warnings.warn(
                    f"hf_mltrack: the tracking store is unavailable ({exc}); "
                    f"{sum(len(b[0]) for b in batches.values())} metric points stay queued and will be retried.",
                    stacklevel=1,
                )
                raise
            # A permanent error somewhere (a deleted run, a param conflict): isolate it, so that one
            # bad value costs only itself: per run, then the metrics apart from each tag and each param.
        for run_id, (metrics, params, tags) in batches.items():
            parts = [(metrics, params, tags)]
            if not self._try_write(store, run_id, *parts[0], report=False):
                parts = [(metrics, [], [])] + [([], [], [t]) for t in tags] + [([], [p], []) for p in params]
                for m, p, t in parts:
                    if m or p or t:
                        self._try_write(store, run_id, m, p, t, report=True)

    def _try_write(
        self, store: AbstractStore, run_id: str, metrics: list, params: list, tags: list, report: bool
    ) -> bool:
        try:
            self._with_retries(lambda: store.log_batch(run_id, metrics, params, tags))
            return True
        except MlTrackException as exc:
            if report:
                self._report(exc)
        except Exception as exc:
            if report:
                self._report(MlTrackException(f"Logging to run {run_id!r} failed: {exc}"))
        return False

    def _with_retries(self, fn: Callable[[], None]) -> None:
        for delay in (*_RETRY_DELAYS, None):
            try:
                fn()
                return
            except Exception as exc:
                if delay is None or not is_transient(exc):
                    raise
                time.sleep(delay)

    def _report(self, exc: MlTrackException) -> None:
        self._errors.append(exc)
        if threading.current_thread() is self._thread:
            warnings.warn(f"hf_mltrack: {exc.message} (raised again by the next flush)", stacklevel=1)

    def shutdown(self) -> None:
        try:
            # Server stores wait for their server a bounded time at exit (`Delivery.close`), not here.
            self.flush(raise_errors=False, wait=False)
            for store in list(_SERVER_STORES):
                store.delivery.close(_env.HTTP_EXIT_WAIT.get())
            if self._spill is not None:
                self._spill.close()
        except Exception as exc:
            warnings.warn(f"hf_mltrack: could not write all logged data at exit: {exc}", stacklevel=1)
        if self._errors:
            warnings.warn(
                "hf_mltrack: some logged data was rejected by the store: "
                + "; ".join(e.message for e in self._errors[:5]),
                stacklevel=1,
            )


def _joined(parts: list, columns: bool, tuples: bool) -> list | PointColumns:
    """A run's metrics from its queue entries, in order, as the store takes them: one `PointColumns` when
    ``columns`` and some part is one (unless a point names a logged model or dataset); else a list of
    point tuples (``tuples``) or of `Metric` objects."""
    if columns and any(type(part) is PointColumns for part in parts):
        joined = parts[0] if len(parts) == 1 else PointColumns.join(parts)
        if joined is not None:
            return joined
    metrics = parts[0] if len(parts) == 1 and type(parts[0]) is list else list(chain.from_iterable(parts))
    if not tuples:  # plain point tuples (log_metric's) become Metric objects
        metrics = [m if type(m) is Metric else _new_tuple(Metric, m) for m in metrics]
    return metrics


# Stores that deliver in the background themselves (`RestStore`): ``flush()`` also waits for them.
_SERVER_STORES: weakref.WeakSet = weakref.WeakSet()


def register_server_store(store: object) -> None:
    """A store with a ``drain()`` method: ``flush()`` waits until it delivered what it was handed."""
    _SERVER_STORES.add(store)


# Producers that keep what they log until the writer asks (the Trainer callback keeps each ``on_log`` as
# it came and makes the points here, off the training thread). Each is called before every flush takes
# entries off the queue (the background flusher's, ``flush()``'s, ``end_run``'s) and on each tick of the
# spill guard, so what was logged before ``flush()`` is written by it. Bound methods, held weakly.
_SOURCES: list[weakref.WeakMethod] = []


def add_source(drain: Callable[[], None]) -> None:
    """Call the bound method ``drain`` before every flush: it hands what its object holds to the queue.

    ``drain`` may be called on any thread, also while it runs (it guards itself), and must not raise.
    The background flusher is started: it calls ``drain`` every ``HF_MLTRACK_ASYNC_FLUSH_INTERVAL``.
    """
    _SOURCES.append(weakref.WeakMethod(drain))  # type: ignore[arg-type]
    get_batcher()._start_thread()


def drain_sources() -> None:
    for ref in list(_SOURCES):
        drain = ref()
        if drain is None:
            try:
                _SOURCES.remove(ref)
            except ValueError:  # removed by another thread meanwhile
                pass
        else:
            drain()


_BATCHER: AsyncBatcher | None = None
_BATCHER_LOCK = threading.Lock()


def get_batcher() -> AsyncBatcher:
    global _BATCHER
    if _BATCHER is None:
        with _BATCHER_LOCK:
            if _BATCHER is None:
                _BATCHER = AsyncBatcher()
                atexit.register(_at_exit)
                _sigterm.install(_at_exit)
    return _BATCHER


_ORPHANS_CHECKED = False


def flush(raise_errors: bool = True) -> None:
    global _ORPHANS_CHECKED
    if _BATCHER is None and not _ORPHANS_CHECKED:
        # The first read of a process that logs nothing still restores what a killed process spilled.
        _ORPHANS_CHECKED = True
        from ._spill import has_orphans

        if has_orphans():
            get_batcher()
    if _BATCHER is not None:
        _BATCHER.flush(raise_errors=raise_errors)


def _at_exit() -> None:
    if _BATCHER is not None:
        _BATCHER.shutdown()


def _after_fork_in_child() -> None:
    global _BATCHER
    if _BATCHER is not None:  # a reference kept across the fork starts clean too
        _BATCHER.__init__()  # type: ignore[misc]
    _BATCHER = None
    _SOURCES.clear()  # the parent's producers: their copies here must not be written a second time


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
