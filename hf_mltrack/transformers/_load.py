"""`load_model`: a saved transformers model back as a pipeline or its components, on the right device.

- Device: ``cuda:0`` when a GPU is present, else CPU, unless ``device`` says otherwise. A GPU target is
  loaded with ``device_map={"": device}``, so the safetensors weights are memory-mapped and copied
  straight to the GPU instead of being materialized in host RAM first (mlflow#8449).
- ``device_map`` (e.g. ``"auto"`` for a model larger than one GPU) places the model through accelerate;
  given together with ``device`` it wins, with a warning naming the argument to drop (mlflow#13439).
- dtype: the ``torch_dtype`` argument, else the one recorded in ``MLmodel``.
"""

from __future__ import annotations

import os
from typing import Any

from hf_mltrack.exceptions import InvalidParameterError, MlTrackException, missing_extra
from hf_mltrack.transformers import _flavor, _peft, _quant, _tasks
from hf_mltrack.transformers._compat import (
    _logger,
    accelerate_available,
    dtype_kwargs,
    normalize_device,
    parse_dtype,
    require_transformers,
    transformers_major,
)

RETURN_TYPES = ("pipeline", "components")

_COMPONENT_LOADERS = {
    "tokenizer": "AutoTokenizer",
    "feature_extractor": "AutoFeatureExtractor",
    "image_processor": "AutoImageProcessor",
    "processor": "AutoProcessor",
}


def resolve_placement(device: Any, device_map: Any) -> tuple[dict[str, Any], str | None]:
    """``(from_pretrained keywords, pipeline device)`` for the requested ``device`` / ``device_map``.

    The pipeline device is ``None`` when the model is placed by a device map (the pipeline follows it).
    """
    if device is not None and device_map is not None:
        raise InvalidParameterError(
            f"load_model got both device={device!r} and device_map={device_map!r}; they would place the model "
            "twice. Drop device_map= to put the whole model on one device, or drop device= to let the device map "
            "(e.g. 'auto') place it"
        )
    if device_map is not None:
        if not accelerate_available() and transformers_major() < 5:
            raise missing_extra("load_model(device_map=...)", "accelerate", "hf")
        return {"device_map": device_map}, None
    target = normalize_device(device)
    if target == "cpu":
        return {}, "cpu"
    if accelerate_available() or transformers_major() >= 5:
        # Stream the weights from the memory-mapped file straight to the GPU.
        return {"device_map": {"": target}}, None
    return {}, target


def _load_components(local: str, conf: dict[str, Any], config: Any) -> dict[str, Any]:
    import transformers

    paths = conf.get(_flavor.COMPONENT_PATHS) or {}
    out: dict[str, Any] = {}
    for name in conf.get(_flavor.COMPONENTS) or []:
        loader_name = _COMPONENT_LOADERS.get(name)
        if loader_name is None:
            _logger.warning("Unknown component %r in MLmodel; skipped", name)
            continue
        from hf_mltrack.models._paths import safe_join

        folder = safe_join(local, paths.get(name, f"{_flavor.COMPONENTS_DIR}/{name}"))
        loader = getattr(transformers, loader_name)
        try:
            out[name] = loader.from_pretrained(folder)
        except (OSError, ValueError, KeyError) as exc:
            if config is None:
                raise
            # Old tokenizer configs name no class: the model config tells which one to use.
            _logger.debug("Retrying %s with the model config after: %s", name, exc)
            out[name] = loader.from_pretrained(folder, config=config)
    return out


def _weights_source(local: str, conf: dict[str, Any], base_model_path: str | None) -> tuple[str, str | None]:
    from hf_mltrack.models._paths import safe_join

    model_dir = safe_join(local, conf[_flavor.MODEL_BINARY]) if conf.get(_flavor.MODEL_BINARY) else None
    peft_info = conf.get(_flavor.PEFT)
    if peft_info:
        return _peft.resolve_base(peft_info, base_model_path, model_dir)
    if base_model_path is not None:
        return _peft.weights_location(base_model_path)
    if model_dir is not None:
        return model_dir, None
    name = conf.get(_flavor.SOURCE_MODEL_NAME)
    if not name:
        raise MlTrackException("The MLmodel file names neither stored weights nor a source model to load")
    return name, conf.get(_flavor.SOURCE_MODEL_REVISION)


def load_model_impl(
    model_uri: str,
    dst_path: str | None = None,
    return_type: str = "pipeline",
    device: Any = None,
    device_map: Any = None,
    torch_dtype: Any = None,
    base_model_path: str | None = None,
    merge_adapter: bool = False,
    model_kwargs: dict[str, Any] | None = None,
    **kwargs: Any,
) -> Any:
    require_transformers()
    from hf_mltrack.models import Model, download_model
    from hf_mltrack.models._paths import safe_join

    if return_type not in RETURN_TYPES:
        raise InvalidParameterError(f"return_type must be one of {RETURN_TYPES}, got {return_type!r}")
    local = download_model(model_uri, dst_path)
    meta = Model.load(local)
    conf = meta.flavors.get(_flavor.FLAVOR_NAME)
    if conf is None:
        raise MlTrackException(
            f"The model at {model_uri!r} has no transformers flavor (its flavors: {sorted(meta.flavors)}); "
            "load it with the flavor that saved it, or with hf_mltrack.pyfunc.load_model"
        )
    task = conf.get(_flavor.TASK)
    if not task:
        raise MlTrackException(f"The transformers flavor of {model_uri!r} names no task")
    _quant.check_loadable(conf.get(_quant.QUANTIZATION), model_uri)
    load_kwargs, pipeline_device = resolve_placement(device, device_map)
    dtype = parse_dtype(torch_dtype) if torch_dtype is not None else parse_dtype(conf.get(_flavor.TORCH_DTYPE))
    source, revision = _weights_source(local, conf, base_model_path)
    model_class = _tasks.auto_class_for(task, conf.get(_flavor.PIPELINE_MODEL_TYPE))
    extra = dict(model_kwargs or {})
    if revision and not os.path.isdir(source):
        extra.setdefault("revision", revision)
    from hf_mltrack.transformers._quiet import quiet_loading

    with quiet_loading():  # our load on the user's behalf: no library progress bars or deprecation noise
        model = model_class.from_pretrained(source, **dtype_kwargs(dtype), **load_kwargs, **extra)
        peft_info = conf.get(_flavor.PEFT)
        if peft_info:
            adapter_dir = safe_join(local, peft_info.get("adapter_dir") or _flavor.PEFT_DIR)
            model = _peft.apply_adapter(model, adapter_dir, peft_info, merge=merge_adapter)
    if merge_adapter and not peft_info:
        _logger.warning("merge_adapter=True ignored: the model at %s has no PEFT adapter", model_uri)
    if pipeline_device is not None and pipeline_device != "cpu":
        model = model.to(pipeline_device)
    model.eval()
    components = _load_components(local, conf, getattr(model, "config", None))
    if return_type == "components":
        return {"model": model, **components, "task": task}
    from hf_mltrack.transformers._pipelines import build_pipeline

    return build_pipeline(task, model, device=pipeline_device, **components, **kwargs)
