"""`fast_json`: one rule for non-finite floats (MLflow's wire strings), whatever else the document holds."""

from __future__ import annotations

import json
import math

import pytest

from hf_mltrack.utils.fast_json import dumps, dumps_bytes, loads

NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize(
    "extra",
    [{}, {"none": None}, {"big": 2**70}, {"none": None, "big": 2**70}, {"nested": [{"deep": [None]}]}],
    ids=["alone", "with-null", "with-bigint", "with-both", "nested-null"],
)
def test_non_finite_floats_are_wire_strings(extra: dict) -> None:
    doc = {"nan": NAN, "inf": INF, "ninf": -INF, "list": [NAN, 1.5], **extra}
    for text in (dumps(doc), dumps_bytes(doc).decode()):
        parsed = json.loads(text)  # valid JSON: no bare NaN tokens
        assert parsed["nan"] == "NaN" and parsed["inf"] == "Infinity" and parsed["ninf"] == "-Infinity"
        assert parsed["list"] == ["NaN", 1.5]
        assert {k: parsed[k] for k in extra} == extra


def test_finite_documents_are_unchanged() -> None:
    doc = {"a": 1.25, "b": None, "c": [1, "NaN", True], "d": {"e": -0.0}}
    assert json.loads(dumps(doc)) == doc
    assert dumps({"t": (1, 2)}) == '{"t":[1,2]}'


def test_loads_accepts_bare_tokens() -> None:
    assert math.isnan(loads('{"v": NaN}')["v"])
    assert loads(b'{"v": "NaN"}') == {"v": "NaN"}
