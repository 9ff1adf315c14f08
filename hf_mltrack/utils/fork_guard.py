"""A fork waits (a bounded time) for our background threads that import modules or open the store.

A forked child has only the forking thread. A lock held by another thread at the fork stays held in
the child for good: importlib's per-module locks, taken while a module is being imported, are the
ones that bite (the child's first import of that module waits forever). Our threads that import
heavy modules in the background (the SQL store's, `hf_mltrack.tracking._run_start`; the prewarm of
the Trainer callback) run inside `busy()`; ``os.fork()`` (a DataLoader worker, multiprocessing's
"fork" start method) first waits until none of them is, at most `FORK_WAIT_S` seconds. Nothing
waits when no fork happens, and a process that never forks pays nothing.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

FORK_WAIT_S = 10.0  # longest a fork waits for our threads (then it forks anyway, as before)

_cond = threading.Condition()
_busy: dict[int, int] = {}  # thread id -> depth of `busy()`


@contextmanager
def busy() -> Iterator[None]:
    """Mark the calling thread as importing (or holding import-time locks): a fork waits for it."""
    ident = threading.get_ident()
    with _cond:
        _busy[ident] = _busy.get(ident, 0) + 1
    try:
        yield
    finally:
        with _cond:
            depth = _busy.pop(ident) - 1
            if depth:
                _busy[ident] = depth
            _cond.notify_all()


def _others_busy() -> bool:
    return any(ident != threading.get_ident() for ident in _busy)


def _before_fork() -> None:
    # Held until the fork is done: no thread of ours enters `busy()` between this wait and the fork.
    _cond.acquire()
    _cond.wait_for(lambda: not _others_busy(), timeout=FORK_WAIT_S)


def _after_fork_in_parent() -> None:
    _cond.release()


def _after_fork_in_child() -> None:
    global _cond
    _cond = threading.Condition()  # the parent's is held by the fork; its busy threads are not here
    _busy.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent, after_in_child=_after_fork_in_child)
