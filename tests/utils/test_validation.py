"""Key validation shared by the client and the server (run, experiment and registry tags, params, metrics)."""

from __future__ import annotations

import re

import pytest

from hf_mltrack.exceptions import InvalidParameterError
from hf_mltrack.utils.validation import validate_key


@pytest.mark.parametrize(
    ("key", "fragment"),
    [
        ("", "non-empty"),
        ("a\x00b", "NUL"),
        ("a\u202eb", "U+202E"),  # right-to-left override: shows 'ab' reversed in UIs and logs
        ("\u200bloss", "U+200B"),  # zero-width space: two keys that look the same
        ("a\tb", "U+0009"),
        ("x" * 251, "at most 250"),
    ],
    ids=["empty", "nul", "rtl-override", "zero-width", "tab", "too-long"],
)
def test_invisible_or_oversized_keys_are_refused(key, fragment):
    with pytest.raises(InvalidParameterError, match=re.escape(fragment)):
        validate_key("tag", key)


@pytest.mark.parametrize("key", ["eval/loss", "acc (top-1)", "学习率", "naïve:score", "x" * 250])
def test_ordinary_keys_pass(key):
    assert validate_key("metric", key) == key
