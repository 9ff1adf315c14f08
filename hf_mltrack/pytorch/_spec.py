"""Rebuild an ``nn.Module`` without pickle: its class by import path plus its constructor arguments as JSON.

`module_spec` recovers the constructor arguments of a module:

- containers (``nn.Sequential``, ``nn.ModuleList``, ``nn.ModuleDict``) from their children, recursively;
- HuggingFace ``PreTrainedModel``s from their config (``cls(config_class.from_dict(...))``);
- other modules from ``init_kwargs`` when given, else from the attributes named like the parameters of
  ``__init__`` (``nn.Linear(in_features, out_features)`` keeps both as attributes); an attribute that is
  itself a module is recovered recursively.

A recovered spec is then verified: the module it builds (on the meta device, so nothing is allocated)
must have the same submodule types, the same ``extra_repr()`` of each submodule, the same plain
attributes and the same state-dict keys and shapes as the original. A spec that cannot be recovered or
verified raises `NotRecoverable`, and the caller falls back to another format.

Values are encoded as plain JSON, with tagged objects for the few non-JSON types:
``{"__tuple__": [...]}``, ``{"__dict__": {...}}``, ``{"__module__": spec}``, ``{"__dtype__": "float32"}``.
"""

from __future__ import annotations

import inspect
import math
from collections import OrderedDict
from typing import Any

from hf_mltrack.exceptions import MlTrackException

SPEC_FORMAT_VERSION = 1
_CONTAINERS = ("Sequential", "ModuleList", "ModuleDict")


class NotRecoverable(Exception):
    """The module's constructor arguments cannot be recovered (or verified) safely."""


def _class_ref(cls: type) -> str:
    if "<locals>" in cls.__qualname__:
        raise NotRecoverable(f"class {cls.__qualname__} is defined inside a function and cannot be imported")
    return f"{cls.__module__}:{cls.__qualname__}"


def _encode(value: Any, where: str) -> Any:
    import torch

    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NotRecoverable(f"{where}: non-finite float {value!r}")
        return value
    if isinstance(value, torch.nn.Module):
        return {"__module__": module_spec(value)}
    if isinstance(value, torch.dtype):
        return {"__dtype__": str(value).removeprefix("torch.")}
    if isinstance(value, torch.Tensor):
        raise NotRecoverable(f"{where}: a tensor")
    if isinstance(value, list):
        return [_encode(v, where) for v in value]
    if isinstance(value, tuple) and type(value) is tuple or isinstance(value, torch.Size):
        return {"__tuple__": [_encode(v, where) for v in value]}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"__dict__": {k: _encode(v, where) for k, v in value.items()}}
    raise NotRecoverable(f"{where}: a value of type {type(value).__name__}")


def _decode(value: Any, resolve: Any) -> Any:
    import torch

    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [_decode(v, resolve) for v in value]
    if isinstance(value, dict) and len(value) == 1:
        ((tag, inner),) = value.items()
        if tag == "__tuple__" and isinstance(inner, list):
            return tuple(_decode(v, resolve) for v in inner)
        if tag == "__dict__" and isinstance(inner, dict):
            return {k: _decode(v, resolve) for k, v in inner.items()}
        if tag == "__odict__" and isinstance(inner, list):
            return OrderedDict((str(k), _decode(v, resolve)) for k, v in inner)
        if tag == "__module__" and isinstance(inner, dict):
            return build_module(inner, resolve)
        if tag == "__dtype__" and isinstance(inner, str):
            dtype = getattr(torch, inner, None)
            if isinstance(dtype, torch.dtype):
                return dtype
    raise MlTrackException(f"Invalid value in a saved PyTorch module spec: {value!r}")


def _container_spec(module: Any) -> dict[str, Any]:
    cls = type(module)
    children = list(module._modules.items())
    name = cls.__name__
    if name == "Sequential":
        if [k for k, _ in children] == [str(i) for i in range(len(children))]:
            return {"class": _class_ref(cls), "args": [{"__module__": module_spec(m)} for _, m in children]}
        return {
            "class": _class_ref(cls),
            "args": [{"__odict__": [[k, {"__module__": module_spec(m)}] for k, m in children]}],
        }
    if name == "ModuleList":
        return {"class": _class_ref(cls), "args": [[{"__module__": module_spec(m)} for _, m in children]]}
    return {
        "class": _class_ref(cls),
        "args": [{"__odict__": [[k, {"__module__": module_spec(m)}] for k, m in children]}],
    }


def _hf_spec(module: Any) -> dict[str, Any] | None:
    config = getattr(module, "config", None)
    if config is None or not hasattr(config, "to_json_string") or not hasattr(type(module), "config_class"):
        return None
    import json

    try:
        config_dict = json.loads(config.to_json_string(use_diff=False))
    except (TypeError, ValueError) as exc:
        raise NotRecoverable(f"its config cannot be written as JSON ({exc})") from exc
    return {
        "class": _class_ref(type(module)),
        "hf_config": {"class": _class_ref(type(config)), "dict": config_dict},
    }


def module_spec(module: Any, init_kwargs: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON spec that rebuilds ``module``'s architecture (not its weights); see the module docstring."""
    import torch

    cls = type(module)
    if cls.__module__ == "torch.nn.modules.container" and cls.__name__ in _CONTAINERS:
        return _container_spec(module)
    if init_kwargs is not None:
        return {
            "class": _class_ref(cls),
            "kwargs": _encode(dict(init_kwargs), f"init_kwargs of {cls.__name__}")["__dict__"],
        }
    hf = _hf_spec(module)
    if hf is not None:
        return hf
    try:
        parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    except (TypeError, ValueError) as exc:
        raise NotRecoverable(f"the constructor of {cls.__qualname__} has no inspectable signature") from exc
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for p in parameters:
        if p.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            continue
        has_default = p.default is not inspect.Parameter.empty
        encoded: Any = inspect.Parameter.empty
        if hasattr(module, p.name) and p.name not in ("training",):
            value = getattr(module, p.name)
            if not isinstance(value, torch.nn.Parameter):
                try:
                    encoded = _encode(value, f"argument {p.name!r} of {cls.__qualname__}")
                except NotRecoverable:
                    if not has_default:
                        raise
        if encoded is inspect.Parameter.empty:
            if has_default:
                continue
            raise NotRecoverable(
                f"the required constructor argument {p.name!r} of {cls.__qualname__} is not stored on "
                "the module "
                f"(pass init_kwargs={{{p.name!r}: ...}})"
            )
        if p.kind is inspect.Parameter.POSITIONAL_ONLY:
            args.append(encoded)
        else:
            kwargs[p.name] = encoded
    spec: dict[str, Any] = {"class": _class_ref(cls)}
    if args:
        spec["args"] = args
    if kwargs:
        spec["kwargs"] = kwargs
    return spec


def build_module(spec: dict[str, Any], resolve: Any) -> Any:
    """Build the module a spec describes; ``resolve(path, base)`` turns class references into classes."""
    import torch

    if not isinstance(spec, dict) or not isinstance(spec.get("class"), str):
        raise MlTrackException(f"Invalid PyTorch module spec: {spec!r}")
    cls = resolve(spec["class"], torch.nn.Module)
    if "hf_config" in spec:
        from transformers import PretrainedConfig

        hf = spec["hf_config"]
        if not isinstance(hf, dict) or not isinstance(hf.get("dict"), dict):
            raise MlTrackException(f"Invalid hf_config in PyTorch module spec: {hf!r}")
        config_cls = resolve(hf.get("class"), PretrainedConfig)
        return cls(config_cls.from_dict(hf["dict"]))
    args = spec.get("args", [])
    kwargs = spec.get("kwargs", {})
    if not isinstance(args, list) or not isinstance(kwargs, dict):
        raise MlTrackException(f"Invalid args/kwargs in PyTorch module spec for {spec['class']!r}")
    return cls(*[_decode(a, resolve) for a in args], **{k: _decode(v, resolve) for k, v in kwargs.items()})


def _plain_attrs(module: Any) -> dict[str, Any]:
    return {
        k: v
        for k, v in vars(module).items()
        if not k.startswith("_") and k != "training" and isinstance(v, (bool, int, float, str, type(None)))
    }


def _fingerprint(module: Any) -> tuple[list[tuple[str, type, str]], dict[str, tuple[int, ...]]]:
    mods = [(name, type(m), m.extra_repr()) for name, m in module.named_modules()]
    shapes = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    return mods, shapes


def verify_spec(module: Any, spec: dict[str, Any]) -> None:
    """Raise `NotRecoverable` unless ``spec`` rebuilds a module with the same architecture as ``module``."""
    import torch

    from hf_mltrack.models._class_ref import resolve_class

    def resolve(path: str, base: type) -> type:
        return resolve_class(path, base, "module class")

    try:
        with torch.device("meta"):
            candidate = build_module(spec, resolve)
    except Exception:
        try:
            candidate = build_module(spec, resolve)
        except Exception as exc:
            raise NotRecoverable(
                f"rebuilding it from the recovered arguments failed ({type(exc).__name__}: {exc})"
            ) from exc
    if _fingerprint(candidate) != _fingerprint(module):
        raise NotRecoverable("the module rebuilt from the recovered constructor arguments has a different architecture")
    originals = dict(module.named_modules())
    for name, sub in candidate.named_modules():
        a, b = _plain_attrs(originals[name]), _plain_attrs(sub)
        for key in a.keys() & b.keys():
            if a[key] != b[key] and not (isinstance(a[key], float) and math.isnan(a[key]) and math.isnan(b[key])):
                raise NotRecoverable(
                    f"attribute {(name + '.' if name else '') + key} differs after rebuilding "
                    f"({a[key]!r} != {b[key]!r})"
                )
