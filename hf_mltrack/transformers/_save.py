"""`save_model`: write a transformers model in the hf_mltrack format.

Weights are written once, straight to where they will live: `log_model` calls this with the final
location inside a local artifact store, and files that already exist on disk (a checkpoint folder) are
placed by the artifact layer's fastest safe copy (reflink or in-kernel copy), or, for remote stores,
streamed from where they are (see `FilePlacer`).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from typing import Any

from hf_mltrack.exceptions import InvalidParameterError
from hf_mltrack.transformers import _flavor, _inputs, _peft, _quant, _tasks
from hf_mltrack.transformers._compat import _logger, dtype_name, parse_dtype, require_transformers


class FilePlacer:
    """Puts existing files into the model folder ``root``: copied now, or recorded for a later direct upload.

    Args:
        root (`str`): the local model folder being written.
        defer (`bool`): when `True` nothing is copied; `deferred` lists ``(source file, folder in the model)``
            so `log_model` can upload each file from where it already is (no temporary copy).
    """

    def __init__(self, root: str, defer: bool = False) -> None:
        self.root = root
        self.defer = defer
        self.deferred: list[tuple[str, str]] = []
        self.deferred_bytes = 0
        self._repo: Any = None

    def place(self, src: str, rel_dir: str) -> None:
        if self.defer:
            self.deferred.append((src, rel_dir))
            self.deferred_bytes += os.path.getsize(src)
            return
        if self._repo is None:
            from hf_mltrack.artifacts import get_artifact_repository

            self._repo = get_artifact_repository(self.root)
        self._repo.log_artifact(src, rel_dir)


def _prepare_path(path: str | os.PathLike[str]) -> str:
    path = os.path.abspath(os.fspath(path))
    if os.path.exists(path) and (not os.path.isdir(path) or os.listdir(path)):
        raise InvalidParameterError(f"Path {path!r} already exists and is not empty: choose a new path")
    os.makedirs(path, exist_ok=True)
    return path


def _dir_size(path: str) -> int:
    total = 0
    for dirpath, _, files in os.walk(path):
        for name in files:
            full = os.path.join(dirpath, name)
            if not os.path.islink(full):
                total += os.path.getsize(full)
    return total


def _source_reference(model: Any) -> tuple[str | None, str | None]:
    """``(name or absolute local path, hub revision)`` the in-memory model was loaded from."""
    name = getattr(model, "name_or_path", None) or getattr(getattr(model, "config", None), "_name_or_path", None)
    if not name:
        return None, None
    if os.path.isdir(name):
        name = os.path.abspath(name)
    return str(name), getattr(getattr(model, "config", None), "_commit_hash", None)


def _instance_type(task: str) -> str | None:
    from hf_mltrack.transformers._pipelines import fallback_pipeline_class, native_task_supported

    if native_task_supported(task):
        from transformers.pipelines import PIPELINE_REGISTRY

        _, spec, _ = PIPELINE_REGISTRY.check_task(task)
        impl = spec.get("impl")  # a class, or its dotted path in recent transformers
        return impl.rsplit(".", 1)[-1] if isinstance(impl, str) else getattr(impl, "__name__", None)
    cls = fallback_pipeline_class(task)
    return cls.__name__ if cls is not None else None


def _write_model_card(path: str, model_card: Any) -> None:
    if model_card is None:
        return
    text = model_card if isinstance(model_card, str) else getattr(model_card, "content", None) or str(model_card)
    with open(os.path.join(path, _flavor.MODEL_CARD_FILE), "w", encoding="utf-8") as f:
        f.write(text)


def _check_prompt_template(template: str | None, task: str) -> None:
    if template is None:
        return
    if not isinstance(template, str) or "{prompt}" not in template:
        raise InvalidParameterError(
            f"prompt_template must be a str containing '{{prompt}}', e.g. 'Q: {{prompt}}\\nA:', got {template!r}"
        )
    if _tasks.base_task(task) not in _tasks.GENERATION_TASKS:
        raise InvalidParameterError(
            f"prompt_template applies to text generation tasks ({', '.join(_tasks.GENERATION_TASKS)}), not {task!r}"
        )


def _save_components(path: str, components: Mapping[str, Any], conf: dict[str, Any]) -> None:
    names = []
    for name, obj in components.items():
        obj.save_pretrained(os.path.join(path, _flavor.COMPONENTS_DIR, name))
        conf[f"{name}_type"] = type(obj).__name__
        names.append(name)
    conf[_flavor.COMPONENTS] = names


def _save_in_memory(
    path: str,
    source: _inputs.ModelInput,
    conf: dict[str, Any],
    save_pretrained: bool,
    base_model_uri: str | None,
    save_base_model: bool,
) -> bool:
    """Write the model and components of in-memory objects; returns whether it is a PEFT model."""
    model = source.model
    is_peft = _peft.is_peft_model(model)
    if is_peft:
        info = _peft.adapter_info(model, base_model_uri=base_model_uri)
        if save_base_model:
            _peft.save_base_weights(model, os.path.join(path, _flavor.MODEL_DIR))
            info["base_weights_included"] = True
            conf[_flavor.MODEL_BINARY] = _flavor.MODEL_DIR
        _peft.check_base_reference(info)
        _peft.save_adapter(model, os.path.join(path, _flavor.PEFT_DIR))
        conf[_flavor.PEFT] = info
        conf[_flavor.PEFT_ADAPTER] = _flavor.PEFT_DIR
        conf[_flavor.PIPELINE_MODEL_TYPE] = info["base_model_class"]
        conf[_flavor.SOURCE_MODEL_NAME] = info["base_model_name"]
        conf[_flavor.SOURCE_MODEL_REVISION] = info["base_model_revision"]
    else:
        if save_base_model:
            raise InvalidParameterError("save_base_model=True applies to PEFT models only")
        if base_model_uri is not None:
            raise InvalidParameterError("base_model_uri applies to PEFT models only")
        conf[_flavor.PIPELINE_MODEL_TYPE] = type(model).__name__
        quant = _quant.quantization_block(getattr(model, "config", None))
        if quant:
            conf[_quant.QUANTIZATION] = quant
        name, revision = _source_reference(model)
        conf[_flavor.SOURCE_MODEL_NAME] = name
        conf[_flavor.SOURCE_MODEL_REVISION] = revision
        if save_pretrained:
            model.save_pretrained(os.path.join(path, _flavor.MODEL_DIR))
            conf[_flavor.MODEL_BINARY] = _flavor.MODEL_DIR
        elif not name:
            raise InvalidParameterError(
                "save_pretrained=False stores only a reference to where the weights come from, but this "
                "model was not loaded from the hub or a local folder (it has no name_or_path). "
                "Use save_pretrained=True"
            )
    _save_components(path, source.components, conf)
    return is_peft


def _save_checkpoint(
    path: str,
    folder: str,
    conf: dict[str, Any],
    placer: FilePlacer,
    save_pretrained: bool,
    base_model_uri: str | None,
    save_base_model: bool,
    model_card: Any,
) -> tuple[bool, str | None]:
    """Place the files of a checkpoint folder; returns ``(is_peft, task inferred from the folder)``."""
    if save_base_model:
        raise InvalidParameterError("save_base_model=True needs an in-memory PeftModel, not an adapter folder")
    adapter = _peft.is_adapter_folder(folder)
    inferred: str | None = None
    if adapter:
        info = _peft.folder_adapter_info(folder, base_model_uri=base_model_uri)
        _peft.check_base_reference(info)
        conf[_flavor.PEFT] = info
        conf[_flavor.PEFT_ADAPTER] = _flavor.PEFT_DIR
        conf[_flavor.SOURCE_MODEL_NAME] = info["base_model_name"]
        conf[_flavor.SOURCE_MODEL_REVISION] = info["base_model_revision"]
        conf[_flavor.PIPELINE_MODEL_TYPE] = None
        inferred = _tasks.task_from_peft_type(info.get("task_type"))
    elif os.path.isfile(os.path.join(folder, "config.json")):
        if base_model_uri is not None:
            raise InvalidParameterError("base_model_uri applies to PEFT adapters only")
        from transformers import AutoConfig

        config = AutoConfig.from_pretrained(folder)
        archs = getattr(config, "architectures", None) or []
        conf[_flavor.PIPELINE_MODEL_TYPE] = archs[0] if archs else None
        quant = _quant.quantization_block(config)
        if quant:
            conf[_quant.QUANTIZATION] = quant
        dtype = getattr(config, "dtype", None) or getattr(config, "torch_dtype", None)
        conf.setdefault(_flavor.TORCH_DTYPE, dtype_name(parse_dtype(dtype)) if dtype else None)
        original = getattr(config, "_name_or_path", None)
        conf[_flavor.SOURCE_MODEL_NAME] = folder if not save_pretrained else (original or None)
        conf[_flavor.SOURCE_MODEL_REVISION] = None
        try:
            inferred = _tasks.infer_task_from_config(config)
        except InvalidParameterError:
            inferred = None
    else:
        raise InvalidParameterError(
            f"Checkpoint folder {folder!r} has neither config.json (a model) nor adapter_config.json (a PEFT "
            "adapter): pass the folder written by save_pretrained() or by the Trainer"
        )
    components: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for filename in sorted(filenames):
            src = os.path.join(dirpath, filename)
            rel = os.path.relpath(src, folder)
            target = _inputs.classify_checkpoint_file(rel, adapter)
            if target is None:
                continue
            if target == _flavor.MODEL_DIR and not save_pretrained:
                continue  # only referenced
            if target.startswith(_flavor.COMPONENTS_DIR + "/"):
                components.add(target.split("/", 1)[1])
            rel_dir = os.path.dirname(rel)
            if rel_dir and target in (_flavor.MODEL_DIR, _flavor.PEFT_DIR):
                target = f"{target}/{rel_dir.replace(os.sep, '/')}"
            placer.place(src, target)
    if not adapter and save_pretrained:
        conf[_flavor.MODEL_BINARY] = _flavor.MODEL_DIR
    if adapter:
        conf[_flavor.PEFT]["adapter_dir"] = _flavor.PEFT_DIR
    names = sorted(components)
    paths = {}
    if not adapter and save_pretrained:
        for name, where in _inputs.checkpoint_processor_components(folder).items():
            names.append(name)
            paths[name] = where
    conf[_flavor.COMPONENTS] = names
    if paths:
        conf[_flavor.COMPONENT_PATHS] = paths
    readme = os.path.join(folder, "README.md")
    if model_card is None and os.path.isfile(readme):
        # The README (a model card) is small: copied, even when the weights are deferred.
        shutil.copyfile(readme, os.path.join(path, _flavor.MODEL_CARD_FILE))
    return adapter, inferred


def save_model_impl(
    transformers_model: Any,
    path: str | os.PathLike[str],
    task: str | None = None,
    model_config: Mapping[str, Any] | None = None,
    torch_dtype: Any = None,
    signature: Any = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    conda_env: Any = None,
    metadata: dict[str, Any] | None = None,
    model_card: Any = None,
    save_pretrained: bool = True,
    prompt_template: str | None = None,
    base_model_uri: str | None = None,
    save_base_model: bool = False,
    hf_mltrack_model: Any = None,
    placer: FilePlacer | None = None,
) -> Any:
    """The body of `save_model`; ``placer`` lets `log_model` defer copying existing files. Returns `Model`."""
    require_transformers()
    from hf_mltrack.models import ModelSignature

    if model_config is not None and not isinstance(model_config, Mapping):
        raise InvalidParameterError(f"model_config must be a dict of inference parameters, got {model_config!r}")
    if signature is not None and signature is not False and not isinstance(signature, ModelSignature):
        raise InvalidParameterError(f"signature must be a ModelSignature, got {type(signature).__name__}")
    source = _inputs.normalize(transformers_model)
    existed = os.path.isdir(path)
    path = _prepare_path(path)
    try:
        return _save(
            source,
            path,
            placer or FilePlacer(path),
            task=task,
            model_config=model_config,
            torch_dtype=torch_dtype,
            signature=signature,
            input_example=input_example,
            pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements,
            conda_env=conda_env,
            metadata=metadata,
            model_card=model_card,
            save_pretrained=save_pretrained,
            prompt_template=prompt_template,
            base_model_uri=base_model_uri,
            save_base_model=save_base_model,
            hf_mltrack_model=hf_mltrack_model,
        )
    except BaseException:
        # Never leave a half-written model behind (a later load would fail in confusing ways).
        if existed:
            for name in os.listdir(path):
                full = os.path.join(path, name)
                if os.path.isdir(full) and not os.path.islink(full):
                    shutil.rmtree(full)
                else:
                    os.remove(full)
        else:
            shutil.rmtree(path, ignore_errors=True)
        raise


def _save(
    source: _inputs.ModelInput,
    path: str,
    placer: FilePlacer,
    *,
    task: str | None,
    model_config: Mapping[str, Any] | None,
    torch_dtype: Any,
    signature: Any,
    input_example: Any,
    pip_requirements: Any,
    extra_pip_requirements: Any,
    conda_env: Any,
    metadata: dict[str, Any] | None,
    model_card: Any,
    save_pretrained: bool,
    prompt_template: str | None,
    base_model_uri: str | None,
    save_base_model: bool,
    hf_mltrack_model: Any,
) -> Any:
    import transformers

    from hf_mltrack.models import Model
    from hf_mltrack.models.requirements import write_environment
    from hf_mltrack.pyfunc.loaders import add_to_model

    mlmodel = hf_mltrack_model if hf_mltrack_model is not None else Model()
    if metadata is not None:
        mlmodel.metadata = metadata
    given_task = _tasks.normalize_task(task) or _tasks.normalize_task(source.task)
    conf: dict[str, Any] = {}
    if torch_dtype is not None:
        conf[_flavor.TORCH_DTYPE] = dtype_name(parse_dtype(torch_dtype))
    if source.checkpoint is not None:
        is_peft, inferred = _save_checkpoint(
            path,
            source.checkpoint,
            conf,
            placer,
            save_pretrained,
            base_model_uri,
            save_base_model,
            model_card,
        )
        if given_task is None and inferred is None:
            raise InvalidParameterError(
                f"Cannot infer the task of checkpoint {source.checkpoint!r}: pass task=..., e.g. 'text-generation'"
            )
        final_task = given_task or inferred
    else:
        final_task = given_task or _tasks.infer_task(source.model)
        _check_prompt_template(prompt_template, final_task)  # before writing any weights
        is_peft = _save_in_memory(path, source, conf, save_pretrained, base_model_uri, save_base_model)
        if _flavor.TORCH_DTYPE not in conf:
            conf[_flavor.TORCH_DTYPE] = dtype_name(getattr(source.model, "dtype", None))
    assert final_task is not None
    _check_prompt_template(prompt_template, final_task)
    _write_model_card(path, model_card)
    flavor_conf = {
        _flavor.TASK: final_task,
        _flavor.INSTANCE_TYPE: source.instance_type or _instance_type(final_task),
        _flavor.FRAMEWORK: "pt",
        _flavor.TRANSFORMERS_VERSION: transformers.__version__,
        **conf,
    }
    if prompt_template is not None:
        flavor_conf[_flavor.PROMPT_TEMPLATE] = prompt_template
    flavor_conf.setdefault(_flavor.COMPONENTS, [])
    if _tasks.base_task(final_task) in _tasks.PYFUNC_TASKS and not {"tokenizer", "processor"} & set(
        flavor_conf[_flavor.COMPONENTS]
    ):
        _logger.warning(
            "Saving a %s model without a tokenizer: load_model(return_type='pipeline') and pyfunc predict "
            "will fail. Pass {'model': model, 'tokenizer': tokenizer} (or a pipeline) instead",
            final_task,
        )
    mlmodel.add_flavor(_flavor.FLAVOR_NAME, **flavor_conf)

    if signature is None:
        signature = _tasks.default_signature(final_task, dict(model_config or {}))
    if signature is not False and signature is not None:
        mlmodel.signature = signature
    if input_example is not None:
        from hf_mltrack.models._example import save_input_example

        save_input_example(mlmodel, input_example, path)

    if pip_requirements is None and extra_pip_requirements is None and conda_env is None:
        pip_requirements = _flavor.get_default_pip_requirements(is_peft)  # pinned once per process
        quant_package = _quant.pip_package(conf.get(_quant.QUANTIZATION))
        if quant_package:
            from hf_mltrack.models.requirements import get_pinned_requirement

            pip_requirements = [*pip_requirements, get_pinned_requirement(quant_package)]
    env = write_environment(
        path,
        default_pip_requirements=[
            *_flavor.default_pip_packages(is_peft=is_peft, uses_accelerate=True),
            *filter(None, [_quant.pip_package(conf.get(_quant.QUANTIZATION))]),
        ],
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        conda_env=conda_env,
    )
    if _tasks.base_task(final_task) in _tasks.PYFUNC_TASKS:
        add_to_model(mlmodel, loader_module="hf_mltrack.transformers", env=env, model_config=model_config or None)
    else:
        _logger.info("Task %r has no pyfunc wrapper; load it with hf_mltrack.transformers.load_model", final_task)
    mlmodel.model_size_bytes = _dir_size(path) + placer.deferred_bytes
    mlmodel.save(path)
    return mlmodel
