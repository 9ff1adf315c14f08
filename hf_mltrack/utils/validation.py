"""Validation of what users log: names, values, limits. Errors name the value and the fix."""

from __future__ import annotations

import math
import numbers

from .. import _env
from ..exceptions import InvalidParameterError
from .warn import warn

MAX_KEY_LENGTH = 250
MAX_TAG_VALUE_LENGTH = 8000
TRUNCATION_MARKER = "...[truncated]"


_VALID_KEYS: set[str] = set()


def validate_key(kind: str, key: object) -> str:
    if key in _VALID_KEYS:  # keys repeat at every step: validate each once
        return key  # type: ignore[return-value]
    if not isinstance(key, str) or not key:
        raise InvalidParameterError(f"Invalid {kind} name {key!r}: give a non-empty string")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidParameterError(
            f"{kind.capitalize()} name {key[:40]!r}... is {len(key)} characters long: use at most {MAX_KEY_LENGTH}"
        )
    if "\x00" in key:
        raise InvalidParameterError(f"Invalid {kind} name {key!r}: it contains a NUL character")
    bad = _invisible_character(key)
    if bad is not None:
        raise InvalidParameterError(
            f"Invalid {kind} name {key!r}: it contains the invisible character U+{ord(bad):04X} ({bad!r}); "
            "names may hold letters, digits, spaces and punctuation only"
        )
    if key.startswith("/") or ".." in key.split("/"):
        raise InvalidParameterError(f"Invalid {kind} name {key!r}: it must not start with '/' or contain '..'")
    if len(_VALID_KEYS) < 100_000:
        _VALID_KEYS.add(key)
    return key


def _invisible_character(key: str) -> str | None:
    """The first control, format (bidi overrides, zero-width...) or surrogate character of ``key``."""
    if key.isascii():
        return next((ch for ch in key if ch < " " or ch == "\x7f"), None)
    import unicodedata

    return next((ch for ch in key if unicodedata.category(ch) in ("Cc", "Cf", "Cs")), None)


def param_value_to_str(key: str, value: object) -> str:
    """Params are str, int, float, bool or None (as the seed says); anything else is an error."""
    if value is None or isinstance(value, (str, bool, int, float)) or isinstance(value, numbers.Number):
        text = str(value)
    else:
        raise InvalidParameterError(
            f"Param {key!r} has a value of type {type(value).__name__} ({value!r:.60}): params must be str, int, "
            f"float, bool or None. Serialize structures first, e.g. log_param({key!r}, json.dumps(value))"
        )
    return truncate(f"param {key!r}", text, _env.PARAM_VALUE_MAX_LENGTH.get())


def truncate(what: str, text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    warn(
        f"The value of {what} is {len(text)} characters long; it was truncated to {limit} "
        f"(ending in {TRUNCATION_MARKER!r})."
    )
    return text[: limit - len(TRUNCATION_MARKER)] + TRUNCATION_MARKER


def tag_value_to_str(key: str, value: object) -> str:
    return truncate(f"tag {key!r}", str(value), MAX_TAG_VALUE_LENGTH)


def metric_value(key: str, value: object) -> float:
    """Metric values are numbers (NaN and +-inf kept); None and non-numbers are errors."""
    t = type(value)
    if t is float:
        return value  # type: ignore[return-value]
    if t is int:
        return float(value)  # type: ignore[arg-type]
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        # numpy scalars and 0-d tensors are Real or convertible; try a float conversion for those.
        if value is not None and not isinstance(value, (str, bytes, bool)) and hasattr(value, "__float__"):
            try:
                return float(value)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                pass
        raise InvalidParameterError(
            f"Metric {key!r} got {value!r} ({type(value).__name__}): metric values must be int or float "
            "(None is not allowed; log a string as a tag or param instead)"
        )
    return float(value)


def metric_step(key: str, step: object) -> int:
    if type(step) is int:  # the common case, without the numbers.Integral ABC check
        return step  # type: ignore[return-value]
    if step is None:
        return 0
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        if isinstance(step, float) and step.is_integer():
            return int(step)
        raise InvalidParameterError(f"Metric {key!r} got step={step!r}: steps must be integers")
    return int(step)


def is_finite(value: float) -> bool:
    return math.isfinite(value)
