"""The client journal: write requests kept on disk until the tracking server takes them.

One append-only file per (server, user, run) under ``<journal dir>/<server digest>/<user key>/``
(``HF_MLTRACK_HTTP_JOURNAL_DIR``, defaults to ``<HF_MLTRACK_HOME or ~/.cache/hf_mltrack>/journal``):

- ``<run id>.jsonl``: one ``{"path": ..., "body": ...}`` request per line, in the order they were made;
- ``<run id>.offset``: how many bytes of it the server already took (a replay resumes there; a stale
  offset only re-sends writes, which are idempotent on the server: a metric is keyed by run, key, step);
- ``<run id>.alias``: the server's id of a run created offline under a client-chosen id;
- ``<run id>.rejected.jsonl``: requests the server refused for good (a deleted run, a bad value): kept,
  never deleted;
- ``server.json``: the server URL and user the folder belongs to (for ``hf-mltrack journal list``).

Keying by user means a process only replays what was written with its own identity: another
user's data is never sent with the wrong credentials, and a 401/403 on replay keeps the file.
Processes sharing a file take turns with an ``flock``.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any

from .. import _env


def journal_root() -> str:
    """The folder holding every server's journal."""
    configured = _env.HTTP_JOURNAL_DIR.get()
    if configured:
        return os.path.expanduser(configured)
    home = _env.HOME.get()
    base = os.path.expanduser(home) if home else os.path.join(os.path.expanduser("~"), ".cache", "hf_mltrack")
    return os.path.join(base, "journal")


def user_key(username: str | None, token: str | None) -> str:
    """The identity a journal is keyed by: the basic-auth user, a digest of the token, or ``anonymous``."""
    if token:
        return "token-" + hashlib.sha256(token.encode()).hexdigest()[:12]
    if username:
        safe = "".join(c if c.isalnum() or c in "-_.@" else "_" for c in username)[:64]
        return f"user-{safe}-{hashlib.sha256(username.encode()).hexdigest()[:6]}"
    return "anonymous"


def current_user_key() -> str:
    return user_key(_env.TRACKING_USERNAME.get(), _env.TRACKING_TOKEN.get())


def server_dir(host: str, key: str | None = None) -> str:
    digest = hashlib.sha256(host.rstrip("/").encode()).hexdigest()[:16]
    return os.path.join(journal_root(), digest, key or current_user_key())


def _line(path: str, body: dict) -> bytes:
    from ..utils.fast_json import dumps_bytes

    return dumps_bytes({"path": path, "body": body}) + b"\n"


def _flock(fd: int, blocking: bool) -> bool:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: the thread locks still serialize this process
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except BlockingIOError:
        return False
    return True


def _safe_run_id(run_id: str) -> str:
    if not run_id or len(run_id) > 128 or not all(c.isalnum() or c in "-_" for c in run_id):
        return "run-" + hashlib.sha256(run_id.encode()).hexdigest()[:32]
    return run_id


class Journal:
    """The pending writes of one run on one server for one user.

    Args:
        folder (`str`): the server/user folder (see `server_dir`).
        run_id (`str`): the run the requests belong to (the client's id for a run created offline).
    """

    def __init__(self, folder: str, run_id: str) -> None:
        self.folder = folder
        self.run_id = run_id
        base = os.path.join(folder, _safe_run_id(run_id))
        self.path = base + ".jsonl"
        self._offset_path = base + ".offset"
        self._alias_path = base + ".alias"
        self.rejected_path = base + ".rejected.jsonl"
        self._replay_lock_path = base + ".lock"
        self._lock = threading.RLock()
        self._pending = self._file_has_entries()

    def __repr__(self) -> str:
        return f"Journal({self.path!r})"

    # ---- state ---------------------------------------------------------------------------------
    def _file_has_entries(self) -> bool:
        try:
            return os.path.getsize(self.path) > self._read_offset()
        except OSError:
            return False

    def pending(self) -> bool:
        """Whether requests wait in this journal (in memory: no system call)."""
        return self._pending

    def refresh(self) -> bool:
        """Re-read whether requests wait (another process may have appended or replayed)."""
        self._pending = self._file_has_entries()
        return self._pending

    def _read_offset(self) -> int:
        try:
            with open(self._offset_path, encoding="ascii") as f:
                return int(f.read().strip() or 0)
        except (OSError, ValueError):
            return 0

    def _write_offset(self, offset: int) -> None:
        tmp = self._offset_path + ".tmp"
        with open(tmp, "w", encoding="ascii") as f:
            f.write(str(offset))
        os.replace(tmp, self._offset_path)

    def alias(self) -> str | None:
        """The server's id of this run, when it was created offline and the server chose another id."""
        try:
            with open(self._alias_path, encoding="utf-8") as f:
                return f.read().strip() or None
        except OSError:
            return None

    def set_alias(self, server_run_id: str) -> None:
        with open(self._alias_path, "w", encoding="utf-8") as f:
            f.write(server_run_id)

    def _locked_file(self, mode: str) -> IO[bytes]:
        """The journal file, under an exclusive ``flock`` (held briefly: appends, truncation)."""
        os.makedirs(self.folder, exist_ok=True)
        f = open(self.path, mode)  # noqa: SIM115 - closed by the caller
        _flock(f.fileno(), blocking=True)
        return f

    def _replay_guard(self, blocking: bool) -> IO[bytes] | None:
        """The replay lock (one replayer per journal across processes); None if another holds it."""
        os.makedirs(self.folder, exist_ok=True)
        f = open(self._replay_lock_path, "ab")  # noqa: SIM115 - closed by the caller
        if not _flock(f.fileno(), blocking=blocking):
            f.close()
            return None
        return f

    # ---- writing -------------------------------------------------------------------------------
    def append(self, requests: Sequence[tuple[str, dict]], fsync: bool = True) -> None:
        """Append requests in order; in the file (fsynced unless told not to) when this returns.

        The replay lock is not needed: a replay in progress reads only whole lines before the end.
        """
        data = b"".join(_line(p, b) for p, b in requests)
        with self._lock:
            with self._locked_file("ab+") as f:
                end = f.seek(0, os.SEEK_END)
                if end:
                    f.seek(end - 1)
                    if f.read(1) != b"\n":  # a torn line of a killed writer: never glue onto it
                        data = b"\n" + data
                f.write(data)
                f.flush()
                if fsync:
                    os.fsync(f.fileno())
            self._pending = True

    def prepend(self, requests: Sequence[tuple[str, dict]]) -> None:
        """Put requests before everything still pending (a send that failed while newer requests were
        already journaled): rewrites the pending part of the file once."""
        data = b"".join(_line(p, b) for p, b in requests)
        with self._lock:
            guard = self._replay_guard(blocking=True)
            try:
                with self._locked_file("ab+") as f:
                    f.seek(self._read_offset())
                    rest = f.read()
                    tmp = self.path + ".tmp"
                    with open(tmp, "wb") as out:
                        out.write(data + rest)
                        out.flush()
                        os.fsync(out.fileno())
                    os.replace(tmp, self.path)  # the old file (and its lock) goes away with its handle
                    self._write_offset(0)
            finally:
                if guard is not None:
                    guard.close()
            self._pending = True

    # ---- replay --------------------------------------------------------------------------------
    def replay(self, send: Callable[[str, dict], Any], on_rejected: Callable[[str, dict, Exception], None]) -> int:
        """Send the pending requests in order, from where the last replay stopped.

        ``send(path, body)`` raises `TrackingServerUnavailableError` (stop, keep the rest), a 401/403
        `MlTrackException` (stop, keep the rest: wrong credentials) or another `MlTrackException` for
        a request the server refused for good (moved to ``<run>.rejected.jsonl``, replay goes on).
        Appends go on meanwhile (no lock is held while sending). Returns the number of requests sent
        (-1: another process is sending this journal); the file is emptied once everything is through.
        """
        from ..exceptions import MlTrackException

        sent = 0
        guard = self._replay_guard(blocking=False)
        if guard is None:
            return -1  # another process is sending this journal
        try:
            offset = self._read_offset()
            last_saved = offset
            try:
                with open(self.path, "rb") as f:
                    f.seek(offset)
                    while True:
                        line = f.readline()
                        if not line.endswith(b"\n"):
                            break  # the end, or an append still being written: next time
                        try:
                            entry = json.loads(line)
                        except ValueError:  # a torn line of a killed writer: nothing acknowledged is in it
                            entry = None
                        if entry is not None:
                            try:
                                send(entry["path"], entry["body"])
                                sent += 1
                            except MlTrackException as exc:
                                if exc.error_code in ("UNAUTHENTICATED", "PERMISSION_DENIED"):
                                    raise  # wrong credentials: stop here, keep this and the rest
                                self._keep_rejected(line)
                                on_rejected(entry["path"], entry["body"], exc)
                        offset += len(line)
                        if offset - last_saved > 1 << 20 or sent % 64 == 0:
                            self._write_offset(offset)
                            last_saved = offset
            except FileNotFoundError:
                pass
            finally:
                self._write_offset(offset)
            with self._lock:
                try:
                    with self._locked_file("ab+") as f:
                        if f.seek(0, os.SEEK_END) <= offset:  # all through: start the file afresh
                            f.truncate(0)
                            self._write_offset(0)
                            self._pending = False
                        else:
                            self._pending = True
                except OSError:
                    pass
        finally:
            guard.close()
        return sent

    def _keep_rejected(self, line: bytes) -> None:
        with open(self.rejected_path, "ab") as f:
            f.write(line)

    def remove_if_empty(self) -> None:
        """Delete the (empty) files of a journal whose run was fully delivered."""
        with self._lock:
            if self._file_has_entries():
                return
            for path in (self.path, self._offset_path, self._replay_lock_path):
                try:
                    if path != self.path or os.path.getsize(path) == 0:
                        os.remove(path)
                except OSError:
                    pass


# ---- inspection (hf-mltrack journal list) ------------------------------------------------------
@dataclass
class JournalInfo:
    """What ``hf-mltrack journal list`` shows for one run's journal."""

    server: str
    user: str
    run_id: str
    path: str
    requests: int
    metric_points: int
    bytes: int
    rejected: int


def write_server_info(folder: str, host: str, key: str) -> None:
    path = os.path.join(folder, "server.json")
    if os.path.exists(path):
        return
    os.makedirs(folder, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"server": host, "user": key}, f)


def _server_info(folder: str) -> tuple[str, str]:
    try:
        with open(os.path.join(folder, "server.json"), encoding="utf-8") as f:
            info = json.load(f)
        return str(info.get("server", "?")), str(info.get("user", os.path.basename(folder)))
    except (OSError, ValueError):
        return "?", os.path.basename(folder)


def iter_journals(root: str | None = None) -> Iterator[tuple[str, str, str, Journal]]:
    """Every run journal with pending or rejected requests: ``(server, user key, folder, journal)``."""
    root = root or journal_root()
    if not os.path.isdir(root):
        return
    for digest in sorted(os.listdir(root)):
        server_folder = os.path.join(root, digest)
        if not os.path.isdir(server_folder):
            continue
        for key in sorted(os.listdir(server_folder)):
            folder = os.path.join(server_folder, key)
            if not os.path.isdir(folder):
                continue
            host, user = _server_info(folder)
            for name in sorted(os.listdir(folder)):
                if name.endswith(".jsonl") and not name.endswith(".rejected.jsonl"):
                    yield host, user, folder, Journal(folder, name[: -len(".jsonl")])


def describe(host: str, user: str, journal: Journal) -> JournalInfo:
    """Count the pending requests and metric points of one journal (reads the file)."""
    requests = points = size = rejected = 0
    try:
        with open(journal.path, encoding="utf-8") as f:
            f.seek(journal._read_offset())
            for line in f:
                size += len(line)
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                requests += 1
                points += len(entry.get("body", {}).get("metrics") or ())
    except OSError:
        pass
    try:
        with open(journal.rejected_path, encoding="utf-8") as f:
            rejected = sum(1 for _ in f)
    except OSError:
        pass
    return JournalInfo(host, user, journal.run_id, journal.path, requests, points, size, rejected)


def pending_in(folder: str) -> list[Journal]:
    """The journals of one server/user folder that hold unsent requests (also other processes')."""
    if not os.path.isdir(folder):
        return []
    out = []
    for name in sorted(os.listdir(folder)):
        if name.endswith(".jsonl") and not name.endswith(".rejected.jsonl"):
            journal = Journal(folder, name[: -len(".jsonl")])
            if journal.pending():
                out.append(journal)
    return out


__all__ = [
    "Journal",
    "JournalInfo",
    "current_user_key",
    "describe",
    "iter_journals",
    "journal_root",
    "pending_in",
    "server_dir",
    "user_key",
    "write_server_info",
]
