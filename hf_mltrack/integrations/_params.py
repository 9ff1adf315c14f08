"""What a Trainer run records as params: flattened, secret-free, and never silently dropped.

Every value goes through `sanitize_params`: nested mappings are flattened with dotted keys, values of
secret-looking keys (``hub_token``, ``api_key``, ``password``, ``aws_secret_access_key``, ...) and
secret-looking values (``hf_...`` tokens, passwords inside URLs) are redacted, and values longer than
the param limit are truncated with a visible marker instead of being dropped (MLflow's callback drops
them).
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from .. import _env
from ..utils.validation import MAX_KEY_LENGTH, TRUNCATION_MARKER

REDACTED = "<redacted>"

# Whole words that mark a secret wherever they appear in a key segment.
_SECRET_WORDS = ("password", "passwd", "secret", "apikey", "api_key", "api-key", "credential", "private_key")
# "token" ends a secret key (hub_token, hf_token, access_token) but not a special-token setting.
_SPECIAL_TOKEN_WORDS = {
    "pad",
    "eos",
    "bos",
    "unk",
    "sep",
    "cls",
    "mask",
    "start",
    "end",
    "special",
    "image",
    "video",
}
_SECRET_VALUE = re.compile(
    r"^(hf_[A-Za-z0-9]{30,}|sk-[A-Za-z0-9_\-]{20,}|gh[pousr]_[A-Za-z0-9]{30,}|AKIA[0-9A-Z]{16}|xox[abprs]-[A-Za-z0-9-]{10,})$"
)
_URL_PASSWORD = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^:/@\s]+:)([^@/\s]+)(@)")


def is_secret_key(key: str) -> bool:
    """Whether any dotted segment of ``key`` names a secret (``hub_token``, ``db.password``, ``api_key``)."""
    for segment in key.lower().split("."):
        if any(word in segment for word in _SECRET_WORDS):
            return True
        words = re.split(r"[_\-]", segment)
        if words[-1] in ("token", "access_key") or segment.endswith("access_key_id"):
            if len(words) < 2 or words[-2] not in _SPECIAL_TOKEN_WORDS:
                return True
    return False


def redact_value(value: Any) -> Any:
    """Hide secrets inside a value: whole tokens, and passwords inside URLs."""
    if not isinstance(value, str):
        return value
    if _SECRET_VALUE.match(value.strip()):
        return REDACTED
    if "://" in value and "@" in value:
        return _URL_PASSWORD.sub(lambda m: m.group(1) + REDACTED + m.group(3), value)
    return value


def _scalar(value: Any) -> Any:
    """A param-compatible value (str, int, float, bool or None) for anything a config may hold."""
    if isinstance(value, enum.Enum):  # before str: str-enums (PeftType.LORA) print their class name
        return _scalar(value.value)
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (set, frozenset)):
        value = sorted(value, key=str)
    if isinstance(value, (list, tuple)):
        try:
            return json.dumps(value, default=str)
        except (TypeError, ValueError):
            return str(value)
    if isinstance(value, Mapping):
        return json.dumps(value, default=str, sort_keys=True)
    number = getattr(value, "item", None)  # numpy and 0-d torch scalars
    if callable(number) and getattr(value, "ndim", 1) == 0:
        try:
            return number()
        except Exception:
            pass
    return str(value)


def flatten(params: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten nested mappings into dotted keys: ``{"a": {"b": 1}}`` -> ``{"a.b": 1}``."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        full = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, full + "."))
        else:
            out[full] = _scalar(value)
    return out


def _short_key(key: str) -> str:
    key = key.lstrip("/").replace("..", ".")
    if len(key) <= MAX_KEY_LENGTH:
        return key
    digest = hashlib.sha1(key.encode()).hexdigest()[:8]
    return key[: MAX_KEY_LENGTH - 10] + "~" + digest


def truncate(text: str, limit: int) -> str:
    """Keep the first characters and end with the truncation marker (the value stays, shortened)."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - len(TRUNCATION_MARKER))] + TRUNCATION_MARKER


def sanitize_params(params: Mapping[str, Any], max_length: int | None = None) -> dict[str, str]:
    """Flatten, redact and truncate ``params`` into ``{key: text}`` ready for ``log_batch``.

    Args:
        params (`Mapping`): nested values of any type.
        max_length (`int`, *optional*): the longest value kept whole; defaults to
            ``HF_MLTRACK_PARAM_VALUE_MAX_LENGTH``. Longer values end in ``...[truncated]``.
    """
    limit = max_length or _env.PARAM_VALUE_MAX_LENGTH.get()
    out: dict[str, str] = {}
    for key, value in flatten(params).items():
        if is_secret_key(key) and value not in (None, ""):
            value = REDACTED
        else:
            value = redact_value(value)
        out[_short_key(key)] = truncate(str(value), limit)
    return out


# ---- collectors: each returns a flat mapping, never raises on exotic objects -------------------
def training_args_params(args: Any) -> dict[str, Any]:
    """All `TrainingArguments` fields (``to_dict`` turns enums into values and hides hub tokens)."""
    to_dict = getattr(args, "to_dict", None)
    data = to_dict() if callable(to_dict) else dict(vars(args))
    return flatten(data)


def unwrap_model(model: Any) -> Any:
    """The innermost model: through DDP/accelerate wrappers (``.module``) and PEFT (``base_model.model``)."""
    seen = 0
    while hasattr(model, "module") and seen < 5:  # DistributedDataParallel, DataParallel
        model = model.module
        seen += 1
    return model


def base_model(model: Any) -> Any:
    """The transformers model under a PEFT wrapper (the model itself otherwise)."""
    model = unwrap_model(model)
    if hasattr(model, "peft_config") and hasattr(model, "get_base_model"):
        try:
            return model.get_base_model()
        except Exception:
            return model
    return model


def model_config_params(model: Any) -> dict[str, Any]:
    """The model's config under ``model.``."""
    config = getattr(base_model(model), "config", None)
    to_dict = getattr(config, "to_dict", None)
    if not callable(to_dict):
        return {}
    return flatten(to_dict(), "model.")


def peft_config_params(model: Any) -> dict[str, Any]:
    """PEFT adapter configs under ``peft.`` (``peft.<adapter>.`` when there are several adapters)."""
    configs = getattr(unwrap_model(model), "peft_config", None)
    if not isinstance(configs, Mapping) or not configs:
        return {}
    out: dict[str, Any] = {}
    for name, config in configs.items():
        to_dict = getattr(config, "to_dict", None)
        data = to_dict() if callable(to_dict) else dict(vars(config))
        prefix = "peft." if len(configs) == 1 else f"peft.{name}."
        out.update(flatten(data, prefix))
    if len(configs) == 1:
        out["peft.adapter_name"] = next(iter(configs))
    return out


def parameter_count_params(model: Any) -> dict[str, Any]:
    """Total and trainable parameter counts and the trainable percentage."""
    model = unwrap_model(model)
    counter = getattr(model, "get_nb_trainable_parameters", None)  # PEFT: right for 4/8-bit weights
    if callable(counter):
        trainable, total = counter()
    else:
        params = getattr(model, "parameters", None)
        if not callable(params):
            return {}
        trainable = total = 0
        for p in params():
            n = p.numel()
            total += n
            if p.requires_grad:
                trainable += n
    pct = 100.0 * trainable / total if total else 0.0
    return {
        "num_parameters": int(total),
        "num_trainable_parameters": int(trainable),
        "trainable_parameters_pct": round(pct, 4),
    }


def _size(dataset: Any) -> int | None:
    try:
        return len(dataset)
    except Exception:
        return None


def dataset_params(train_dataset: Any = None, eval_dataset: Any = None) -> dict[str, Any]:
    """Dataset sizes: ``train_dataset_size`` and ``eval_dataset_size`` (per name for dict eval sets)."""
    out: dict[str, Any] = {}
    size = _size(train_dataset) if train_dataset is not None else None
    if size is not None:
        out["train_dataset_size"] = size
    if isinstance(eval_dataset, Mapping):
        for name, ds in eval_dataset.items():
            size = _size(ds)
            if size is not None:
                out[f"eval_dataset_size.{name}"] = size
    elif eval_dataset is not None:
        size = _size(eval_dataset)
        if size is not None:
            out["eval_dataset_size"] = size
    return out


_VERSIONED = (
    "torch",
    "transformers",
    "peft",
    "accelerate",
    "datasets",
    "tokenizers",
    "trl",
    "deepspeed",
    "bitsandbytes",
)


def library_version_params() -> dict[str, Any]:
    """Versions of the libraries already imported (cheap: no package metadata scan)."""
    from .. import __version__

    out: dict[str, Any] = {
        "versions.python": ".".join(map(str, sys.version_info[:3])),
        "versions.hf_mltrack": __version__,
    }
    for name in _VERSIONED:
        module = sys.modules.get(name)
        version = getattr(module, "__version__", None) if module is not None else None
        if version is not None:
            out[f"versions.{name}"] = str(version)
    return out


def hardware_params(args: Any) -> dict[str, Any]:
    """World size and GPU names (CUDA devices visible to this process)."""
    out: dict[str, Any] = {"world_size": int(getattr(args, "world_size", 1) or 1)}
    torch = sys.modules.get("torch")
    if torch is not None:
        try:
            if torch.cuda.is_available():
                names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
                out["gpu.count"] = len(names)
                out["gpu.names"] = ", ".join(names)
            else:
                out["gpu.count"] = 0
        except Exception:
            pass
    return out


def merge(*parts: Mapping[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in parts:
        if part:
            out.update(part)
    return out


def drop_keys(params: Mapping[str, str], existing: Iterable[str]) -> dict[str, str]:
    """Params not logged yet (params are immutable: a resumed or joined run keeps the first value)."""
    seen = set(existing)
    return {k: v for k, v in params.items() if k not in seen}
