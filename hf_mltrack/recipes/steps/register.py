"""``register``: register the trained model in the model registry when the evaluation validated it.

The model is registered as a new version of ``steps.register.registered_model_name`` (or
``model_registry.model_name``). A model the validation criteria rejected is not registered unless
``steps.register.allow_non_validated_model: true``; without a model name the step does nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from hf_mltrack.recipes.steps.base import RecipeContext, StepRun, load_json, save_json

_logger = logging.getLogger(__name__)

VERSION = 1
REGISTRATION_FILE = "registration.json"
VERSION_TAG = "hf_mltrack.recipe.registered_model_version"


def fingerprint_config(ctx: RecipeContext) -> dict[str, Any]:
    from hf_mltrack.recipes import _tracking

    conf = ctx.step_config("register")
    return {
        "registered_model_name": conf.get("registered_model_name"),
        "allow_non_validated_model": conf.get("allow_non_validated_model", False),
        "tags": conf.get("tags") or {},
        "registry_uri": _tracking.registry_uri(ctx.config) if conf.get("registered_model_name") else None,
    }


def run(sr: StepRun) -> None:
    import hf_mltrack
    from hf_mltrack.recipes import _tracking
    from hf_mltrack.recipes.steps.evaluate import STATUS_TAG
    from hf_mltrack.tracking.fluent import _client

    ctx = sr.ctx
    conf = fingerprint_config(ctx)
    run_info = load_json(ctx.upstream("train", "run.json"))
    validation = load_json(ctx.upstream("evaluate", "validation.json"))
    status = validation["status"]
    name = conf["registered_model_name"]
    record: dict[str, Any] = {
        "registered": False,
        "name": name,
        "version": None,
        "validation_status": status,
        "source_model_uri": run_info["model_uri"],
    }
    if not name:
        record["reason"] = "no registered_model_name is configured (steps.register.registered_model_name)"
    elif status != "VALIDATED" and not conf["allow_non_validated_model"]:
        failed = [c for c in validation["criteria"] if not c["passed"]]
        details = ", ".join(f"test {c['metric']}={c['value']} (needs {c['rule']})" for c in failed)
        record["reason"] = (
            f"the model failed its validation criteria ({details}); set "
            "steps.register.allow_non_validated_model: true to register it anyway"
        )
        _logger.warning("Recipe model not registered as %r: %s", name, record["reason"])
    else:
        tags = {STATUS_TAG: status, **{str(k): str(v) for k, v in conf["tags"].items()}}
        with _tracking.using(ctx.config):
            mv = hf_mltrack.register_model(run_info["model_uri"], name, tags=tags)
            _client().set_tag(run_info["run_id"], VERSION_TAG, f"{name}/{mv.version}")
        record.update(registered=True, version=int(mv.version), model_uri=f"models:/{name}/{mv.version}")
    save_json(sr.output(REGISTRATION_FILE), record)
    sr.summary.update(registered=record["registered"], name=name, version=record["version"])

    items: list[tuple[str, Any]] = [
        ("registered", "yes" if record["registered"] else "no"),
        ("model name", name or ""),
        ("version", record["version"]),
        ("model validation", status),
        ("source", run_info["model_uri"]),
    ]
    if record.get("reason"):
        items.append(("reason", record["reason"]))
    if record.get("model_uri"):
        items.append(("registered model URI", record["model_uri"]))
    sr.card.kv("Summary", items)
