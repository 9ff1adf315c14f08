"""infer_signature and ModelSignature, including the seed's examples (3.3 and 7.3)."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from hf_mltrack.exceptions import InvalidParameterError
from hf_mltrack.models import ModelSignature, infer_signature
from hf_mltrack.models.signature import ModelSignature as SignatureFromSubmodule
from hf_mltrack.types import ColSpec, ParamSchema, ParamSpec, Schema, TensorSpec


def test_seed_manual_signature():
    input_schema = Schema([ColSpec("string", "prompt"), ColSpec("long", "max_tokens")])
    output_schema = Schema([ColSpec("string", "generated_text")])
    signature = SignatureFromSubmodule(inputs=input_schema, outputs=output_schema)
    assert SignatureFromSubmodule is ModelSignature
    assert signature.to_dict() == {
        "inputs": '[{"type": "string", "name": "prompt", "required": true}, '
        '{"type": "long", "name": "max_tokens", "required": true}]',
        "outputs": '[{"type": "string", "name": "generated_text", "required": true}]',
        "params": None,
    }
    assert ModelSignature.from_dict(signature.to_dict()) == signature


def test_seed_infer_signature_with_output_example():
    input_example = pd.DataFrame({"prompt": ["什么是机器学习?"], "max_tokens": [100]})
    signature = infer_signature(input_example, output_example=pd.DataFrame({"generated_text": ["机器学习是..."]}))
    assert signature.inputs == Schema([ColSpec("string", "prompt"), ColSpec("long", "max_tokens")])
    assert signature.outputs == Schema([ColSpec("string", "generated_text")])
    # the 7.3 form with keywords
    same = infer_signature(
        model_input=pd.DataFrame({"prompt": ["Hello"]}),
        model_output=pd.DataFrame({"generated_text": ["Hi there!"]}),
    )
    assert same.outputs == signature.outputs


def test_output_example_and_model_output_are_exclusive():
    with pytest.raises(InvalidParameterError, match="model_output= or output_example="):
        infer_signature(["a"], ["b"], output_example=["c"])


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (["a", "b"], [{"type": "string", "required": True}]),
        ("hello", [{"type": "string", "required": True}]),
        (
            {"prompt": "hi", "n": 3},
            [
                {"type": "string", "name": "prompt", "required": True},
                {"type": "long", "name": "n", "required": True},
            ],
        ),
        (
            [{"q": "a", "score": 0.5}],
            [
                {"type": "string", "name": "q", "required": True},
                {"type": "double", "name": "score", "required": True},
            ],
        ),
        (pd.Series([1.5, None], name="x"), [{"type": "double", "name": "x", "required": False}]),
        (
            pd.DataFrame(
                {
                    "b": [b"\x00"],
                    "t": [dt.datetime(2024, 1, 1)],
                    "f": np.array([1.0], dtype=np.float32),
                    "i": np.array([1], dtype=np.int32),
                    "ok": [True],
                }
            ),
            [
                {"type": "binary", "name": "b", "required": True},
                {"type": "datetime", "name": "t", "required": True},
                {"type": "float", "name": "f", "required": True},
                {"type": "integer", "name": "i", "required": True},
                {"type": "boolean", "name": "ok", "required": True},
            ],
        ),
        (pd.DataFrame({"s": ["a", None]}), [{"type": "string", "name": "s", "required": False}]),
    ],
    ids=[
        "list-str",
        "str",
        "dict-scalars",
        "list-of-dicts",
        "series-with-null",
        "all-types",
        "optional-string",
    ],
)
def test_infer_column_schemas(data, expected):
    assert json.loads(infer_signature(data).inputs.to_json()) == expected


def test_infer_tensor_schemas():
    torch = pytest.importorskip("torch")
    sig = infer_signature(np.zeros((4, 3), dtype=np.float32), torch.zeros(4, 2, dtype=torch.int64))
    assert sig.inputs == Schema([TensorSpec("float32", (-1, 3))])
    assert sig.outputs == Schema([TensorSpec("int64", (-1, 2))])
    named = infer_signature({"input_ids": np.zeros((2, 8), dtype=np.int64), "mask": np.ones((2, 8), dtype=np.int64)})
    assert [s.name for s in named.inputs] == ["input_ids", "mask"] and named.inputs.is_tensor_spec()


def test_infer_params():
    sig = infer_signature(["x"], params={"max_new_tokens": 64, "temperature": 0.7, "stop": ["\n"], "sample": True})
    assert sig.params == ParamSchema(
        [
            ParamSpec("max_new_tokens", "long", 64),
            ParamSpec("temperature", "double", 0.7),
            ParamSpec("stop", "string", ["\n"], (-1,)),
            ParamSpec("sample", "boolean", True),
        ]
    )


def test_infer_errors_name_the_column():
    with pytest.raises(InvalidParameterError, match="'c'.*mixes"):
        infer_signature(pd.DataFrame({"c": ["a", 1]}))
    with pytest.raises(InvalidParameterError, match="'c'.*object"):
        infer_signature(pd.DataFrame({"c": [object()]}))
    with pytest.raises(InvalidParameterError, match="needs model_input"):
        infer_signature()


def test_signature_needs_inputs_or_outputs():
    with pytest.raises(InvalidParameterError, match="needs inputs or outputs"):
        ModelSignature()
    only_out = ModelSignature(outputs=Schema([ColSpec("string")]))
    assert only_out.to_dict()["inputs"] is None
    assert ModelSignature.from_dict(only_out.to_dict()) == only_out
