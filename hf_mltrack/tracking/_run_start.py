"""Runs created in the background: the id is chosen here, the store opened and the run created on a thread.

A Trainer's first step should not wait for the tracking store: in a fresh process, opening it means
importing SQLAlchemy and creating the schema of a new database. `RunStart.begin` returns at once with
the run's id (a uuid4 hex, as the SQL store makes them); a thread opens the store, resolves the
experiment, creates the run under that id, then runs what waits for the run (the system metrics
sampler, dataset inputs). Until the run exists, what is logged to it is held here, in order, and
handed to the write queue right after the creation: nothing reaches the store before its run, and
nothing logged meanwhile is dropped. Reads wait (`settle`, called by the client's reads and by
``end_run``), so ``get_run`` right after ``start_run`` sees the run.

If the creation fails, one warning says why and how many logged values could not be stored; the
next ``flush_async_logging()`` raises it too. Training goes on.

A fork (a DataLoader worker) waits, a bounded time, while the thread imports and creates the run
(`hf_mltrack.utils.fork_guard`): a child never inherits an import lock held by a thread it does not
have. A start still under way at the fork is a failed start in the child (the parent creates the
run): nothing there waits for it, and ``info.experiment_id`` says the child must start its own run.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import uuid
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .. import _env
from ..entities import Metric, Param, Run, RunData, RunInfo, RunStatus, RunTag
from ..exceptions import MlTrackException
from ..utils import fork_guard
from ..utils.threads import background_thread

if TYPE_CHECKING:
    from .client import MlTrackClient

# Runs being created, by id (the thread removes its run once it exists or failed).
_PENDING: dict[str, RunStart] = {}
# Runs whose creation failed: what is logged to them later is counted, not retried on the store. An
# entry goes when its run is ended (`forget`); at most _MAX_FAILED are kept (the oldest go first). Their
# errors are the batcher's to raise (the next flush), not kept here.
_FAILED: dict[str, RunStart] = {}
_MAX_FAILED = 32
_atexit_registered = False


def background_capable(uri: str) -> bool:
    """Whether the store of ``uri`` takes a run id chosen by the client (the built-in SQL store)."""
    from ..store import _SQL, _STORES
    from ..utils.plugins import uri_scheme

    return _STORES.classes.get(uri_scheme(uri)) == _SQL


class RunStart:
    """One run being created on a thread.

    Args:
        uri (`str`): the resolved tracking URI.
        experiment_id (`str`, *optional*): the experiment, when known without the store.
        experiment_name (`str`, *optional*): else its name (created if missing, made the current one).
        tags (`dict[str, str]`): validated tags; the environment's (user, source, git commit) are
            added on the thread, under these.
        run_name (`str`, *optional*): a random one is picked by the store when not given.
        start_time (`int`): milliseconds since the epoch.
        user (`str`): the run's user id.
    """

    def __init__(
        self,
        uri: str,
        experiment_id: str | None,
        experiment_name: str | None,
        tags: dict[str, str],
        run_name: str | None,
        start_time: int,
        user: str,
    ) -> None:
        self.uri = uri
        self.run_id = uuid.uuid4().hex
        self.experiment_id = experiment_id
        self.experiment_name = experiment_name
        self.tags = tags
        self.run_name = run_name
        self.start_time = start_time
        self.user = user
        from . import fluent

        self.experiment_epoch = fluent._experiment_epoch  # what the user chose as current, as of now
        self.run: Run | None = None
        self.error: BaseException | None = None
        self.dropped = 0  # values logged to a run whose creation failed
        self._lock = threading.Lock()
        self._held: list[tuple[MlTrackClient, list[Metric], list[Param], list[RunTag]]] = []
        self._after: list[Callable[[Run], None]] = []
        self._created = False  # the run exists (or failed) and what was held is queued (under _lock)
        self._done = threading.Event()  # ... and the follow-ups (`after`) have run
        self._thread: threading.Thread | None = None

    # ---- the caller's side --------------------------------------------------------------------
    def begin(self) -> RunStart:
        global _atexit_registered
        if not _atexit_registered:
            _atexit_registered = True
            atexit.register(_at_exit)
        _PENDING[self.run_id] = self
        self._thread = background_thread(self._create, "hf_mltrack-run-start")
        self._thread.start()
        return self

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self) -> Run | None:
        """The created run (None if its creation failed), once the thread is done: the run created, what
        was held queued and the follow-ups (`after`) run. On the creating thread itself (a follow-up
        that reads or ends the run) it returns at once: the run exists there."""
        if threading.current_thread() is not self._thread:
            self._done.wait()
        return self.run

    def info(self) -> RunInfo:
        return _StartingInfo(self)

    def hold(
        self,
        client: MlTrackClient,
        metrics: Sequence[Metric],
        params: Sequence[Param],
        tags: Sequence[RunTag],
        synchronous: bool | None,
    ) -> bool:
        """Keep a write until the run exists; False when the caller should write it itself (run created)."""
        if synchronous is None:
            synchronous = not _env.ASYNC_LOGGING.get()
        if synchronous:
            self.wait()
        with self._lock:
            if not self._created:
                self._held.append((client, list(metrics), list(params), list(tags)))
                return True
            if self.error is not None:
                self.dropped += len(metrics) + len(params) + len(tags)
                return True
        return False

    def after(self, fn: Callable[[Run], None]) -> None:
        """Call ``fn(run)`` once the run exists (on the creating thread, before `wait` returns; now, if
        it exists already)."""
        with self._lock:
            if not self._created:
                self._after.append(fn)
                return
        if self.run is not None:
            _call_after(fn, self.run)

    # ---- the thread ---------------------------------------------------------------------------
    def _create(self) -> None:
        with fork_guard.busy():  # imports SQLAlchemy: a fork waits (bounded) for it (`fork_guard`)
            self._create_in_thread()

    def _create_in_thread(self) -> None:
        after: list[Callable[[Run], None]] = []
        try:
            try:
                self.run = self._create_run()
            except BaseException as exc:
                self.error = exc
            after = self._release_held()
            if self.run is None:
                self._report()  # before anyone waiting learns it failed
            else:
                for fn in after:  # before waiters go on: end_run comes after the run's inputs
                    _call_after(fn, self.run)
        finally:
            # Whatever failed above (a warning turned into an error, the queue), waiters are released.
            with self._lock:
                self._created = True
                self._done.set()
                _PENDING.pop(self.run_id, None)

    def _release_held(self) -> list[Callable[[Run], None]]:
        """Queue what was held (or count it, if the creation failed); the follow-ups to call."""
        from . import _batcher

        with self._lock:
            self._created = True
            held, self._held = self._held, []
            after, self._after = self._after, []
            if self.run is None:
                self.dropped = sum(len(m) + len(p) + len(t) for _, m, p, t in held)
                _remember_failed(self)
                return after
            try:
                for client, metrics, params, tags in held:  # in the order they were logged
                    client._remember_live(self.run_id)
                    _batcher.get_batcher().enqueue(client.store, self.run_id, metrics, params, tags)
            except Exception as exc:  # the run exists; what could not be queued is said, outside the lock
                error: BaseException | None = exc
            else:
                error = None
        if error is not None:
            _warn(
                f"hf_mltrack: run {self.run_id} was created but what was logged before could not be queued: {error!r}"
            )
        return after

    def _create_run(self) -> Run:
        from ..store import get_tracking_store
        from ..store.sql.tracking_store import SqlTrackingStore
        from .context import default_tags

        store = get_tracking_store(self.uri)  # imports SQLAlchemy, opens (or creates) the database
        assert isinstance(store, SqlTrackingStore)
        experiment_id = self.experiment_id
        if experiment_id is None:
            from . import fluent
            from .client import MlTrackClient

            assert self.experiment_name is not None
            experiment = fluent._get_or_create_experiment(MlTrackClient(self.uri), self.experiment_name)
            experiment_id = experiment.experiment_id
            fluent._make_current_if_unchanged(experiment_id, self.uri, self.experiment_epoch)
        tags = [RunTag(k, v) for k, v in {**default_tags(), **self.tags}.items()]
        return store.create_run(experiment_id, self.user, self.start_time, tags, self.run_name, run_id=self.run_id)

    def _report(self) -> None:
        where = f"experiment {self.experiment_name!r}" if self.experiment_id is None else self.uri
        error = MlTrackException(
            f"Could not create run {self.run_id} in {where}: {self.error}. Nothing logged to it is stored "
            f"({self.dropped} values so far); training goes on."
        )
        from . import _batcher

        _batcher.get_batcher()._report(error)  # raised by the next flush_async_logging()
        raised = _warn(f"hf_mltrack: {error.message}")
        if raised is not None:  # warnings are errors here (``-W error``): that error is the start's error
            raised.__cause__ = self.error
            self.error = raised


def _warn(message: str) -> BaseException | None:
    """``warnings.warn`` from a thread of ours; where warnings are turned into errors, the error is
    logged and returned instead of ending the thread."""
    try:
        warnings.warn(message, RuntimeWarning, stacklevel=2)
    except Exception as exc:
        logging.getLogger("hf_mltrack").warning("%s", message)
        return exc
    return None


class _StartingInfo(RunInfo):
    """`RunInfo` of a run being created: id, user, status and start time now; experiment id, run name
    and artifact URI (which need the store) wait for the creation."""

    def __init__(self, start: RunStart) -> None:
        self._start = start
        self.run_id = start.run_id
        self.user_id = start.user
        self.status = RunStatus.RUNNING
        self.start_time = start.start_time
        self.end_time = None
        self.lifecycle_stage = "active"

    def _created(self) -> RunInfo:
        run = self._start.wait()
        if run is None:
            raise MlTrackException(f"Run {self.run_id} could not be created: {self._start.error}")
        return run.info

    @property
    def experiment_id(self) -> str:  # type: ignore[override]
        return self._start.experiment_id or self._created().experiment_id

    @property
    def run_name(self) -> str:  # type: ignore[override]
        return self._start.run_name or self._created().run_name

    @property
    def artifact_uri(self) -> str:  # type: ignore[override]
        return self._created().artifact_uri


def starting_run(start: RunStart) -> Run:
    """The `Run` returned at once for ``start``: its info fills in as the run is created."""
    return Run(start.info(), RunData(tags=dict(start.tags)))


def _call_after(fn: Callable[[Run], None], run: Run) -> None:
    try:
        fn(run)
    except Exception as exc:  # never break the run (or training) for a follow-up write
        _warn(f"hf_mltrack: after creating run {run.info.run_id}: {exc!r}")


def _remember_failed(start: RunStart) -> None:
    _FAILED[start.run_id] = start
    while len(_FAILED) > _MAX_FAILED:
        _FAILED.pop(next(iter(_FAILED)), None)


def forget(run_id: str) -> None:
    """The run whose creation failed was ended: nothing is counted for it any more."""
    _FAILED.pop(run_id, None)


def lookup(run_id: str) -> RunStart | None:
    """The background creation of ``run_id``, while it runs or if it failed."""
    return _PENDING.get(run_id) or _FAILED.get(run_id)


def settle() -> None:
    """Wait until every run being created exists (or failed), with what was logged to it queued."""
    for start in list(_PENDING.values()):
        start.wait()


def _at_exit() -> None:
    if _PENDING:
        settle()
        from . import _batcher

        _batcher.flush(raise_errors=False)  # the batcher's own exit flush may have run already


def _after_fork_in_child() -> None:
    # The creating threads exist only in the parent, which creates those runs. Here they never will:
    # each start fails (nothing waits for it; what the child logs to it is counted, not stored).
    for start in list(_PENDING.values()):
        start._lock = threading.Lock()  # the parent's may be held by its creating thread
        start._done = threading.Event()
        start._thread = None
        start._held, start._after = [], []
        start._created = True
        start.run = None
        start.error = MlTrackException(
            f"Run {start.run_id} was being created when this process forked (pid {os.getpid()}): the parent "
            "process creates and owns it. A forked process that logs must start its own run (start_run)."
        )
        start._done.set()
        _remember_failed(start)
    _PENDING.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def new_start(
    uri: str,
    experiment_id: str | None,
    experiment_name: str | None,
    tags: dict[str, Any],
    run_name: str | None,
    start_time: int,
    user: str,
) -> RunStart:
    """Validate the tags here (a bad one is the caller's error, at the call), then start the thread."""
    from ..utils import validation as v

    valid = {v.validate_key("tag", k): v.tag_value_to_str(k, val) for k, val in tags.items()}
    return RunStart(uri, experiment_id, experiment_name, valid, run_name, start_time, user).begin()
