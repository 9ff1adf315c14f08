"""Schema types: MLflow-identical JSON, validation errors, round trips."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hf_mltrack.exceptions import InvalidParameterError
from hf_mltrack.types import ColSpec, DataType, ParamSchema, ParamSpec, Schema, TensorSpec


@pytest.mark.parametrize("type_name", ["string", "long", "integer", "double", "float", "boolean", "binary", "datetime"])
def test_colspec_json_shape_matches_mlflow(type_name):
    spec = ColSpec(type_name, "x")
    assert spec.to_dict() == {"type": type_name, "name": "x", "required": True}
    assert ColSpec(type_name).to_dict() == {"type": type_name, "required": True}
    assert ColSpec(type_name, "x", optional=True).to_dict()["required"] is False


def test_colspec_unknown_type_lists_the_valid_ones():
    with pytest.raises(InvalidParameterError, match="Unsupported data type 'str'.*string, binary, datetime"):
        ColSpec("str", "x")


def test_schema_json_round_trip_and_legacy_forms():
    schema = Schema([ColSpec("string", "prompt"), ColSpec("long", "max_tokens", optional=True)])
    text = schema.to_json()
    assert json.loads(text) == [
        {"type": "string", "name": "prompt", "required": True},
        {"type": "long", "name": "max_tokens", "required": False},
    ]
    assert Schema.from_json(text) == schema
    # the seed's (older MLflow) form without "required", and MLflow 1.x "optional"
    legacy = Schema.from_json('[{"name": "prompt", "type": "string"}, {"name": "n", "type": "long", "optional": true}]')
    assert legacy.inputs[0].required and legacy.inputs[1].optional
    assert legacy.required_input_names() == ["prompt"] and legacy.optional_input_names() == ["n"]


def test_tensor_spec_json_shape_matches_mlflow():
    spec = TensorSpec(np.dtype("float32"), (-1, 3), "x")
    assert spec.to_dict() == {
        "name": "x",
        "type": "tensor",
        "tensor-spec": {"dtype": "float32", "shape": [-1, 3]},
    }
    schema = Schema([spec])
    assert schema.is_tensor_spec() and Schema.from_json(schema.to_json()) == schema
    assert TensorSpec("int64", [2]).to_dict() == {
        "type": "tensor",
        "tensor-spec": {"dtype": "int64", "shape": [2]},
    }


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        ([ColSpec("string", "a"), TensorSpec("float32", (-1,), "b")], "cannot mix"),
        ([ColSpec("string", "a"), ColSpec("long")], "all named or all unnamed"),
        ([ColSpec("string", "a"), ColSpec("long", "a")], r"Duplicate names in Schema: \['a'\]"),
        ([TensorSpec("float32", (-1,)), TensorSpec("float32", (-1,))], "must name each TensorSpec"),
        ([], "at least one"),
    ],
    ids=["mixed-kinds", "mixed-names", "duplicate", "unnamed-tensors", "empty"],
)
def test_schema_rejects_inconsistent_specs(specs, message):
    with pytest.raises(InvalidParameterError, match=message):
        Schema(specs)


def test_tensor_spec_rejects_bad_shape_and_dtype():
    with pytest.raises(InvalidParameterError, match="shape"):
        TensorSpec("float32", (-2, 3))
    with pytest.raises(InvalidParameterError, match="not supported for tensors"):
        TensorSpec("object", (-1,))


def test_param_spec_json_and_validation():
    spec = ParamSpec("temperature", "double", 0.7)
    assert spec.to_dict() == {"name": "temperature", "type": "double", "default": 0.7, "shape": None}
    assert spec.validate(1) == 1.0  # int -> double widening
    with pytest.raises(InvalidParameterError, match="'temperature': expected double, got str"):
        spec.validate("hot")
    stops = ParamSpec("stop", DataType.string, ["\n"], (-1,))
    assert stops.to_dict()["shape"] == [-1]
    with pytest.raises(InvalidParameterError, match="is a list of string"):
        stops.validate("x")
    with pytest.raises(InvalidParameterError, match="expected long, got bool"):
        ParamSpec("max_new_tokens", "long", True)
    schema = ParamSchema([spec, stops, ParamSpec("blob", "binary", b"\x00\x01")])
    assert ParamSchema.from_json(schema.to_json()) == schema
    with pytest.raises(InvalidParameterError, match="Duplicate names in ParamSchema"):
        ParamSchema([spec, spec])


def test_datatype_numpy_types():
    assert DataType.long.to_numpy() == np.dtype("int64")
    assert DataType.float.to_numpy() == np.dtype("float32")
    assert DataType.string.to_python() is str
    assert Schema([ColSpec("integer", "a"), ColSpec("double", "b")]).numpy_types() == [
        np.dtype("int32"),
        np.dtype("float64"),
    ]
