"""The transformers flavor: pipelines, component dicts, checkpoint folders and PEFT adapters.

```python
import hf_mltrack

with hf_mltrack.start_run():
    info = hf_mltrack.transformers.log_model(
        transformers_model={"model": model, "tokenizer": tokenizer},
        name="model",
        task="text-generation",
        model_config={"max_new_tokens": 64, "temperature": 0.7},
    )
pipe = hf_mltrack.transformers.load_model(info.model_uri)             # a pipeline, on cuda:0 if present
parts = hf_mltrack.transformers.load_model(info.model_uri, return_type="components")
hf_mltrack.pyfunc.load_model(info.model_uri).predict(["Once upon a time"])
```

Importing this module is cheap: torch and transformers are imported when a model is saved or loaded.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from hf_mltrack.transformers._autolog import autolog, get_autolog_config, register_inference_hook
from hf_mltrack.transformers._flavor import FLAVOR_NAME, get_default_pip_requirements

__all__ = [
    "FLAVOR_NAME",
    "autolog",
    "get_autolog_config",
    "get_default_conda_env",
    "get_default_pip_requirements",
    "load_model",
    "log_model",
    "register_inference_hook",
    "save_model",
]


def save_model(
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
) -> None:
    """Save a transformers model to a local folder in the hf_mltrack format (``MLmodel`` and its files).

    Args:
        transformers_model (`Pipeline`, `dict`, `PreTrainedModel`, `PeftModel` or `str`): a pipeline; a dict
            with ``model`` and any of ``tokenizer``, ``feature_extractor``, ``image_processor``,
            ``processor``; a model alone; or the path of a checkpoint folder (``save_pretrained`` output or a
            Trainer checkpoint; optimizer and scheduler state are left out). A PEFT model or adapter folder
            is saved as its adapter only, with a reference to its base model.
        path (`str`): the folder to create; it must not exist or be empty.
        task (`str`, *optional*): e.g. ``"text-generation"``, ``"text2text-generation"``,
            ``"summarization"``, ``"translation_en_to_fr"``, ``"text-classification"``,
            ``"token-classification"``, ``"fill-mask"``, ``"feature-extraction"``, ``"question-answering"``;
            inferred from the pipeline, the model class or the PEFT task type when not given.
        model_config (`dict`, *optional*): inference parameters (``max_new_tokens``, ``temperature``,
            ``top_p``, ...) applied by the pyfunc model on every call; each becomes a signature param, so
            ``predict(..., params=...)`` overrides it.
        torch_dtype (`torch.dtype` or `str`, *optional*): the dtype to load the model with (default: the
            model's dtype when saved).
        signature (`ModelSignature`, *optional*): inferred from the task when not given; `False` for none.
        input_example (*optional*): an input example, saved as JSON and checked against the signature.
        pip_requirements, extra_pip_requirements, conda_env (*optional*): the environment; by default the
            installed transformers, torch, safetensors, tokenizers, accelerate (and peft) pinned.
        metadata (`dict`, *optional*): free-form metadata written to ``MLmodel``.
        model_card (`str`, *optional*): markdown saved as ``model_card.md`` (a checkpoint's README.md is
            used when not given).
        save_pretrained (`bool`, *optional*, defaults to `True`): `False` stores only a reference to the
            weights (``source_model_name``/``source_model_revision``: a hub id or local folder), not the
            weights themselves.
        prompt_template (`str`, *optional*): for generation tasks, a template with ``{prompt}`` applied to
            every pyfunc input.
        base_model_uri (`str`, *optional*): PEFT only: where the base model comes from, overriding the
            name recorded in the adapter: a hub id, a local folder, or a logged model's URI
            (``runs:/...``, ``models:/...``).
        save_base_model (`bool`, *optional*, defaults to `False`): PEFT only: also store the base weights,
            making a self-contained model (large; never the default).
        hf_mltrack_model (`Model`, *optional*): the `Model` (MLmodel) to fill in; a new one by default.
    """
    from hf_mltrack.transformers._save import save_model_impl

    save_model_impl(
        transformers_model,
        path,
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


def log_model(
    transformers_model: Any,
    artifact_path: str | None = None,
    task: str | None = None,
    model_config: Mapping[str, Any] | None = None,
    torch_dtype: Any = None,
    signature: Any = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    conda_env: Any = None,
    registered_model_name: str | None = None,
    await_registration_for: int = 300,
    metadata: dict[str, Any] | None = None,
    model_card: Any = None,
    save_pretrained: bool = True,
    prompt_template: str | None = None,
    base_model_uri: str | None = None,
    save_base_model: bool = False,
    run_id: str | None = None,
    *,
    name: str | None = None,
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    model_type: str | None = None,
    step: int = 0,
) -> Any:
    """Log a transformers model to a run (the active one, or a new one) and return its `ModelInfo`.

    Same arguments as `save_model`, plus:

    Args:
        artifact_path (`str`, *optional*): where in the run's artifacts (default ``"model"``); MLflow 3's
            ``name=`` is accepted too.
        registered_model_name (`str`, *optional*): also register the model under this name.
        await_registration_for (`int`, *optional*, defaults to 300): seconds to wait for the registration.
        run_id (`str`, *optional*): log to this run instead of the active one.
        params (`dict`, *optional*), tags (`dict`, *optional*), model_type (`str`, *optional*): the
            LoggedModel's own params, tags and type (MLflow 3).
        step (`int`, *optional*, defaults to 0): the step at which the run produced it.

    On a local artifact store the model is written once, directly into the store (no temporary copy);
    on remote stores, files that already exist on disk (a checkpoint folder) are uploaded from where
    they are.

    Returns:
        `ModelInfo`: ``model_id`` and ``model_uri`` (``models:/<model_id>``; ``runs:/<run_id>/<artifact_path>``
        loads the same model), ``flavors``, ``signature``, ...
    """
    from hf_mltrack.transformers._log import log_model_impl

    return log_model_impl(
        transformers_model,
        artifact_path,
        name=name,
        registered_model_name=registered_model_name,
        await_registration_for=await_registration_for,
        metadata=metadata,
        run_id=run_id,
        task=task,
        model_config=model_config,
        torch_dtype=torch_dtype,
        signature=signature,
        input_example=input_example,
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        conda_env=conda_env,
        model_card=model_card,
        save_pretrained=save_pretrained,
        prompt_template=prompt_template,
        base_model_uri=base_model_uri,
        save_base_model=save_base_model,
        params=params,
        tags=tags,
        model_type=model_type,
        step=step,
    )


def load_model(
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
    """Load a transformers model saved by hf_mltrack as a pipeline or as its components.

    Args:
        model_uri (`str`): ``runs:/<run_id>/<path>``, ``models:/<name>/<version|stage|latest>``,
            ``models:/<name>@<alias>``, a local folder or an artifact-store URI.
        dst_path (`str`, *optional*): where to download a remote model (local models are used in place).
        return_type (`str`, *optional*, defaults to `"pipeline"`): ``"pipeline"`` or ``"components"`` (a dict
            with ``model``, its components and ``task``).
        device (`int`, `str` or `torch.device`, *optional*): where to run; ``cuda:0`` when a GPU is present,
            else CPU. ``-1`` or ``"cpu"`` forces the CPU.
        device_map (`str` or `dict`, *optional*): accelerate placement, e.g. ``"auto"`` for a model larger
            than one GPU. Takes precedence over ``device`` (with a warning) when both are given.
        torch_dtype (`torch.dtype` or `str`, *optional*): overrides the dtype recorded in ``MLmodel``.
        base_model_path (`str`, *optional*): PEFT: load the adapter onto this base instead of the recorded
            one (a local folder, a hub id, or a model URI).
        merge_adapter (`bool`, *optional*, defaults to `False`): PEFT: merge the adapter into the base
            weights (faster inference, no PEFT wrapper).
        model_kwargs (`dict`, *optional*): more keyword arguments for ``from_pretrained``.
        **kwargs: passed to the pipeline (e.g. ``max_new_tokens=64``).

    Returns:
        A `transformers.Pipeline`, or a dict of components.
    """
    from hf_mltrack.transformers._load import load_model_impl

    return load_model_impl(
        model_uri,
        dst_path=dst_path,
        return_type=return_type,
        device=device,
        device_map=device_map,
        torch_dtype=torch_dtype,
        base_model_path=base_model_path,
        merge_adapter=merge_adapter,
        model_kwargs=model_kwargs,
        **kwargs,
    )


def get_default_conda_env(is_peft: bool = False) -> dict[str, Any]:
    """The default conda environment of a transformers model (pip section pinned to installed versions)."""
    import platform

    return {
        "name": "hf_mltrack-env",
        "channels": ["conda-forge"],
        "dependencies": [
            f"python={platform.python_version()}",
            "pip",
            {"pip": get_default_pip_requirements(is_peft)},
        ],
    }


def _load_pyfunc(path: str, model_config: Mapping[str, Any] | None = None) -> Any:
    """Called by `hf_mltrack.pyfunc.load_model` for models with ``loader_module: hf_mltrack.transformers``."""
    from hf_mltrack.transformers._pyfunc import load_pyfunc

    return load_pyfunc(path, model_config=model_config)
