"""Save, log and load ``torch.nn.Module`` models (the ``pytorch`` flavor).

Serialization formats (``serialization=``):

- ``"safetensors"``: ``model.safetensors`` + ``model_spec.json`` (class path + constructor arguments);
  loads safely, the default.
- ``"pickle"``: ``model.pth`` (``torch.save`` of the module); loading needs ``allow_pickle=True``.
- ``"export"``: ``model.pt2`` (``torch.export``, needs ``input_example``); loading needs
  ``allow_pickle=True`` because ``torch.export.load`` may unpickle.

``"auto"`` (the default) uses safetensors whenever the constructor arguments can be recovered and verified
(see `hf_mltrack.pytorch._spec`), else falls back to pickle with a warning.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from typing import Any

from hf_mltrack.exceptions import InvalidParameterError, MlTrackException, missing_extra
from hf_mltrack.models.model import Model, ModelInfo
from hf_mltrack.models.signature import ModelSignature

_logger = logging.getLogger(__name__)

FLAVOR_NAME = "pytorch"
LOADER_MODULE = "hf_mltrack.pytorch"
DATA_DIR = "data"
CODE_DIR = "code"
SPEC_FILE = "model_spec.json"
WEIGHTS_FILE = "model.safetensors"
PICKLE_FILE = "model.pth"
EXPORT_FILE = "model.pt2"
_FORMATS = ("auto", "safetensors", "pickle", "export")


def _torch() -> Any:
    try:
        import torch
    except ImportError as exc:
        raise missing_extra("hf_mltrack.pytorch", "torch", "hf") from exc
    try:
        import safetensors  # noqa: F401 - the default serialization needs it
    except ImportError as exc:
        raise missing_extra("hf_mltrack.pytorch", "safetensors", "hf") from exc
    return torch


def get_default_pip_requirements(serialization: str = "safetensors") -> list[str]:
    """The packages a saved PyTorch model needs (pinned at save time to the installed versions)."""
    return ["torch", "safetensors"] if serialization == "safetensors" else ["torch"]


def _distributions(spec: Any) -> list[str]:
    """Installed distributions providing the classes named in a module spec (e.g. transformers)."""
    from hf_mltrack.pyfunc.model import _distribution_of

    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            cls = node.get("class")
            if isinstance(cls, str) and ":" in cls:
                out.extend(_distribution_of(cls.split(":")[0]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)
    return [d for d in dict.fromkeys(out) if d.lower() != "torch"]


def _example_args(input_example: Any) -> tuple[Any, ...]:
    torch = _torch()
    import numpy as np

    if isinstance(input_example, torch.Tensor):
        return (input_example,)
    if isinstance(input_example, np.ndarray):
        return (torch.from_numpy(input_example),)
    if isinstance(input_example, tuple) and all(isinstance(t, torch.Tensor) for t in input_example):
        return input_example
    raise InvalidParameterError(
        "serialization='export' needs input_example as a torch.Tensor, a numpy array or a tuple of tensors"
    )


def _save_data(
    pytorch_model: Any, data_path: str, serialization: str, init_kwargs: Any, input_example: Any
) -> tuple[str, Any]:
    """Write the model into ``data_path``; returns ``(format used, module spec or None)``."""
    torch = _torch()
    from hf_mltrack.pytorch._spec import SPEC_FORMAT_VERSION, NotRecoverable, module_spec, verify_spec

    os.makedirs(data_path, exist_ok=True)
    if serialization in ("auto", "safetensors"):
        try:
            spec = module_spec(pytorch_model, init_kwargs)
            verify_spec(pytorch_model, spec)
        except NotRecoverable as exc:
            cls_name = type(pytorch_model).__qualname__
            message = f"Cannot store {cls_name} as safetensors + constructor arguments: {exc}."
            if serialization == "safetensors" or init_kwargs is not None:
                raise InvalidParameterError(
                    message + " Pass init_kwargs={...} (the constructor arguments), or serialization='pickle'"
                ) from exc
            _logger.warning(
                "%s Falling back to pickle: loading this model will need load_model(..., allow_pickle=True). "
                "Pass init_kwargs={...} to save it safely",
                message,
            )
            serialization = "pickle"
        else:
            from safetensors.torch import save_model as save_safetensors

            save_safetensors(pytorch_model, os.path.join(data_path, WEIGHTS_FILE), metadata={"format": "pt"})
            frozen = [n for n, p in pytorch_model.named_parameters() if not p.requires_grad]
            payload = {
                "format_version": SPEC_FORMAT_VERSION,
                "serialization": "safetensors",
                "spec": spec,
                "training": pytorch_model.training,
                "frozen_parameters": frozen,
            }
            with open(os.path.join(data_path, SPEC_FILE), "w", encoding="utf-8") as f:
                json.dump(payload, f, indent=1)
            return "safetensors", spec
    if serialization == "export":
        program = torch.export.export(pytorch_model, _example_args(input_example))
        torch.export.save(program, os.path.join(data_path, EXPORT_FILE))
    else:
        torch.save(pytorch_model, os.path.join(data_path, PICKLE_FILE))
    with open(os.path.join(data_path, SPEC_FILE), "w", encoding="utf-8") as f:
        json.dump({"format_version": 1, "serialization": serialization}, f)
    return serialization, None


def save_model(
    pytorch_model: Any,
    path: str,
    conda_env: dict[str, Any] | str | None = None,
    hf_mltrack_model: Model | None = None,
    code_paths: list[str] | None = None,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: list[str] | str | None = None,
    extra_pip_requirements: list[str] | str | None = None,
    metadata: dict[str, Any] | None = None,
    serialization: str = "auto",
    init_kwargs: Mapping[str, Any] | None = None,
) -> None:
    """Save an ``nn.Module`` to the local folder ``path``.

    Args:
        pytorch_model (`torch.nn.Module`): the model.
        path (`str`): a new (or empty) folder.
        serialization (`str`, *optional*, defaults to `"auto"`): ``"auto"``, ``"safetensors"``,
            ``"pickle"`` or ``"export"`` (see the module docstring). Only safetensors loads without
            ``allow_pickle=True``.
        init_kwargs (`dict`, *optional*): the constructor arguments of ``type(pytorch_model)``, when they are
            not stored as attributes of the module; verified against the model.
        signature, input_example, pip_requirements, extra_pip_requirements, conda_env, code_paths, metadata:
            as in `hf_mltrack.pyfunc.save_model`.
    """
    torch = _torch()
    from hf_mltrack.models._example import process_signature_and_example
    from hf_mltrack.models._paths import copy_code_paths, prepare_save_path
    from hf_mltrack.models.requirements import write_environment
    from hf_mltrack.pyfunc.loaders import add_to_model

    if not isinstance(pytorch_model, torch.nn.Module):
        raise InvalidParameterError(f"pytorch_model must be a torch.nn.Module, got {type(pytorch_model).__name__}")
    if isinstance(pytorch_model, torch.jit.ScriptModule):
        raise InvalidParameterError("TorchScript modules are not supported; save the eager nn.Module instead")
    if serialization not in _FORMATS:
        raise InvalidParameterError(f"serialization={serialization!r}: use one of {', '.join(_FORMATS)}")
    path = prepare_save_path(path)
    model = hf_mltrack_model if hf_mltrack_model is not None else Model()
    if metadata is not None:
        model.metadata = metadata
    example_for_signature = input_example
    if isinstance(input_example, torch.Tensor):
        example_for_signature = input_example.detach().cpu().numpy()
    if serialization == "export" or isinstance(input_example, tuple):
        example_for_signature = None if isinstance(input_example, tuple) else example_for_signature
    process_signature_and_example(model, path, signature, example_for_signature)
    used, spec = _save_data(pytorch_model, os.path.join(path, DATA_DIR), serialization, init_kwargs, input_example)
    code = copy_code_paths(code_paths, path, CODE_DIR)
    env = write_environment(
        path,
        get_default_pip_requirements(used) + _distributions(spec),
        pip_requirements,
        extra_pip_requirements,
        conda_env,
    )
    flavor_conf: dict[str, Any] = {
        "pytorch_version": torch.__version__.split("+", 1)[0],
        "model_data": DATA_DIR,
        "serialization": used,
        "model_class": f"{type(pytorch_model).__module__}:{type(pytorch_model).__qualname__}",
    }
    if code:
        flavor_conf["code"] = code
    model.add_flavor(FLAVOR_NAME, **flavor_conf)
    add_to_model(model, loader_module=LOADER_MODULE, data=DATA_DIR, code=code, env=env)
    model.save(path)


def log_model(
    pytorch_model: Any,
    artifact_path: str | None = None,
    conda_env: dict[str, Any] | str | None = None,
    code_paths: list[str] | None = None,
    registered_model_name: str | None = None,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    await_registration_for: int = 300,
    pip_requirements: list[str] | str | None = None,
    extra_pip_requirements: list[str] | str | None = None,
    metadata: dict[str, Any] | None = None,
    serialization: str = "auto",
    init_kwargs: Mapping[str, Any] | None = None,
    *,
    name: str | None = None,
    run_id: str | None = None,
) -> ModelInfo:
    """Save an ``nn.Module`` and log it to the active run; returns a `ModelInfo`.

    Takes the arguments of `save_model` (``pytorch_model``, ``serialization``, ``init_kwargs``,
    ``signature``, ``input_example``, ...), plus:

    Args:
        artifact_path (`str`, *optional*): where in the run's artifacts (default ``"model"``); MLflow 3's
            ``name=`` is accepted too.
        registered_model_name (`str`, *optional*): also register the model under this name.
        await_registration_for (`int`, *optional*, defaults to 300): seconds to wait for the registration.
        run_id (`str`, *optional*): log to this run instead of the active one.

    Returns:
        `ModelInfo`: ``model_uri`` (``runs:/<run_id>/<artifact_path>``), ``flavors``, ``signature``, ...
    """
    import hf_mltrack.pytorch._model as flavor

    return Model.log(
        artifact_path,
        flavor,
        registered_model_name=registered_model_name,
        await_registration_for=await_registration_for,
        metadata=metadata,
        run_id=run_id,
        name=name,
        pytorch_model=pytorch_model,
        conda_env=conda_env,
        code_paths=code_paths,
        signature=signature,
        input_example=input_example,
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        serialization=serialization,
        init_kwargs=init_kwargs,
    )


# ---------------------------------------------------------------------------------------------- loading


def _load_weights(module: Any, file: str) -> None:
    """Copy the tensors of a safetensors file into ``module``, keeping tied weights tied and saved dtypes."""
    torch = _torch()
    from safetensors import safe_open

    targets = module.state_dict(keep_vars=True)
    loaded: set[str] = set()
    with safe_open(file, framework="pt", device="cpu") as f, torch.no_grad():
        for key in f.keys():
            if key not in targets:
                raise MlTrackException(f"Weights file {file!r} has tensor {key!r} that the rebuilt model lacks")
            tensor = f.get_tensor(key)
            target = targets[key]
            if tuple(target.shape) != tuple(tensor.shape):
                raise MlTrackException(
                    f"Tensor {key!r} has shape {tuple(tensor.shape)} in {file!r} but "
                    f"{tuple(target.shape)} in the rebuilt model"
                )
            if target.dtype != tensor.dtype:
                target.data = target.data.to(tensor.dtype)
            target.copy_(tensor)
            loaded.add(key)
    by_id: dict[int, set[str]] = {}
    for key, value in targets.items():
        by_id.setdefault(id(value), set()).add(key)
    missing = [k for k in targets if k not in loaded and not (by_id[id(targets[k])] & loaded)]
    if missing:
        raise MlTrackException(f"Weights file {file!r} lacks tensors {missing[:10]} of the rebuilt model")


def _resolver(hint: str, trusted: bool = False):
    from hf_mltrack.models._class_ref import resolve_class

    def resolve(path: str, base: type) -> type:
        return resolve_class(path, base, "PyTorch class", hint, trusted=trusted)

    return resolve


def _load_from_data(data_path: str, map_location: Any = None, allow_pickle: bool = False, **kwargs: Any) -> Any:
    torch = _torch()
    from hf_mltrack.models._paths import safe_join
    from hf_mltrack.pytorch._spec import build_module

    spec_file = os.path.join(data_path, SPEC_FILE)
    payload: dict[str, Any] = {}
    if os.path.isfile(spec_file):
        with open(spec_file, encoding="utf-8") as f:
            payload = json.load(f)
    serialization = payload.get("serialization", "pickle")
    if serialization == "safetensors":
        if map_location is not None and not isinstance(map_location, (str, torch.device)):
            raise InvalidParameterError("map_location must be a device (e.g. 'cpu', 'cuda:0') for safetensors models")
        hint = (
            "Or pass code_paths=[...] when saving and allow_pickle=True when loading to use the code saved "
            "with the model."
        )
        module = build_module(payload.get("spec") or {}, _resolver(hint, trusted=allow_pickle))
        _load_weights(module, safe_join(data_path, WEIGHTS_FILE))
        frozen = set(payload.get("frozen_parameters") or [])
        for name, param in module.named_parameters():
            if name in frozen:
                param.requires_grad_(False)
        module.train(bool(payload.get("training", False)))
        return module.to(map_location) if map_location is not None else module
    if serialization not in ("pickle", "export"):
        raise MlTrackException(f"Unknown PyTorch serialization {serialization!r} in {spec_file!r}")
    file = PICKLE_FILE if serialization == "pickle" else EXPORT_FILE
    if not allow_pickle:
        raise MlTrackException(
            f"Refusing to load {file!r} from {data_path!r}: this PyTorch model was saved with "
            f"serialization={serialization!r}, and loading it unpickles code stored in the model "
            "files. If you "
            "trust its source, pass allow_pickle=True"
        )
    if serialization == "export":
        return torch.export.load(safe_join(data_path, file)).module()
    return torch.load(safe_join(data_path, file), map_location=map_location, weights_only=False, **kwargs)


def load_model(
    model_uri: str,
    dst_path: str | None = None,
    map_location: Any = None,
    allow_pickle: bool = False,
    **kwargs: Any,
) -> Any:
    """Load a model saved with the ``pytorch`` flavor as an ``nn.Module``.

    Args:
        model_uri (`str`): any model URI (``runs:/``, ``models:/``, a path, ``file://``, ``s3://`` ...).
        dst_path (`str`, *optional*): where to download a remote model.
        map_location (`str` or `torch.device`, *optional*): the device to load onto (CPU by default).
        allow_pickle (`bool`, *optional*, defaults to `False`): allow models saved with pickle or
            torch.export, and put the model's ``code/`` folder on ``sys.path``; both run code from the model
            files, so pass `True` only for models from a source you trust.
        **kwargs: passed to ``torch.load`` for pickled models.
    """
    from hf_mltrack.models._class_ref import add_code_dir_to_path
    from hf_mltrack.models._paths import safe_join
    from hf_mltrack.models.uri import download_model

    local = download_model(model_uri, dst_path)
    meta = Model.load(local)
    conf = meta.flavors.get(FLAVOR_NAME)
    if conf is None:
        raise MlTrackException(
            f"Model at {model_uri!r} has no pytorch flavor (its flavors: {sorted(meta.flavors)}); "
            "load it with hf_mltrack.pyfunc.load_model or the matching flavor"
        )
    if conf.get("code") and allow_pickle:
        add_code_dir_to_path(safe_join(local, conf["code"]))
    data_path = safe_join(local, conf.get("model_data", DATA_DIR))
    return _load_from_data(data_path, map_location=map_location, allow_pickle=allow_pickle, **kwargs)
