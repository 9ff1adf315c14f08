"""Infer a `Schema` or `ParamSchema` from example data (pandas, numpy, torch, dicts, lists, strings)."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any

from hf_mltrack.exceptions import InvalidParameterError
from hf_mltrack.types.schema import ColSpec, DataType, ParamSchema, ParamSpec, Schema, TensorSpec

_SCALAR_TYPES = (str, bytes, bytearray, bool, int, float, _dt.date)


def _is_ndarray(obj: Any) -> bool:
    return type(obj).__module__ == "numpy" and type(obj).__name__ == "ndarray"


def _maybe_tensor_to_numpy(obj: Any) -> Any:
    """torch/TF tensors become numpy arrays, without importing torch."""
    if type(obj).__module__.startswith("torch") and hasattr(obj, "detach"):
        tensor = obj.detach().cpu()
        if str(tensor.dtype) == "torch.bfloat16":  # numpy has no bfloat16
            tensor = tensor.float()
        return tensor.numpy()
    return obj


def _python_scalar_type(value: Any) -> DataType | None:
    import numpy as np

    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return DataType.boolean
    if isinstance(value, int):
        return DataType.long
    if isinstance(value, float):
        return DataType.double
    if isinstance(value, str):
        return DataType.string
    if isinstance(value, (bytes, bytearray)):
        return DataType.binary
    if isinstance(value, (_dt.datetime, _dt.date)):
        return DataType.datetime
    return None


def _infer_dtype_of_values(name: Any, values: list[Any]) -> DataType:
    """The one DataType of an object column's non-null values (ints and floats mix to double)."""
    found = {_python_scalar_type(v) for v in values}
    if None in found:
        bad = next(v for v in values if _python_scalar_type(v) is None)
        raise InvalidParameterError(
            f"Cannot infer a column type for {name!r}: value {bad!r} of type {type(bad).__name__} is "
            "not one of "
            "str, bytes, bool, int, float, datetime. Pass an explicit signature=ModelSignature(...)"
        )
    types = {t for t in found if t is not None}
    if types == {DataType.long, DataType.double}:
        return DataType.double
    if len(types) > 1:
        raise InvalidParameterError(
            f"Cannot infer a column type for {name!r}: it mixes {sorted(t.name for t in types)}. "
            "Make the column homogeneous or pass an explicit signature"
        )
    if not types:
        raise InvalidParameterError(
            f"Cannot infer a column type for {name!r}: every value is null. Pass an explicit signature"
        )
    return types.pop()


def _dtype_to_datatype(name: Any, series: Any) -> DataType:
    """Map a pandas Series' dtype to a DataType (object columns are inspected value by value)."""
    import numpy as np
    import pandas as pd

    dtype = series.dtype
    if isinstance(dtype, pd.StringDtype):
        return DataType.string
    if isinstance(dtype, pd.BooleanDtype):
        return DataType.boolean
    if isinstance(dtype, pd.api.extensions.ExtensionDtype) and hasattr(dtype, "numpy_dtype"):
        dtype = dtype.numpy_dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        return DataType.datetime
    if not isinstance(dtype, np.dtype):
        raise InvalidParameterError(f"Cannot infer a column type for {name!r} of dtype {series.dtype}")
    kind = dtype.kind
    if kind == "b":
        return DataType.boolean
    if kind in "iu":
        if dtype.itemsize <= 4 and not (kind == "u" and dtype.itemsize == 4):
            return DataType.integer
        if kind == "u" and dtype.itemsize == 8:
            return DataType.double
        return DataType.long
    if kind == "f":
        return DataType.float if dtype.itemsize <= 4 else DataType.double
    if kind == "M":
        return DataType.datetime
    if kind in "OSU":
        values = [v for v in series.tolist() if not _is_null(v)]
        return _infer_dtype_of_values(name, values)
    raise InvalidParameterError(f"Cannot infer a column type for {name!r} of dtype {dtype}")


def _is_null(value: Any) -> bool:
    if value is None:
        return True
    try:
        import pandas as pd

        result = pd.isna(value)
    except (TypeError, ValueError):
        return False
    return bool(result) if isinstance(result, bool) or type(result).__name__ == "bool_" else False


def _infer_dataframe_schema(df: Any) -> Schema:
    specs = []
    for col in df.columns:
        series = df[col]
        if isinstance(series, type(df)):
            raise InvalidParameterError(f"Duplicate column {col!r} in the DataFrame")
        dtype = _dtype_to_datatype(col, series)
        has_nulls = bool(series.isna().any())
        specs.append(ColSpec(dtype, str(col), required=not has_nulls))
    return Schema(specs)


def _tensor_spec(name: str | None, array: Any) -> TensorSpec:
    import numpy as np

    array = np.asarray(array)
    if array.dtype.kind in "OUS":
        raise InvalidParameterError(
            f"Cannot infer a tensor spec for {name or 'the input'}: dtype {array.dtype} is not numeric"
        )
    shape = (-1, *array.shape[1:]) if array.ndim > 0 else ()
    return TensorSpec(array.dtype, shape, name)


def _infer_schema(data: Any) -> Schema:
    """Infer the Schema of one example input or output.

    DataFrame, Series, dict of scalars or lists, list of dicts, list of scalars and scalars give a column
    schema; numpy arrays, torch tensors and dicts of arrays give a tensor schema.
    """
    import pandas as pd

    data = _maybe_tensor_to_numpy(data)
    if isinstance(data, pd.DataFrame):
        return _infer_dataframe_schema(data)
    if isinstance(data, pd.Series):
        name = None if data.name is None else str(data.name)
        dtype = _dtype_to_datatype(name or "the series", data)
        return Schema([ColSpec(dtype, name, required=not bool(data.isna().any()))])
    if _is_ndarray(data):
        if data.dtype.kind in "OUS" and data.ndim == 1:
            return Schema([ColSpec(_infer_dtype_of_values("the array", data.tolist()))])
        return Schema([_tensor_spec(None, data)])
    if isinstance(data, Mapping):
        if not data:
            raise InvalidParameterError("Cannot infer a schema from an empty dict")
        values = {k: _maybe_tensor_to_numpy(v) for k, v in data.items()}
        if all(_is_ndarray(v) and v.ndim > 1 for v in values.values()):
            return Schema([_tensor_spec(str(k), v) for k, v in values.items()])
        specs = []
        for key, value in values.items():
            if not isinstance(key, str):
                raise InvalidParameterError(f"Column names must be strings, got {key!r}")
            if _is_ndarray(value):
                value = value.tolist()
            items = list(value) if isinstance(value, (list, tuple)) else [value]
            non_null = [v for v in items if not _is_null(v)]
            specs.append(ColSpec(_infer_dtype_of_values(key, non_null), key, required=len(non_null) == len(items)))
        return Schema(specs)
    if isinstance(data, (list, tuple)):
        if not data:
            raise InvalidParameterError("Cannot infer a schema from an empty list")
        if all(isinstance(v, Mapping) for v in data):
            return _infer_dataframe_schema(pd.DataFrame(list(data)))
        if all(isinstance(v, _SCALAR_TYPES) or _is_null(v) for v in data):
            non_null = [v for v in data if not _is_null(v)]
            return Schema([ColSpec(_infer_dtype_of_values("the list", non_null), required=len(non_null) == len(data))])
        import numpy as np

        return Schema([_tensor_spec(None, np.asarray(data))])
    if isinstance(data, _SCALAR_TYPES):
        return Schema([ColSpec(_infer_dtype_of_values("the input", [data]))])
    raise InvalidParameterError(
        f"Cannot infer a schema from {type(data).__name__}: use a pandas DataFrame or Series, a numpy "
        "array, a "
        "torch tensor, a dict, a list or a str, or pass an explicit signature"
    )


def _infer_param_schema(params: Mapping[str, Any]) -> ParamSchema:
    """Infer a ParamSchema from example parameters; each example value becomes the default."""
    if not isinstance(params, Mapping):
        raise InvalidParameterError(f"params must be a dict of name -> value, got {type(params).__name__}")
    specs = []
    for name, value in params.items():
        if _is_ndarray(value):
            value = value.tolist()
        if isinstance(value, (list, tuple)):
            if not value:
                raise InvalidParameterError(f"Cannot infer the type of parameter {name!r} from an empty list")
            dtype = _infer_dtype_of_values(name, list(value))
            specs.append(ParamSpec(name, dtype, list(value), (-1,)))
            continue
        scalar_type = _python_scalar_type(value)
        if scalar_type is None:
            raise InvalidParameterError(
                f"Cannot infer the type of parameter {name!r} from {type(value).__name__}: use str, "
                "int, float, "
                "bool, bytes, datetime or a list of those"
            )
        specs.append(ParamSpec(name, scalar_type, value))
    return ParamSchema(specs)
