"""Version differences of transformers, optional dependencies, dtypes and devices in one place."""

from __future__ import annotations

import logging
from typing import Any

from hf_mltrack.exceptions import InvalidParameterError, missing_extra

_logger = logging.getLogger("hf_mltrack.transformers")

_DTYPE_NAMES = (
    "float32",
    "float16",
    "bfloat16",
    "float64",
    "int8",
    "uint8",
    "float8_e4m3fn",
    "float8_e5m2",
)


def require_transformers() -> Any:
    """Import transformers (and torch) or raise the install hint."""
    try:
        import torch  # noqa: F401
    except ImportError as exc:
        raise missing_extra("hf_mltrack.transformers", "torch", "hf") from exc
    try:
        import transformers
    except ImportError as exc:
        raise missing_extra("hf_mltrack.transformers", "transformers", "hf") from exc
    return transformers


def transformers_major() -> int:
    import transformers

    try:
        return int(transformers.__version__.split(".", 1)[0])
    except ValueError:  # pragma: no cover - a dev build with an odd version string
        return 5


def dtype_kwargs(dtype: Any) -> dict[str, Any]:
    """``from_pretrained`` keywords asking for ``dtype`` with low host RAM, for this transformers version."""
    import transformers
    from packaging.version import Version

    kwargs: dict[str, Any] = {}
    # `dtype=` replaced `torch_dtype=` in 4.56; transformers 5 always loads with low memory (no flag).
    new_api = Version(transformers.__version__.split("+")[0]) >= Version("4.56")
    if dtype is not None:
        kwargs["dtype" if new_api else "torch_dtype"] = dtype
    if transformers_major() < 5:
        kwargs["low_cpu_mem_usage"] = True
    return kwargs


def parse_dtype(value: Any) -> Any:
    """A ``torch.dtype`` (or ``"auto"``) from a dtype, its name (``"bfloat16"``) or ``"torch.bfloat16"``."""
    if value is None:
        return None
    import torch

    if isinstance(value, torch.dtype):
        return value
    if isinstance(value, str):
        name = value.strip().removeprefix("torch.")
        if name == "auto":
            return "auto"
        if name in _DTYPE_NAMES and isinstance(getattr(torch, name, None), torch.dtype):
            return getattr(torch, name)
        aliases = {
            "fp16": "float16",
            "half": "float16",
            "bf16": "bfloat16",
            "fp32": "float32",
            "float": "float32",
        }
        if name in aliases:
            return getattr(torch, aliases[name])
    raise InvalidParameterError(
        f"Invalid torch_dtype {value!r}: pass a torch.dtype or one of {', '.join(_DTYPE_NAMES)} (or 'auto')"
    )


def dtype_name(dtype: Any) -> str | None:
    """``torch.bfloat16`` -> ``"torch.bfloat16"`` (MLflow's spelling in MLmodel)."""
    if dtype is None or dtype == "auto":
        return None if dtype is None else "auto"
    return str(dtype)


def cuda_available() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def normalize_device(device: Any) -> str:
    """``None``/``int``/``str``/``torch.device`` -> ``"cpu"``, ``"cuda:N"`` or another torch device string."""
    import torch

    if device is None:
        return "cuda:0" if cuda_available() else "cpu"
    if isinstance(device, torch.device):
        device = str(device)
    if isinstance(device, bool):
        raise InvalidParameterError(f"Invalid device {device!r}: pass 'cpu', 'cuda', 'cuda:N' or a GPU index")
    if isinstance(device, int):
        if device < 0:
            return "cpu"
        device = f"cuda:{device}"
    if not isinstance(device, str) or not device.strip():
        raise InvalidParameterError(f"Invalid device {device!r}: pass 'cpu', 'cuda', 'cuda:N' or a GPU index")
    device = device.strip().lower()
    if device == "cuda":
        device = "cuda:0"
    try:
        parsed = torch.device(device)
    except RuntimeError as exc:
        raise InvalidParameterError(f"Invalid device {device!r}: {exc}") from None
    if parsed.type == "cuda":
        if not cuda_available():
            raise InvalidParameterError(
                f"device={device!r} asks for a GPU but CUDA is not available here: pass device='cpu' "
                "(or leave device unset to use a GPU only when one is present)"
            )
        if (parsed.index or 0) >= torch.cuda.device_count():
            raise InvalidParameterError(
                f"device={device!r}: only {torch.cuda.device_count()} CUDA device(s) are visible"
            )
    return device


def accelerate_available() -> bool:
    try:
        import accelerate  # noqa: F401
    except ImportError:
        return False
    return True
