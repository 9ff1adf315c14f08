"""What ``transformers_model`` can be: a `Pipeline`, a dict of components, a model, or a checkpoint folder."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from hf_mltrack.exceptions import InvalidParameterError
from hf_mltrack.transformers import _flavor

_DICT_KEYS = ("model", *_flavor.COMPONENT_NAMES, "task")


@dataclass
class ModelInput:
    """``transformers_model`` normalized: either in-memory objects or a checkpoint folder."""

    model: Any = None
    components: dict[str, Any] = field(default_factory=dict)
    checkpoint: str | None = None
    task: str | None = None
    instance_type: str | None = None


def _is_pipeline(obj: Any) -> bool:
    for cls in type(obj).__mro__:
        if cls.__name__ == "Pipeline" and cls.__module__.startswith("transformers"):
            return True
    return False


def _looks_like_model(obj: Any) -> bool:
    return hasattr(obj, "save_pretrained") and hasattr(obj, "config") and hasattr(obj, "forward")


def _pipeline_components(pipe: Any) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name in _flavor.COMPONENT_NAMES:
        value = getattr(pipe, name, None)
        if value is not None:
            found[name] = value
    return _dedupe(found)


def _dedupe(components: dict[str, Any]) -> dict[str, Any]:
    """Drop components that are another one under a second name (pipelines alias some of them)."""
    out = dict(components)
    processor = out.get("processor")
    if processor is not None:
        for name in ("tokenizer", "feature_extractor", "image_processor"):
            if name in out and getattr(processor, name, None) is out[name]:
                del out[name]  # saved (and reloaded) as part of the processor
    if "feature_extractor" in out and out.get("image_processor") is out["feature_extractor"]:
        del out["feature_extractor"]
    return out


def normalize(transformers_model: Any) -> ModelInput:
    """Turn any accepted form of ``transformers_model`` into a `ModelInput`, or raise a clear error."""
    if isinstance(transformers_model, (str, os.PathLike)):
        path = os.fspath(transformers_model)
        if not os.path.isdir(path):
            raise InvalidParameterError(
                f"transformers_model={path!r} is not a local folder. Pass a Pipeline, a dict such as "
                "{'model': model, 'tokenizer': tokenizer}, or the path of a saved checkpoint folder"
            )
        return ModelInput(checkpoint=os.path.abspath(path))
    if _is_pipeline(transformers_model):
        return ModelInput(
            model=transformers_model.model,
            components=_pipeline_components(transformers_model),
            task=getattr(transformers_model, "task", None) or None,
            instance_type=type(transformers_model).__name__,
        )
    if isinstance(transformers_model, dict):
        unknown = sorted(set(transformers_model) - set(_DICT_KEYS))
        if unknown:
            raise InvalidParameterError(
                f"Unknown key(s) {unknown} in the transformers_model dict: use {', '.join(_DICT_KEYS)}"
            )
        if transformers_model.get("model") is None:
            raise InvalidParameterError(
                "The transformers_model dict needs a 'model' entry, e.g. {'model': model, 'tokenizer': tokenizer}"
            )
        components = {k: v for k, v in transformers_model.items() if k in _flavor.COMPONENT_NAMES and v is not None}
        for name, value in components.items():
            if not hasattr(value, "save_pretrained"):
                raise InvalidParameterError(
                    f"The {name!r} entry is a {type(value).__name__}, which has no save_pretrained(): "
                    "pass the "
                    f"{name} object itself"
                )
        task = transformers_model.get("task")
        return ModelInput(model=transformers_model["model"], components=_dedupe(components), task=task)
    if _looks_like_model(transformers_model):
        return ModelInput(model=transformers_model)
    raise InvalidParameterError(
        f"Unsupported transformers_model of type {type(transformers_model).__name__}: pass a transformers "
        "Pipeline, a dict such as {'model': model, 'tokenizer': tokenizer}, or a local checkpoint folder"
    )


def classify_checkpoint_file(rel_path: str, adapter_folder: bool) -> str | None:
    """Where a checkpoint file goes in the saved model (``model``, ``peft``, ``components/...``) or ``None``.

    Preprocessor configs stay with the weights (an image processor is loaded from ``model/``).
    """
    name = rel_path.replace(os.sep, "/").rsplit("/", 1)[-1]
    top = rel_path.replace(os.sep, "/").split("/", 1)[0]
    if name in _flavor.TRAINING_STATE_FILES or name.startswith(_flavor.TRAINING_STATE_PREFIXES):
        return None
    if top.startswith(("runs", ".")) or name.startswith(".") or name == "README.md":
        return None  # TensorBoard logs, hidden files; the README is handled as the model card
    if "/" not in rel_path.replace(os.sep, "/"):
        if name in _flavor.TOKENIZER_FILES:
            return f"{_flavor.COMPONENTS_DIR}/tokenizer"
    return _flavor.PEFT_DIR if adapter_folder else _flavor.MODEL_DIR


def checkpoint_processor_components(folder: str) -> dict[str, str]:
    """Components described by a checkpoint folder's preprocessor files: name -> ``model`` (their folder)."""
    import json

    found: dict[str, str] = {}
    if os.path.isfile(os.path.join(folder, "processor_config.json")):
        found["processor"] = _flavor.MODEL_DIR
    path = os.path.join(folder, "preprocessor_config.json")
    if os.path.isfile(path):
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except (OSError, ValueError):
            data = {}
        name = "image_processor" if "image_processor_type" in data else "feature_extractor"
        found[name] = _flavor.MODEL_DIR
    return found
