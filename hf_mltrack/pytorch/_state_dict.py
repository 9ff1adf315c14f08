"""Safe (pickle-free) serialization of state dicts: tensors in safetensors, the structure in JSON.

A flat ``model.state_dict()`` is stored under its own keys, so the ``.safetensors`` file is usable by any
tool. Nested checkpoints (``{"model": ..., "optimizer": opt.state_dict(), "epoch": 3}``) keep their
structure in the file's metadata: dicts (string or int keys), lists, tuples, numbers, strings, bools,
``None`` and tensors.
"""

from __future__ import annotations

import json
import math
from typing import Any

from hf_mltrack.exceptions import InvalidParameterError, MlTrackException

STATE_DICT_FILE = "state_dict.safetensors"
_STRUCTURE_KEY = "hf_mltrack.structure"


def _flatten(obj: Any, path: list[str], tensors: dict[str, Any], seen: dict[tuple, Any]) -> Any:
    import torch

    if isinstance(obj, torch.Tensor):
        t = obj.detach()
        if t.device.type == "meta":
            raise InvalidParameterError(f"Cannot save meta tensor at {'.'.join(path) or '<root>'}")
        ident = (
            t.untyped_storage().data_ptr(),
            t.storage_offset(),
            tuple(t.shape),
            tuple(t.stride()),
            t.dtype,
        )
        if t.numel() and ident in seen:
            return {"__tensor__": seen[ident]}
        key = ".".join(path) or "tensor"
        while key in tensors:
            key += "_"
        t = t.to("cpu").contiguous()
        ptrs = seen.setdefault(("__storages__",), set())  # type: ignore[arg-type]
        if t.untyped_storage().data_ptr() in ptrs:  # another view of a saved storage: safetensors needs a copy
            t = t.clone()
        ptrs.add(t.untyped_storage().data_ptr())
        tensors[key] = t
        if obj.numel():
            seen[ident] = key
        return {"__tensor__": key}
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else {"__float__": repr(obj)}
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj):
            return {"__dict__": {k: _flatten(v, [*path, k], tensors, seen) for k, v in obj.items()}}
        items = []
        for k, v in obj.items():
            if not isinstance(k, (str, int)) or isinstance(k, bool):
                raise InvalidParameterError(f"Cannot save a state dict key {k!r}: keys must be str or int")
            items.append([k, _flatten(v, [*path, str(k)], tensors, seen)])
        return {"__items__": items}
    if isinstance(obj, list):
        return [_flatten(v, [*path, str(i)], tensors, seen) for i, v in enumerate(obj)]
    if isinstance(obj, tuple):
        return {"__tuple__": [_flatten(v, [*path, str(i)], tensors, seen) for i, v in enumerate(obj)]}
    raise InvalidParameterError(
        f"Cannot save the value at {'.'.join(path) or '<root>'} of type {type(obj).__name__} without "
        "pickle: a state "
        "dict holds tensors, numbers, strings, bools, None, and dicts/lists/tuples of those"
    )


def _unflatten(node: Any, tensors: dict[str, Any]) -> Any:
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if isinstance(node, list):
        return [_unflatten(v, tensors) for v in node]
    if isinstance(node, dict) and len(node) == 1:
        ((tag, inner),) = node.items()
        if tag == "__tensor__" and isinstance(inner, str) and inner in tensors:
            return tensors[inner]
        if tag == "__dict__" and isinstance(inner, dict):
            return {k: _unflatten(v, tensors) for k, v in inner.items()}
        if tag == "__items__" and isinstance(inner, list):
            return {k: _unflatten(v, tensors) for k, v in inner}
        if tag == "__tuple__" and isinstance(inner, list):
            return tuple(_unflatten(v, tensors) for v in inner)
        if tag == "__float__" and inner in ("nan", "inf", "-inf"):
            return float(inner)
    raise MlTrackException(f"Invalid state dict structure entry {node!r}")


def save_state_dict_file(state_dict: Any, file: str) -> None:
    """Write ``state_dict`` (possibly nested) to one safetensors file."""
    from safetensors.torch import save_file

    if not isinstance(state_dict, dict):
        raise InvalidParameterError(f"state_dict must be a dict, got {type(state_dict).__name__}")
    tensors: dict[str, Any] = {}
    structure = _flatten(state_dict, [], tensors, {})
    save_file(tensors, file, metadata={"format": "pt", _STRUCTURE_KEY: json.dumps(structure)})


def load_state_dict_file(file: str, device: Any = "cpu") -> Any:
    """Read a file written by `save_state_dict_file` (or any safetensors file, as a flat dict)."""
    from safetensors import safe_open

    with safe_open(file, framework="pt", device=str(device)) as f:
        metadata = f.metadata() or {}
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    raw = metadata.get(_STRUCTURE_KEY)
    if raw is None:
        return tensors
    try:
        structure = json.loads(raw)
    except ValueError as exc:
        raise MlTrackException(f"Invalid structure metadata in {file!r}: {exc}") from exc
    return _unflatten(structure, tensors)
