"""On SIGTERM, drain what is queued, then end the process as SIGTERM's default action does.

A Python signal handler runs late: in the main thread, at its next bytecode. Two ways that goes wrong
for a drain run by the handler itself: the main thread may be inside our own code holding a lock the
drain needs (``log_metric``'s append), or inside `threading`'s bookkeeping (a process on its way
out), where even starting a thread deadlocks; and a main thread blocked in C (a multiprocessing lock,
as in a pool worker whose pool is being terminated) may never run the handler at all, so SIGTERM, once
caught, would no longer end the process.

So the drain runs on a thread of ours, woken through a pipe by the C-level signal handler itself
(`signal.set_wakeup_fd`, when no one else uses it, e.g. asyncio) and by the Python-level handler
(always); the thread drains, then ends the process with SIGTERM's default action. A second SIGTERM
after the Python-level handler ran ends the process at once. A forked child starts without any of
this (its SIGTERM gets the default action, unless the child logs too: then it installs its own).
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from typing import Any

from ..utils.threads import background_thread

_wakeup: tuple[int, int, int] | None = None  # (pid, read end, write end) of the process whose thread waits


def _handler(signum: int, frame: Any) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if _wakeup is not None and _wakeup[0] == os.getpid():
        try:
            os.write(_wakeup[2], bytes([signal.SIGTERM]))
            return
        except OSError:
            pass
    os.kill(os.getpid(), signal.SIGTERM)


def _terminate() -> None:
    """End the process as SIGTERM's default action does, from any thread (Python only lets the main
    thread reset a handler, and the main thread may be blocked in C)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.signal.restype = ctypes.c_void_p
        libc.signal(int(signal.SIGTERM), ctypes.c_void_p(int(signal.SIG_DFL)))
        os.kill(os.getpid(), signal.SIGTERM)
    finally:  # not reached once the signal is delivered
        os._exit(128 + signal.SIGTERM)


def _wait_then_drain(read_end: int, drain: Callable[[], None]) -> None:
    while signal.SIGTERM not in os.read(read_end, 64):  # (the wakeup fd also carries other signals)
        pass
    try:
        drain()
    finally:
        _terminate()


def install(drain: Callable[[], None]) -> None:
    """Call ``drain`` on SIGTERM (on a thread of its own), then exit by SIGTERM's default action. Only
    from the main thread, and only where SIGTERM has no handler but ours (else atexit still drains)."""
    global _wakeup
    if threading.current_thread() is not threading.main_thread() or (_wakeup and _wakeup[0] == os.getpid()):
        return
    try:
        previous = signal.getsignal(signal.SIGTERM)
    except (ValueError, OSError):
        return
    if previous not in (signal.SIG_DFL, None, _handler):
        return  # someone else owns SIGTERM
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    previous_fd = signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    if previous_fd != -1:  # someone else's (e.g. asyncio's): theirs stays, only our handler wakes the thread
        signal.set_wakeup_fd(previous_fd)
    background_thread(_wait_then_drain, "hf_mltrack-sigterm", read_end, drain).start()
    _wakeup = (os.getpid(), read_end, write_end)
    try:
        signal.signal(signal.SIGTERM, _handler)
    except (ValueError, OSError):
        pass


def _after_fork_in_child() -> None:
    global _wakeup
    if _wakeup is None:
        return
    _, read_end, write_end = _wakeup
    _wakeup = None
    try:  # the parent's pipe: a signal here must not wake the parent's thread
        current = signal.set_wakeup_fd(-1)
        if current not in (-1, write_end):
            signal.set_wakeup_fd(current)
    except ValueError:  # (not the main thread: cannot happen in a fork's child, whose only thread is)
        pass
    for fd in (read_end, write_end):
        try:
            os.close(fd)
        except OSError:
            pass


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
