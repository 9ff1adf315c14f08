"""Quantized models (bitsandbytes 4-bit / 8-bit, and any other ``quantization_config``) in ``MLmodel``.

transformers writes a quantized model's ``quantization_config`` into its ``config.json`` and re-applies
it in ``from_pretrained``, so the weights need nothing from us. What we add:

- the config is recorded in the flavor block (``quantization:``), so the model's needs are visible
  without opening its files (the UI, ``hf-mltrack doctor``, a reviewer) and its package is pinned in
  ``requirements.txt``;
- at load, a missing quantization package is one clear error naming it and the install command,
  instead of transformers' ImportError from deep inside ``from_pretrained``.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from hf_mltrack.exceptions import MissingDependencyError

QUANTIZATION = "quantization"

# quant_method -> (module to import, pip package)
_PACKAGES = {
    "bitsandbytes": ("bitsandbytes", "bitsandbytes"),
    "gptq": ("optimum", "optimum"),
    "awq": ("awq", "autoawq"),
    "hqq": ("hqq", "hqq"),
    "torchao": ("torchao", "torchao"),
}


def quantization_block(config: Any) -> dict[str, Any] | None:
    """The ``quantization:`` block for a model config (``PretrainedConfig`` or its dict), or None."""
    if config is None:
        return None
    if isinstance(config, dict):
        raw = config.get("quantization_config")
    else:
        raw = getattr(config, "quantization_config", None)
    if raw is None:
        return None
    if not isinstance(raw, dict):
        to_dict = getattr(raw, "to_dict", None)
        raw = to_dict() if callable(to_dict) else dict(vars(raw))
    method = raw.get("quant_method", "unknown")
    method = str(getattr(method, "value", method))  # an enum in some transformers versions
    block: dict[str, Any] = {"quant_method": method}
    for key in ("load_in_4bit", "load_in_8bit", "bnb_4bit_quant_type", "bnb_4bit_compute_dtype", "bits"):
        if key in raw and raw[key] is not None:
            block[key] = raw[key] if isinstance(raw[key], (bool, int, float)) else str(raw[key])
    return block


def pip_package(block: dict[str, Any] | None) -> str | None:
    """The pip package a quantized model needs at load time."""
    if not block:
        return None
    entry = _PACKAGES.get(str(block.get("quant_method")))
    return entry[1] if entry else None


def check_loadable(block: dict[str, Any] | None, model_uri: str) -> None:
    """Raise a clear error when the package a quantized model needs is not installed."""
    if not block:
        return
    method = str(block.get("quant_method"))
    entry = _PACKAGES.get(method)
    if entry is None:
        return
    module, package = entry
    if importlib.util.find_spec(module) is None:
        bits = "4-bit" if block.get("load_in_4bit") else "8-bit" if block.get("load_in_8bit") else method
        raise MissingDependencyError(
            f"The model at {model_uri!r} is quantized ({bits}, quant_method={method!r}) and loading it needs "
            f"the {package!r} package, which is not installed: pip install {package}"
        )
