"""`log_model` without a temporary copy.

MLflow saves the model to a temporary folder and then copies it into the artifact store: a large model
is written twice (1.26 s for a 101 MB GPT-2 that ``save_pretrained`` writes in 0.09 s). Here, when the
run's artifacts are on the local filesystem, the model is saved directly into a hidden sibling of its
final folder inside the store, then renamed into place (atomic: readers never see a half-written model).
For remote stores the small files go through a temporary folder, and weights that already exist on disk
(a checkpoint folder) are uploaded from where they are.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import urllib.parse
import urllib.request
import uuid
from typing import Any

from hf_mltrack.exceptions import InvalidParameterError
from hf_mltrack.transformers._save import FilePlacer, save_model_impl

_TEMP_MARKER = ".hfmltrack-partial-"  # hidden from artifact listings (hf_mltrack.artifacts.paths.TEMP_MARKER)


def _temp_marker() -> str:
    try:
        from hf_mltrack.artifacts.paths import TEMP_MARKER

        return TEMP_MARKER
    except ImportError:  # pragma: no cover - the artifacts package is part of hf_mltrack
        return _TEMP_MARKER


def local_store_path(artifact_uri: str) -> str | None:
    """The local folder of a plain-path or ``file://`` artifact URI, else ``None``."""
    parsed = urllib.parse.urlparse(artifact_uri)
    if parsed.scheme == "file" and parsed.netloc in ("", "localhost"):
        return urllib.request.url2pathname(parsed.path)
    if parsed.scheme == "" or (len(parsed.scheme) == 1 and os.name == "nt"):
        return artifact_uri
    return None


def artifact_path_arg(artifact_path: str | None, name: str | None) -> str:
    """MLflow 2's ``artifact_path`` or MLflow 3's ``name`` (one of them), checked: a safe relative path."""
    if artifact_path is not None and name is not None and artifact_path != name:
        raise InvalidParameterError(
            f"Pass the model's location once: artifact_path={artifact_path!r} or name={name!r}, not both"
        )
    path = artifact_path if artifact_path is not None else name if name is not None else "model"
    if not isinstance(path, str):
        raise InvalidParameterError(f"artifact_path (name) must be a str, got {type(path).__name__}")
    parts = [p for p in path.strip().strip("/").split("/") if p]
    if not parts or any(p in (".", "..") for p in parts) or "\\" in path or "\x00" in path:
        raise InvalidParameterError(
            f"Invalid artifact_path (name) {path!r}: use a relative path such as 'model', without '.' or '..'"
        )
    return "/".join(parts)


def _get_run(run_id: str | None) -> Any:
    if run_id is None:
        from hf_mltrack.tracking.fluent import _get_or_start_run

        return _get_or_start_run()
    from hf_mltrack.tracking import MlTrackClient

    return MlTrackClient().get_run(run_id)


def _save_in_place(final: str, mlmodel: Any, transformers_model: Any, save_kwargs: dict[str, Any]) -> None:
    if os.path.exists(final) and (not os.path.isdir(final) or os.listdir(final)):
        raise InvalidParameterError(
            f"The run already has artifacts at {final!r}: log the model under another artifact_path (name)"
        )
    parent, leaf = os.path.split(final)
    os.makedirs(parent, exist_ok=True)
    staging = os.path.join(parent, f".{leaf}{_temp_marker()}{uuid.uuid4().hex[:12]}")
    try:
        save_model_impl(transformers_model, staging, hf_mltrack_model=mlmodel, **save_kwargs)
        if os.path.isdir(final):
            os.rmdir(final)  # empty (checked above)
        os.replace(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _save_and_upload(
    artifact_uri: str, artifact_path: str, mlmodel: Any, transformers_model: Any, save_kwargs: dict[str, Any]
) -> None:
    from hf_mltrack.artifacts import get_artifact_repository

    repo = get_artifact_repository(artifact_uri)
    with tempfile.TemporaryDirectory(prefix="hf_mltrack_log_model_") as tmp:
        local = os.path.join(tmp, "model")
        placer = FilePlacer(local, defer=True)
        save_model_impl(transformers_model, local, hf_mltrack_model=mlmodel, placer=placer, **save_kwargs)
        # Weights first, MLmodel last: a reader that finds the MLmodel file finds a complete model.
        for src, rel_dir in placer.deferred:
            repo.log_artifact(src, f"{artifact_path}/{rel_dir}".rstrip("/"))
        mlmodel_file = os.path.join(local, "MLmodel")
        staged = os.path.join(tmp, "MLmodel")
        shutil.move(mlmodel_file, staged)
        repo.log_artifacts(local, artifact_path)
        repo.log_artifact(staged, artifact_path)


def log_model_impl(
    transformers_model: Any,
    artifact_path: str | None = None,
    *,
    name: str | None = None,
    registered_model_name: str | None = None,
    await_registration_for: int = 300,
    metadata: dict[str, Any] | None = None,
    run_id: str | None = None,
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    model_type: str | None = None,
    step: int = 0,
    **save_kwargs: Any,
) -> Any:
    from hf_mltrack.models import Model
    from hf_mltrack.models.logged import logged_model_for

    artifact_path = artifact_path_arg(artifact_path, name)
    run = _get_run(run_id)
    run_id = run.info.run_id
    artifact_uri = run.info.artifact_uri
    mlmodel = Model(artifact_path=artifact_path, run_id=run_id, metadata=metadata)
    root = local_store_path(artifact_uri)
    with logged_model_for(run, artifact_path, mlmodel, params=params, tags=tags, model_type=model_type, step=step):
        if root is not None:
            _save_in_place(os.path.join(root, *artifact_path.split("/")), mlmodel, transformers_model, save_kwargs)
        else:
            _save_and_upload(artifact_uri, artifact_path, mlmodel, transformers_model, save_kwargs)
    _record_history(run_id, mlmodel)
    info = mlmodel.get_model_info(f"models:/{mlmodel.model_id}")
    info.artifact_uri = artifact_uri.rstrip("/") + "/" + artifact_path
    if registered_model_name is not None:
        info.registered_model_version = _register(info.model_uri, registered_model_name, await_registration_for)
    return info


def _record_history(run_id: str, mlmodel: Any) -> None:
    # The model format keeps the run's "logged models" tag (read by the UI); reuse its writer.
    try:
        from hf_mltrack.models.model import _record_history as record
    except ImportError:  # pragma: no cover - older model package without the history tag
        return
    record(run_id, mlmodel)


def _register(model_uri: str, name: str, await_registration_for: int) -> int | None:
    from hf_mltrack.models.model import _register as register

    return register(model_uri, name, await_registration_for)
