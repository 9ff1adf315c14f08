"""PEFT (LoRA, ...) models: saved as the adapter plus a reference to the base, loaded by re-applying it.

MLflow re-downloads and re-saves the whole base model for every adapter it logs (mlflow#9256, #22020).
Here a `PeftModel` costs its adapter's megabytes: ``peft/`` holds ``adapter_config.json`` and the adapter
weights, and the flavor block records where the base comes from (a hub id and revision, a local folder,
or a logged base model's URI). Including the base weights is an explicit option (``save_base_model=True``).
"""

from __future__ import annotations

import json
import os
from typing import Any

from hf_mltrack.exceptions import InvalidParameterError, MlTrackException, missing_extra
from hf_mltrack.transformers import _flavor
from hf_mltrack.transformers._compat import _logger

ADAPTER_CONFIG_FILE = "adapter_config.json"


def is_peft_model(model: Any) -> bool:
    """Whether ``model`` is a `peft.PeftModel` (checked without importing peft when it is not loaded)."""
    if model is None:
        return False
    for cls in type(model).__mro__:
        if cls.__name__ == "PeftModel" and cls.__module__.startswith("peft"):
            return True
    return False


def is_adapter_folder(path: str) -> bool:
    return os.path.isfile(os.path.join(path, ADAPTER_CONFIG_FILE))


def _enum_value(value: Any) -> Any:
    return getattr(value, "value", value)


def _reference(name_or_path: str | None) -> tuple[str | None, bool]:
    """``(reference, is_local)``: an absolute path for an existing local folder, else the hub id as given."""
    if not name_or_path:
        return None, False
    if os.path.isdir(name_or_path):
        return os.path.abspath(name_or_path), True
    return str(name_or_path), False


def adapter_info(model: Any, base_model_uri: str | None = None) -> dict[str, Any]:
    """The ``peft`` entry of the flavor block for an in-memory `PeftModel`."""
    configs = model.peft_config
    active = getattr(model, "active_adapter", "default")
    if isinstance(active, (list, tuple)):
        active = active[0] if active else "default"
    config = configs.get(active) or next(iter(configs.values()))
    base = model.get_base_model()
    base_name = getattr(config, "base_model_name_or_path", None) or getattr(base, "name_or_path", None)
    reference, _ = _reference(base_name)
    revision = getattr(config, "revision", None) or getattr(getattr(base, "config", None), "_commit_hash", None)
    return {
        "adapter_dir": _flavor.PEFT_DIR,
        "peft_type": str(_enum_value(getattr(config, "peft_type", None))),
        "task_type": _enum_value(getattr(config, "task_type", None)),
        "adapter_names": list(configs),
        "active_adapter": active,
        "base_model_name": reference,
        "base_model_revision": revision,
        "base_model_uri": base_model_uri,
        "base_model_class": type(base).__name__,
        "base_weights_included": False,
        "peft_version": _installed("peft"),
    }


def folder_adapter_info(path: str, base_model_uri: str | None = None) -> dict[str, Any]:
    """The ``peft`` entry for an adapter checkpoint folder (``adapter_config.json``)."""
    with open(os.path.join(path, ADAPTER_CONFIG_FILE), encoding="utf-8") as f:
        config = json.load(f)
    reference, _ = _reference(config.get("base_model_name_or_path"))
    return {
        "adapter_dir": _flavor.PEFT_DIR,
        "peft_type": config.get("peft_type"),
        "task_type": config.get("task_type"),
        "adapter_names": ["default"],
        "active_adapter": "default",
        "base_model_name": reference,
        "base_model_revision": config.get("revision"),
        "base_model_uri": base_model_uri,
        "base_model_class": None,
        "base_weights_included": False,
        "peft_version": config.get("peft_version") or _installed("peft"),
    }


def check_base_reference(info: dict[str, Any]) -> None:
    """A saved adapter must say where its base comes from, or loading it would be impossible."""
    if info.get("base_model_name") or info.get("base_model_uri") or info.get("base_weights_included"):
        return
    raise InvalidParameterError(
        "This PEFT model's base has no name or path (it was built in memory), so the adapter alone could not "
        "be loaded again. Save the base first (base.save_pretrained(folder), or log it and use its model "
        "URI) "
        "and pass base_model_uri=<folder, hub id or runs:/... URI>, or pass save_base_model=True to include "
        "the base weights in this model"
    )


def save_adapter(model: Any, dst: str) -> None:
    """Write every adapter of ``model`` (config and weights only) into ``dst``."""
    model.save_pretrained(dst)
    readme = os.path.join(dst, "README.md")
    if os.path.isfile(readme):  # peft's auto-generated card template; the model card has its own place
        os.remove(readme)


def _adapter_names(model: Any) -> set[str]:
    return set(getattr(model, "peft_config", {}) or {})


def base_state_dict(model: Any) -> dict[str, Any]:
    """The base model's own weights, without the adapter layers that PEFT injected into it."""
    names = _adapter_names(model)
    out: dict[str, Any] = {}
    for key, value in model.get_base_model().state_dict().items():
        parts = key.split(".")
        if any(p in names for p in parts):
            continue  # adapter weights (lora_A.default.weight, modules_to_save.default....)
        parts = [p for p in parts if p not in ("base_layer", "original_module")]
        out.setdefault(".".join(parts), value)
    return out


def save_base_weights(model: Any, dst: str) -> None:
    """Save the base model (config and clean weights) into ``dst``: the explicit self-contained export."""
    base = model.get_base_model()
    base.save_pretrained(dst, state_dict=base_state_dict(model))


def _installed(package: str) -> str | None:
    import importlib.metadata

    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def require_peft() -> Any:
    try:
        import peft
    except ImportError as exc:
        raise missing_extra("Loading a PEFT adapter", "peft", "hf") from exc
    return peft


def apply_adapter(base: Any, adapter_dir: str, info: dict[str, Any], merge: bool) -> Any:
    """Attach the saved adapter(s) to ``base``; merged into the weights when ``merge``."""
    require_peft()
    from peft import PeftModel

    names = list(info.get("adapter_names") or ["default"])
    first = "default" if "default" in names else names[0]
    first_dir = adapter_dir if first == "default" else os.path.join(adapter_dir, first)
    model = PeftModel.from_pretrained(base, first_dir, adapter_name=first, is_trainable=False)
    for name in names:
        if name == first:
            continue
        sub = os.path.join(adapter_dir, name)
        if os.path.isdir(sub):
            model.load_adapter(sub, adapter_name=name, is_trainable=False)
        else:
            _logger.warning("Adapter %r listed in MLmodel is missing from %s; skipped", name, adapter_dir)
    active = info.get("active_adapter")
    if active and active in names and active != first:
        model.set_adapter(active)
    if merge:
        if len(names) > 1:
            _logger.info("merge_adapter=True merges the active adapter %r only", active or first)
        model = model.merge_and_unload()
    model.eval()
    return model


def resolve_base(info: dict[str, Any], base_model_path: str | None, model_dir: str | None) -> tuple[str, str | None]:
    """``(name or local folder, revision)`` of the base model to load the adapter onto.

    Order: ``base_model_path`` given at load, the base weights stored in the model, the logged base
    model URI, then the recorded hub id or local folder.
    """
    if base_model_path is not None:
        return weights_location(base_model_path)
    if info.get("base_weights_included") and model_dir is not None:
        return model_dir, None
    if info.get("base_model_uri"):
        return weights_location(info["base_model_uri"])
    name = info.get("base_model_name")
    if not name:
        raise MlTrackException(
            "The MLmodel file names no base model for this adapter: pass load_model(..., base_model_path=...)"
        )
    if os.path.isabs(name) and not os.path.isdir(name):
        raise MlTrackException(
            f"The adapter's base model folder {name!r} (recorded when it was logged) does not exist on this "
            "machine: pass load_model(..., base_model_path=<a local copy, a hub id or a model URI>)"
        )
    return name, info.get("base_model_revision")


def weights_location(ref: str) -> tuple[str, str | None]:
    """``(local weights folder or hub id, revision)`` for ``ref``: a folder, a hub id, or a model URI.

    An hf_mltrack transformers model (``runs:/``, ``models:/``, or its folder) resolves to its ``model/``
    folder, or, when it stored only a reference, to that reference.
    """
    scheme = ref.split(":", 1)[0] if ":" in ref else ""
    is_uri = bool(scheme) and len(scheme) > 1  # one letter: a Windows drive
    if not is_uri and not os.path.isdir(ref):
        return ref, None  # a hub id
    if not is_uri and not os.path.isfile(os.path.join(ref, "MLmodel")):
        return os.path.abspath(ref), None  # a plain save_pretrained folder
    from hf_mltrack.models import Model, download_model

    local = download_model(ref)
    conf = Model.load(local).flavors.get(_flavor.FLAVOR_NAME)
    if conf is None:
        raise MlTrackException(f"{ref!r} is not a transformers model: it cannot serve as a base model")
    if conf.get(_flavor.MODEL_BINARY):
        return os.path.join(local, conf[_flavor.MODEL_BINARY]), None
    source = conf.get(_flavor.SOURCE_MODEL_NAME)
    if not source:
        raise MlTrackException(f"The model at {ref!r} holds neither weights nor a source model reference")
    return source, conf.get(_flavor.SOURCE_MODEL_REVISION)
