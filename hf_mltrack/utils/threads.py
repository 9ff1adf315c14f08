"""Our background threads leave SIGTERM and SIGINT to the program's main thread.

The kernel hands a process-wide signal to any thread that does not block it. Python runs its signal
handlers in the main thread only, and only when the main thread next runs Python code: a signal
taken by one of our threads while the main thread waits inside C (a multiprocessing lock, a socket
read) stays pending there for as long as that wait lasts. With the default SIGTERM action nobody
notices (the kernel ends the process whichever thread took it), but a program with a Python SIGTERM
handler (ours drains the write queue, see `_batcher`; Ctrl-C is one too) would not stop: a pool
worker whose sibling died holding the pool's queue lock waited forever. Threads made here block both
signals, so the kernel delivers them to a thread that acts on them.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import Any

_BLOCKED = {s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGINT", None)) if s is not None}


def _blocking_signals(target: Callable[..., Any]) -> Callable[..., Any]:
    def run(*args: Any, **kwargs: Any) -> Any:
        if hasattr(signal, "pthread_sigmask"):  # (POSIX; elsewhere signals reach the main thread anyway)
            signal.pthread_sigmask(signal.SIG_BLOCK, _BLOCKED)
        return target(*args, **kwargs)

    return run


def background_thread(target: Callable[..., Any], name: str, *args: Any) -> threading.Thread:
    """A daemon thread running ``target(*args)`` with SIGTERM and SIGINT blocked (not started)."""
    return threading.Thread(target=_blocking_signals(target), name=name, args=args, daemon=True)
