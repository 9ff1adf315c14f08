"""Fluent artifact API: `hf_mltrack.log_artifact(...)` and friends act on the active run.

With `run_id=None` they use the active run, starting one if none is active (as `log_metric` does);
with a `run_id` they address that run through the current tracking URI.

```python
with hf_mltrack.start_run():
    hf_mltrack.log_artifact("model_config.json")
    hf_mltrack.log_artifacts("./model_output", artifact_path="model")
    hf_mltrack.log_text("Training completed successfully", "status.txt")
    hf_mltrack.log_dict({"metric": 0.95, "params": {"lr": 2e-5}}, "results.json")
    hf_mltrack.log_figure(fig, "training_curve.png")
    hf_mltrack.log_image(image, "sample_image.png")
```
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .base import ArtifactRepository
from .registry import get_artifact_repository
from .uri import join_artifact_uri

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "get_artifact_uri",
    "load_table",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_figure",
    "log_image",
    "log_table",
    "log_text",
]


def _run_artifact_uri(run_id: str | None) -> str:
    from hf_mltrack.tracking import fluent

    if run_id is None:
        return fluent._get_or_start_run().info.artifact_uri
    active = fluent.active_run()
    if active is not None and active.info.run_id == run_id:
        return active.info.artifact_uri
    return fluent._client()._artifact_uri_of(run_id)


def _repo(run_id: str | None) -> ArtifactRepository:
    return get_artifact_repository(_run_artifact_uri(run_id))


def get_artifact_uri(artifact_path: str | None = None) -> str:
    """The artifact URI of the active run (starting one if needed), or of `artifact_path` inside it.

    Args:
        artifact_path (`str`, *optional*): relative path of a file or folder in the run's artifacts.
    """
    return join_artifact_uri(_run_artifact_uri(None), artifact_path)


def log_artifact(
    local_path: str | os.PathLike[str], artifact_path: str | None = None, run_id: str | None = None
) -> None:
    """Log a local file (or a folder, under its own name) as an artifact of the active run.

    Args:
        local_path (`str` or `os.PathLike`): file or folder to log.
        artifact_path (`str`, *optional*): folder under the run's artifact root, e.g. `"logs"`.
        run_id (`str`, *optional*): log to this run instead of the active one.
    """
    from .client_mixin import log_path

    log_path(_repo(run_id), local_path, artifact_path)


def log_artifacts(
    local_dir: str | os.PathLike[str], artifact_path: str | None = None, run_id: str | None = None
) -> None:
    """Log the contents of a local folder (files uploaded in parallel) under `artifact_path`.

    Args:
        local_dir (`str` or `os.PathLike`): folder whose contents to log.
        artifact_path (`str`, *optional*): folder under the run's artifact root, e.g. `"model"`.
        run_id (`str`, *optional*): log to this run instead of the active one.
    """
    _repo(run_id).log_artifacts(local_dir, artifact_path)


def log_text(text: str, artifact_file: str, run_id: str | None = None) -> None:
    """Log `text` as the artifact file `artifact_file` (no local file needed).

    Args:
        text (`str`): the content, written as UTF-8.
        artifact_file (`str`): its path in the run's artifacts, e.g. `"notes/prompt.txt"`.
        run_id (`str`, *optional*): log to this run instead of the active one.
    """
    from .content import log_text as _log_text

    _log_text(_repo(run_id), text, artifact_file)


def log_dict(dictionary: Any, artifact_file: str, run_id: str | None = None) -> None:
    """Log a dictionary as JSON, or YAML when `artifact_file` ends in `.yaml`/`.yml`.

    Args:
        dictionary (`dict`): a JSON/YAML-serializable mapping.
        artifact_file (`str`): its path in the run's artifacts, e.g. `"config/lora.json"`.
        run_id (`str`, *optional*): log to this run instead of the active one.
    """
    from .content import log_dict as _log_dict

    _log_dict(_repo(run_id), dictionary, artifact_file)


def log_figure(
    figure: Any, artifact_file: str, *, save_kwargs: dict[str, Any] | None = None, run_id: str | None = None
) -> None:
    """Log a matplotlib or plotly figure; the extension of `artifact_file` picks the format.

    Args:
        figure (`matplotlib.figure.Figure` or `plotly.graph_objects.Figure`): the figure.
        artifact_file (`str`): its path in the run's artifacts, e.g. `"plots/loss.png"` (plotly: `.html`
            too).
        save_kwargs (`dict`, *optional*): passed to ``savefig`` / ``write_image``.
        run_id (`str`, *optional*): log to this run instead of the active one.
    """
    from .media import log_figure as _log_figure

    _log_figure(_repo(run_id), figure, artifact_file, save_kwargs=save_kwargs)


def log_image(
    image: Any,
    artifact_file: str | None = None,
    key: str | None = None,
    step: int | None = None,
    timestamp: int | None = None,
    run_id: str | None = None,
) -> str:
    """Log an image as `artifact_file`, or as step `step` of the series `key`; returns the artifact path.

    Args:
        image (`numpy.ndarray`, `torch.Tensor` or `PIL.Image.Image`): `(H, W)`, `(H, W, 1|3|4)`, integers
            in [0, 255] or floats in [0, 1].
        artifact_file (`str`, *optional*): e.g. `"sample_image.png"`; exclusive with `key`.
        key (`str`, *optional*): image series name; images go to `images/<key>/step_<step>.png`.
        step (`int`, *optional*, defaults to `0`): step in the series.
        timestamp (`int`, *optional*): milliseconds since the epoch for a series image.
        run_id (`str`, *optional*): log to this run instead of the active one.
    """
    from .media import log_image as _log_image

    return _log_image(_repo(run_id), image, artifact_file, key=key, step=step, timestamp=timestamp)


def log_table(data: Any, artifact_file: str, run_id: str | None = None) -> None:
    """Log a DataFrame or dict of lists as a JSON table; rows are appended if the table exists.

    `load_table` reads it back (from several runs at once).

    Args:
        data (`pandas.DataFrame` or `dict[str, list]`): the rows.
        artifact_file (`str`): its path in the run's artifacts; must end in `.json`.
        run_id (`str`, *optional*): log to this run instead of the active one.
    """
    from .content import log_table as _log_table

    _log_table(_repo(run_id), data, artifact_file)


def load_table(
    artifact_file: str, run_ids: Sequence[str] | None = None, extra_columns: Sequence[str] | None = None
) -> pd.DataFrame:
    """The table `artifact_file` of the given runs, or of every run of the current experiment, concatenated.

    Args:
        artifact_file (`str`): the table's artifact path, e.g. `"eval_results.json"`.
        run_ids (`list[str]`, *optional*): only these runs.
        extra_columns (`list[str]`, *optional*): run info fields to add as columns, e.g. `["run_id"]`.
    """
    from hf_mltrack.tracking import fluent

    active = fluent.active_run()
    experiment_id = active.info.experiment_id if active is not None else fluent._current_experiment_id()
    return fluent._client().load_table(experiment_id, artifact_file, run_ids=run_ids, extra_columns=extra_columns)
