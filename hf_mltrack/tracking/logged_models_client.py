"""`MlTrackClient` methods for MLflow 3's logged models, datasets and run inputs/outputs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..entities import (
    DatasetInput,
    DatasetSummary,
    LoggedModel,
    LoggedModelInput,
    LoggedModelOutput,
    PagedList,
)


class LoggedModelClientMixin:
    """Mixed into `MlTrackClient`; it provides ``store`` and ``_read()`` (flushes queued writes first)."""

    store: Any
    _read: Any

    def create_logged_model(
        self,
        experiment_id: str,
        name: str | None = None,
        source_run_id: str | None = None,
        tags: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        model_type: str | None = None,
        artifact_location: str | None = None,
        output_step: int | None = None,
    ) -> LoggedModel:
        """Create a logged model (status PENDING) and return it.

        Args:
            experiment_id (`str`): its experiment.
            name (`str`, *optional*): its name; a random one when not given.
            source_run_id (`str`, *optional*): the run that produced it.
            tags (`dict`, *optional*): its own tags (values are stored as strings).
            params (`dict`, *optional*): its own params (values are stored as strings).
            model_type (`str`, *optional*): free-form, e.g. ``"checkpoint"``.
            artifact_location (`str`, *optional*): a folder inside the source run's artifacts holding its
                files (what ``log_model`` uses); by default the store picks
                ``<experiment>/models/<model_id>/artifacts``.
            output_step (`int`, *optional*): also list it among the source run's outputs at this step.

        Returns:
            `LoggedModel`: the new model, with its ``model_id`` (``m-...``) and ``artifact_location``.
        """
        return self._read().create_logged_model(
            str(experiment_id),
            name=name,
            source_run_id=source_run_id,
            tags=_str_dict(tags),
            params=_str_dict(params),
            model_type=model_type,
            artifact_location=artifact_location,
            output_step=output_step,
        )

    def get_logged_model(self, model_id: str, allow_deleted: bool = False) -> LoggedModel:
        """The logged model ``m-...`` with its params, tags and linked metrics.

        Args:
            model_id (`str`): the model's id (``m-...``).
            allow_deleted (`bool`, *optional*, defaults to `False`): also return a deleted model.

        Returns:
            `LoggedModel`: the model.

        Raises:
            `ResourceNotFoundError`: no model has this id (or it is deleted and ``allow_deleted`` is false).
        """
        return self._read().get_logged_model(model_id, allow_deleted=allow_deleted)

    def finalize_logged_model(self, model_id: str, status: Any) -> LoggedModel:
        """Mark a logged model READY (its files are written) or FAILED.

        Args:
            model_id (`str`): the model's id (``m-...``).
            status (`LoggedModelStatus` or `str`): ``READY`` or ``FAILED``; ``PENDING`` raises
                `InvalidParameterError`.

        Returns:
            `LoggedModel`: the model with its new status.

        Raises:
            `ResourceNotFoundError`: no active model has this id.
        """
        return self._read().finalize_logged_model(model_id, status)

    def delete_logged_model(self, model_id: str) -> None:
        """Delete a logged model (soft delete: its lifecycle stage becomes ``deleted``).

        Args:
            model_id (`str`): the model's id (``m-...``).

        Raises:
            `ResourceNotFoundError`: no active model has this id.
        """
        self.store.delete_logged_model(model_id)

    def set_logged_model_tags(self, model_id: str, tags: dict[str, Any]) -> None:
        """Set tags on a logged model; an existing key gets the new value.

        Args:
            model_id (`str`): the model's id (``m-...``).
            tags (`dict`): tag keys to values (values are stored as strings).

        Raises:
            `ResourceNotFoundError`: no active model has this id.
        """
        self.store.set_logged_model_tags(model_id, _str_dict(tags))

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        """Delete one tag of a logged model.

        Args:
            model_id (`str`): the model's id (``m-...``).
            key (`str`): the tag's key.

        Raises:
            `ResourceNotFoundError`: no active model has this id, or it has no tag ``key``.
        """
        self.store.delete_logged_model_tag(model_id, key)

    def log_model_params(self, model_id: str, params: dict[str, Any]) -> None:
        """Log params on a logged model (write-once, as on runs).

        Args:
            model_id (`str`): the model's id (``m-...``).
            params (`dict`): param names to values (values are stored as strings).
        """
        self.store.log_logged_model_params(model_id, _str_dict(params))

    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        datasets: Sequence[dict] | None = None,
        max_results: int | None = None,
        order_by: Sequence[Any] | None = None,
        page_token: str | None = None,
    ) -> PagedList[LoggedModel]:
        """Logged models of some experiments, filtered and ordered.

        Args:
            experiment_ids (`list[str]`): where to look.
            filter_string (`str`, *optional*): e.g. ``"metrics.eval_loss < 2 and params.lr = '1e-4'"``.
            datasets (`list[dict]`, *optional*): ``[{"dataset_name": "eval", "dataset_digest": ...}]``: metric
                filters and orders use only points on these datasets.
            max_results (`int`, *optional*, defaults to 100): page size.
            order_by (`list`, *optional*): ``"metrics.eval_loss ASC"`` or MLflow's
                ``{"field_name": "metrics.eval_loss", "ascending": True, "dataset_name": "eval"}``.
            page_token (`str`, *optional*): from the previous page's ``token``.
        """
        return self._read().search_logged_models(
            [str(e) for e in experiment_ids], filter_string, datasets, max_results, order_by, page_token
        )

    def log_inputs(
        self,
        run_id: str,
        datasets: Sequence[DatasetInput] | None = None,
        models: Sequence[LoggedModelInput] | None = None,
    ) -> None:
        """Record the datasets (with their context tags) and logged models a run read.

        Args:
            run_id (`str`): the run's id.
            datasets (`list[DatasetInput]`, *optional*): datasets with their input tags (e.g.
                ``mlflow.data.context``).
            models (`list[LoggedModelInput]`, *optional*): logged models the run used.
        """
        self._read().log_inputs(run_id, datasets=list(datasets or ()), models=list(models or ()))

    def log_outputs(self, run_id: str, models: Sequence[LoggedModelOutput]) -> None:
        """Record the logged models a run produced (with the step, for checkpoints).

        Args:
            run_id (`str`): the run's id.
            models (`list[LoggedModelOutput]`): the models' ids with the step each was saved at.
        """
        self._read().log_outputs(run_id, list(models))

    def search_datasets(self, experiment_ids: Sequence[str]) -> list[DatasetSummary]:
        """The datasets the runs of these experiments read, one row per (dataset, context).

        Args:
            experiment_ids (`list[str]`): the experiments to look in.

        Returns:
            `list[DatasetSummary]`: each with the experiment id, dataset name, digest and context.
        """
        return self._read().search_datasets([str(e) for e in experiment_ids])


def _str_dict(d: dict[str, Any] | None) -> dict[str, str] | None:
    if d is None:
        return None
    return {str(k): v if isinstance(v, str) else str(v) for k, v in d.items()}
