"""The batcher's spill file: acknowledged points that wait too long for their commit go to disk.

``log_*`` returns before its points are written. Normally the flusher commits them within
``HF_MLTRACK_ASYNC_FLUSH_INTERVAL``; but when the database is busy (several processes writing one
SQLite file, a long transaction) a commit can wait for seconds, and a process killed meanwhile
(``kill -9``, the OOM killer, a preempted node) would lose everything it had acknowledged. The
batcher's guard thread bounds that window: points that have waited more than half of
``HF_MLTRACK_ASYNC_COMMIT_INTERVAL_MS`` without a commit are appended to this process's spill file
(a sequential write, a few microseconds per point; it survives the process being killed). Once the
flusher has committed everything spilled, the file is emptied.

The file of a process that died is replayed into its stores by the next process that logs
(writes are idempotent: a metric is keyed by run, key and step). Each process holds an ``flock``
on its own file, so a replayer knows the owner is gone. Records are ``marshal``-ed plain tuples
(no code runs on load), each prefixed with its length, so a torn last record is recognized.
"""

from __future__ import annotations

import marshal
import os
import struct
import threading
import uuid
import warnings
from collections.abc import Iterable
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from ..store.base import AbstractStore

_HEADER = struct.Struct("<I")


def spill_dir() -> str:
    from ..store.journal import journal_root

    return os.path.join(journal_root(), "embedded")


def store_uri(store: AbstractStore) -> str | None:
    """The URI a later process reopens the store with (None: this store cannot be spilled)."""
    return getattr(store, "db_uri", None) or getattr(store, "store_uri", None)


class SpillFile:
    """This process's spill file (created on first use, locked for the process's lifetime)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._f: IO[bytes] | None = None
        self.path: str | None = None
        self.records = 0

    def write(self, entries: Iterable[tuple]) -> int:
        """Append entries ``(store, run_id, metrics, params, tags)``; returns how many were written."""
        chunks = []
        for store, run_id, metrics, params, tags in entries:
            uri = store_uri(store)
            if uri is None:
                continue
            data = marshal.dumps(
                (uri, run_id, [tuple(m) for m in metrics], [tuple(p) for p in params], [tuple(t) for t in tags])
            )
            chunks.append(_HEADER.pack(len(data)) + data)
        if not chunks:
            return 0
        with self._lock:
            f = self._open()
            f.write(b"".join(chunks))
            f.flush()  # in the kernel: survives this process being killed
            self.records += len(chunks)
        return len(chunks)

    def _open(self) -> IO[bytes]:
        if self._f is None:
            folder = spill_dir()
            os.makedirs(folder, exist_ok=True)
            self.path = os.path.join(folder, f"{os.getpid()}-{uuid.uuid4().hex[:8]}.spill")
            self._f = open(self.path, "ab")  # noqa: SIM115 - open for the process's lifetime
            import fcntl

            fcntl.flock(self._f.fileno(), fcntl.LOCK_EX)  # "my owner is alive"
        return self._f

    def close(self) -> None:
        """At a clean exit: remove the (empty) file."""
        with self._lock:
            if self._f is not None and not self.records and self.path is not None:
                try:
                    os.remove(self.path)
                except OSError:
                    pass
                self._f.close()
                self._f = None

    def clear(self) -> None:
        """Everything spilled is committed: empty the file."""
        with self._lock:
            if self._f is not None and self.records:
                self._f.truncate(0)
                self._f.seek(0)
                self.records = 0


def _read_records(path: str) -> list[tuple]:
    out = []
    with open(path, "rb") as f:
        data = f.read()
    pos = 0
    while pos + _HEADER.size <= len(data):
        (n,) = _HEADER.unpack_from(data, pos)
        start = pos + _HEADER.size
        if start + n > len(data):
            break  # torn last record: its owner was killed while writing it (not yet acknowledged)
        try:
            out.append(marshal.loads(data[start : start + n]))
        except (ValueError, EOFError, TypeError):
            break
        pos = start + n
    return out


def _restore(group: list[tuple], get_store, Metric, Param, RunTag) -> int:  # type: ignore[no-untyped-def]  # noqa: N803
    """Write records, grouped per store and run; a conflict falls back to one record at a time."""
    by_uri: dict[str, dict[str, tuple[list, list, list]]] = {}
    for uri, run_id, metrics, params, tags in group:
        acc = by_uri.setdefault(uri, {}).setdefault(run_id, ([], [], []))
        acc[0].extend(Metric(*m) for m in metrics)
        acc[1].extend(Param(*p) for p in params)
        acc[2].extend(RunTag(*t) for t in tags)
    points = 0
    for uri, batches in by_uri.items():
        store = get_store(uri)
        try:
            store.log_batches(batches)
            points += sum(len(b[0]) for b in batches.values())
            continue
        except Exception as exc:
            from ..exceptions import is_transient

            if is_transient(exc):
                raise
        for run_id, (metrics, params, tags) in batches.items():  # isolate a deleted run, a param conflict
            try:
                store.log_batch(run_id, metrics, [], tags)
                points += len(metrics)
            except Exception as exc:
                warnings.warn(f"hf_mltrack: could not restore spilled points of run {run_id}: {exc}", stacklevel=1)
            for p in params:
                try:
                    store.log_batch(run_id, [], [p], [])
                except Exception:
                    pass  # the same param logged again with another value: the stored one stands
    return points


def has_orphans() -> bool:
    """Whether spill files exist at all (one ``listdir``); their owners may still be alive."""
    try:
        return any(n.endswith(".spill") for n in os.listdir(spill_dir()))
    except OSError:
        return False


def replay_orphans(own: SpillFile | None = None) -> int:
    """Write the spill files of processes that died into their stores; returns the points replayed."""
    folder = spill_dir()
    try:
        names = [n for n in os.listdir(folder) if n.endswith(".spill")]
    except OSError:
        return 0
    import fcntl

    from ..entities import Metric, Param, RunTag
    from ..store import get_tracking_store

    points = 0
    for name in names:
        path = os.path.join(folder, name)
        if own is not None and path == own.path:
            continue
        try:
            f = open(path, "rb")  # noqa: SIM115
        except OSError:
            continue
        try:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # its owner is alive
            from ..exceptions import is_transient

            complete = True
            records = _read_records(path)
            for i in range(0, len(records), 2000):  # one transaction per 2,000 records
                group = records[i : i + 2000]
                try:
                    points += _restore(group, get_tracking_store, Metric, Param, RunTag)
                except Exception as exc:
                    if is_transient(exc):  # busy or unreachable: keep the file for the next process
                        complete = False
                        break
                    warnings.warn(f"hf_mltrack: could not restore spilled points: {exc}", stacklevel=1)
            if complete:
                os.remove(path)
        finally:
            f.close()
    return points


__all__ = ["SpillFile", "has_orphans", "replay_orphans", "spill_dir", "store_uri"]
