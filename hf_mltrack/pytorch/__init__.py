"""The ``pytorch`` flavor: ``nn.Module`` models and state dicts, stored without pickle by default.

```python
info = hf_mltrack.pytorch.log_model(model, artifact_path="pytorch-model", pip_requirements=["torch>=2.0.0"])
model = hf_mltrack.pytorch.load_model(info.model_uri)           # an nn.Module
pyfunc = hf_mltrack.pyfunc.load_model(info.model_uri)           # numpy / DataFrame in and out
```

torch is imported only when a function of this module is called.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from hf_mltrack.pytorch._model import (
    FLAVOR_NAME,
    get_default_pip_requirements,
    load_model,
    log_model,
    save_model,
)
from hf_mltrack.pytorch._pyfunc import _load_pyfunc  # noqa: F401 - the python_function loader

if TYPE_CHECKING:
    from hf_mltrack.entities import Run

__all__ = [
    "FLAVOR_NAME",
    "autolog",
    "get_default_pip_requirements",
    "load_model",
    "load_state_dict",
    "log_model",
    "log_state_dict",
    "save_model",
    "save_state_dict",
]


def autolog(
    log_models: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    silent: bool = False,
    registered_model_name: str | None = None,
) -> None:
    """Autolog PyTorch training loops (see `hf_mltrack.autologging.pytorch.autolog`)."""
    from hf_mltrack.autologging.pytorch import autolog as _autolog

    _autolog(
        log_models=log_models,
        log_datasets=log_datasets,
        disable=disable,
        silent=silent,
        registered_model_name=registered_model_name,
    )


def save_state_dict(state_dict: dict[str, Any], path: str) -> None:
    """Save a (possibly nested) state dict into folder ``path`` as ``state_dict.safetensors`` (no pickle).

    Args:
        state_dict (`dict[str, Any]`): tensors, possibly in nested dicts (e.g. a model's and an
            optimizer's state).
        path (`str`): the folder (created if missing).
    """
    from hf_mltrack.pytorch._state_dict import STATE_DICT_FILE, save_state_dict_file

    os.makedirs(path, exist_ok=True)
    save_state_dict_file(state_dict, os.path.join(path, STATE_DICT_FILE))


def log_state_dict(state_dict: dict[str, Any], artifact_path: str, run_id: str | None = None) -> str:
    """Save a state dict and log it under ``artifact_path`` of the active run (or ``run_id``).

    Args:
        state_dict (`dict[str, Any]`): as in `save_state_dict`.
        artifact_path (`str`): the folder in the run's artifacts, e.g. ``"checkpoint"``.
        run_id (`str`, *optional*): log to this run instead of the active one.

    Returns:
        `str`: the ``runs:/<run_id>/<artifact_path>`` URI to pass to `load_state_dict`.
    """
    from hf_mltrack.models._artifact_io import staging_dir, upload_dir
    from hf_mltrack.models.model import _artifact_path_arg

    artifact_path = _artifact_path_arg(artifact_path, None)
    run: Run
    if run_id is None:
        from hf_mltrack.tracking.fluent import _get_or_start_run

        run = _get_or_start_run()
    else:
        from hf_mltrack.tracking import MlTrackClient

        run = MlTrackClient().get_run(run_id)
    with staging_dir(run.info.artifact_uri) as tmp:
        save_state_dict(state_dict, tmp)
        upload_dir(tmp, run.info.artifact_uri, artifact_path, staged=True)
    return f"runs:/{run.info.run_id}/{artifact_path}"


def load_state_dict(
    state_dict_uri: str, map_location: Any = None, allow_pickle: bool = False, dst_path: str | None = None
) -> dict[str, Any]:
    """Load a state dict saved by `save_state_dict`/`log_state_dict` (any model URI form).

    A ``state_dict.pth`` written by MLflow is a pickle and needs ``allow_pickle=True``.

    Args:
        state_dict_uri (`str`): ``runs:/...``, ``models:/...``, a folder or an artifact URI.
        map_location (`str` or `torch.device`, *optional*): where to put the tensors; CPU by default.
        allow_pickle (`bool`, *optional*, defaults to `False`): accept a pickled ``state_dict.pth`` (only from
            a source you trust: unpickling runs code).
        dst_path (`str`, *optional*): where to download a remote state dict.

    Returns:
        `dict[str, Any]`
    """
    from hf_mltrack.exceptions import MlTrackException
    from hf_mltrack.models.uri import download_model
    from hf_mltrack.pytorch._state_dict import STATE_DICT_FILE, load_state_dict_file

    local = download_model(state_dict_uri, dst_path)
    safe = os.path.join(local, STATE_DICT_FILE) if os.path.isdir(local) else local
    if safe.endswith(".safetensors") and os.path.isfile(safe):
        return load_state_dict_file(safe, device=map_location or "cpu")
    pickled = os.path.join(local, "state_dict.pth") if os.path.isdir(local) else local
    if os.path.isfile(pickled):
        if not allow_pickle:
            raise MlTrackException(
                f"Refusing to unpickle {pickled!r}: it may run code stored in the file. If you trust "
                "its source, "
                "pass allow_pickle=True"
            )
        import torch

        return torch.load(pickled, map_location=map_location, weights_only=False)
    raise MlTrackException(f"No {STATE_DICT_FILE} at {state_dict_uri!r}")
