"""`download_artifacts` and `list_artifacts` by URI or by run id (`mlflow.artifacts`' functions)."""

from __future__ import annotations

import os

from hf_mltrack.exceptions import InvalidParameterError

from .base import FileInfo
from .registry import get_artifact_repository
from .uri import split_artifact_uri

__all__ = ["download_artifacts", "list_artifacts", "run_artifact_root"]


def run_artifact_root(run_id: str, tracking_uri: str | None = None) -> str:
    """The artifact URI of the run `run_id` (`MlTrackClient(...).get_run(run_id).info.artifact_uri`)."""
    from hf_mltrack.tracking import MlTrackClient

    return MlTrackClient(tracking_uri).get_run(run_id).info.artifact_uri


def _check_target(artifact_uri: str | None, run_id: str | None, artifact_path: str | None, fn: str) -> None:
    if artifact_uri is not None and (run_id is not None or artifact_path is not None):
        raise InvalidParameterError(
            f"{fn}: pass either artifact_uri=..., or run_id=... with an optional artifact_path=..., not both."
        )
    if artifact_uri is None and run_id is None:
        raise InvalidParameterError(f"{fn}: pass artifact_uri=... (e.g. 'runs:/<run_id>/model') or run_id=....")


def download_artifacts(
    artifact_uri: str | None = None,
    run_id: str | None = None,
    artifact_path: str | None = None,
    dst_path: str | os.PathLike[str] | None = None,
    tracking_uri: str | None = None,
) -> str:
    """Download an artifact file or folder to a local path and return that path.

    Args:
        artifact_uri (`str`, *optional*): what to download: `runs:/<run_id>/model`, `s3://b/p/model`, a
            `file://` URI or local path. Mutually exclusive with `run_id`/`artifact_path`.
        run_id (`str`, *optional*): the run whose artifacts to download.
        artifact_path (`str`, *optional*): with `run_id`, the file or folder under the run's root (the
            whole root by default).
        dst_path (`str` or `os.PathLike`, *optional*): local folder to download into (created if needed);
            a new temporary folder by default (for local stores: the stored path itself, do not modify it).
        tracking_uri (`str`, *optional*): tracking store used to look the run up.

    Returns:
        `str`: local path of the downloaded file or folder.
    """
    _check_target(artifact_uri, run_id, artifact_path, "download_artifacts")
    if dst_path is not None:
        dst_path = os.path.abspath(os.fspath(dst_path))
        if os.path.exists(dst_path) and not os.path.isdir(dst_path):
            raise InvalidParameterError(f"dst_path {dst_path!r} is a file: give a folder to download into.")
        os.makedirs(dst_path, exist_ok=True)
    if run_id is not None:
        repo = get_artifact_repository(run_artifact_root(run_id, tracking_uri))
        return repo.download_artifacts(artifact_path or "", dst_path)
    assert artifact_uri is not None
    parent, name = split_artifact_uri(artifact_uri)  # name is "" when the URI is a store root
    return get_artifact_repository(parent, tracking_uri=tracking_uri).download_artifacts(name, dst_path)


def list_artifacts(
    artifact_uri: str | None = None,
    run_id: str | None = None,
    artifact_path: str | None = None,
    tracking_uri: str | None = None,
) -> list[FileInfo]:
    """The files and folders directly under an artifact URI, or under `artifact_path` of a run.

    Args:
        artifact_uri (`str`, *optional*): folder to list, e.g. `runs:/<run_id>/model`; paths come back
            relative to its parent (to the run's root for `runs:/` URIs), as in MLflow.
        run_id (`str`, *optional*): the run whose artifacts to list.
        artifact_path (`str`, *optional*): with `run_id`, the folder under the run's root.
        tracking_uri (`str`, *optional*): tracking store used to look the run up.
    """
    _check_target(artifact_uri, run_id, artifact_path, "list_artifacts")
    if run_id is not None:
        return get_artifact_repository(run_artifact_root(run_id, tracking_uri)).list_artifacts(artifact_path)
    assert artifact_uri is not None
    # MLflow's convention: paths are relative to the parent of the URI (to the run root for runs:/ URIs)
    parent, name = split_artifact_uri(artifact_uri)
    return get_artifact_repository(parent, tracking_uri=tracking_uri).list_artifacts(name)
