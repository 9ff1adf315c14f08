"""`ArtifactClientMixin`: the artifact methods of `MlTrackClient`, addressing runs by id.

The mixin needs only `self.get_run(run_id)` (and `self.search_runs` for `load_table`); every method
finds the run's `artifact_uri` and delegates to the repository chosen for it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from hf_mltrack._client_host import ArtifactHostBase
from hf_mltrack.exceptions import InvalidParameterError, ResourceNotFoundError

from .base import ArtifactRepository, FileInfo
from .paths import join_artifact_path, validate_artifact_path
from .registry import get_artifact_repository

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["ArtifactClientMixin", "log_path", "tables_of_runs"]

_CACHE_LIMIT = 4096


def log_path(repo: ArtifactRepository, local_path: str | os.PathLike[str], artifact_path: str | None) -> None:
    """MLflow's `log_artifact`: a file goes under `artifact_path`, a folder under `artifact_path/<name>`."""
    local_path = os.fspath(local_path)
    if os.path.isdir(local_path):
        name = os.path.basename(os.path.normpath(os.path.abspath(local_path)))
        folder = validate_artifact_path(artifact_path)
        repo.log_artifacts(local_path, join_artifact_path(folder, name))
    else:
        repo.log_artifact(local_path, artifact_path)


def tables_of_runs(
    runs: Sequence[Any],
    artifact_file: str,
    extra_columns: Sequence[str] | None = None,
    tracking_uri: str | None = None,
) -> pd.DataFrame:
    """Concatenate the table `artifact_file` of each run that has one, adding run info columns."""
    import pandas as pd

    from .content import load_table

    frames = []
    for run in runs:
        repo = get_artifact_repository(run.info.artifact_uri, tracking_uri=tracking_uri)
        if not repo.exists(artifact_file):
            continue
        df = load_table(repo, artifact_file)
        for column in extra_columns or ():
            if not hasattr(run.info, column):
                raise InvalidParameterError(
                    f"Unknown extra column {column!r}: use run info fields such as 'run_id', 'run_name', "
                    "'experiment_id', 'status'."
                )
            df[column] = getattr(run.info, column)
        frames.append(df)
    if not frames:
        raise ResourceNotFoundError(f"No run has a table artifact {artifact_file!r}: log one with log_table first.")
    return pd.concat(frames, ignore_index=True)


class ArtifactClientMixin(ArtifactHostBase):
    """Artifact methods for `MlTrackClient` (MLflow's `MlflowClient` signatures)."""

    _artifact_lock = threading.Lock()

    def _artifact_uri_of(self, run_id: str) -> str:
        # A run's artifact URI never changes: cache it to save a store query per logged file.
        cache: dict[str, str] = self.__dict__.setdefault("_artifact_uri_cache", {})
        uri = cache.get(run_id)
        if uri is None:
            uri = self.get_run(run_id).info.artifact_uri
            with self._artifact_lock:
                if len(cache) >= _CACHE_LIMIT:
                    cache.clear()
                cache[run_id] = uri
        return uri

    def _artifact_repo(self, run_id: str) -> ArtifactRepository:
        return get_artifact_repository(self._artifact_uri_of(run_id), tracking_uri=self._tracking_uri)

    def log_artifact(self, run_id: str, local_path: str | os.PathLike[str], artifact_path: str | None = None) -> None:
        """Log a local file (or a folder, under its own name) as an artifact of the run.

        Args:
            run_id (`str`): the run.
            local_path (`str` or `os.PathLike`): file or folder to log.
            artifact_path (`str`, *optional*): folder under the run's artifact root.
        """
        log_path(self._artifact_repo(run_id), local_path, artifact_path)

    def log_artifacts(self, run_id: str, local_dir: str | os.PathLike[str], artifact_path: str | None = None) -> None:
        """Log the contents of a local folder under `artifact_path` (files uploaded in parallel).

        Args:
            run_id (`str`): the run's id.
            local_dir (`str` or `os.PathLike`): the folder whose contents to log.
            artifact_path (`str`, *optional*): folder under the run's artifact root; the root when not given.
        """
        self._artifact_repo(run_id).log_artifacts(local_dir, artifact_path)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        """Log `text` as the artifact file `artifact_file`.

        Args:
            run_id (`str`): the run's id.
            text (`str`): the content, written as UTF-8.
            artifact_file (`str`): its path in the run's artifacts.
        """
        from .content import log_text

        log_text(self._artifact_repo(run_id), text, artifact_file)

    def log_dict(self, run_id: str, dictionary: Any, artifact_file: str) -> None:
        """Log a dictionary as JSON, or YAML when `artifact_file` ends in `.yaml`/`.yml`.

        Args:
            run_id (`str`): the run's id.
            dictionary (`dict`): a JSON/YAML-serializable mapping.
            artifact_file (`str`): its path in the run's artifacts.
        """
        from .content import log_dict

        log_dict(self._artifact_repo(run_id), dictionary, artifact_file)

    def log_figure(
        self, run_id: str, figure: Any, artifact_file: str, *, save_kwargs: dict[str, Any] | None = None
    ) -> None:
        """Log a matplotlib or plotly figure; the extension of `artifact_file` picks the format.

        Args:
            run_id (`str`): the run's id.
            figure (`matplotlib.figure.Figure` or `plotly.graph_objects.Figure`): the figure.
            artifact_file (`str`): its path in the run's artifacts, e.g. `"plots/loss.png"`.
            save_kwargs (`dict`, *optional*): passed to ``savefig`` / ``write_image``.
        """
        from .media import log_figure

        log_figure(self._artifact_repo(run_id), figure, artifact_file, save_kwargs=save_kwargs)

    def log_image(
        self,
        run_id: str,
        image: Any,
        artifact_file: str | None = None,
        key: str | None = None,
        step: int | None = None,
        timestamp: int | None = None,
    ) -> str:
        """Log an image as `artifact_file`, or as step `step` of the image series `key`; returns its path.

        Args:
            run_id (`str`): the run's id.
            image (`numpy.ndarray`, `torch.Tensor` or `PIL.Image.Image`): `(H, W)` or `(H, W, 1|3|4)`, integers
                in [0, 255] or floats in [0, 1].
            artifact_file (`str`, *optional*): e.g. `"sample.png"`; exclusive with `key`.
            key (`str`, *optional*): image series name; images go to `images/<key>/step_<step>.png`.
            step (`int`, *optional*, defaults to `0`): step in the series.
            timestamp (`int`, *optional*): milliseconds since the epoch for a series image.

        Returns:
            `str`: the image's path in the run's artifacts.
        """
        from .media import log_image

        return log_image(self._artifact_repo(run_id), image, artifact_file, key=key, step=step, timestamp=timestamp)

    def log_table(self, run_id: str, data: Any, artifact_file: str) -> None:
        """Log a DataFrame or dict of lists as a JSON table (appending to an existing one).

        Args:
            run_id (`str`): the run's id.
            data (`pandas.DataFrame` or `dict[str, list]`): the rows.
            artifact_file (`str`): its path in the run's artifacts; must end in `.json`.
        """
        from .content import log_table

        log_table(self._artifact_repo(run_id), data, artifact_file)

    def load_table(
        self,
        experiment_id: str,
        artifact_file: str,
        run_ids: Sequence[str] | None = None,
        extra_columns: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """The table `artifact_file` of the given runs (all runs of the experiment by default), concatenated.

        Args:
            experiment_id (`str`): the experiment whose runs to read when `run_ids` is not given.
            artifact_file (`str`): the table's artifact path, e.g. `"eval_results.json"`.
            run_ids (`list[str]`, *optional*): only these runs.
            extra_columns (`list[str]`, *optional*): run info fields to add as columns, e.g. `["run_id"]`.
        """
        if run_ids is None:
            runs: list[Any] = []
            token: str | None = None
            while True:
                page = self.search_runs([experiment_id], max_results=1000, page_token=token)
                runs.extend(page)
                token = getattr(page, "token", None)
                if not token:
                    break
        else:
            runs = [self.get_run(r) for r in run_ids]
        return tables_of_runs(runs, artifact_file, extra_columns, self._tracking_uri)

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        """The files and folders directly under `path` of the run's artifacts, as `FileInfo`s.

        Args:
            run_id (`str`): the run's id.
            path (`str`, *optional*): a folder in the run's artifacts; the root when not given.

        Returns:
            `list[FileInfo]`: ``path`` (relative to the artifact root), ``is_dir`` and ``file_size``.
        """
        return self._artifact_repo(run_id).list_artifacts(path)

    def download_artifacts(self, run_id: str, path: str, dst_path: str | os.PathLike[str] | None = None) -> str:
        """Download the run's artifact file or folder `path` and return its local path.

        Args:
            run_id (`str`): the run.
            path (`str`): artifact path of the file or folder (`""` for everything).
            dst_path (`str` or `os.PathLike`, *optional*): local folder to download into (created if
                needed); a temporary folder by default (local stores: the stored path itself).
        """
        if dst_path is not None:
            os.makedirs(os.fspath(dst_path), exist_ok=True)
        return self._artifact_repo(run_id).download_artifacts(path, dst_path)
