"""`MlTrackClient`: the explicit, run-id based API (MLflow's ``MlflowClient`` under our name)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from .. import _env
from ..entities import Experiment, LifecycleStage, Metric, PagedList, Param, Run, RunStatus, RunTag, ViewType
from ..exceptions import InvalidParameterError, is_transient, run_not_active
from ..utils import validation as v
from . import _batcher, _run_start
from ._uri import resolve_tracking_uri
from .context import NOTE_TAG, PARENT_RUN_ID_TAG, RUN_NAME_TAG

if TYPE_CHECKING:
    from ..store.base import AbstractStore

from ..artifacts.client_mixin import ArtifactClientMixin
from ..registry.client_mixin import RegistryClientMixin
from ..tracing.client_mixin import TracingClientMixin
from .logged_models_client import LoggedModelClientMixin


def _now_ms() -> int:
    return int(time.time() * 1000)


# Run ids a client has seen active, so that queued log calls check their run once, not per call.
_LIVE_RUNS_LIMIT = 4096
_async_logging_set = _env.ASYNC_LOGGING.is_set  # (a C-level callable, bound once: see `EnvVar.is_set`)


class MlTrackClient(ArtifactClientMixin, RegistryClientMixin, TracingClientMixin, LoggedModelClientMixin):
    """Client for a tracking store, addressing runs and experiments by id.

    Args:
        tracking_uri (`str`, *optional*): a folder, ``sqlite:///file.db``, ``postgresql://...`` or the
            ``http(s)://`` address of an ``hf-mltrack server``. Defaults to the current tracking URI
            (``set_tracking_uri``, then ``HF_MLTRACK_TRACKING_URI``, then ``./mlruns``).
        registry_uri (`str`, *optional*): the model registry store; defaults to the tracking URI.
    """

    def __init__(self, tracking_uri: str | None = None, registry_uri: str | None = None) -> None:
        if tracking_uri is None:
            from .fluent import get_tracking_uri

            tracking_uri = get_tracking_uri()
        self._tracking_uri = resolve_tracking_uri(tracking_uri)
        if registry_uri is None:
            from ..registry import fluent as registry_fluent

            registry_uri = registry_fluent._registry_uri
        self._registry_uri = resolve_tracking_uri(registry_uri or _env.REGISTRY_URI.get() or self._tracking_uri)
        self._store: AbstractStore | None = None
        self._live_runs: set[str] = set()

    def __repr__(self) -> str:
        return f"MlTrackClient(tracking_uri={self._tracking_uri!r})"

    @property
    def tracking_uri(self) -> str:
        return self._tracking_uri

    @property
    def store(self) -> AbstractStore:
        if self._store is None:
            from ..store import get_tracking_store

            self._store = get_tracking_store(self._tracking_uri)
        return self._store

    def _read(self) -> AbstractStore:
        # Read-your-writes: runs being created exist and pending async writes land before any read.
        if _run_start._PENDING:
            _run_start.settle()
        _batcher.flush(raise_errors=False)
        return self.store

    # ---- experiments -------------------------------------------------------------------
    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: dict[str, Any] | None = None
    ) -> str:
        """Create an experiment and return its id.

        Args:
            name (`str`): unique experiment name.
            artifact_location (`str`, *optional*): where its runs store artifacts (a path or URI).
            tags (`dict`, *optional*): experiment tags.
        """
        return self.store.create_experiment(name, artifact_location, {k: str(val) for k, val in (tags or {}).items()})

    def get_experiment(self, experiment_id: str) -> Experiment:
        """The experiment with that id.

        Args:
            experiment_id (`str`): the experiment's id (``"0"`` is the "Default" experiment).

        Returns:
            `Experiment`: its name, artifact location, lifecycle stage and tags.

        Raises:
            [`~hf_mltrack.exceptions.ResourceNotFoundError`]: no experiment has that id.
        """
        return self.store.get_experiment(str(experiment_id))

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        """The experiment of that name, or None if there is none.

        Args:
            name (`str`): the experiment's name.

        Returns:
            `Experiment` or `None`.
        """
        return self.store.get_experiment_by_name(name)

    def search_experiments(
        self,
        view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        """One page of experiments matching a filter such as ``"tags.team = 'nlp'"`` or ``"name LIKE 'llm-%'"``.

        Args:
            view_type (`int`, *optional*, defaults to `ViewType.ACTIVE_ONLY`): ``ACTIVE_ONLY``, ``DELETED_ONLY``
                or ``ALL``.
            max_results (`int`, *optional*, defaults to 1000): the page size.
            filter_string (`str`, *optional*): the filter; all experiments when not given.
            order_by (`list[str]`, *optional*): e.g. ``["name ASC"]`` or ``["creation_time DESC"]``.
            page_token (`str`, *optional*): the ``token`` of the previous page.

        Returns:
            `PagedList[Experiment]`: the page; its ``token`` fetches the next one (None on the last page).
        """
        return self.store.search_experiments(view_type, max_results, filter_string, order_by, page_token)

    def delete_experiment(self, experiment_id: str) -> None:
        """Delete an experiment and its runs (soft: `restore_experiment` brings them back).

        Args:
            experiment_id (`str`): the experiment's id.
        """
        self.store.delete_experiment(str(experiment_id))

    def restore_experiment(self, experiment_id: str) -> None:
        """Restore a deleted experiment and its runs.

        Args:
            experiment_id (`str`): the experiment's id.
        """
        self.store.restore_experiment(str(experiment_id))

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        """Rename an experiment.

        Args:
            experiment_id (`str`): the experiment's id.
            new_name (`str`): its new name (unique among experiments).
        """
        self.store.rename_experiment(str(experiment_id), new_name)

    def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        """Set a tag on an experiment (tags are mutable; the value is stored as a string).

        Args:
            experiment_id (`str`): the experiment's id.
            key (`str`): the tag name.
            value (`Any`): the tag value.
        """
        v.validate_key("tag", key)
        self.store.set_experiment_tag(str(experiment_id), key, v.tag_value_to_str(key, value))

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        """Remove a tag from an experiment.

        Args:
            experiment_id (`str`): the experiment's id.
            key (`str`): the tag name.
        """
        self.store.delete_experiment_tag(str(experiment_id), key)

    # ---- runs ----------------------------------------------------------------------------
    def create_run(
        self,
        experiment_id: str,
        start_time: int | None = None,
        tags: dict[str, Any] | None = None,
        run_name: str | None = None,
        params: dict[str, Any] | None = None,
        metrics: dict[str, float] | None = None,
    ) -> Run:
        """Create a RUNNING run in an experiment; tags, params and metrics are written with it.

        Args:
            experiment_id (`str`): the experiment.
            start_time (`int`, *optional*): milliseconds since the epoch; defaults to now.
            tags (`dict`, *optional*): run tags (system tags such as ``hf_mltrack.user`` included).
            run_name (`str`, *optional*): display name; a random one when not given.
            params (`dict`, *optional*): params to log with the run (in the same write).
            metrics (`dict[str, float]`, *optional*): metrics to log at step 0 with the run.

        Returns:
            `Run`: the new run.
        """
        from .context import current_user

        tag_objs = [RunTag(v.validate_key("tag", k), v.tag_value_to_str(k, val)) for k, val in (tags or {}).items()]
        user = (tags or {}).get("hf_mltrack.user") or current_user()
        ts = start_time or _now_ms()
        param_objs = [
            Param(v.validate_key("param", k), v.param_value_to_str(k, val)) for k, val in (params or {}).items()
        ]
        metric_objs = [
            Metric(v.validate_key("metric", k), v.metric_value(k, val), ts, 0) for k, val in (metrics or {}).items()
        ]
        run = self.store.create_run(
            str(experiment_id), user, ts, tag_objs, run_name, params=param_objs, metrics=metric_objs
        )
        self._remember_live(run.info.run_id)
        return run

    def get_run(self, run_id: str) -> Run:
        """The run with its latest metrics, params and tags.

        Queued log calls are written first, so a run always shows what was logged to it.

        Args:
            run_id (`str`): the run's id.

        Returns:
            `Run`: ``info`` (ids, status, times, artifact URI) and ``data`` (``metrics``, ``params``, ``tags``).

        Raises:
            [`~hf_mltrack.exceptions.ResourceNotFoundError`]: no run has that id.
        """
        return self._read().get_run(run_id)

    def get_parent_run(self, run_id: str) -> Run | None:
        """The parent of a nested run (from its ``hf_mltrack.parentRunId`` tag), or None for a top-level run.

        Args:
            run_id (`str`): the child run's id.

        Returns:
            `Run` or `None`.
        """
        parent = self.get_run(run_id).data.tags.get(PARENT_RUN_ID_TAG)
        return self.get_run(parent) if parent else None

    def update_run(self, run_id: str, status: str | None = None, name: str | None = None) -> None:
        """Change a run's status and/or name; a terminal status also sets its end time.

        Args:
            run_id (`str`): the run's id.
            status (`str`, *optional*): ``"RUNNING"``, ``"SCHEDULED"``, ``"FINISHED"``, ``"FAILED"`` or ``"KILLED"``.
            name (`str`, *optional*): the new run name.
        """
        end_time = _now_ms() if status and RunStatus.is_terminated(status) else None
        _run_start.settle()
        self.store.update_run_info(run_id, status, end_time, name)

    def set_terminated(self, run_id: str, status: str | None = None, end_time: int | None = None) -> None:
        """Mark a run ended (default FINISHED) after writing everything queued for it.

        Args:
            run_id (`str`): the run's id.
            status (`str`, *optional*, defaults to `"FINISHED"`): ``"FINISHED"``, ``"FAILED"`` or ``"KILLED"``.
            end_time (`int`, *optional*): milliseconds since the epoch; now when not given.
        """
        status = RunStatus.validate(status or RunStatus.FINISHED)
        end_time = end_time or _now_ms()
        _run_start.settle()  # a run created in the background exists, its held writes queued
        if _batcher._SOURCES:  # what producers hold (a Trainer's last logs) is queued too
            _batcher.drain_sources()
        batcher = _batcher._BATCHER
        if batcher is not None and batcher.pending():
            # The run's last points and its status go to the store together (one commit).
            batcher.flush(raise_errors=False, terminate=(self.store, run_id, status, end_time))
        else:
            self.store.update_run_info(run_id, status, end_time)
        report = getattr(self.store, "undelivered_report", None)
        if report is not None:
            message = report(run_id)
            if message:  # the server is unreachable: say loudly what is kept, and where
                import warnings

                warnings.warn(message, stacklevel=3)

    def delete_run(self, run_id: str) -> None:
        """Delete a run (soft: `restore_run` brings it back; ``hf-mltrack gc`` removes it for good).

        Args:
            run_id (`str`): the run's id.
        """
        _run_start.settle()
        _batcher.flush(raise_errors=False)
        self._live_runs.discard(run_id)
        self.store.delete_run(run_id)

    def restore_run(self, run_id: str) -> None:
        """Restore a deleted run.

        Args:
            run_id (`str`): the run's id.
        """
        self.store.restore_run(run_id)

    # ---- logging ---------------------------------------------------------------------------
    def _remember_live(self, run_id: str) -> None:
        live = self._live_runs
        if len(live) >= _LIVE_RUNS_LIMIT:
            live.clear()
        live.add(run_id)

    def _check_live(self, run_id: str) -> None:
        """Raise now, at the user's call, if the run does not exist or is deleted (MLflow's client does);
        queued writes would otherwise fail later, in the background. Checked once per run and client."""
        if run_id in self._live_runs:
            return
        if not isinstance(run_id, str) or not run_id:
            raise InvalidParameterError(f"Invalid run_id {run_id!r}: give the id of an existing run")
        try:
            info = self.store.get_run(run_id).info  # ResourceNotFoundError names the id
        except Exception as exc:
            if not is_transient(exc):
                raise
            # The server is unreachable: the check cannot be made now, and training must not stop for it.
            # The write goes to the journal; a run the server does not know is reported at delivery.
            self._remember_live(run_id)
            return
        if info.lifecycle_stage != LifecycleStage.ACTIVE:
            raise run_not_active(run_id)
        self._remember_live(run_id)

    def _submit(
        self,
        run_id: str,
        metrics: list[Metric],
        params: Sequence[Param],
        tags: Sequence[RunTag],
        synchronous: bool | None,
    ) -> None:
        if run_id not in self._live_runs:
            start = _run_start.lookup(run_id)
            if start is not None and start.hold(self, metrics, params, tags, synchronous):
                return  # the run is being created: queued right after it exists
            self._check_live(run_id)
        if synchronous is None:
            synchronous = not _env.ASYNC_LOGGING.get()
        if synchronous:
            _batcher.flush(raise_errors=False)  # keep the order of earlier queued writes
            self.store.log_batch(run_id, metrics, params, tags)
        else:
            _batcher.get_batcher().enqueue(self.store, run_id, metrics, params, tags)

    def _submit_value(
        self, run_id: str, key: str, value: float, timestamp: int, step: int, synchronous: bool | None
    ) -> None:
        """`_submit` of one point without a logged model or dataset (the fluent ``log_metric``'s path):
        queued as three column appends (`AsyncBatcher.append_point`), no object per point."""
        if synchronous is None:  # (unset, the usual case, means asynchronous: `get` is skipped)
            synchronous = _async_logging_set() and not _env.ASYNC_LOGGING.get()
        store = self._store
        if synchronous or store is None or run_id not in self._live_runs:
            # Written now, or the run's first point (or a run being created): the general path.
            self._submit(run_id, [Metric(key, value, timestamp, step)], (), (), synchronous)
        else:
            (_batcher._BATCHER or _batcher.get_batcher()).append_point(store, run_id, key, value, timestamp, step)

    def log_param(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> Any:
        """Log a param (str, int, float, bool or None). Re-logging the same value is fine.

        Args:
            run_id (`str`): the run's id.
            key (`str`): the param name.
            value (`Any`): the value, stored as a string (longer than ``HF_MLTRACK_PARAM_VALUE_MAX_LENGTH``:
                truncated with a warning).
            synchronous (`bool`, *optional*): write before returning; defaults to the opposite of
                ``HF_MLTRACK_ENABLE_ASYNC_LOGGING``.

        Returns:
            `Any`: ``value``.
        """
        v.validate_key("param", key)
        self._submit(run_id, [], [Param(key, v.param_value_to_str(key, value))], [], synchronous)
        return value

    def log_metric(
        self,
        run_id: str,
        key: str,
        value: float,
        timestamp: int | None = None,
        step: int | None = None,
        synchronous: bool | None = None,
        dataset_name: str | None = None,
        dataset_digest: str | None = None,
        model_id: str | None = None,
    ) -> None:
        """Log one metric point. The same key at the same step: the later value replaces the earlier.

        Args:
            run_id (`str`): the run's id.
            key (`str`): the metric name.
            value (`float`): the value (NaN and infinities are kept).
            timestamp (`int`, *optional*): milliseconds since the epoch; now when not given.
            step (`int`, *optional*, defaults to 0): the training step.
            synchronous (`bool`, *optional*): write before returning; by default the point is queued and a
                background thread writes it.
            dataset_name (`str`, *optional*): the name of the dataset it was computed on (MLflow 3 keys
                logged-model metrics by dataset, e.g. to compare models on ``"eval"``).
            dataset_digest (`str`, *optional*): that dataset's digest (`hf_mltrack.data.Dataset.digest`).
            model_id (`str`, *optional*): the logged model (``m-...``) it is about; the point is also
                linked to that model (``get_logged_model(model_id).metrics``).
        """
        v.validate_key("metric", key)
        metric = Metric(
            key,
            v.metric_value(key, value),
            timestamp or int(time.time() * 1000),
            v.metric_step(key, step),
            dataset_name or None,
            dataset_digest or None,
            model_id or None,
        )
        self._submit(run_id, [metric], [], [], synchronous)

    def set_tag(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> None:
        """Set a tag on a run (tags are mutable; the value is stored as a string).

        Args:
            run_id (`str`): the run's id.
            key (`str`): the tag name (``hf_mltrack.*`` names are system tags, e.g. ``hf_mltrack.runName``).
            value (`Any`): the tag value.
            synchronous (`bool`, *optional*): write before returning.
        """
        v.validate_key("tag", key)
        self._submit(run_id, [], [], [RunTag(key, v.tag_value_to_str(key, value))], synchronous)

    def delete_tag(self, run_id: str, key: str) -> None:
        """Remove a tag from a run.

        Args:
            run_id (`str`): the run's id.
            key (`str`): the tag name.
        """
        _run_start.settle()
        _batcher.flush(raise_errors=False)
        self.store.delete_tag(run_id, key)

    def log_batch(
        self,
        run_id: str,
        metrics: Iterable[Metric] = (),
        params: Iterable[Param] = (),
        tags: Iterable[RunTag] = (),
        synchronous: bool | None = None,
    ) -> None:
        """Log metrics, params and tags of one run together (one transaction).

        Args:
            run_id (`str`): the run's id.
            metrics (`Iterable[Metric]`, *optional*): metric points.
            params (`Iterable[Param]`, *optional*): params.
            tags (`Iterable[RunTag]`, *optional*): tags.
            synchronous (`bool`, *optional*): write before returning.
        """
        metric_list = [
            Metric(
                v.validate_key("metric", m.key),
                v.metric_value(m.key, m.value),
                m.timestamp,
                v.metric_step(m.key, m.step),
                getattr(m, "dataset_name", None),
                getattr(m, "dataset_digest", None),
                getattr(m, "model_id", None),
            )
            for m in metrics
        ]
        param_list = [Param(v.validate_key("param", p.key), v.param_value_to_str(p.key, p.value)) for p in params]
        tag_list = [RunTag(v.validate_key("tag", t.key), v.tag_value_to_str(t.key, t.value)) for t in tags]
        self._submit(run_id, metric_list, param_list, tag_list, synchronous)

    def flush(self) -> None:
        """Write every queued point now; raise if the store rejected any."""
        _batcher.flush(raise_errors=True)

    # ---- reads -----------------------------------------------------------------------------
    def get_metric_history(self, run_id: str, key: str) -> Sequence[Metric]:
        """Every point of a metric, ordered by step (one per step).

        Args:
            run_id (`str`): the run's id.
            key (`str`): the metric name.

        Returns:
            `list[Metric]`: ``key``, ``value``, ``timestamp`` and ``step`` of each point.
        """
        return self._read().get_metric_history(run_id, key)

    def get_metric_history_bulk_interval(
        self,
        run_ids: Sequence[str],
        metric_key: str,
        max_results: int = 2000,
        start_step: int | None = None,
        end_step: int | None = None,
    ) -> dict[str, list[Metric]]:
        """At most ``max_results`` points per run for charts, keeping each bucket's min and max.

        Args:
            run_ids (`list[str]`): the runs (one id is accepted too).
            metric_key (`str`): the metric name.
            max_results (`int`, *optional*, defaults to 2000): points per run at most.
            start_step (`int`, *optional*): the first step to include.
            end_step (`int`, *optional*): the last step to include.

        Returns:
            `dict[str, list[Metric]]`: run id -> its points, in step order.
        """
        if isinstance(run_ids, str):
            run_ids = [run_ids]
        return self._read().get_metric_history_bulk_interval(
            list(run_ids), metric_key, max_results, start_step, end_step
        )

    def search_runs(
        self,
        experiment_ids: str | Sequence[str],
        filter_string: str = "",
        run_view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        """Runs matching a filter such as ``"metrics.eval_loss < 1.5 and params.model = 'x'"``.

        Args:
            experiment_ids (`str` or `list[str]`): the experiments to search.
            filter_string (`str`, *optional*, defaults to `""`): MLflow's search grammar over ``metrics.*``,
                ``params.*``, ``tags.*`` and ``attributes.*`` (``status``, ``run_name``, ``start_time``, ...).
            run_view_type (`int`, *optional*, defaults to `ViewType.ACTIVE_ONLY`): ``ACTIVE_ONLY``,
                ``DELETED_ONLY`` or ``ALL``.
            max_results (`int`, *optional*, defaults to 1000): the page size.
            order_by (`list[str]`, *optional*): e.g. ``["metrics.eval_loss ASC", "start_time DESC"]``.
            page_token (`str`, *optional*): the ``token`` of the previous page.

        Returns:
            `PagedList[Run]`: pass its ``token`` as ``page_token`` for the next page.
        """
        if isinstance(experiment_ids, (str, int)):
            experiment_ids = [str(experiment_ids)]
        return self._read().search_runs(
            [str(e) for e in experiment_ids],
            filter_string or None,
            run_view_type,
            max_results,
            order_by,
            page_token,
        )


def _description_tags(description: str | None, run_name: str | None, parent_run_id: str | None) -> dict[str, str]:
    tags: dict[str, str] = {}
    if description is not None:
        tags[NOTE_TAG] = description
    if run_name is not None:
        tags[RUN_NAME_TAG] = run_name
    if parent_run_id is not None:
        tags[PARENT_RUN_ID_TAG] = parent_run_id
    return tags


__all__ = ["MlTrackClient"]
