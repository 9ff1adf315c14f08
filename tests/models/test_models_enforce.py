"""PyFuncModel.predict enforces the signature: errors name the column and type; safe widening passes."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

import hf_mltrack.pyfunc as pyfunc
from hf_mltrack.exceptions import InvalidParameterError
from hf_mltrack.models import ModelSignature
from hf_mltrack.types import ColSpec, ParamSchema, ParamSpec, Schema, TensorSpec


class Echo(pyfunc.PythonModel):
    """Returns what predict received, so tests can see the enforced input and params."""

    def predict(self, context, model_input, params=None):
        return {"input": model_input, "params": params}


def _load(tmp_path, signature):
    path = tmp_path / "echo"
    pyfunc.save_model(str(path), python_model=Echo(), signature=signature)
    return pyfunc.load_model(str(path))


SEED_SIG = ModelSignature(
    inputs=Schema(
        [ColSpec("string", "prompt"), ColSpec("long", "max_tokens"), ColSpec("double", "temp", optional=True)]
    ),
    outputs=Schema([ColSpec("string", "generated_text")]),
    params=ParamSchema([ParamSpec("max_new_tokens", "long", 100), ParamSpec("top_p", "double", 0.9)]),
)


@pytest.fixture
def model(tmp_path):
    return _load(tmp_path, SEED_SIG)


def test_missing_column_names_column_and_type(model):
    with pytest.raises(InvalidParameterError, match=r"missing input column\(s\) 'max_tokens' \(long\)"):
        model.predict(pd.DataFrame({"prompt": ["hi"]}))


@pytest.mark.parametrize(
    ("column", "values", "expected"),
    [
        ("max_tokens", [1.5], r"column 'max_tokens': expected long \(int64\), got float64"),
        ("max_tokens", ["100"], r"column 'max_tokens': expected long"),
        ("prompt", [3], r"column 'prompt': expected string, got int64"),
        ("temp", ["hot"], r"column 'temp': expected double"),
        ("max_tokens", [2**63 - 1 + 0.0], r"column 'max_tokens': expected long"),
    ],
    ids=["float-for-long", "str-for-long", "int-for-string", "str-for-double", "huge-float"],
)
def test_incompatible_types_name_column_and_expected_type(model, column, values, expected):
    data = {"prompt": ["hi"], "max_tokens": [10], "temp": [0.5]}
    data[column] = values
    with pytest.raises(InvalidParameterError, match=expected):
        model.predict(pd.DataFrame(data))


def test_safe_widening_and_lossless_narrowing(tmp_path):
    sig = ModelSignature(
        inputs=Schema(
            [
                ColSpec("long", "l"),
                ColSpec("double", "d"),
                ColSpec("integer", "i"),
                ColSpec("float", "f"),
                ColSpec("double", "d2"),
            ]
        )
    )
    model = _load(tmp_path, sig)
    out = model.predict(
        pd.DataFrame(
            {
                "l": np.array([1, 2], dtype=np.int32),  # int32 -> long
                "d": np.array([1, 2], dtype=np.int64),  # int -> double
                "i": np.array([7, 8], dtype=np.int64),  # int64 holding small values -> integer
                "f": np.array([0.5, 0.25], dtype=np.float64),  # float32-exact values -> float
                "d2": np.array([0.1, 0.2], dtype=np.float32),  # float32 -> double
            }
        )
    )["input"]
    assert [str(t) for t in out.dtypes] == ["int64", "float64", "int32", "float32", "float64"]
    with pytest.raises(InvalidParameterError, match="column 'i': expected integer.*do not fit"):
        model.predict(pd.DataFrame({"l": [1], "d": [1.0], "i": [2**40], "f": [0.5], "d2": [0.5]}))
    with pytest.raises(InvalidParameterError, match="column 'f': expected float.*lose precision"):
        model.predict(pd.DataFrame({"l": [1], "d": [1.0], "i": [1], "f": [0.1], "d2": [0.5]}))


@pytest.mark.parametrize(
    "data",
    [
        pd.DataFrame({"prompt": ["hi"], "max_tokens": [5]}),
        {"prompt": "hi", "max_tokens": 5},
        {"prompt": ["hi"], "max_tokens": [5]},
        [{"prompt": "hi", "max_tokens": 5}],
    ],
    ids=["dataframe", "dict-of-scalars", "dict-of-lists", "list-of-dicts"],
)
def test_input_forms_become_the_signature_dataframe(model, data):
    out = model.predict(data)["input"]
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == ["prompt", "max_tokens"]  # optional 'temp' absent is fine
    assert out["prompt"].tolist() == ["hi"] and out["max_tokens"].tolist() == [5]


def test_extra_columns_are_dropped(model):
    out = model.predict(pd.DataFrame({"prompt": ["a"], "max_tokens": [1], "junk": [0]}))["input"]
    assert "junk" not in out.columns


def test_list_and_str_for_single_column_model(tmp_path):
    model = _load(tmp_path, ModelSignature(inputs=Schema([ColSpec("string", "prompt")])))
    assert model.predict(["a", "b"])["input"]["prompt"].tolist() == ["a", "b"]
    assert model.predict("c")["input"]["prompt"].tolist() == ["c"]
    with pytest.raises(InvalidParameterError, match="expected string"):
        model.predict([1, 2])


def test_params_defaults_conversion_and_errors(model, caplog):
    base = pd.DataFrame({"prompt": ["a"], "max_tokens": [1]})
    assert model.predict(base)["params"] == {"max_new_tokens": 100, "top_p": 0.9}
    assert model.predict(base, params={"top_p": 1})["params"] == {"max_new_tokens": 100, "top_p": 1.0}
    with pytest.raises(InvalidParameterError, match="'max_new_tokens': expected long, got str"):
        model.predict(base, params={"max_new_tokens": "many"})
    with caplog.at_level(logging.WARNING):
        out = model.predict(base, params={"unknown": 1})
    assert "unknown" not in out["params"] and "Ignoring params not in the model's signature" in caplog.text


def test_tensor_signature(tmp_path):
    model = _load(tmp_path, ModelSignature(inputs=Schema([TensorSpec("float64", (-1, 3))])))
    out = model.predict(np.ones((2, 3), dtype=np.float32))["input"]  # float32 -> float64 is safe
    assert out.dtype == np.float64
    with pytest.raises(InvalidParameterError, match=r"Shape mismatch.*expected \(-1, 3\).*got \(2, 4\)"):
        model.predict(np.ones((2, 4)))
    with pytest.raises(InvalidParameterError, match="expected float64, got complex128"):
        model.predict(np.ones((2, 3), dtype=np.complex128))


def test_named_tensor_signature(tmp_path):
    sig = ModelSignature(
        inputs=Schema([TensorSpec("int64", (-1, 4), "input_ids"), TensorSpec("int64", (-1, 4), "mask")])
    )
    model = _load(tmp_path, sig)
    with pytest.raises(InvalidParameterError, match="missing tensor input.*'mask'"):
        model.predict({"input_ids": np.zeros((1, 4), dtype=np.int64)})
    out = model.predict({"input_ids": np.zeros((1, 4), dtype=np.int32), "mask": np.ones((1, 4), dtype=np.int64)})
    assert out["input"]["input_ids"].dtype == np.int64
