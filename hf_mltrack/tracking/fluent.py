"""The fluent API: a current tracking URI, a current experiment and a stack of active runs.

The run stack lives in a `ContextVar`, so asyncio tasks and threads started with a copied
context see the run of their parent, and concurrent tasks can nest runs independently.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from .. import _env
from ..entities import Experiment, LifecycleStage, Metric, Param, Run, RunStatus, RunTag, ViewType
from ..entities.experiment import OFFLINE_EXPERIMENT_PREFIX
from ..exceptions import InvalidParameterError, InvalidStateError, MlTrackException, ResourceNotFoundError
from ..utils import validation as v
from . import _batcher, _run_start
from . import fluent_models as _fluent_models
from .client import MlTrackClient, _description_tags
from .context import default_tags

if TYPE_CHECKING:
    import pandas as pd

_DEFAULT_EXPERIMENT_ID = "0"
SEARCH_MAX_RESULTS_PANDAS = 100_000

_tracking_uri: str | None = None
_active_experiment_id: str | None = None
# Bumped (under _lock) whenever the user changes the current experiment: a run created in the background
# makes its experiment the current one only if nothing changed it since the run was started.
_experiment_epoch = 0
_run_stack: contextvars.ContextVar[tuple[ActiveRun, ...]] = contextvars.ContextVar("hf_mltrack_runs", default=())
_last_active_run_id: str | None = None
_clients: dict[str, MlTrackClient] = {}
# params logged from this process per active run: a conflicting re-log fails at the call itself
_param_cache: dict[str, dict[str, str]] = {}
_lock = threading.Lock()
_time = time.time
_time_ns = time.time_ns
_VALID_KEYS = v._VALID_KEYS
_active_model_id = _fluent_models._active_model.get  # (the ContextVar is never replaced)


class ActiveRun(Run):
    """The run returned by `start_run`; as a context manager it ends the run on exit.

    Leaving the ``with`` block normally marks the run FINISHED; an exception marks it FAILED
    (KILLED for KeyboardInterrupt) and propagates unchanged.
    """

    def __init__(self, run: Run, start: _run_start.RunStart | None = None) -> None:
        super().__init__(run.info, run.data)
        self._system_monitor: Any = None
        self._start = start  # set when the run is created in the background

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> Literal[False]:
        if exc_type is None:
            status = RunStatus.FINISHED
        elif issubclass(exc_type, KeyboardInterrupt):
            status = RunStatus.KILLED
        else:
            status = RunStatus.FAILED
        if any(r.info.run_id == self.info.run_id for r in _run_stack.get()):
            end_run(status)
        return False


def _reset_state() -> None:
    """Forget the current URI, experiment and runs (tests use this between cases)."""
    global _tracking_uri, _active_experiment_id, _last_active_run_id
    try:
        _run_start.settle()
        _batcher.flush(raise_errors=False)
    except Exception:
        pass
    for run in reversed(_run_stack.get()):
        if run._system_monitor is not None:
            run._system_monitor.stop()
    _run_stack.set(())
    _param_cache.clear()
    _tracking_uri = None
    _active_experiment_id = None
    _last_active_run_id = None
    _clients.clear()
    _fluent_models._reset()
    from ..store import _clear_cache

    _clear_cache()
    import sys

    # Drain traces and forget cached trace stores, when tracing is in use at all.
    if "hf_mltrack.tracing.export" in sys.modules:
        sys.modules["hf_mltrack.tracing.export"].flush()
    if "hf_mltrack.tracing.stores" in sys.modules:
        sys.modules["hf_mltrack.tracing.stores"]._clear_cache()


# ---- tracking URI -------------------------------------------------------------------------
def set_tracking_uri(uri: str | None) -> None:
    """Set where runs are stored.

    Args:
        uri (`str`): a folder path, ``file:///path``, ``sqlite:///file.db``,
            ``postgresql://user:pass@host:5432/db`` or ``http(s)://host:port`` of an hf-mltrack
            server. ``None`` goes back to ``HF_MLTRACK_TRACKING_URI`` or the embedded default.
    """
    global _tracking_uri, _active_experiment_id, _experiment_epoch
    from ._uri import resolve_tracking_uri

    if uri is not None and not isinstance(uri, str):
        uri = str(uri)  # pathlib.Path
    resolved = resolve_tracking_uri(uri) if uri else None
    if resolved != _tracking_uri:
        _batcher.flush(raise_errors=False)
        with _lock:
            _active_experiment_id = None
            _experiment_epoch += 1
    _tracking_uri = resolved


def get_tracking_uri() -> str:
    """The current tracking URI (set_tracking_uri > HF_MLTRACK_TRACKING_URI > ./mlruns)."""
    if _tracking_uri:  # every log_* call asks: no import statement on this path
        return _tracking_uri
    from ._uri import resolve_tracking_uri

    return _tracking_uri or resolve_tracking_uri(None)


def is_tracking_uri_set() -> bool:
    """Whether a tracking URI was chosen (`set_tracking_uri` or ``HF_MLTRACK_TRACKING_URI``), rather than the default.

    Returns:
        `bool`
    """
    return _tracking_uri is not None or _env.TRACKING_URI.is_set()


def _client() -> MlTrackClient:
    uri = get_tracking_uri()
    client = _clients.get(uri)
    if client is None:
        with _lock:
            client = _clients.get(uri) or MlTrackClient(uri)
            _clients[uri] = client
    return client


# ---- experiments --------------------------------------------------------------------------
def set_experiment(experiment_name: str | None = None, experiment_id: str | None = None) -> Experiment:
    """Make an experiment current, creating it by name if it does not exist.

    Args:
        experiment_name (`str`, *optional*): the name; created when absent.
        experiment_id (`str`, *optional*): an existing experiment's id (give one of the two).
    """
    global _active_experiment_id, _experiment_epoch
    if (experiment_name is None) == (experiment_id is None):
        raise InvalidParameterError(
            "set_experiment() needs exactly one of experiment_name or experiment_id, "
            f"got experiment_name={experiment_name!r}, experiment_id={experiment_id!r}"
        )
    client = _client()
    if experiment_id is not None:
        experiment = client.get_experiment(str(experiment_id))
    else:
        assert experiment_name is not None
        try:
            experiment = _get_or_create_experiment(client, experiment_name)
        except ConnectionError:  # the tracking server is unreachable (after the client's retries)
            # The job goes on: its runs start offline in this experiment, found or created on the
            # server by name when they are delivered.
            experiment = client.store.offline_experiment(experiment_name)
    _check_active(experiment)
    with _lock:
        _active_experiment_id = experiment.experiment_id
        _experiment_epoch += 1
    return experiment


def _make_current_if_unchanged(experiment_id: str, uri: str, epoch: int) -> None:
    """Make ``experiment_id`` the current experiment, as `set_experiment` would, unless the tracking URI
    or the current experiment was changed since ``epoch`` (the user's choice wins)."""
    global _active_experiment_id
    with _lock:
        if _experiment_epoch == epoch and get_tracking_uri() == uri:
            _active_experiment_id = experiment_id


def _get_or_create_experiment(client: MlTrackClient, name: str) -> Experiment:
    """The active experiment of that name, created if missing."""
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        try:
            client.create_experiment(name)
        except MlTrackException as exc:
            if exc.error_code != "RESOURCE_ALREADY_EXISTS":  # another process won the race
                raise
        experiment = client.get_experiment_by_name(name)
    assert experiment is not None
    _check_active(experiment)
    return experiment


def _check_active(experiment: Experiment) -> None:
    if experiment.lifecycle_stage != LifecycleStage.ACTIVE:
        raise InvalidStateError(
            f"Experiment {experiment.name!r} (id {experiment.experiment_id}) is deleted: restore it with "
            f"MlTrackClient().restore_experiment({experiment.experiment_id!r}) or use another name"
        )


def create_experiment(name: str, artifact_location: str | None = None, tags: dict[str, Any] | None = None) -> str:
    """Create an experiment and return its id (see `MlTrackClient.create_experiment`).

    Args:
        name (`str`): a unique name.
        artifact_location (`str`, *optional*): where its runs store artifacts (a folder, ``s3://...``);
            under the store's default artifact root when not given.
        tags (`dict`, *optional*): experiment tags.

    Returns:
        `str`: the new experiment's id.
    """
    return _client().create_experiment(name, artifact_location, tags)


def get_experiment(experiment_id: str) -> Experiment:
    """The experiment with that id.

    Args:
        experiment_id (`str`): the experiment's id.

    Returns:
        `Experiment`
    """
    return _client().get_experiment(experiment_id)


def get_experiment_by_name(name: str) -> Experiment | None:
    """The experiment of that name, or None.

    Args:
        name (`str`): the experiment's name.

    Returns:
        `Experiment` or `None`.
    """
    return _client().get_experiment_by_name(name)


def search_experiments(
    view_type: int = ViewType.ACTIVE_ONLY,
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: Sequence[str] | None = None,
) -> list[Experiment]:
    """Experiments matching a filter such as ``"tags.team = 'nlp'"``, all pages.

    Args:
        view_type (`int`, *optional*, defaults to `ViewType.ACTIVE_ONLY`): ``ACTIVE_ONLY``, ``DELETED_ONLY``
            or ``ALL``.
        max_results (`int`, *optional*): at most this many; all when not given.
        filter_string (`str`, *optional*): the filter; all experiments when not given.
        order_by (`list[str]`, *optional*): e.g. ``["name ASC"]``.

    Returns:
        `list[Experiment]`
    """
    client = _client()
    out: list[Experiment] = []
    token = None
    while True:
        page_size = min(max_results - len(out), 1000) if max_results else 1000
        if page_size <= 0:
            break
        page = client.search_experiments(view_type, page_size, filter_string, order_by, token)
        out.extend(page)
        token = page.token
        if not token:
            break
    return out


def delete_experiment(experiment_id: str) -> None:
    """Delete an experiment and its runs (soft: `restore_experiment` brings them back).

    Args:
        experiment_id (`str`): the experiment's id.
    """
    _client().delete_experiment(experiment_id)


def restore_experiment(experiment_id: str) -> None:
    """Restore a deleted experiment and its runs.

    Args:
        experiment_id (`str`): the experiment's id.
    """
    _client().restore_experiment(experiment_id)


def set_experiment_tag(key: str, value: Any) -> None:
    """Set a tag on the current experiment (`set_experiment`, else the default one).

    Args:
        key (`str`): the tag name.
        value (`Any`): the tag value (stored as a string).
    """
    _client().set_experiment_tag(_current_experiment_id(), key, value)


def set_experiment_tags(tags: dict[str, Any]) -> None:
    """Set several tags on the current experiment.

    Args:
        tags (`dict[str, Any]`): tag name -> value.
    """
    for key, value in tags.items():
        set_experiment_tag(key, value)


def _current_experiment() -> tuple[str | None, str | None]:
    """The current experiment without the store: ``(id, None)``, or ``(None, name)`` when only its name is
    known (``HF_MLTRACK_EXPERIMENT_NAME``). `set_experiment` > ``HF_MLTRACK_EXPERIMENT_ID`` > ``_NAME`` >
    the "Default" experiment."""
    if _active_experiment_id is not None:
        return _active_experiment_id, None
    if _env.EXPERIMENT_ID.get():
        return str(_env.EXPERIMENT_ID.get()), None
    name = _env.EXPERIMENT_NAME.get()
    return (None, name) if name else (_DEFAULT_EXPERIMENT_ID, None)


def _current_experiment_id() -> str:
    global _active_experiment_id
    experiment_id, name = _current_experiment()
    if experiment_id is None:
        assert name is not None
        return set_experiment(name).experiment_id
    if experiment_id == _active_experiment_id and experiment_id.startswith(OFFLINE_EXPERIMENT_PREFIX):
        # set while the server was unreachable: its id once the server answers (else still offline)
        _active_experiment_id = experiment_id = _client().store.server_experiment_id(experiment_id)
    return experiment_id


# ---- runs ---------------------------------------------------------------------------------
def start_run(
    run_id: str | None = None,
    experiment_id: str | None = None,
    run_name: str | None = None,
    nested: bool = False,
    parent_run_id: str | None = None,
    tags: dict[str, Any] | None = None,
    description: str | None = None,
    log_system_metrics: bool | None = None,
) -> ActiveRun:
    """Start a run (or resume one) and make it active; use it as a context manager.

    Args:
        run_id (`str`, *optional*): resume this existing run (also read from ``HF_MLTRACK_RUN_ID``).
        experiment_id (`str`, *optional*): defaults to the current experiment (``set_experiment``),
            else ``HF_MLTRACK_EXPERIMENT_ID``/``_NAME``, else the "Default" experiment ``"0"``.
        run_name (`str`, *optional*): display name (tag ``hf_mltrack.runName``).
        nested (`bool`, *optional*, defaults to `False`): start a child of the active run.
        parent_run_id (`str`, *optional*): make the run a child of this run.
        tags (`dict`, *optional*): run tags.
        description (`str`, *optional*): Markdown description (tag ``hf_mltrack.note.content``).
        log_system_metrics (`bool`, *optional*): sample CPU, memory and GPU while the run is active
            (default from ``HF_MLTRACK_ENABLE_SYSTEM_METRICS_LOGGING``).
    """
    global _last_active_run_id
    stack = _run_stack.get()
    if stack and not nested and parent_run_id is None:
        raise InvalidStateError(
            f"Run {stack[-1].info.run_id} is already active. To start a nested run, call start_run with "
            "nested=True; to start a new top-level run, call end_run() first"
        )
    if nested and stack and parent_run_id is None:
        parent_run_id = stack[-1].info.run_id
    client = _client()
    existing_id = run_id or (_env.RUN_ID.get() if not stack else None)
    if existing_id:
        run = _resume_run(client, existing_id, experiment_id, run_name, tags, description, parent_run_id)
    else:
        all_tags = {
            **default_tags(),
            **(tags or {}),
            **_description_tags(description, run_name, parent_run_id),
        }
        if parent_run_id is not None and not any(r.info.run_id == parent_run_id for r in stack):
            client.get_run(parent_run_id)  # fail early on a bad parent id (an active run is known to exist)
        run = client.create_run(str(experiment_id or _current_experiment_id()), tags=all_tags, run_name=run_name)
    active = ActiveRun(run)
    _run_stack.set((*stack, active))
    _last_active_run_id = active.info.run_id
    if log_system_metrics if log_system_metrics is not None else _env.SYSTEM_METRICS.get():
        from .system_metrics import SystemMetricsMonitor

        active._system_monitor = SystemMetricsMonitor(client, active.info.run_id)
        active._system_monitor.start()
    return active


def _start_run_in_background(
    run_name: str | None = None,
    tags: dict[str, Any] | None = None,
    log_system_metrics: bool | None = None,
    experiment_name: str | None = None,
) -> ActiveRun:
    """`start_run` of a new top-level run that returns before the store is opened (the Trainer's path).

    The run's id is chosen here; the store is opened, the experiment (``experiment_name``, else the
    current one) resolved and the run created on a thread (`_run_start`); what is logged meanwhile
    is queued right after. ``run.info.run_id`` is known at once; ``experiment_id`` and
    ``artifact_uri`` wait for the creation. Falls back to `start_run` where the store cannot take
    a client-chosen id (a server), for ``HF_MLTRACK_RUN_ID`` (a resume) and inside an active run.
    """
    global _last_active_run_id
    uri = get_tracking_uri()
    if _run_stack.get() or _env.RUN_ID.get() or not _run_start.background_capable(uri):
        if experiment_name:
            set_experiment(experiment_name)
        return start_run(run_name=run_name, tags=tags, log_system_metrics=log_system_metrics)
    experiment_id = None
    if not experiment_name:
        experiment_id, experiment_name = _current_experiment()
    from .context import current_user

    all_tags = {**(tags or {}), **_description_tags(None, run_name, None)}
    user = str(all_tags.get("hf_mltrack.user") or current_user())
    start = _run_start.new_start(uri, experiment_id, experiment_name, all_tags, run_name, int(time.time() * 1000), user)
    active = ActiveRun(_run_start.starting_run(start), start)
    _run_stack.set((*_run_stack.get(), active))
    _last_active_run_id = start.run_id
    if log_system_metrics if log_system_metrics is not None else _env.SYSTEM_METRICS.get():
        from .system_metrics import SystemMetricsMonitor

        active._system_monitor = monitor = SystemMetricsMonitor(_client(), start.run_id)
        start.after(lambda run: monitor.start() if not monitor._stop.is_set() else None)
    return active


def _resume_run(
    client: MlTrackClient,
    run_id: str,
    experiment_id: str | None,
    run_name: str | None,
    tags: dict[str, Any] | None,
    description: str | None,
    parent_run_id: str | None,
) -> Run:
    try:
        run = client.get_run(run_id)
    except ResourceNotFoundError:
        raise ResourceNotFoundError(
            f"Cannot resume run {run_id!r}: no such run in {client.tracking_uri}. Check the run id "
            "(and HF_MLTRACK_RUN_ID) or the tracking URI"
        ) from None
    if experiment_id is not None and str(experiment_id) != run.info.experiment_id:
        raise InvalidParameterError(
            f"Run {run_id!r} belongs to experiment {run.info.experiment_id!r}, not {experiment_id!r}: "
            "drop experiment_id when resuming a run"
        )
    if run.info.lifecycle_stage != LifecycleStage.ACTIVE:
        raise InvalidStateError(f"Run {run_id!r} is deleted: restore it with MlTrackClient().restore_run({run_id!r})")
    client.store.update_run_info(run_id, RunStatus.RUNNING, None, run_name)
    extra = {**(tags or {}), **_description_tags(description, None, parent_run_id)}
    if extra:
        client.log_batch(run_id, tags=[RunTag(k, str(val)) for k, val in extra.items()], synchronous=True)
    return client.get_run(run_id)


def end_run(status: str = RunStatus.FINISHED) -> None:
    """End the active run (FINISHED by default) after writing everything queued for it.

    Does nothing when no run is active. A nested run ends first; its parent becomes the active run.

    Args:
        status (`str`, *optional*, defaults to `"FINISHED"`): ``"FINISHED"``, ``"FAILED"`` or ``"KILLED"``.
    """
    stack = _run_stack.get()
    if not stack:
        return
    run = stack[-1]
    _run_stack.set(stack[:-1])
    _param_cache.pop(run.info.run_id, None)
    if run._system_monitor is not None:
        run._system_monitor.stop()
    if run._start is not None and run._start.wait() is None:
        _run_start.forget(run.info.run_id)
        return  # its creation failed: said once already (a warning, and the next flush raises it)
    _client().set_terminated(run.info.run_id, RunStatus.validate(status))


def active_run() -> ActiveRun | None:
    """The innermost active run, or None."""
    stack = _run_stack.get()
    return stack[-1] if stack else None


def last_active_run() -> Run | None:
    """The active run, else the most recently started run of this process (as stored now)."""
    current = active_run()
    run_id = current.info.run_id if current else _last_active_run_id
    return get_run(run_id) if run_id else None


def get_run(run_id: str) -> Run:
    """The run with that id, with its latest metrics, params and tags.

    Args:
        run_id (`str`): the run's id.

    Returns:
        `Run`
    """
    return _client().get_run(run_id)


def get_parent_run(run_id: str) -> Run | None:
    """The parent of a nested run, or None for a top-level run.

    Args:
        run_id (`str`): the child run's id.

    Returns:
        `Run` or `None`.
    """
    return _client().get_parent_run(run_id)


def delete_run(run_id: str) -> None:
    """Delete a run (soft: `restore_run` brings it back).

    Args:
        run_id (`str`): the run's id.
    """
    _client().delete_run(run_id)


def restore_run(run_id: str) -> None:
    """Restore a deleted run.

    Args:
        run_id (`str`): the run's id.
    """
    _client().restore_run(run_id)


def _get_or_start_run() -> ActiveRun:
    stack = _run_stack.get()
    return stack[-1] if stack else start_run()


def _run_id(run_id: str | None) -> str:
    if run_id:
        return run_id
    stack = _run_stack.get()
    return (stack[-1] if stack else start_run()).info.run_id


# ---- logging ------------------------------------------------------------------------------
def log_param(key: str, value: Any, synchronous: bool | None = None) -> Any:
    """Log a param of the active run (a run is started if none is active); returns the value.

    Values are str, int, float, bool or None. Logging the same value again is fine; a different
    value is an error naming the key and both values.

    Args:
        key (`str`): the param name.
        value (`Any`): the value (stored as a string).
        synchronous (`bool`, *optional*): write before returning; by default it is queued.

    Returns:
        `Any`: ``value``.
    """
    log_params({key: value}, synchronous=synchronous)
    return value


def log_params(params: dict[str, Any], synchronous: bool | None = None, run_id: str | None = None) -> None:
    """Log several params at once (one write).

    Args:
        params (`dict[str, Any]`): param name -> value; each value as in `log_param`.
        synchronous (`bool`, *optional*): write before returning; by default they are queued.
        run_id (`str`, *optional*): log to this run instead of the active one.

    Raises:
        [`~hf_mltrack.exceptions.InvalidParameterError`]: a param was already logged with another value.
    """
    rid = _run_id(run_id)
    seen = _param_cache.setdefault(rid, {})
    objs: list[Param] = []
    for key, value in params.items():
        v.validate_key("param", key)
        text = v.param_value_to_str(key, value)
        old = seen.get(key)
        if old is not None and old != text:
            raise InvalidParameterError(
                f"Param {key!r} of run {rid!r} was already logged with value {old!r}; it cannot be changed to "
                f"{text!r}. Params are immutable: log the new value under another key, or start a new run"
            )
        objs.append(Param(key, text))
    _client()._submit(rid, [], objs, [], synchronous)
    for p in objs:
        seen[p.key] = p.value


def log_metric(
    key: str,
    value: float,
    step: int | None = None,
    synchronous: bool | None = None,
    timestamp: int | None = None,
    run_id: str | None = None,
    model_id: str | None = None,
    dataset: Any = None,
) -> None:
    """Log one metric point to the active run; returns at once (written in the background).

    Args:
        key (`str`): metric name.
        value (`float`): a number; NaN and +-inf are kept, None is an error.
        step (`int`, *optional*, defaults to `0`): the step; a later value at the same step replaces
            the earlier one.
        synchronous (`bool`, *optional*): write before returning (default: asynchronous, unless
            ``HF_MLTRACK_ENABLE_ASYNC_LOGGING=false``).
        timestamp (`int`, *optional*): milliseconds since the epoch; defaults to now.
        run_id (`str`, *optional*): log to this run instead of the active one.
        model_id (`str`, *optional*): the logged model (``m-...``) the value is about (default: the
            active model of `set_active_model`); the point is linked to it.
        dataset (`hf_mltrack.data.Dataset`, *optional*): the dataset it was computed on.
    """
    stack = _run_stack.get()
    rid = run_id or (stack[-1] if stack else start_run()).info.run_id
    if key not in _VALID_KEYS:  # keys repeat at every step: validated once
        v.validate_key("metric", key)
    if type(value) is not float:
        value = v.metric_value(key, value)
    if step is None:
        step = 0
    elif type(step) is not int:
        step = v.metric_step(key, step)
    if not model_id:  # get_active_model_id(), inline
        model_id = _active_model_id() or _fluent_models._env_model_id
    ts = timestamp or _time_ns() // 1_000_000
    client = _clients.get(_tracking_uri) if _tracking_uri else None  # _client(), its common case inline
    if model_id is None and dataset is None:
        (client or _client())._submit_value(rid, key, value, ts, step, synchronous)
    else:
        name, digest = (dataset.name, dataset.digest) if dataset is not None else (None, None)
        metric = Metric(key, value, ts, step, name, digest, model_id)
        (client or _client())._submit(rid, [metric], (), (), synchronous)


def log_metrics(
    metrics: dict[str, float],
    step: int | None = None,
    synchronous: bool | None = None,
    timestamp: int | None = None,
    run_id: str | None = None,
    model_id: str | None = None,
    dataset: Any = None,
) -> None:
    """Log several metrics at the same step (one queue entry, one write).

    Args:
        metrics (`dict[str, float]`): metric name -> value.
        step (`int`, *optional*, defaults to 0): the training step of every value.
        synchronous (`bool`, *optional*): write before returning; by default they are queued.
        timestamp (`int`, *optional*): milliseconds since the epoch; now when not given.
        run_id (`str`, *optional*): log to this run instead of the active one.
        model_id (`str`, *optional*): the logged model they are about (default: the active model).
        dataset (`hf_mltrack.data.Dataset`, *optional*): the dataset they were computed on.
    """
    rid = _run_id(run_id)
    ts = timestamp or int(_time() * 1000)
    step_ = v.metric_step("metrics", step)
    model_id = model_id or _fluent_models.get_active_model_id()
    name, digest = (dataset.name, dataset.digest) if dataset is not None else (None, None)
    valid, value_of = _VALID_KEYS, v.metric_value
    objs: list[tuple] = [
        (
            k if k in valid else v.validate_key("metric", k),
            val if type(val) is float else value_of(k, val),
            ts,
            step_,
            name,
            digest,
            model_id,
            None,
        )
        for k, val in metrics.items()
    ]
    if model_id is not None or name is not None or synchronous or not _env.ASYNC_LOGGING.get():
        objs = [Metric._make(m) for m in objs]  # linked or written now: Metric objects (see log_metric)
    _client()._submit(rid, objs, (), (), synchronous)  # type: ignore[arg-type]


def set_tag(key: str, value: Any, synchronous: bool | None = None) -> None:
    """Set a tag on the active run (tags are mutable).

    Args:
        key (`str`): the tag name.
        value (`Any`): the tag value (stored as a string).
        synchronous (`bool`, *optional*): write before returning.
    """
    set_tags({key: value}, synchronous=synchronous)


def set_tags(tags: dict[str, Any], synchronous: bool | None = None) -> None:
    """Set several tags on the active run (a run is started if none is active).

    Args:
        tags (`dict[str, Any]`): tag name -> value.
        synchronous (`bool`, *optional*): write before returning.
    """
    rid = _run_id(None)
    objs = [RunTag(v.validate_key("tag", k), v.tag_value_to_str(k, val)) for k, val in tags.items()]
    _client()._submit(rid, [], [], objs, synchronous)


def delete_tag(key: str) -> None:
    """Remove a tag from the active run.

    Args:
        key (`str`): the tag name.
    """
    _client().delete_tag(_run_id(None), key)


def flush_async_logging() -> None:
    """Write everything queued now; raise if the store rejected any logged data."""
    _batcher.flush(raise_errors=True)


# ---- search -------------------------------------------------------------------------------
def search_runs(
    experiment_ids: Sequence[str] | None = None,
    filter_string: str = "",
    run_view_type: int = ViewType.ACTIVE_ONLY,
    max_results: int = SEARCH_MAX_RESULTS_PANDAS,
    order_by: Sequence[str] | None = None,
    output_format: Literal["pandas", "list"] = "pandas",
    search_all_experiments: bool = False,
    experiment_names: Sequence[str] | None = None,
) -> pd.DataFrame | list[Run]:
    """Search runs; a pandas DataFrame (default) or a list of `Run`.

    Args:
        experiment_ids (`list[str]`, *optional*): where to search; defaults to the current experiment.
        filter_string (`str`, *optional*): e.g. ``"metrics.eval_loss < 1.5 and params.model_name = 'x'"``.
        run_view_type (`int`, *optional*, defaults to `ViewType.ACTIVE_ONLY`): ``ACTIVE_ONLY``,
            ``DELETED_ONLY`` or ``ALL``.
        max_results (`int`, *optional*, defaults to 100000): at most this many runs (all pages are read).
        order_by (`list[str]`, *optional*): e.g. ``["metrics.eval_loss ASC"]``.
        output_format (`str`, *optional*, defaults to `"pandas"`): ``"pandas"`` or ``"list"``.
        search_all_experiments (`bool`, *optional*): search every active experiment.
        experiment_names (`list[str]`, *optional*): experiments by name (unknown names are skipped).

    Returns:
        `pandas.DataFrame` (one row per run: ``run_id``, ``status``, ``start_time``, ...,
        ``metrics.*``, ``params.*``, ``tags.*``) or `list[Run]`.
    """
    if output_format not in ("pandas", "list"):
        raise InvalidParameterError(f"Invalid output_format {output_format!r}: use 'pandas' or 'list'")
    client = _client()
    ids = [str(e) for e in ([experiment_ids] if isinstance(experiment_ids, str) else experiment_ids or [])]
    for name in experiment_names or []:
        exp = client.get_experiment_by_name(name)
        if exp is not None:
            ids.append(exp.experiment_id)
    if search_all_experiments:
        ids = [e.experiment_id for e in search_experiments(view_type=ViewType.ACTIVE_ONLY)]
    elif not ids and not experiment_names:
        ids = [_current_experiment_id()]
    runs: list[Run] = []
    if ids:
        token = None
        while len(runs) < max_results:
            page = client.search_runs(
                ids, filter_string, run_view_type, min(max_results - len(runs), 50_000), order_by, token
            )
            runs.extend(page)
            token = page.token
            if not token:
                break
    if output_format == "list":
        return runs
    from ._dataframe import runs_to_dataframe

    return runs_to_dataframe(runs)


__all__ = [
    "ActiveRun",
    "active_run",
    "create_experiment",
    "delete_experiment",
    "delete_run",
    "delete_tag",
    "end_run",
    "flush_async_logging",
    "get_experiment",
    "get_experiment_by_name",
    "get_parent_run",
    "get_run",
    "get_tracking_uri",
    "is_tracking_uri_set",
    "last_active_run",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "restore_experiment",
    "restore_run",
    "search_experiments",
    "search_runs",
    "set_experiment",
    "set_experiment_tag",
    "set_experiment_tags",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "start_run",
]
