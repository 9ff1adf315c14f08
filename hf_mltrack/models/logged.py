"""Every ``log_model`` creates a LoggedModel (MLflow 3): PENDING while the files are written, READY
after, FAILED when saving raised. The files stay where they always were, under the run
(``runs:/<run>/<artifact_path>`` keeps working); the model's artifact location points there, so
``models:/m-<id>`` resolves to the same folder and nothing is copied."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from hf_mltrack.entities import LoggedModel, LoggedModelStatus


@contextmanager
def logged_model_for(
    run: Any,
    artifact_path: str,
    mlmodel: Any,
    *,
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    model_type: str | None = None,
    step: int = 0,
) -> Iterator[LoggedModel]:
    """Create the LoggedModel of a ``log_model`` call around the block that writes its files.

    The model id goes into ``MLmodel`` (``model_id``); the run lists the model among its outputs at
    ``step``; the model becomes `last_logged_model()`.
    """
    from hf_mltrack.tracking import MlTrackClient, fluent_models

    client = MlTrackClient()
    model = client.create_logged_model(
        run.info.experiment_id,
        name=artifact_path.rsplit("/", 1)[-1],
        source_run_id=run.info.run_id,
        tags=tags,
        params=params,
        model_type=model_type,
        artifact_location=run.info.artifact_uri.rstrip("/") + "/" + artifact_path,
        output_step=step,
    )
    mlmodel.model_id = model.model_id
    try:
        yield model
    except BaseException:
        try:
            client.store.finalize_logged_model(model.model_id, LoggedModelStatus.FAILED)
        except Exception:  # the original error is the one to report
            pass
        raise
    client.store.finalize_logged_model(model.model_id, LoggedModelStatus.READY, read_back=False)
    model.status = LoggedModelStatus.READY
    fluent_models._remember(model)
