"""Data types and schemas of model signatures: `DataType`, `ColSpec`, `TensorSpec`, `Schema`, `ParamSpec`,
`ParamSchema`.

The JSON written by ``to_json``/``to_dict`` has exactly MLflow's shape, so an ``MLmodel`` file written by
either tool can be read by the other:

```
ColSpec     {"type": "string", "name": "prompt", "required": true}
TensorSpec  {"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 3]}, "name": "x"}
ParamSpec   {"name": "temperature", "type": "double", "default": 0.7, "shape": null}
```

numpy is imported only inside the functions that need it, so importing this module stays cheap.
"""

from __future__ import annotations

import base64
import datetime as _dt
import json
from collections.abc import Iterable, Sequence
from enum import Enum
from typing import Any

from hf_mltrack.exceptions import InvalidParameterError


class DataType(Enum):
    """The column and parameter types a signature can name (MLflow's `DataType`)."""

    boolean = 1
    integer = 2  # 32-bit signed integer
    long = 3  # 64-bit signed integer
    float = 4  # 32-bit IEEE float
    double = 5  # 64-bit IEEE float
    string = 6
    binary = 7
    datetime = 8

    def __repr__(self) -> str:
        return self.name

    def to_numpy(self) -> Any:
        """The numpy dtype of this type (`object` for string and binary)."""
        import numpy as np

        return {
            "boolean": np.dtype("bool"),
            "integer": np.dtype("int32"),
            "long": np.dtype("int64"),
            "float": np.dtype("float32"),
            "double": np.dtype("float64"),
            "string": np.dtype("object"),
            "binary": np.dtype("object"),
            "datetime": np.dtype("datetime64[ns]"),
        }[self.name]

    def to_pandas(self) -> Any:
        return self.to_numpy()

    def to_python(self) -> type:
        return {
            "boolean": bool,
            "integer": int,
            "long": int,
            "float": float,
            "double": float,
            "string": str,
            "binary": bytes,
            "datetime": _dt.datetime,
        }[self.name]

    @classmethod
    def from_name(cls, name: str | DataType) -> DataType:
        """Parse a type name, with an error that lists the valid names."""
        if isinstance(name, DataType):
            return name
        try:
            return cls[str(name)]
        except KeyError:
            valid = ", ".join(t.name for t in cls)
            raise InvalidParameterError(f"Unsupported data type {name!r}: use one of {valid}") from None


def _check_name(name: Any, what: str) -> str | None:
    if name is None:
        return None
    if not isinstance(name, str) or not name:
        raise InvalidParameterError(f"{what} name must be a non-empty string, got {name!r}")
    return name


class ColSpec:
    """One column of a column-based schema.

    Args:
        type (`str` or `DataType`): the column type: string, long, integer, double, float, boolean, binary
            or datetime.
        name (`str`, *optional*): the column name; a schema's columns are either all named or all unnamed.
        optional (`bool`, *optional*, defaults to `False`): the column may be missing from the input.
        required (`bool`, *optional*): MLflow 3's spelling of ``not optional``; wins when given.
    """

    def __init__(
        self,
        type: str | DataType,  # noqa: A002 - MLflow's argument name
        name: str | None = None,
        optional: bool | None = None,
        required: bool | None = None,
    ) -> None:
        self._type = DataType.from_name(type)
        self._name = _check_name(name, "Column")
        if required is None:
            required = not bool(optional)
        elif optional is not None and bool(optional) == bool(required):
            raise InvalidParameterError(
                f"ColSpec {name!r}: optional={optional} contradicts required={required}; pass only one"
            )
        self._required = bool(required)

    @property
    def type(self) -> DataType:
        return self._type

    @property
    def name(self) -> str | None:
        return self._name

    @property
    def required(self) -> bool:
        return self._required

    @property
    def optional(self) -> bool:
        return not self._required

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"type": self._type.name}
        if self._name is not None:
            d["name"] = self._name
        d["required"] = self._required
        return d

    @classmethod
    def from_json_dict(cls, **kwargs: Any) -> ColSpec:
        if "type" not in kwargs:
            raise InvalidParameterError(f"A column spec needs a 'type', got {kwargs!r}")
        required = kwargs.get("required")
        optional = kwargs.get("optional")
        if required is None and optional is not None:
            required = not optional
        return cls(kwargs["type"], kwargs.get("name"), required=True if required is None else required)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ColSpec) and (self.type, self.name, self.required) == (
            other.type,
            other.name,
            other.required,
        )

    def __hash__(self) -> int:
        return hash((self.type, self.name, self.required))

    def __repr__(self) -> str:
        name = f"{self.name!r}: " if self.name is not None else ""
        return f"{name}{self.type.name}{'' if self.required else ' (optional)'}"


def _parse_shape(shape: Any, what: str) -> tuple[int, ...]:
    if isinstance(shape, (str, bytes)) or not isinstance(shape, Iterable):
        raise InvalidParameterError(f"{what} shape must be a tuple of ints (-1 for any size), got {shape!r}")
    dims = tuple(shape)
    for dim in dims:
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < -1:
            raise InvalidParameterError(f"{what} shape {dims!r}: each dimension is an int >= -1 (-1 = any size)")
    return dims


class TensorSpec:
    """One tensor of a tensor-based schema.

    Args:
        type (`numpy.dtype` or `str`): the element dtype, e.g. ``np.dtype("float32")`` or ``"float32"``.
        shape (`tuple[int, ...]`): the shape; ``-1`` marks a dimension of any size (usually the batch).
        name (`str`, *optional*): the tensor name; required when the schema has several tensors.
    """

    def __init__(self, type: Any, shape: Sequence[int], name: str | None = None) -> None:  # noqa: A002
        import numpy as np

        try:
            dtype = np.dtype(type)
        except TypeError as exc:
            raise InvalidParameterError(f"TensorSpec: {type!r} is not a numpy dtype") from exc
        if dtype.kind == "O" or dtype.kind in "SU":
            raise InvalidParameterError(
                f"TensorSpec: dtype {dtype} is not supported for tensors; use a ColSpec of type string/binary"
            )
        self._type = dtype
        self._shape = _parse_shape(shape, "TensorSpec")
        self._name = _check_name(name, "Tensor")

    @property
    def type(self) -> Any:
        return self._type

    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def name(self) -> str | None:
        return self._name

    @property
    def required(self) -> bool:
        return True

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "type": "tensor",
            "tensor-spec": {"dtype": str(self._type), "shape": list(self._shape)},
        }
        if self._name is not None:
            d = {"name": self._name, **d}
        return d

    @classmethod
    def from_json_dict(cls, **kwargs: Any) -> TensorSpec:
        spec = kwargs.get("tensor-spec")
        if not isinstance(spec, dict) or "dtype" not in spec or "shape" not in spec:
            raise InvalidParameterError(
                f"A tensor spec needs 'tensor-spec': {{'dtype': ..., 'shape': [...]}}, got {kwargs!r}"
            )
        return cls(spec["dtype"], spec["shape"], kwargs.get("name"))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TensorSpec) and (self.type, self.shape, self.name) == (
            other.type,
            other.shape,
            other.name,
        )

    def __hash__(self) -> int:
        return hash((str(self.type), self.shape, self.name))

    def __repr__(self) -> str:
        name = f"{self.name!r}: " if self.name is not None else ""
        return f"{name}Tensor({str(self.type)!r}, {self.shape!r})"


class Schema:
    """An ordered list of `ColSpec` or of `TensorSpec` (not both); names all set or all unset, unique.

    Args:
        inputs (`list[ColSpec]` or `list[TensorSpec]`): the columns or tensors.
    """

    def __init__(self, inputs: Sequence[ColSpec | TensorSpec]) -> None:
        inputs = list(inputs)
        if not inputs:
            raise InvalidParameterError("A Schema needs at least one ColSpec or TensorSpec")
        for spec in inputs:
            if not isinstance(spec, (ColSpec, TensorSpec)):
                raise InvalidParameterError(f"Schema entries must be ColSpec or TensorSpec, got {spec!r}")
        kinds = {type(spec) for spec in inputs}
        if len(kinds) > 1:
            raise InvalidParameterError("A Schema cannot mix ColSpec and TensorSpec entries: use one kind")
        named = [spec.name is not None for spec in inputs]
        if any(named) and not all(named):
            raise InvalidParameterError(
                f"A Schema's entries are either all named or all unnamed; got names {[spec.name for spec in inputs]}"
            )
        names = [spec.name for spec in inputs if spec.name is not None]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise InvalidParameterError(f"Duplicate names in Schema: {duplicates}")
        if kinds == {TensorSpec} and len(inputs) > 1 and not all(named):
            raise InvalidParameterError("A Schema of several tensors must name each TensorSpec")
        self._inputs: list[ColSpec | TensorSpec] = inputs

    @property
    def inputs(self) -> list[ColSpec | TensorSpec]:
        return self._inputs

    def __iter__(self):
        return iter(self._inputs)

    def __len__(self) -> int:
        return len(self._inputs)

    def is_tensor_spec(self) -> bool:
        return isinstance(self._inputs[0], TensorSpec)

    def has_input_names(self) -> bool:
        return self._inputs[0].name is not None

    def input_names(self) -> list[str | int]:
        return [spec.name if spec.name is not None else i for i, spec in enumerate(self._inputs)]

    def required_input_names(self) -> list[str | int]:
        return [n for n, spec in zip(self.input_names(), self._inputs, strict=True) if spec.required]

    def optional_input_names(self) -> list[str | int]:
        return [n for n, spec in zip(self.input_names(), self._inputs, strict=True) if not spec.required]

    def input_types(self) -> list[Any]:
        return [spec.type for spec in self._inputs]

    def input_types_dict(self) -> dict[str, Any]:
        if not self.has_input_names():
            raise InvalidParameterError("input_types_dict() needs a Schema whose entries are named")
        return {spec.name: spec.type for spec in self._inputs}  # type: ignore[misc]

    def input_dict(self) -> dict[str, ColSpec | TensorSpec]:
        return {spec.name: spec for spec in self._inputs if spec.name is not None}

    def numpy_types(self) -> list[Any]:
        if self.is_tensor_spec():
            return [spec.type for spec in self._inputs]
        return [spec.type.to_numpy() for spec in self._inputs]  # type: ignore[union-attr]

    def pandas_types(self) -> list[Any]:
        return self.numpy_types()

    def to_dict(self) -> list[dict[str, Any]]:
        return [spec.to_dict() for spec in self._inputs]

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, json_str: str | list[dict[str, Any]]) -> Schema:
        """Parse the JSON string (or its already-decoded list) written by `to_json`."""
        data = json.loads(json_str) if isinstance(json_str, str) else json_str
        if not isinstance(data, list):
            raise InvalidParameterError(f"A schema's JSON is a list of specs, got {type(data).__name__}")
        specs: list[ColSpec | TensorSpec] = []
        for item in data:
            if not isinstance(item, dict):
                raise InvalidParameterError(f"A schema entry is a JSON object, got {item!r}")
            if item.get("type") == "tensor":
                specs.append(TensorSpec.from_json_dict(**item))
            else:
                specs.append(ColSpec.from_json_dict(**item))
        return cls(specs)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Schema) and self._inputs == other._inputs

    def __hash__(self) -> int:
        return hash(tuple(self._inputs))

    def __repr__(self) -> str:
        return repr(self._inputs)


# ---------------------------------------------------------------------------------------------- params


def _convert_param_scalar(name: str, value: Any, dtype: DataType) -> Any:
    """Check one parameter value against its type, converting only where it loses nothing."""
    import numpy as np

    if isinstance(value, np.generic):
        value = value.item()
    bad = InvalidParameterError(
        f"Incompatible parameter {name!r}: expected {dtype.name}, got {type(value).__name__} {value!r}"
    )
    if dtype is DataType.boolean:
        if isinstance(value, bool):
            return value
        raise bad
    if dtype in (DataType.integer, DataType.long):
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad
        if dtype is DataType.integer and not -(2**31) <= value < 2**31:
            raise InvalidParameterError(f"Parameter {name!r}: {value} does not fit a 32-bit integer")
        return value
    if dtype in (DataType.float, DataType.double):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad
        return float(value)
    if dtype is DataType.string:
        if isinstance(value, str):
            return value
        raise bad
    if dtype is DataType.binary:
        if isinstance(value, (bytes, bytearray)):
            return bytes(value)
        raise bad
    if dtype is DataType.datetime:
        if isinstance(value, _dt.datetime):
            return value
        if isinstance(value, _dt.date):
            return _dt.datetime(value.year, value.month, value.day)
        if isinstance(value, str):
            try:
                return _dt.datetime.fromisoformat(value)
            except ValueError:
                raise bad from None
        raise bad
    raise bad  # pragma: no cover - every DataType is handled above


class ParamSpec:
    """One inference parameter of a signature.

    Args:
        name (`str`): the parameter name.
        dtype (`str` or `DataType`): its type.
        default (`Any`): the value used when the caller does not pass it; checked against ``dtype``.
        shape (`tuple[int, ...]`, *optional*): ``None`` for a scalar or ``(-1,)`` for a 1-D list.
    """

    def __init__(self, name: str, dtype: str | DataType, default: Any, shape: Sequence[int] | None = None) -> None:
        self._name = _check_name(name, "Parameter")
        if self._name is None:
            raise InvalidParameterError("ParamSpec needs a name")
        self._dtype = DataType.from_name(dtype)
        if shape is not None:
            shape = _parse_shape(shape, f"ParamSpec {name!r}")
            if shape != (-1,):
                raise InvalidParameterError(
                    f"ParamSpec {name!r}: shape must be None (a scalar) or (-1,) (a list), got {shape!r}"
                )
        self._shape: tuple[int, ...] | None = shape  # type: ignore[assignment]
        self._default = None if default is None else self.validate(default)

    @property
    def name(self) -> str:
        return self._name  # type: ignore[return-value]

    @property
    def dtype(self) -> DataType:
        return self._dtype

    @property
    def type(self) -> DataType:
        return self._dtype

    @property
    def default(self) -> Any:
        return self._default

    @property
    def shape(self) -> tuple[int, ...] | None:
        return self._shape

    def validate(self, value: Any) -> Any:
        """Return ``value`` converted to this spec's type, or raise an error naming the parameter."""
        if self._shape is None:
            if isinstance(value, (list, tuple)) or type(value).__name__ == "ndarray":
                raise InvalidParameterError(
                    f"Parameter {self._name!r} is a scalar {self._dtype.name}, got a list {value!r}"
                )
            return _convert_param_scalar(self.name, value, self._dtype)
        if type(value).__name__ == "ndarray":
            value = value.tolist()
        if not isinstance(value, (list, tuple)):
            raise InvalidParameterError(
                f"Parameter {self._name!r} is a list of {self._dtype.name} (shape (-1,)), got {value!r}"
            )
        return [_convert_param_scalar(self.name, v, self._dtype) for v in value]

    @staticmethod
    def _jsonable(value: Any) -> Any:
        if isinstance(value, list):
            return [ParamSpec._jsonable(v) for v in value]
        if isinstance(value, _dt.datetime):
            return value.isoformat()
        if isinstance(value, bytes):
            return base64.b64encode(value).decode("ascii")
        return value

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self._name,
            "type": self._dtype.name,
            "default": self._jsonable(self._default),
            "shape": list(self._shape) if self._shape is not None else None,
        }

    @classmethod
    def from_json_dict(cls, **kwargs: Any) -> ParamSpec:
        for key in ("name", "type"):
            if key not in kwargs:
                raise InvalidParameterError(f"A param spec needs {key!r}, got {kwargs!r}")
        dtype = DataType.from_name(kwargs["type"])
        default = kwargs.get("default")
        if dtype is DataType.binary and default is not None:
            decode = lambda v: base64.b64decode(v) if isinstance(v, str) else v  # noqa: E731
            default = [decode(v) for v in default] if isinstance(default, list) else decode(default)
        return cls(kwargs["name"], dtype, default, kwargs.get("shape"))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ParamSpec) and (self.name, self.dtype, self.default, self.shape) == (
            other.name,
            other.dtype,
            other.default,
            other.shape,
        )

    def __hash__(self) -> int:
        return hash((self.name, self.dtype, self.shape))

    def __repr__(self) -> str:
        shape = f" (shape: {self.shape})" if self.shape is not None else ""
        return f"{self.name!r}: {self.dtype.name} (default: {self.default!r}){shape}"


class ParamSchema:
    """The inference parameters of a signature: a list of `ParamSpec` with unique names."""

    def __init__(self, params: Sequence[ParamSpec]) -> None:
        params = list(params)
        for spec in params:
            if not isinstance(spec, ParamSpec):
                raise InvalidParameterError(f"ParamSchema entries must be ParamSpec, got {spec!r}")
        names = [p.name for p in params]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise InvalidParameterError(f"Duplicate names in ParamSchema: {duplicates}")
        self._params = params

    @property
    def params(self) -> list[ParamSpec]:
        return self._params

    def __iter__(self):
        return iter(self._params)

    def __len__(self) -> int:
        return len(self._params)

    def to_dict(self) -> list[dict[str, Any]]:
        return [p.to_dict() for p in self._params]

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, json_str: str | list[dict[str, Any]]) -> ParamSchema:
        data = json.loads(json_str) if isinstance(json_str, str) else json_str
        if not isinstance(data, list):
            raise InvalidParameterError(f"A param schema's JSON is a list of specs, got {type(data).__name__}")
        return cls([ParamSpec.from_json_dict(**item) for item in data])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ParamSchema) and self._params == other._params

    def __hash__(self) -> int:
        return hash(tuple(self._params))

    def __repr__(self) -> str:
        return repr(self._params)
