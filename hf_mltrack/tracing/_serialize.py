"""Turn span inputs, outputs and attributes into JSON-compatible snapshots, cheaply.

`to_jsonable` runs on the caller's thread when a value is recorded, so that later mutation of the
object does not change what the trace shows; the JSON text itself is produced by the background
exporter. Tensors and arrays larger than a few dozen elements are summarised (shape and dtype), not
copied: a trace records what flowed through a call, not the model's activations.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from ..utils.fast_json import dumps

MAX_ITEMS = 1000  # items kept per list/dict
MAX_DEPTH = 16
MAX_ARRAY_ELEMENTS = 64  # tensors/arrays with more elements become a summary
PREVIEW_MAX_CHARS = 1000

_SCALARS = (str, int, bool, type(None))
_PENDING = object()


class Deferred:
    """A value computed later, on the exporter's thread (`resolve`): small tensors of pipeline stages
    and token counts, whose conversion costs more than the rest of a span. Only used for values that
    the traced code does not mutate afterwards (pipeline stage inputs and outputs)."""

    __slots__ = ("fn", "args", "_result")

    def __init__(self, fn: Any, *args: Any) -> None:
        self.fn = fn
        self.args = args
        self._result: Any = _PENDING

    def __repr__(self) -> str:
        return f"Deferred({getattr(self.fn, '__name__', self.fn)})"

    def value(self) -> Any:
        """The result (computed once; the arguments are released then)."""
        if self._result is _PENDING:
            try:
                self._result = resolve(self.fn(*self.args))
            except Exception as exc:  # never fail an export for one value
                self._result = f"<unavailable: {type(exc).__name__}: {exc}>"
            self.args = ()
        return self._result


def resolve(value: Any) -> Any:
    """`value` with every `Deferred` inside replaced by its result (containers without one are
    returned as they are, not copied)."""
    t = type(value)
    if t is Deferred:
        return value.value()
    if t is dict:
        for k, v in value.items():
            tv = type(v)
            if tv is Deferred or tv is dict or tv is list:
                r = resolve(v)
                if r is not v:
                    return {k2: (r if k2 == k else resolve(v2)) for k2, v2 in value.items()}
        return value
    if t is list:
        for i, v in enumerate(value):
            tv = type(v)
            if tv is Deferred or tv is dict or tv is list:
                r = resolve(v)
                if r is not v:
                    return [*value[:i], r, *(resolve(v2) for v2 in value[i + 1 :])]
        return value
    return value


def tensor_to_list(value: Any) -> Any:
    """A small tensor as (nested) lists; non-finite floats as strings."""
    return _floats(value.tolist()) if value.is_floating_point() else value.tolist()


def to_jsonable(value: Any, _depth: int = 0, defer: bool = False) -> Any:
    """A JSON-compatible copy of `value` (dicts, lists, str, int, float, bool, None).

    Non-finite floats become the strings ``"nan"``, ``"inf"``, ``"-inf"``; tensors and arrays become
    lists when small and ``"tensor(shape=[2, 8], dtype=torch.int64)"`` otherwise; dataclasses and
    Pydantic models become dicts; anything else becomes its ``repr`` (cut to 1000 characters).
    With ``defer=True``, small tensors are converted later by the exporter (`Deferred`).
    """
    t = type(value)
    if t in _SCALARS:
        return value
    if t is float:
        return value if math.isfinite(value) else str(value)
    if _depth >= MAX_DEPTH:
        return _short_repr(value)
    if t is list or t is tuple:
        items = value if len(value) <= MAX_ITEMS else value[:MAX_ITEMS]
        return [to_jsonable(v, _depth + 1, defer) for v in items]
    if t is dict:
        if len(value) <= MAX_ITEMS:
            return {k if type(k) is str else str(k): to_jsonable(v, _depth + 1, defer) for k, v in value.items()}
        return {str(k): to_jsonable(v, _depth + 1, defer) for k, v in list(value.items())[:MAX_ITEMS]}
    return _other(value, t, _depth, defer)


def _other(value: Any, t: type, depth: int, defer: bool = False) -> Any:
    module = t.__module__
    if module == "torch" and hasattr(value, "numel") and hasattr(value, "shape"):  # torch.Tensor
        if value.numel() <= MAX_ARRAY_ELEMENTS:
            # tolist() copies from any device without autograd
            return Deferred(tensor_to_list, value) if defer else tensor_to_list(value)
        return f"tensor(shape={list(value.shape)}, dtype={value.dtype})"
    if isinstance(value, (str, int)):  # str/int subclasses (enums, numpy str_)
        return str(value) if isinstance(value, str) else int(value)
    if isinstance(value, float):
        return to_jsonable(float(value))
    if module.startswith("numpy"):
        if hasattr(value, "shape") and hasattr(value, "size") and hasattr(value, "tolist"):
            if value.size <= MAX_ARRAY_ELEMENTS:
                return to_jsonable(value.tolist(), depth + 1)
            return f"ndarray(shape={list(value.shape)}, dtype={value.dtype})"
        if hasattr(value, "item"):
            return to_jsonable(value.item(), depth + 1)
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v, depth + 1) for i, v in enumerate(value) if i < MAX_ITEMS]
    if isinstance(value, dict) or (hasattr(value, "keys") and hasattr(value, "__getitem__")):
        try:  # Mappings, transformers' BatchEncoding and ModelOutput
            return {
                str(k): to_jsonable(value[k], depth + 1, defer) for i, k in enumerate(value.keys()) if i < MAX_ITEMS
            }
        except Exception:
            return _short_repr(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name, None), depth + 1) for f in dataclasses.fields(value)}
    dump = getattr(value, "model_dump", None)  # Pydantic v2
    if callable(dump) and not isinstance(value, type):
        try:
            return to_jsonable(dump(), depth + 1)
        except Exception:
            pass
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    if module.startswith("PIL") and hasattr(value, "size") and hasattr(value, "mode"):
        return f"<PIL.Image mode={value.mode} size={list(value.size)}>"
    return _short_repr(value)


def _floats(value: Any) -> Any:
    """Nested lists of floats with non-finite values as strings (JSON has no NaN)."""
    if type(value) is list:
        return [_floats(v) for v in value]
    if type(value) is float and not math.isfinite(value):
        return str(value)
    return value


def _short_repr(value: Any) -> str:
    try:
        text = repr(value)
    except Exception:
        text = f"<{type(value).__qualname__}>"
    return text if len(text) <= PREVIEW_MAX_CHARS else text[:PREVIEW_MAX_CHARS] + "..."


def preview(value: Any) -> str | None:
    """The JSON of a root span's inputs or outputs, cut to `PREVIEW_MAX_CHARS` characters."""
    if value is None:
        return None
    text = dumps(value)
    return text if len(text) <= PREVIEW_MAX_CHARS else text[: PREVIEW_MAX_CHARS - 3] + "..."
