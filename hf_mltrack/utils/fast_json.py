"""Compact JSON, with orjson (a dependency; 5-10x faster than the standard library on trace documents
and large REST bodies) and the standard library as the fallback for what orjson refuses (integers
beyond 64 bits, bare NaN/Infinity tokens when parsing) or when it is not installed.
"""

from __future__ import annotations

import json
import math
from typing import Any

_orjson: Any
try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - installed with hf_mltrack; absent only in unusual environments
    _orjson = None

# One rule for non-finite floats, MLflow's wire format (protobuf's JSON mapping): the strings "NaN",
# "Infinity" and "-Infinity". orjson alone would write null and the standard library bare NaN tokens
# (invalid JSON), so the same value came out differently depending on the rest of the document.
_NON_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}

# One strict encoder for every call (``json.dumps`` with options builds a new one each time); it raises
# ValueError on a non-finite float, in C, which is how a document is checked for them.
_encode_strict = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=str).encode


def _finite(value: Any) -> Any:
    """`value` with every non-finite float replaced by its wire string (containers copied)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else _NON_FINITE[repr(value)]
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _has_non_finite(value: Any) -> bool:
    try:
        _encode_strict(value)
    except ValueError as exc:
        return "Out of range float values" in str(exc)
    return False


def _encode(value: Any, default: Any) -> bytes:
    if _orjson is not None:
        try:
            out = _orjson.dumps(value, default=default)
        except TypeError:  # an integer beyond 64 bits, a non-string key
            pass
        else:
            # orjson writes a non-finite float as null: only a document with a null can hold one
            if b"null" not in out or not _has_non_finite(value):
                return out
            return _orjson.dumps(_finite(value), default=default)
    return _encode_strict(_finite(value)).encode()


def dumps(value: Any) -> str:
    """Compact JSON text of a JSON-compatible value; anything else is written as its ``str``.

    Non-finite floats are written as the strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"``.
    """
    return _encode(value, str).decode()


def dumps_bytes(value: Any) -> bytes:
    """Compact JSON (UTF-8) of plain values, for HTTP bodies; non-finite floats as in `dumps`."""
    return _encode(value, None)


def loads(raw: bytes | str) -> Any:
    """Parse JSON; also accepts the bare ``NaN``/``Infinity`` tokens that Python's json writes."""
    if _orjson is not None:
        try:
            return _orjson.loads(raw)
        except ValueError:
            pass
    return json.loads(raw)
