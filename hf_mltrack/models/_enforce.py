"""Signature enforcement: check (and losslessly convert) predict inputs and params against a signature.

Rules for columns:

- a required column that is missing is an error naming the column and its expected type; extra columns
  are dropped (the model sees exactly the signature's columns, in its order);
- a value is accepted when its type is the expected one, a safe widening of it (int32 -> long,
  int -> double, float32 -> double, ...), or the same kind narrowed without losing a value
  (int64 holding small numbers -> integer, float64 holding float32-exact numbers -> float);
- anything else (a string where a long is expected, a float where an integer is expected, ...) is an
  error naming the column, the expected type and the type received.
"""

from __future__ import annotations

import datetime as _dt
import logging
from collections.abc import Mapping
from typing import Any

from hf_mltrack.exceptions import InvalidParameterError
from hf_mltrack.types.schema import ColSpec, DataType, ParamSchema, Schema, TensorSpec

_logger = logging.getLogger(__name__)

_SAFE_INT_SOURCES = {
    DataType.integer: {"int8", "int16", "int32", "uint8", "uint16"},
    DataType.long: {"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32"},
    DataType.float: {"int8", "int16", "uint8", "uint16"},
}


def _describe(value: Any) -> str:
    return type(value).__name__


def _incompatible(name: Any, expected: str, got: str, hint: str = "") -> InvalidParameterError:
    label = f"column {name!r}" if isinstance(name, str) else f"input at position {name}"
    return InvalidParameterError(
        f"Incompatible input types for {label}: expected {expected}, got {got}.{(' ' + hint) if hint else ''}"
    )


def _to_frame(data: Any, schema: Schema) -> Any:
    """Turn a DataFrame, Series, dict, list, ndarray or scalar into the DataFrame the schema describes."""
    import numpy as np
    import pandas as pd

    names = schema.input_names()
    if isinstance(data, pd.DataFrame):
        if not schema.has_input_names():
            if data.shape[1] < len(names):
                raise InvalidParameterError(
                    f"The model expects {len(names)} unnamed input column(s), got {data.shape[1]}"
                )
            return data
        return data
    if isinstance(data, pd.Series):
        if schema.has_input_names() and data.name is not None:
            return data.to_frame()
        return pd.DataFrame({names[0]: data})
    if isinstance(data, Mapping):
        if all(not isinstance(v, (list, tuple, np.ndarray, pd.Series)) for v in data.values()):
            return pd.DataFrame([dict(data)])
        return pd.DataFrame({k: list(v) if isinstance(v, tuple) else v for k, v in data.items()})
    if isinstance(data, np.ndarray):
        if data.ndim == 1 and len(names) == 1:
            return pd.DataFrame({names[0]: data})
        if data.ndim == 2 and data.shape[1] == len(names):
            return pd.DataFrame(data, columns=names)
        raise InvalidParameterError(
            f"A numpy array of shape {data.shape} does not fit the model's {len(names)} column(s) {names}"
        )
    if isinstance(data, (list, tuple)):
        if data and all(isinstance(v, Mapping) for v in data):
            return pd.DataFrame(list(data))
        if len(names) == 1 and all(not isinstance(v, (list, tuple, Mapping)) for v in data):
            return pd.DataFrame({names[0]: list(data)})
        if data and all(isinstance(v, (list, tuple)) and len(v) == len(names) for v in data):
            return pd.DataFrame([list(v) for v in data], columns=names)
        raise InvalidParameterError(
            "A list input must hold one value per row for a single-column model, dicts (one per row) "
            "or rows "
            f"of {len(names)} values; the model's columns are {names}"
        )
    if isinstance(data, (str, bytes, bool, int, float, _dt.date)):
        if len(names) != 1:
            raise InvalidParameterError(
                f"A single {_describe(data)} input fits only a one-column model; this model expects {names}"
            )
        return pd.DataFrame({names[0]: [data]})
    raise InvalidParameterError(
        f"Unsupported input type {_describe(data)}: pass a pandas DataFrame, a dict, a list, a str or a numpy array"
    )


def _numpy_dtype_of(series: Any) -> Any:
    """The numpy dtype of a Series, unwrapping pandas' nullable extension dtypes when they hold no nulls."""
    import numpy as np
    import pandas as pd

    dtype = series.dtype
    if isinstance(dtype, pd.api.extensions.ExtensionDtype) and hasattr(dtype, "numpy_dtype"):
        if not isinstance(dtype, pd.StringDtype) and not series.isna().any():
            return dtype.numpy_dtype
    return dtype if isinstance(dtype, np.dtype) else None


def _lossless(converted: Any, original: Any) -> bool:
    import numpy as np

    try:
        back = converted.astype(original.dtype)
    except (TypeError, ValueError, OverflowError):
        return False
    return bool(np.array_equal(back, original, equal_nan=original.dtype.kind == "f"))


def _enforce_column(name: Any, series: Any, spec: ColSpec) -> Any:
    """Return ``series`` converted to ``spec.type`` or raise an error naming the column."""
    import numpy as np
    import pandas as pd

    expected = spec.type
    dtype = _numpy_dtype_of(series)
    got = str(series.dtype)
    non_null = series[~series.isna()] if series.dtype == object else series

    if expected is DataType.string:
        if isinstance(series.dtype, pd.StringDtype):
            return series
        if series.dtype == object and all(isinstance(v, str) for v in non_null.tolist()):
            return series
        raise _incompatible(name, "string", got if series.dtype != object else _value_types(non_null))
    if expected is DataType.binary:
        if series.dtype == object and all(isinstance(v, (bytes, bytearray)) for v in non_null.tolist()):
            return series
        raise _incompatible(name, "binary (bytes)", got if series.dtype != object else _value_types(non_null))
    if expected is DataType.boolean:
        if dtype is not None and dtype.kind == "b":
            return series.astype(bool)
        if series.dtype == object and all(isinstance(v, (bool, np.bool_)) for v in non_null.tolist()):
            return series
        raise _incompatible(name, "boolean", got)
    if expected is DataType.datetime:
        if dtype is not None and dtype.kind == "M" or isinstance(series.dtype, pd.DatetimeTZDtype):
            return series
        if series.dtype == object and all(isinstance(v, (_dt.date, pd.Timestamp)) for v in non_null.tolist()):
            return pd.to_datetime(series)
        raise _incompatible(name, "datetime", got)

    # numeric targets
    target = expected.to_numpy()
    if dtype is None or dtype.kind not in "iuf":
        if series.dtype == object:
            got = _value_types(non_null)
        raise _incompatible(name, expected.name, got)
    if dtype == target:
        return series.astype(target)
    values = series.to_numpy(dtype=dtype)
    if expected in (DataType.integer, DataType.long):
        if dtype.kind == "f":
            raise _incompatible(
                name,
                f"{expected.name} ({target})",
                got,
                "Use a double/float column for values that may be fractional or missing",
            )
        if dtype.name in _SAFE_INT_SOURCES[expected]:
            return series.astype(target)
        converted = values.astype(target)
        if _lossless(converted, values):
            return pd.Series(converted, index=series.index, name=series.name)
        raise _incompatible(name, f"{expected.name} ({target})", got, "Some values do not fit")
    # float / double
    if dtype.kind == "f" and dtype.itemsize <= target.itemsize:
        return series.astype(target)
    if dtype.kind in "iu" and expected is DataType.float and dtype.name in _SAFE_INT_SOURCES[DataType.float]:
        return series.astype(target)
    converted = values.astype(target)
    if _lossless(converted, values):
        return pd.Series(converted, index=series.index, name=series.name)
    raise _incompatible(name, f"{expected.name} ({target})", got, f"Converting to {target} would lose precision")


def _value_types(series: Any) -> str:
    kinds = sorted({type(v).__name__ for v in series.tolist()})
    return "object column of " + "/".join(kinds) if kinds else "an empty object column"


def _enforce_col_schema(df: Any, schema: Schema) -> Any:
    import pandas as pd

    specs: list[ColSpec] = schema.inputs  # type: ignore[assignment]
    if schema.has_input_names():
        columns = [str(c) for c in df.columns]
        df = df.copy(deep=False)
        df.columns = columns
        missing = [s for s in specs if s.required and s.name not in columns]
        if missing:
            wanted = ", ".join(f"{s.name!r} ({s.type.name})" for s in missing)
            raise InvalidParameterError(
                f"Model is missing input column(s) {wanted}. The input has columns {columns}; the signature "
                f"expects {[s.name for s in specs]}"
            )
        extra = [c for c in columns if c not in {s.name for s in specs}]
        if extra:
            _logger.debug("Dropping input columns not in the signature: %s", extra)
        out = {s.name: _enforce_column(s.name, df[s.name], s) for s in specs if s.name in columns}
        return pd.DataFrame(out, index=df.index)
    out = {}
    for i, spec in enumerate(specs):
        out[df.columns[i]] = _enforce_column(i, df.iloc[:, i], spec)
    return pd.DataFrame(out, index=df.index)


def _enforce_tensor(name: str | None, value: Any, spec: TensorSpec) -> Any:
    import numpy as np

    label = f"tensor input {name!r}" if name else "the tensor input"
    if hasattr(value, "detach") and type(value).__module__.startswith("torch"):
        value = value.detach().cpu().numpy()
    if not isinstance(value, np.ndarray):
        try:
            value = np.asarray(value)
        except (TypeError, ValueError) as exc:
            raise InvalidParameterError(f"Cannot convert {label} to a numpy array: {exc}") from exc
    if value.dtype != spec.type:
        if value.dtype.kind in "OUS" or not np.can_cast(value.dtype, spec.type, casting="safe"):
            raise InvalidParameterError(
                f"Incompatible input types for {label}: expected {spec.type}, got {value.dtype}. Only safe "
                "widening casts are applied (e.g. int32 -> int64, float32 -> float64)"
            )
        value = value.astype(spec.type)
    shape = spec.shape
    if len(shape) != value.ndim or any(d != -1 and d != a for d, a in zip(shape, value.shape, strict=False)):
        raise InvalidParameterError(
            f"Shape mismatch for {label}: expected {tuple(shape)} (-1 = any size), got {tuple(value.shape)}"
        )
    return value


def _enforce_tensor_schema(data: Any, schema: Schema) -> Any:
    import pandas as pd

    specs: list[TensorSpec] = schema.inputs  # type: ignore[assignment]
    if schema.has_input_names() and len(specs) > 1 or isinstance(data, Mapping):
        if isinstance(data, pd.DataFrame):
            data = {c: data[c].to_numpy() for c in data.columns}
        if not isinstance(data, Mapping):
            raise InvalidParameterError(
                f"The model expects named tensors {[s.name for s in specs]}: pass a dict of name -> array"
            )
        missing = [f"{s.name!r} ({s.type}, shape {s.shape})" for s in specs if s.name not in data]
        if missing:
            raise InvalidParameterError(f"Model is missing tensor input(s) {', '.join(missing)}")
        return {s.name: _enforce_tensor(s.name, data[s.name], s) for s in specs}
    if isinstance(data, pd.DataFrame):
        data = data.to_numpy()
    return _enforce_tensor(specs[0].name, data, specs[0])


def _enforce_schema(data: Any, schema: Schema) -> Any:
    """Check ``data`` against ``schema``; return it converted (a DataFrame for column schemas)."""
    if schema.is_tensor_spec():
        return _enforce_tensor_schema(data, schema)
    return _enforce_col_schema(_to_frame(data, schema), schema)


def _enforce_params(params: Mapping[str, Any] | None, schema: ParamSchema | None) -> dict[str, Any] | None:
    """Fill defaults, check types of the given params, drop (with a warning) the unknown ones."""
    if schema is None:
        if params:
            _logger.warning(
                "The model's signature declares no params; ignoring %s. Add them with "
                "infer_signature(..., params={...}) when logging the model",
                sorted(params),
            )
        return None
    if params is not None and not isinstance(params, Mapping):
        raise InvalidParameterError(f"params must be a dict of name -> value, got {type(params).__name__}")
    given = dict(params or {})
    out: dict[str, Any] = {}
    for spec in schema.params:
        if spec.name in given:
            value = given.pop(spec.name)
            out[spec.name] = None if value is None else spec.validate(value)
        else:
            out[spec.name] = spec.default
    if given:
        _logger.warning(
            "Ignoring params not in the model's signature: %s (known: %s)",
            sorted(given),
            [s.name for s in schema.params],
        )
    return out
