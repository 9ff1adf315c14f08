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
import signal
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from .. import _env
from ..entities import Metric, Param, RunTag
from ..exceptions import MlTrackException, is_transient

if TYPE_CHECKING:
    from ..store.base import AbstractStore

# (store, run_id, metrics, params, tags)
Entry = tuple["AbstractStore", str, list[Metric], list[Param], list[RunTag]]

_RETRY_DELAYS = (0.05, 0.2, 1.0, 3.0)


class AsyncBatcher:
    """The process-wide write queue and its flusher thread."""

    def __init__(self) -> None:
        self._queue: deque[Entry] = deque()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._thread_lock = threading.Lock()
        self._errors: list[MlTrackException] = []
        self._stopping = False
        self._pid = os.getpid()

    # ---- producer side --------------------------------------------------------------------
    def enqueue(
        self,
        store: AbstractStore,
        run_id: str,
        metrics: list[Metric],
        params: list[Param],
        tags: list[RunTag],
    ) -> None:
        if self._pid != os.getpid():  # forked child: start clean
            self.__init__()  # type: ignore[misc]
        self._queue.append((store, run_id, metrics, params, tags))
        if self._thread is None:
            self._start_thread()
        if len(self._queue) > _env.ASYNC_MAX_QUEUE.get():
            # Backpressure: the caller helps instead of growing memory without bound.
            self.flush(raise_errors=False)

    def _start_thread(self) -> None:
        with self._thread_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="hf_mltrack-flusher", daemon=True)
                self._thread.start()

    # ---- consumer side --------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait(_env.ASYNC_FLUSH_INTERVAL.get())
            self._wake.clear()
            try:
                self.flush(raise_errors=False)
            except Exception as exc:  # never let the flusher die
                warnings.warn(f"hf_mltrack: background flush failed: {exc}", stacklevel=1)

    def pending(self) -> int:
        return len(self._queue)

    def flush(self, raise_errors: bool = True, terminate: tuple[AbstractStore, str, str, int] | None = None) -> None:
        """Write everything queued so far; raise the first permanent error if any occurred.

        ``terminate = (store, run_id, status, end_time)`` ends that run after its queued points are
        written, in the same transaction where the store supports it (one commit per ``end_run``).
        """
        with self._flush_lock:
            while self._queue:
                entries: list[Entry] = []
                q = self._queue
                while q and len(entries) < 50_000:
                    entries.append(q.popleft())
                last = not q
                self._write(entries, terminate if last else None)
                if last:
                    terminate = None
            if terminate is not None:
                store, run_id, status, end_time = terminate
                store.update_run_info(run_id, status, end_time)
        if raise_errors and self._errors:
            errors, self._errors = self._errors, []
            if len(errors) == 1:
                raise errors[0]
            raise MlTrackException(
                f"{len(errors)} logging calls failed: " + "; ".join(e.message for e in errors[:5])
            ) from errors[0]

    def _write(self, entries: list[Entry], terminate: tuple[AbstractStore, str, str, int] | None = None) -> None:
        by_store: dict[int, tuple[AbstractStore, dict[str, tuple[list, list, list]]]] = {}
        for store, run_id, metrics, params, tags in entries:
            batches = by_store.setdefault(id(store), (store, {}))[1]
            acc = batches.get(run_id)
            if acc is None:
                batches[run_id] = (list(metrics), list(params), list(tags))
            else:
                acc[0].extend(metrics)
                acc[1].extend(params)
                acc[2].extend(tags)
        if terminate is not None and id(terminate[0]) not in by_store:
            terminate[0].update_run_info(terminate[1], terminate[2], terminate[3])
            terminate = None
        for store, batches in by_store.values():
            mine = terminate if terminate is not None and terminate[0] is store else None
            combined = getattr(store, "log_batches_and_terminate", None)
            if mine is not None and combined is not None:
                try:
                    self._with_retries(functools.partial(combined, batches, mine[1:]))
                    continue
                except Exception:
                    pass  # fall back: write (isolating errors), then end the run on its own
            self._write_store(store, batches)
            if mine is not None:
                store.update_run_info(mine[1], mine[2], mine[3])

    def _write_store(self, store: AbstractStore, batches: dict[str, tuple[list, list, list]]) -> None:
        try:
            self._with_retries(lambda: store.log_batches(batches))
            return
        except Exception as exc:
            if is_transient(exc):
                # Still failing after retries: keep the points queued for the next flush.
                for run_id, (m, p, t) in batches.items():
                    self._queue.appendleft((store, run_id, m, p, t))
                warnings.warn(
                    f"hf_mltrack: the tracking store is unavailable ({exc}); "
                    f"{sum(len(b[0]) for b in batches.values())} metric points stay queued and will be retried.",
                    stacklevel=1,
                )
                raise
            # A permanent error somewhere (a deleted run, a param conflict): isolate it, so that one
            # bad value costs only itself: per run, then metrics and tags apart from each param.
        for run_id, (metrics, params, tags) in batches.items():
            parts = [(metrics, params, tags)]
            if not self._try_write(store, run_id, *parts[0], report=False):
                parts = [(metrics, [], tags)] + [([], [p], []) for p in params]
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
            self.flush(raise_errors=False)
        except Exception as exc:
            warnings.warn(f"hf_mltrack: could not write all logged data at exit: {exc}", stacklevel=1)
        if self._errors:
            warnings.warn(
                "hf_mltrack: some logged data was rejected by the store: "
                + "; ".join(e.message for e in self._errors[:5]),
                stacklevel=1,
            )


_BATCHER: AsyncBatcher | None = None
_BATCHER_LOCK = threading.Lock()


def get_batcher() -> AsyncBatcher:
    global _BATCHER
    if _BATCHER is None:
        with _BATCHER_LOCK:
            if _BATCHER is None:
                _BATCHER = AsyncBatcher()
                atexit.register(_at_exit)
                _install_sigterm_handler()
    return _BATCHER


def flush(raise_errors: bool = True) -> None:
    if _BATCHER is not None:
        _BATCHER.flush(raise_errors=raise_errors)


def _at_exit() -> None:
    if _BATCHER is not None:
        _BATCHER.shutdown()


def _install_sigterm_handler() -> None:
    """Drain the queue on SIGTERM, then let the previous behaviour happen (default: exit)."""
    if threading.current_thread() is not threading.main_thread():
        return
    try:
        previous = signal.getsignal(signal.SIGTERM)
    except (ValueError, OSError):
        return
    if previous not in (signal.SIG_DFL, None):
        return  # someone else owns SIGTERM; atexit still drains on a clean exit

    def _handler(signum: int, frame: object) -> None:
        _at_exit()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)

    try:
        signal.signal(signal.SIGTERM, _handler)
    except (ValueError, OSError):
        pass


def _after_fork_in_child() -> None:
    global _BATCHER
    _BATCHER = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
