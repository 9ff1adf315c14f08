"""Delivery of a `RestStore`'s writes: an in-memory outbox, the on-disk journal and one sender thread.

The flusher of `hf_mltrack.tracking._batcher` hands each batch to `Delivery.submit`, which never
waits for the network: a request goes to the outbox (memory) while the server keeps up, and to the
run's journal on disk (`hf_mltrack.store.journal`) when the server is unreachable, when that run's
journal already holds requests (order), or when the outbox holds more than
``HF_MLTRACK_HTTP_OUTBOX_MAX_POINTS`` metric points (a slow server: memory stays bounded). The sender
thread sends the outbox in order, then the journals; while the server is down it probes every
``HF_MLTRACK_HTTP_JOURNAL_PROBE_INTERVAL`` seconds (appends never push the probe back), so a job that
keeps logging delivers its backlog within seconds of the server's return.

A 401/403 keeps the journal (reported once, with its path); ``hf-mltrack journal replay`` sends it
with other credentials. A request the server refuses for good (a deleted run, a conflicting param)
is moved to ``<run>.rejected.jsonl`` and raised by the next ``flush()``.
"""

from __future__ import annotations

import atexit
import functools
import os
import sys
import threading
import time
import uuid
import warnings
import weakref
from collections import deque
from typing import TYPE_CHECKING

from .. import _env
from ..entities.experiment import OFFLINE_EXPERIMENT_PREFIX
from ..exceptions import MlTrackException, PermissionDeniedError, UnauthenticatedError
from ..utils.threads import background_thread
from .journal import Journal, current_user_key, describe, pending_in, server_dir, write_server_info

if TYPE_CHECKING:
    from .rest import HttpClient

CLIENT_RUN_ID_TAG = "hf_mltrack.clientRunId"
PARENT_RUN_ID_TAG = "hf_mltrack.parentRunId"
_LOG_BATCH = "/runs/log-batch"
_CREATE = "/runs/create"

_DELIVERIES: weakref.WeakSet[Delivery] = weakref.WeakSet()


def offline_experiment_name(experiment_id: str) -> str | None:
    """The name behind an offline experiment id, None for a server's id."""
    if experiment_id.startswith(OFFLINE_EXPERIMENT_PREFIX):
        return experiment_id[len(OFFLINE_EXPERIMENT_PREFIX) :]
    return None


def _points(body: dict) -> int:
    return len(body.get("metrics") or ())


class Delivery:
    """Outbox, journals and sender thread of one server for this process's user.

    Args:
        http (`HttpClient`): the server's connection pool.
    """

    def __init__(self, http: HttpClient, folder: str | None = None) -> None:
        self.http = http
        self.host = http.host
        self.user = current_user_key()
        self.folder = folder or server_dir(self.host, self.user)
        self._cond = threading.Condition()
        self._outbox: deque[tuple[str, str, dict]] = deque()  # (run id, path, body)
        self._outbox_points = 0
        self._inflight = False
        self._journals: dict[str, Journal] = {}
        self.aliases: dict[str, str] = {}  # client run id -> server run id
        self.experiments: dict[str, str] = {}  # name of an experiment set offline -> server id
        self.offline: set[str] = set()  # runs started offline by this process
        self.down = False
        self._next_probe = 0.0
        self._stalled: set[str] = set()  # journal paths refused with 401/403 in this process
        self._elsewhere: dict[str, float] = {}  # journal path -> when to look again (another process sends it)
        self._own: set[str] = set()  # runs this process wrote to (flush waits only for these)
        self._errors: list[MlTrackException] = []
        self._warned_down = False
        self._closed = False
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        if folder is None:
            self.rescan()
            _DELIVERIES.add(self)

    # ---- producer side (the flusher thread, or a synchronous log call) -------------------------------
    def journal(self, run_id: str) -> Journal:
        journal = self._journals.get(run_id)
        if journal is None:
            journal = self._journals[run_id] = Journal(self.folder, run_id)
        return journal

    def rescan(self) -> None:
        """Pick up journals other processes of this user left for this server (one ``listdir``)."""
        found = False
        for journal in pending_in(self.folder):
            if journal.run_id not in self._journals:
                self._journals[journal.run_id] = journal
                found = True
        if found:
            self._ensure_thread()

    def submit(self, run_id: str, requests: list[tuple[str, dict]]) -> None:
        """Queue writes of one run, in order; returns without network I/O."""
        if not requests:
            return
        if self._pid != os.getpid():
            self._after_fork()
        n = sum(_points(b) for _, b in requests)
        self._own.add(run_id)
        with self._cond:
            journal = self._journals.get(run_id)
            to_disk = (
                self.down
                or (journal is not None and journal.pending())
                or self._outbox_points + n > _env.HTTP_OUTBOX_MAX_POINTS.get()
            )
            if not to_disk:
                self._outbox.extend((run_id, path, body) for path, body in requests)
                self._outbox_points += n
                self._cond.notify_all()
        if to_disk:
            self._to_journal(run_id, requests, prepend=False)
        self._ensure_thread()

    def _to_journal(self, run_id: str, requests: list[tuple[str, dict]], prepend: bool) -> None:
        journal = self.journal(run_id)
        write_server_info(self.folder, self.host, self.user)
        if prepend:
            journal.prepend(requests)
        else:
            # On disk when this returns (a killed process loses nothing); fsynced (an OS crash too) only
            # off the training thread, where the ~1-10 ms of an fsync cost nobody a step.
            journal.append(requests, fsync=threading.current_thread().name.startswith("hf_mltrack-"))
        with self._cond:
            self._cond.notify_all()

    def mark_down(self, reason: BaseException) -> None:
        with self._cond:
            self.down = True
            self._next_probe = time.monotonic() + _env.HTTP_JOURNAL_PROBE_INTERVAL.get()
            first = not self._warned_down
            self._warned_down = True
        if first:
            warnings.warn(
                f"hf_mltrack: the tracking server at {self.host} is unreachable ({reason}). Logged data is kept "
                f"in {self.folder} and sent when the server is back; training continues.",
                stacklevel=3,
            )

    def back(self) -> None:
        """The server answered: stop treating it as down (the sender replays the journals now)."""
        with self._cond:
            self.down = False
            self._next_probe = 0.0
            self._cond.notify_all()

    # ---- waiting -------------------------------------------------------------------------------
    def _sendable(self, journal: Journal, now: float) -> bool:
        return journal.pending() and journal.path not in self._stalled and self._elsewhere.get(journal.path, 0.0) <= now

    def _busy(self, everyone: bool = False) -> bool:
        """Whether this process's writes (``everyone``: also journals other processes left) are on their way."""
        if self._outbox or self._inflight:
            return True
        if self.down:
            return False
        now = time.monotonic()
        return any(self._sendable(j, now) for rid, j in list(self._journals.items()) if everyone or rid in self._own)

    def drain(self, timeout: float | None = None, everyone: bool = False) -> list[MlTrackException]:
        """Wait until everything submitted reached the server, or the server is found unreachable (then
        it is in the journal). Returns (and clears) the errors of requests the server refused."""
        if self._pid != os.getpid():
            self._after_fork()
        self.rescan()
        self._ensure_thread()
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            self._cond.notify_all()
            while self._busy(everyone):
                if deadline is not None and time.monotonic() >= deadline:
                    break
                self._cond.wait(0.05)
            errors, self._errors = self._errors, []
        return errors

    def close(self, timeout: float) -> None:
        """At exit: give the server ``timeout`` seconds to take what is queued, journal the rest (the
        next process sends it) and say loudly what is not delivered and where it is. Once."""
        if self._closed:
            return
        self._closed = True
        try:
            if self.down:  # one last probe, so a server that just came back gets the data now
                self.back()
            self.drain(timeout)
            with self._cond:
                left = list(self._outbox)
                self._outbox.clear()
                self._outbox_points = 0
                deadline = time.monotonic() + _env.HTTP_REQUEST_TIMEOUT.get()
                while self._inflight and time.monotonic() < deadline:  # the request being sent
                    self._cond.wait(0.05)
            by_run: dict[str, list[tuple[str, dict]]] = {}
            for rid, path, body in left:
                by_run.setdefault(rid, []).append((path, body))
            for rid, requests in by_run.items():
                journal = self._journals.get(rid)
                self._to_journal(rid, requests, prepend=journal is not None and journal.pending())
            message = self.report(at_exit=True)
        except Exception as exc:
            message = f"hf_mltrack: could not check undelivered data at exit: {exc}"
        if message:
            sys.stderr.write(message + "\n")
            sys.stderr.flush()

    def undelivered(self, run_id: str | None = None) -> list[tuple[str, int, int]]:
        """``(path, requests, metric points)`` of the journals still holding data (of one run, or all)."""
        out = []
        for rid, journal in list(self._journals.items()):
            if run_id is not None and rid != run_id:
                continue
            if journal.refresh():
                info = describe(self.host, self.user, journal)
                out.append((journal.path, info.requests, info.metric_points))
        return out

    # ---- the sender thread ------------------------------------------------------------------------
    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            with self._cond:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = background_thread(self._loop, "hf_mltrack-sender")
                    self._thread.start()

    def _after_fork(self) -> None:
        self._cond = threading.Condition()
        self._outbox.clear()
        self._outbox_points = 0
        self._inflight = False
        self._thread = None
        self._pid = os.getpid()

    def _loop(self) -> None:
        while True:
            try:
                self._step()
            except Exception as exc:  # never let the sender die
                warnings.warn(f"hf_mltrack: background delivery failed: {exc}", stacklevel=1)
                time.sleep(0.5)

    def _step(self) -> None:
        from .rest import TrackingServerUnavailableError

        with self._cond:
            while not self._outbox:
                now = time.monotonic()
                pending = [j for j in list(self._journals.values()) if self._sendable(j, now)]
                if pending and (not self.down or now >= self._next_probe):
                    break
                # the next probe, or when a journal another process was sending may be free again
                wakes = [t for t in self._elsewhere.values() if t > now]
                wait = max(0.01, self._next_probe - now) if pending else min([1.0, *(t - now for t in wakes)])
                self._cond.wait(max(0.01, wait))
            if self._outbox:
                run_id, path, body = self._outbox.popleft()
                self._outbox_points -= _points(body)
                self._inflight = True
            else:
                run_id = ""
        if not run_id:
            self._replay_journals()
            return
        try:
            # Few retries: past a blip, the journal and the probe take over (flush and end_run never
            # wait for the whole back-off of a server that is gone).
            self._send(run_id, path, body, retries=min(2, _env.HTTP_REQUEST_MAX_RETRIES.get()))
        except TrackingServerUnavailableError as exc:
            self.mark_down(exc)
            self._spill_outbox(first=(run_id, path, body))
        except (UnauthenticatedError, PermissionDeniedError) as exc:
            self._spill_outbox(first=(run_id, path, body))
            self._stall(self.journal(run_id), exc)
        except MlTrackException as exc:  # refused for good (a deleted run...): raised by the next flush
            with self._cond:
                self._errors.append(exc)
            if threading.current_thread() is self._thread:
                warnings.warn(f"hf_mltrack: {exc.message} (raised again by the next flush)", stacklevel=1)
        finally:
            with self._cond:
                self._inflight = False
                self._cond.notify_all()

    def _spill_outbox(self, first: tuple[str, str, dict]) -> None:
        """Move the failed request and the whole outbox to the journals, each run's requests in order."""
        with self._cond:
            entries = [first, *self._outbox]
            self._outbox.clear()
            self._outbox_points = 0
        by_run: dict[str, list[tuple[str, dict]]] = {}
        for rid, path, body in entries:
            by_run.setdefault(rid, []).append((path, body))
        for rid, requests in by_run.items():
            journal = self._journals.get(rid)
            # Newer requests of this run may already be journaled (outbox overflow): these go first.
            self._to_journal(rid, requests, prepend=journal is not None and journal.pending())

    def _replay_journals(self) -> None:
        from .rest import TrackingServerUnavailableError

        for journal in list(self._journals.values()):
            if not self._sendable(journal, time.monotonic()):
                continue
            try:
                sent = journal.replay(
                    functools.partial(self._send, journal.run_id, retries=0),
                    self._rejected,
                )
                if sent < 0:  # another process is sending it: look again later, do not spin
                    self._elsewhere[journal.path] = time.monotonic() + _env.HTTP_JOURNAL_PROBE_INTERVAL.get()
                    continue
                self._elsewhere.pop(journal.path, None)
            except TrackingServerUnavailableError as exc:
                self.mark_down(exc)
                return
            except (UnauthenticatedError, PermissionDeniedError) as exc:
                self._stall(journal, exc)
                continue
            if not journal.pending():
                journal.remove_if_empty()
        with self._cond:
            if self.down:
                self.down = False
                if self._warned_down:
                    self._warned_down = False
                    import logging

                    logging.getLogger(__name__).warning(
                        "hf_mltrack: the tracking server at %s is back; journaled data was sent", self.host
                    )
            self._cond.notify_all()

    def _stall(self, journal: Journal, exc: MlTrackException) -> None:
        if journal.path in self._stalled:
            return
        self._stalled.add(journal.path)
        warnings.warn(
            f"hf_mltrack: the tracking server at {self.host} refused the journaled data of run {journal.run_id} "
            f"({exc.message}). Nothing was deleted: it stays in {journal.path}; send it with the right "
            "credentials with `hf-mltrack journal replay`.",
            stacklevel=1,
        )
        with self._cond:
            self._cond.notify_all()

    def _rejected(self, path: str, body: dict, exc: Exception) -> None:
        message = exc.message if isinstance(exc, MlTrackException) else str(exc)
        err = MlTrackException(f"The tracking server refused journaled data ({path}): {message}")
        self._errors.append(err)
        warnings.warn(f"hf_mltrack: {err.message} (kept in the journal's .rejected.jsonl)", stacklevel=1)

    # ---- sending -----------------------------------------------------------------------------------
    def _map_parent(self, body: dict) -> dict:
        """A child of a run started offline names the parent by the server's id."""
        tags = body.get("tags")
        if not tags or not self.aliases:
            return body
        mapped = [
            {**t, "value": self.aliases.get(t.get("value", ""), t.get("value"))}
            if t.get("key") == PARENT_RUN_ID_TAG
            else t
            for t in tags
        ]
        return {**body, "tags": mapped}

    def _map(self, run_id: str, body: dict) -> dict:
        server_id = self.aliases.get(run_id)
        if server_id is None:
            journal = self._journals.get(run_id)
            server_id = journal.alias() if journal is not None else None
            if server_id is not None:
                self.aliases[run_id] = server_id
        if server_id is None or server_id == run_id:
            return body
        body = dict(body)
        for field in ("run_id", "run_uuid"):
            if field in body:
                body[field] = server_id
        return body

    def _send(self, run_id: str, path: str, body: dict, retries: int | None) -> None:
        if path == _CREATE:
            self._create(run_id, body, retries)
            return
        body = self._map_parent(self._map(run_id, body))
        try:
            self.http.call("POST", path, body, retries=retries)
        except (UnauthenticatedError, PermissionDeniedError):
            raise
        except MlTrackException as exc:
            if path == _LOG_BATCH and exc.error_code != "RESOURCE_DOES_NOT_EXIST" and body.get("params"):
                self._send_isolating(body, retries)  # one bad param costs only itself
                return
            raise

    def _send_isolating(self, body: dict, retries: int | None) -> None:
        rest = {k: v for k, v in body.items() if k != "params"}
        if rest.get("metrics") or rest.get("tags"):
            self.http.call("POST", _LOG_BATCH, rest, retries=retries)
        for param in body["params"]:
            try:
                self.http.call("POST", _LOG_BATCH, {"run_id": body["run_id"], "params": [param]}, retries=retries)
            except (UnauthenticatedError, PermissionDeniedError):
                raise
            except MlTrackException as exc:
                self._errors.append(exc)
                warnings.warn(f"hf_mltrack: {exc.message} (raised again by the next flush)", stacklevel=1)

    def experiment_id(self, name: str, retries: int | None) -> str:
        """The server's id of the experiment ``name``, created there if absent (one created by another
        client at the same time is read back once). The server's own errors (403 without READ) raise."""
        known = self.experiments.get(name)
        if known is not None:
            return known
        for attempt in range(2):
            try:
                found = self.http.call(
                    "GET", "/experiments/get-by-name", params={"experiment_name": name}, retries=retries
                )
                experiment_id = str(found["experiment"]["experiment_id"])
                break
            except MlTrackException as exc:
                if exc.error_code != "RESOURCE_DOES_NOT_EXIST" or attempt:
                    raise
            try:
                made = self.http.call("POST", "/experiments/create", {"name": name}, retries=retries)
                experiment_id = str(made["experiment_id"])
                break
            except MlTrackException as exc:
                if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                    raise
        self.experiments[name] = experiment_id
        return experiment_id

    def _create(self, run_id: str, body: dict, retries: int | None) -> None:
        """Create on the server a run started offline, once (a replayed create finds the earlier one)."""
        if self._map(run_id, {"run_id": run_id})["run_id"] != run_id:
            return  # created already
        name = offline_experiment_name(str(body.get("experiment_id", "0")))
        if name is not None:
            body = {**body, "experiment_id": self.experiment_id(name, retries)}
        found = self.http.call(
            "POST",
            "/runs/search",
            {
                "experiment_ids": [str(body.get("experiment_id", "0"))],
                "filter": f"tags.`{CLIENT_RUN_ID_TAG}` = '{run_id}'",
                "max_results": 1,
                "run_view_type": "ALL",
            },
            retries=retries,
        ).get("runs")
        if found:
            server_id = found[0]["info"].get("run_id") or found[0]["info"]["run_uuid"]
        else:
            out = self.http.call("POST", _CREATE, self._map_parent(body), retries=retries)
            server_id = out["run"]["info"].get("run_id") or out["run"]["info"]["run_uuid"]
        self.aliases[run_id] = server_id
        if server_id != run_id:
            self.journal(run_id).set_alias(server_id)

    # ---- offline runs --------------------------------------------------------------------------------
    def offline_run_body(self, body: dict) -> tuple[str, dict]:
        """A client-chosen run id and the create request that will make the run on the server."""
        run_id = uuid.uuid4().hex
        body = {**body, "tags": [*body.get("tags", ()), {"key": CLIENT_RUN_ID_TAG, "value": run_id}]}
        return run_id, body

    # ---- exit ------------------------------------------------------------------------------------------
    def report(self, run_id: str | None = None, at_exit: bool = False) -> str | None:
        """A loud message naming what is not delivered yet and where it is; None when all was delivered."""
        left = self.undelivered(run_id)
        if not left:
            return None
        requests = sum(r for _, r, _ in left)
        points = sum(p for _, _, p in left)
        where = ", ".join(path for path, _, _ in left[:5]) + (" ..." if len(left) > 5 else "")
        who = f"run {run_id}" if run_id else "this process"
        when = "at exit" if at_exit else "when the run ended"
        return (
            f"hf_mltrack: {requests} write requests ({points} metric points) of {who} were NOT delivered to "
            f"the tracking server at {self.host} {when}. They are kept on disk in {where} and will be sent "
            "by the next process logging to this server as this user, or now with "
            "`hf-mltrack journal replay`."
        )


def _at_exit() -> None:
    try:
        from ..tracking import _batcher

        _batcher.flush(raise_errors=False)  # hands the queue over; the bounded wait is close()'s
    except Exception:
        pass
    for delivery in list(_DELIVERIES):
        if delivery._pid == os.getpid():
            delivery.close(_env.HTTP_EXIT_WAIT.get())


atexit.register(_at_exit)


def replay_journal(journal: Journal, host: str) -> tuple[int, int]:
    """Send one journal now with this process's credentials (``hf-mltrack journal replay``).

    Returns ``(sent, refused)``: requests the server took, and requests it refused for good (kept in
    ``<run>.rejected.jsonl``). Raises `UnauthenticatedError`/`PermissionDeniedError` (nothing is
    deleted) or `TrackingServerUnavailableError` (the rest stays in the journal).
    """
    from .rest import http_client

    delivery = Delivery(http_client(host), folder=journal.folder)
    delivery._journals[journal.run_id] = journal
    refused: list[Exception] = []
    sent = journal.replay(
        lambda path, body: delivery._send(journal.run_id, path, body, retries=2),
        lambda path, body, exc: refused.append(exc),
    )
    if not journal.pending():
        journal.remove_if_empty()
    return sent, len(refused)


__all__ = ["CLIENT_RUN_ID_TAG", "Delivery", "replay_journal"]
