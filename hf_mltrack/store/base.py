"""The tracking store interface: a small abc that SQL and REST stores implement."""

from __future__ import annotations

import abc
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..entities import Experiment, Metric, PagedList, Param, Run, RunInfo, RunTag, ViewType
from ..exceptions import MlTrackException

if TYPE_CHECKING:
    from ..entities import LoggedModel


class AbstractStore(abc.ABC):
    """Where experiments, runs, params, metrics and tags live.

    Writes arrive in batches (`log_batches`) from the background flusher; every other method is
    a plain request. Implementations raise `hf_mltrack.exceptions` errors, never driver errors.
    """

    # ---- experiments -------------------------------------------------------------------
    @abc.abstractmethod
    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: dict[str, str] | None = None
    ) -> str: ...

    @abc.abstractmethod
    def get_experiment(self, experiment_id: str) -> Experiment: ...

    @abc.abstractmethod
    def get_experiment_by_name(self, name: str) -> Experiment | None: ...

    def server_experiment_id(self, experiment_id: str) -> str:
        """The store's id for ``experiment_id``: the same, but for an `offline_experiment`'s once reachable."""
        return experiment_id

    def offline_experiment(self, name: str) -> Experiment:
        """The experiment ``name`` to start runs in while this store is unreachable; stores without an
        offline mode (a database) have none to give."""
        raise MlTrackException(
            f"Cannot set experiment {name!r}: the tracking store {self!r} is unreachable and keeps no offline journal"
        )

    @abc.abstractmethod
    def search_experiments(
        self,
        view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]: ...

    @abc.abstractmethod
    def delete_experiment(self, experiment_id: str) -> None: ...

    @abc.abstractmethod
    def restore_experiment(self, experiment_id: str) -> None: ...

    @abc.abstractmethod
    def rename_experiment(self, experiment_id: str, new_name: str) -> None: ...

    @abc.abstractmethod
    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None: ...

    @abc.abstractmethod
    def delete_experiment_tag(self, experiment_id: str, key: str) -> None: ...

    # logged models (MLflow 3): the SQL and REST stores' logged-model mixins implement these
    @abc.abstractmethod
    def finalize_logged_model(
        self, model_id: str, status: Any, status_message: str | None = None, read_back: bool = True
    ) -> LoggedModel | None: ...

    # ---- runs ----------------------------------------------------------------------------
    @abc.abstractmethod
    def create_run(
        self,
        experiment_id: str,
        user_id: str,
        start_time: int,
        tags: Sequence[RunTag],
        run_name: str | None,
        params: Sequence[Param] = (),
        metrics: Sequence[Metric] = (),
    ) -> Run: ...

    @abc.abstractmethod
    def get_run(self, run_id: str) -> Run: ...

    @abc.abstractmethod
    def update_run_info(
        self, run_id: str, run_status: str | None, end_time: int | None, run_name: str | None = None
    ) -> RunInfo: ...

    @abc.abstractmethod
    def delete_run(self, run_id: str) -> None: ...

    @abc.abstractmethod
    def restore_run(self, run_id: str) -> None: ...

    @abc.abstractmethod
    def delete_tag(self, run_id: str, key: str) -> None: ...

    @abc.abstractmethod
    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None: ...

    def log_batches(self, batches: dict[str, tuple[list[Metric], list[Param], list[RunTag]]]) -> None:
        """Write the batches of several runs; SQL stores do it in one transaction."""
        for run_id, (metrics, params, tags) in batches.items():
            self.log_batch(run_id, metrics, params, tags)

    @abc.abstractmethod
    def get_metric_history(self, run_id: str, key: str) -> Sequence[Metric]: ...

    @abc.abstractmethod
    def get_metric_history_bulk_interval(
        self,
        run_ids: Sequence[str],
        key: str,
        max_results: int,
        start_step: int | None = None,
        end_step: int | None = None,
    ) -> dict[str, list[Metric]]: ...

    def metric_history_rows(
        self,
        run_ids: Sequence[str],
        key: str,
        max_results: int,
        start_step: int | None = None,
        end_step: int | None = None,
        timestamps: bool = True,
    ) -> dict[str, list[tuple]]:
        """`get_metric_history_bulk_interval` as ``(step, value or None for NaN, timestamp)`` rows per run
        (what the UI's columnar history reads; SQL stores read them without building `Metric` objects).
        ``timestamps=False``: the caller reads only ``(step, value)``, and rows may leave the timestamp out."""
        series = self.get_metric_history_bulk_interval(run_ids, key, max_results, start_step, end_step)
        return {
            run_id: [(m.step, None if math.isnan(m.value) else m.value, m.timestamp) for m in points]
            for run_id, points in series.items()
        }

    @abc.abstractmethod
    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        run_view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]: ...

    def deleted_run_ids(self, older_than_ms: int | None = None) -> list[str]:
        """Ids of soft-deleted runs (for `hf-mltrack gc`)."""
        raise NotImplementedError

    def hard_delete_run(self, run_id: str) -> None:
        raise NotImplementedError
