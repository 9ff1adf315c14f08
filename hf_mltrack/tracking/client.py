"""`MlTrackClient`: the explicit, run-id based API (MLflow's ``MlflowClient`` under our name)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from .. import _env
from ..entities import Experiment, Metric, PagedList, Param, Run, RunStatus, RunTag, ViewType
from ..utils import validation as v
from . import _batcher
from ._uri import resolve_tracking_uri
from .context import NOTE_TAG, PARENT_RUN_ID_TAG, RUN_NAME_TAG

if TYPE_CHECKING:
    from ..store.base import AbstractStore

from ..artifacts.client_mixin import ArtifactClientMixin
from ..registry.client_mixin import RegistryClientMixin


def _now_ms() -> int:
    return int(time.time() * 1000)


class MlTrackClient(ArtifactClientMixin, RegistryClientMixin):
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
        # Read-your-writes: pending async writes land before any read.
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
        return self.store.get_experiment(str(experiment_id))

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        """The experiment of that name, or None if there is none."""
        return self.store.get_experiment_by_name(name)

    def search_experiments(
        self,
        view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        return self.store.search_experiments(view_type, max_results, filter_string, order_by, page_token)

    def delete_experiment(self, experiment_id: str) -> None:
        self.store.delete_experiment(str(experiment_id))

    def restore_experiment(self, experiment_id: str) -> None:
        self.store.restore_experiment(str(experiment_id))

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        self.store.rename_experiment(str(experiment_id), new_name)

    def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        v.validate_key("tag", key)
        self.store.set_experiment_tag(str(experiment_id), key, v.tag_value_to_str(key, value))

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        self.store.delete_experiment_tag(str(experiment_id), key)  # type: ignore[attr-defined]

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
        return self.store.create_run(
            str(experiment_id), user, ts, tag_objs, run_name, params=param_objs, metrics=metric_objs
        )

    def get_run(self, run_id: str) -> Run:
        """The run with its latest metrics, params and tags."""
        return self._read().get_run(run_id)

    def get_parent_run(self, run_id: str) -> Run | None:
        parent = self.get_run(run_id).data.tags.get(PARENT_RUN_ID_TAG)
        return self.get_run(parent) if parent else None

    def update_run(self, run_id: str, status: str | None = None, name: str | None = None) -> None:
        end_time = _now_ms() if status and RunStatus.is_terminated(status) else None
        self.store.update_run_info(run_id, status, end_time, name)

    def set_terminated(self, run_id: str, status: str | None = None, end_time: int | None = None) -> None:
        """Mark a run ended (default FINISHED) after writing everything queued for it."""
        status = RunStatus.validate(status or RunStatus.FINISHED)
        _batcher.flush(raise_errors=False)
        self.store.update_run_info(run_id, status, end_time or _now_ms())

    def delete_run(self, run_id: str) -> None:
        _batcher.flush(raise_errors=False)
        self.store.delete_run(run_id)

    def restore_run(self, run_id: str) -> None:
        self.store.restore_run(run_id)

    # ---- logging ---------------------------------------------------------------------------
    def _submit(
        self,
        run_id: str,
        metrics: list[Metric],
        params: list[Param],
        tags: list[RunTag],
        synchronous: bool | None,
    ) -> None:
        if synchronous is None:
            synchronous = not _env.ASYNC_LOGGING.get()
        if synchronous:
            _batcher.flush(raise_errors=False)  # keep the order of earlier queued writes
            self.store.log_batch(run_id, metrics, params, tags)
        else:
            _batcher.get_batcher().enqueue(self.store, run_id, metrics, params, tags)

    def log_param(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> Any:
        """Log a param (str, int, float, bool or None). Re-logging the same value is fine."""
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
    ) -> None:
        """Log one metric point. The same key at the same step: the later value replaces the earlier."""
        v.validate_key("metric", key)
        metric = Metric(key, v.metric_value(key, value), timestamp or int(time.time() * 1000), v.metric_step(key, step))
        self._submit(run_id, [metric], [], [], synchronous)

    def set_tag(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> None:
        v.validate_key("tag", key)
        self._submit(run_id, [], [], [RunTag(key, v.tag_value_to_str(key, value))], synchronous)

    def delete_tag(self, run_id: str, key: str) -> None:
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
        """Log metrics, params and tags of one run together (one transaction)."""
        metric_list = [
            Metric(
                v.validate_key("metric", m.key),
                v.metric_value(m.key, m.value),
                m.timestamp,
                v.metric_step(m.key, m.step),
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
        """Every point of a metric, ordered by step (one per step)."""
        return self._read().get_metric_history(run_id, key)

    def get_metric_history_bulk_interval(
        self,
        run_ids: Sequence[str],
        metric_key: str,
        max_results: int = 2000,
        start_step: int | None = None,
        end_step: int | None = None,
    ) -> dict[str, list[Metric]]:
        """At most ``max_results`` points per run for charts, keeping each bucket's min and max."""
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

        Returns a `PagedList`; pass its ``token`` as ``page_token`` for the next page.
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
