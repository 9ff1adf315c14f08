"""Trainer checkpoints and datasets as MLflow 3 sees them.

- Each logged checkpoint (``checkpoints/checkpoint-<step>``) is a LoggedModel: created PENDING in
  ``on_save`` (one store write), READY once the background upload is done. Its folder keeps the
  Trainer's own layout; an ``MLmodel`` file written beside the files makes it loadable as a pipeline
  (``models:/m-<id>``) without moving or copying a byte. The eval metrics of that step are linked to it.
- The train and eval datasets become run inputs (``training``, ``eval``): an HF ``datasets.Dataset``
  with its own fingerprint as digest, any other dataset by its class and length (nothing is hashed).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from typing import Any

from ..entities import DatasetInput, InputTag, LoggedModelStatus, Metric
from ..entities.dataset import CONTEXT_TAG

CHECKPOINT_MODEL_TYPE = "checkpoint"
STEP_TAG = "hf_mltrack.checkpoint.step"
BEST_TAG = "hf_mltrack.checkpoint.best"
LOADABLE_TAG = "hf_mltrack.checkpoint.loadable"  # set when no MLmodel could be written (why)


def dataset_entity(ds: Any, split: str) -> Any:
    """The run input of a training or eval dataset (None when there is none)."""
    if ds is None:
        return None
    from .. import data

    if hasattr(ds, "_fingerprint") and hasattr(ds, "features"):
        info = getattr(ds, "info", None)
        named = getattr(info, "builder_name", None) or getattr(info, "dataset_name", None) or ds.split
        # an in-memory dataset is named by its role, as in the Trainer: "train", "eval"
        return data.from_huggingface(ds, name=None if named else split)._to_entity()
    kind = f"{type(ds).__module__}.{type(ds).__qualname__}"
    try:
        size = len(ds)
    except TypeError:
        size = None
    digest = hashlib.sha256(f"{kind}:{size}".encode()).hexdigest()[:8]
    return data.Dataset(
        name=f"{type(ds).__name__}:{split}",
        digest=digest,
        source_type="code",
        source={"class": kind},
        profile={"num_rows": size},
    )._to_entity()


def log_dataset_inputs(client: Any, run_id: str, train_ds: Any, eval_ds: Any) -> Any:
    """Log the datasets as run inputs; returns the eval dataset's entity (metrics are linked to it)."""
    inputs = []
    eval_entity = None
    for ds, context, role in ((train_ds, "training", "train"), (eval_ds, "eval", "eval")):
        if isinstance(ds, dict):  # several eval datasets: one input each
            for key, sub in ds.items():
                entity = dataset_entity(sub, f"{role}-{key}")
                if entity is not None:
                    inputs.append(DatasetInput(entity, [InputTag(CONTEXT_TAG, context)]))
            continue
        entity = dataset_entity(ds, role)
        if entity is None:
            continue
        inputs.append(DatasetInput(entity, [InputTag(CONTEXT_TAG, context)]))
        if context == "eval":
            eval_entity = entity
    if inputs:
        client.log_inputs(run_id, inputs)
    return eval_entity


def create_checkpoint_model(client: Any, run: Any, step: int, adapter_only: bool) -> Any:
    """The PENDING LoggedModel of ``checkpoints/checkpoint-<step>``, listed among the run's outputs."""
    from ._checkpoints import ARTIFACT_DIR

    name = f"checkpoint-{step}"
    return client.create_logged_model(
        run.info.experiment_id,
        name=name,
        source_run_id=run.info.run_id,
        tags={STEP_TAG: str(step), "hf_mltrack.checkpoint.adapter_only": str(adapter_only).lower()},
        model_type=CHECKPOINT_MODEL_TYPE,
        artifact_location=f"{run.info.artifact_uri.rstrip('/')}/{ARTIFACT_DIR}/{name}",
        output_step=step,
    )


def link_metrics(client: Any, run_id: str, model_id: str, step: int, metrics: dict[str, float], dataset: Any) -> None:
    """Link the eval metrics of a step to the checkpoint saved at that step."""
    import time

    if not metrics:
        return
    ts = int(time.time() * 1000)
    name, digest = (dataset.name, dataset.digest) if dataset is not None else (None, None)
    client.log_batch(
        run_id,
        metrics=[Metric(k, v, ts, step, name, digest, model_id) for k, v in metrics.items()],
        synchronous=False,
    )


def write_mlmodel(staged: str, repo: Any, path: str, model_id: str, run_id: str, task: str | None) -> None:
    """Describe the checkpoint folder ``staged`` (already logged at ``path``) as a transformers model.

    The flavor computes the configuration as for ``log_model(checkpoint_folder)`` without placing any
    file; then its folders point at the checkpoint's own layout (weights, adapter and tokenizer at the
    top), and only ``MLmodel`` and the environment files are written.
    """
    from ..models import Model
    from ..transformers import _flavor
    from ..transformers._save import FilePlacer, save_model_impl

    with tempfile.TemporaryDirectory(prefix="hf_mltrack_ckpt_mlmodel_") as tmp:
        out = os.path.join(tmp, "model")
        mlmodel = Model(artifact_path=path, run_id=run_id, model_id=model_id)
        save_model_impl(staged, out, task=task, hf_mltrack_model=mlmodel, placer=FilePlacer(out, defer=True))
        conf = mlmodel.flavors[_flavor.FLAVOR_NAME]
        if conf.get(_flavor.MODEL_BINARY):
            conf[_flavor.MODEL_BINARY] = "."
        if isinstance(conf.get(_flavor.PEFT), dict) and conf[_flavor.PEFT].get("adapter_dir"):
            conf[_flavor.PEFT]["adapter_dir"] = "."
        names = conf.get(_flavor.COMPONENTS) or []
        if names:
            conf[_flavor.COMPONENT_PATHS] = dict.fromkeys(names, ".")
        mlmodel.save(out)
        for name in sorted(os.listdir(out)):
            full = os.path.join(out, name)
            if os.path.isfile(full):
                repo.log_artifact(full, path)


def finalize(client: Any, model_id: str, ok: bool) -> None:
    client.store.finalize_logged_model(
        model_id, LoggedModelStatus.READY if ok else LoggedModelStatus.FAILED, read_back=False
    )
