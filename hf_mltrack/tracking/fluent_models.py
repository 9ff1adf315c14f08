"""The fluent API of MLflow 3's logged models and datasets: ``initialize_logged_model``,
``search_logged_models``, ``set_active_model``, ``log_input`` and friends, on the current experiment
and run."""

from __future__ import annotations

import contextvars
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from .. import _env
from ..entities import (
    DatasetInput,
    InputTag,
    LoggedModel,
    LoggedModelInput,
    LoggedModelOutput,
    LoggedModelStatus,
)
from ..entities.dataset import CONTEXT_TAG
from ..exceptions import InvalidParameterError

if TYPE_CHECKING:
    import pandas as pd

ACTIVE_MODEL_ENV = _env.ACTIVE_MODEL_ID.name

_active_model: contextvars.ContextVar[str | None] = contextvars.ContextVar("hf_mltrack_active_model", default=None)
# HF_MLTRACK_ACTIVE_MODEL_ID as this process started with it (or as set_active_model left it): read once,
# since log_metric consults it on every call and an environment lookup costs microseconds.
_env_model_id: str | None = _env.ACTIVE_MODEL_ID.get() or None
_last_logged_model_id: str | None = None


def _client() -> Any:
    from .fluent import _client as client

    return client()


def _experiment_id(experiment_id: str | None) -> str:
    if experiment_id is not None:
        return str(experiment_id)
    from .fluent import _current_experiment_id, active_run

    run = active_run()
    return run.info.experiment_id if run is not None else _current_experiment_id()


def _remember(model: LoggedModel) -> LoggedModel:
    global _last_logged_model_id
    _last_logged_model_id = model.model_id
    return model


def _reset() -> None:
    global _last_logged_model_id, _env_model_id
    _last_logged_model_id = None
    clear_active_model()
    _env_model_id = _env.ACTIVE_MODEL_ID.get() or None


# ---- logged models ----------------------------------------------------------------------------------
def initialize_logged_model(
    name: str | None = None,
    source_run_id: str | None = None,
    tags: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    model_type: str | None = None,
    experiment_id: str | None = None,
) -> LoggedModel:
    """Create a PENDING logged model in the current experiment, produced by the active run unless
    ``source_run_id`` names another; finish it with `finalize_logged_model`.

    Args:
        name (`str`, *optional*): its name; random when not given.
        source_run_id (`str`, *optional*): the run that produced it (default: the active run, if any).
        tags (`dict`, *optional*): its own tags (values are stored as strings).
        params (`dict`, *optional*): its own params (values are stored as strings).
        model_type (`str`, *optional*): free-form, e.g. ``"checkpoint"``.
        experiment_id (`str`, *optional*): default: the active run's, else the current experiment.

    Returns:
        `LoggedModel`: the new model (``model_id`` ``m-...``, status PENDING); `last_logged_model` returns it
        too.
    """
    from .fluent import active_run

    run = active_run()
    if source_run_id is None and run is not None:
        source_run_id = run.info.run_id
    model = _client().create_logged_model(_experiment_id(experiment_id), name, source_run_id, tags, params, model_type)
    return _remember(model)


def create_external_model(
    name: str | None = None,
    source_run_id: str | None = None,
    tags: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    model_type: str | None = None,
    experiment_id: str | None = None,
) -> LoggedModel:
    """Record a model whose files live elsewhere (a hosted endpoint, another system), READY at once.

    It is created like `initialize_logged_model`, tagged ``mlflow.model.external=true`` (MLflow 3's marker
    for models with no artifacts here) and finalized as READY in the same call.

    Args:
        name (`str`, *optional*): its name; random when not given.
        source_run_id (`str`, *optional*): the run that produced it (default: the active run, if any).
        tags (`dict`, *optional*): more tags; ``mlflow.model.external`` is always set to ``"true"``.
        params (`dict`, *optional*): its params (values are stored as strings).
        model_type (`str`, *optional*): free-form, e.g. ``"endpoint"``.
        experiment_id (`str`, *optional*): default: the active run's, else the current experiment.

    Returns:
        `LoggedModel`: the model, status READY.
    """
    tags = {**(tags or {}), "mlflow.model.external": "true"}
    model = initialize_logged_model(name, source_run_id, tags, params, model_type, experiment_id)
    return _remember(_client().finalize_logged_model(model.model_id, LoggedModelStatus.READY))


def finalize_logged_model(model_id: str, status: Any = LoggedModelStatus.READY) -> LoggedModel:
    """Mark a PENDING logged model READY (its files are written) or FAILED.

    Args:
        model_id (`str`): the model's id (``m-...``).
        status (`LoggedModelStatus` or `str`, *optional*, defaults to `LoggedModelStatus.READY`): ``READY`` or
            ``FAILED``; ``PENDING`` raises `InvalidParameterError`.

    Returns:
        `LoggedModel`: the model with its new status.

    Raises:
        `ResourceNotFoundError`: no active (non-deleted) model has this id.
    """
    return _client().finalize_logged_model(model_id, status)


def get_logged_model(model_id: str) -> LoggedModel:
    """The logged model ``m-...``: info, params, tags and linked metrics.

    Args:
        model_id (`str`): the model's id (``m-...``).

    Returns:
        `LoggedModel`: the model; ``metrics`` holds the metric points linked to it (`log_metric` with
        ``model_id``, or while it is the active model).

    Raises:
        `ResourceNotFoundError`: no model has this id, or it was deleted.
    """
    return _client().get_logged_model(model_id)


def delete_logged_model(model_id: str) -> None:
    """Delete a logged model (soft delete: its lifecycle stage becomes ``deleted``).

    It then no longer appears in `search_logged_models`, and `get_logged_model` raises for it.

    Args:
        model_id (`str`): the model's id (``m-...``).

    Raises:
        `ResourceNotFoundError`: no active model has this id.
    """
    _client().delete_logged_model(model_id)


def set_logged_model_tags(model_id: str, tags: dict[str, Any]) -> None:
    """Set tags on a logged model; an existing key gets the new value.

    Args:
        model_id (`str`): the model's id (``m-...``).
        tags (`dict`): tag keys to values (values are stored as strings).

    Raises:
        `ResourceNotFoundError`: no active model has this id.
    """
    _client().set_logged_model_tags(model_id, tags)


def delete_logged_model_tag(model_id: str, key: str) -> None:
    """Delete one tag of a logged model.

    Args:
        model_id (`str`): the model's id (``m-...``).
        key (`str`): the tag's key.

    Raises:
        `ResourceNotFoundError`: no active model has this id, or it has no tag ``key``.
    """
    _client().delete_logged_model_tag(model_id, key)


def log_model_params(params: dict[str, Any], model_id: str | None = None) -> None:
    """Log params on a logged model (default: the active model); params are write-once, as on runs.

    Args:
        params (`dict`): param names to values (values are stored as strings).
        model_id (`str`, *optional*): the model's id (``m-...``); default: the active model
            (`set_active_model` or ``HF_MLTRACK_ACTIVE_MODEL_ID``).

    Raises:
        `InvalidParameterError`: no ``model_id`` and no active model.
    """
    model_id = model_id or get_active_model_id()
    if not model_id:
        raise InvalidParameterError("log_model_params: give model_id, or call set_active_model first")
    _client().log_model_params(model_id, params)


def last_logged_model() -> LoggedModel | None:
    """The model most recently logged from this process (`log_model`, `initialize_logged_model`)."""
    return get_logged_model(_last_logged_model_id) if _last_logged_model_id else None


def search_logged_models(
    experiment_ids: Sequence[str] | None = None,
    filter_string: str | None = None,
    datasets: Sequence[dict] | None = None,
    max_results: int | None = None,
    order_by: Sequence[Any] | None = None,
    output_format: Literal["pandas", "list"] = "pandas",
) -> pd.DataFrame | list[LoggedModel]:
    """Search logged models; every page is read unless ``max_results`` caps the total.

    Args:
        experiment_ids (`list[str]`, *optional*): default: the current experiment.
        filter_string (`str`, *optional*): e.g. ``"metrics.eval_loss < 2 and params.lr = '1e-4'"``.
        datasets (`list[dict]`, *optional*): metric filters and orders look only at points on these
            datasets: ``[{"dataset_name": "eval"}]``.
        max_results (`int`, *optional*): at most this many models.
        order_by (`list`, *optional*): ``["metrics.eval_loss ASC"]`` or
            ``[{"field_name": "metrics.eval_loss", "ascending": True, "dataset_name": "eval"}]``.
        output_format (`str`, *optional*, defaults to `"pandas"`): ``"pandas"`` or ``"list"``.
    """
    if output_format not in ("pandas", "list"):
        raise InvalidParameterError(f"Invalid output_format {output_format!r}: give 'pandas' or 'list'")
    ids = [str(e) for e in experiment_ids] if experiment_ids else [_experiment_id(None)]
    client = _client()
    models: list[LoggedModel] = []
    token = None
    while True:
        page_size = min(1000, max_results - len(models)) if max_results else 1000
        page = client.search_logged_models(ids, filter_string, datasets, page_size, order_by, token)
        models.extend(page)
        token = page.token
        if not token or (max_results and len(models) >= max_results):
            break
    if output_format == "list":
        return models
    import pandas as pd

    return pd.DataFrame(
        [
            {
                "model_id": m.model_id,
                "experiment_id": m.experiment_id,
                "name": m.name,
                "artifact_location": m.artifact_location,
                "creation_timestamp": m.creation_timestamp,
                "last_updated_timestamp": m.last_updated_timestamp,
                "status": m.status,
                "status_message": m.status_message,
                "model_type": m.model_type,
                "source_run_id": m.source_run_id,
                "params": m.params,
                "tags": m.tags,
                "metrics": m.metrics,
            }
            for m in models
        ]
    )


# ---- the active model ---------------------------------------------------------------------------------
def set_active_model(name: str | None = None, model_id: str | None = None) -> LoggedModel:
    """Make a logged model the active one: `log_metric` links its points to it, `log_model_params` defaults to it.

    As in MLflow 3, the choice is also exported as ``HF_MLTRACK_ACTIVE_MODEL_ID`` so subprocesses see it;
    `clear_active_model` undoes it.

    Args:
        name (`str`, *optional*): the newest model of that name in the current experiment; a PENDING one is
            created (`initialize_logged_model`) when there is none.
        model_id (`str`, *optional*): an existing model's id (``m-...``).

    Returns:
        `LoggedModel`: the model now active.

    Raises:
        `InvalidParameterError`: both or neither of ``name`` and ``model_id`` were given.
        `ResourceNotFoundError`: ``model_id`` names no model.
    """
    if (name is None) == (model_id is None):
        raise InvalidParameterError("set_active_model: give exactly one of name or model_id")
    if model_id is not None:
        model = get_logged_model(model_id)
    else:
        assert name is not None
        found = _client().search_logged_models(
            [_experiment_id(None)], f"name = {_quote(name)}", None, 1, ["creation_timestamp DESC"]
        )
        model = found[0] if found else initialize_logged_model(name=name)
    global _env_model_id
    _active_model.set(model.model_id)
    os.environ[ACTIVE_MODEL_ENV] = _env_model_id = model.model_id  # seen by subprocesses too, as MLflow does
    return model


def _quote(text: str) -> str:
    if "'" not in text:
        return f"'{text}'"
    if '"' not in text:
        return f'"{text}"'
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def get_active_model_id() -> str | None:
    """The active model's id (`set_active_model`, or ``HF_MLTRACK_ACTIVE_MODEL_ID``), or None."""
    return _active_model.get() or _env_model_id


def clear_active_model() -> None:
    """Forget the active model (`set_active_model`), here and in ``HF_MLTRACK_ACTIVE_MODEL_ID``.

    Metric points logged afterwards are linked to no model unless ``model_id`` is given.
    """
    global _env_model_id
    _active_model.set(None)
    _env_model_id = None
    os.environ.pop(ACTIVE_MODEL_ENV, None)


# ---- datasets and run inputs/outputs -------------------------------------------------------------
def log_input(
    dataset: Any = None,
    context: str | None = None,
    tags: dict[str, str] | None = None,
    model: LoggedModel | str | None = None,
    run_id: str | None = None,
) -> None:
    """Record that the active run read a dataset (from `hf_mltrack.data`) and/or a logged model.

    Args:
        dataset (`hf_mltrack.data.Dataset`, *optional*): the dataset.
        context (`str`, *optional*): ``"training"``, ``"eval"``, ... (the ``mlflow.data.context`` input tag).
        tags (`dict`, *optional*): more input tags.
        model (`LoggedModel` or `str`, *optional*): a logged model (or its id) the run used.
        run_id (`str`, *optional*): default: the active run (started when there is none).
    """
    log_inputs(
        [dataset] if dataset is not None else None,
        [context] if context else None,
        [tags] if tags else None,
        [model] if model is not None else None,
        run_id,
    )


def log_inputs(
    datasets: Sequence[Any] | None = None,
    contexts: Sequence[str | None] | None = None,
    tags_list: Sequence[dict[str, str] | None] | None = None,
    models: Sequence[LoggedModel | str] | None = None,
    run_id: str | None = None,
) -> None:
    """Several `log_input` calls in one request: datasets and logged models the run read.

    ``contexts`` and ``tags_list``, when given, run parallel to ``datasets`` (index ``i`` belongs to
    ``datasets[i]``).

    Args:
        datasets (`list`, *optional*): datasets from `hf_mltrack.data` (or `Dataset` entities).
        contexts (`list[str]`, *optional*): per dataset, ``"training"``, ``"eval"``, ... (the
            ``mlflow.data.context`` input tag).
        tags_list (`list[dict]`, *optional*): per dataset, more input tags.
        models (`list`, *optional*): logged models (or their ids) the run used.
        run_id (`str`, *optional*): default: the active run (started when there is none).
    """
    from .fluent import _run_id

    rid = _run_id(run_id)
    inputs = []
    for i, ds in enumerate(datasets or ()):
        entity = ds._to_entity() if hasattr(ds, "_to_entity") else ds
        tags = [InputTag(str(k), str(v)) for k, v in ((tags_list[i] if tags_list else None) or {}).items()]
        context = contexts[i] if contexts else None
        if context:
            tags.append(InputTag(CONTEXT_TAG, context))
        inputs.append(DatasetInput(entity, tags))
    model_inputs = [LoggedModelInput(m if isinstance(m, str) else m.model_id) for m in models or ()]
    _client().log_inputs(rid, inputs, model_inputs)


def log_outputs(models: Sequence[tuple[LoggedModel | str, int]], run_id: str | None = None) -> None:
    """Record logged models the active run produced, as ``(model, step)`` pairs (MLflow 3 run outputs).

    Args:
        models (`list[tuple]`): ``(model, step)`` pairs: a `LoggedModel` or its id, and the training step it
            was saved at (for checkpoints).
        run_id (`str`, *optional*): default: the active run (started when there is none).
    """
    from .fluent import _run_id

    outputs = [LoggedModelOutput(m if isinstance(m, str) else m.model_id, int(step)) for m, step in models]
    _client().log_outputs(_run_id(run_id), outputs)
