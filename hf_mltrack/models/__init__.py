"""The model format: the ``MLmodel`` file, signatures, input examples, environments and model URIs."""

from __future__ import annotations

from typing import Any

from hf_mltrack.models.model import Model, ModelInfo
from hf_mltrack.models.signature import ModelSignature, infer_signature
from hf_mltrack.models.uri import download_model, resolve_model_uri

__all__ = [
    "Model",
    "ModelInfo",
    "ModelSignature",
    "download_model",
    "get_model_info",
    "infer_signature",
    "resolve_model_uri",
    "set_signature",
]


def get_model_info(model_uri: str) -> ModelInfo:
    """The `ModelInfo` of the model at ``model_uri`` (only its ``MLmodel`` file is read).

    Args:
        model_uri (`str`): any model URI (``runs:/``, ``models:/``, a folder, an artifact URI).

    Returns:
        `ModelInfo`: flavors, signature, run id, artifact path, ...
    """
    return Model.load(model_uri).get_model_info(model_uri)


def set_signature(model_uri: str, signature: ModelSignature) -> None:
    """Replace the signature in the ``MLmodel`` of a model stored on the local filesystem.

    Args:
        model_uri (`str`): a model whose files are local (``runs:/`` of a local store, a folder, ...).
        signature (`ModelSignature`): the new signature (e.g. from `infer_signature`).
    """
    import os

    from hf_mltrack.exceptions import InvalidParameterError
    from hf_mltrack.models._artifact_io import local_path_of
    from hf_mltrack.models.model import MLMODEL_FILE_NAME

    if not isinstance(signature, ModelSignature):
        raise InvalidParameterError(f"signature must be a ModelSignature, got {type(signature).__name__}")
    local = local_path_of(resolve_model_uri(model_uri))
    if local is None:
        raise InvalidParameterError(
            f"set_signature can only rewrite models stored on the local filesystem; {model_uri!r} is remote"
        )
    model: Any = Model.load(local)
    model.signature = signature
    model.save(os.path.join(local, MLMODEL_FILE_NAME) if os.path.isdir(local) else local)
