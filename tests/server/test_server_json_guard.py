"""The JSON body guard: nesting deeper than `MAX_JSON_DEPTH` and lone surrogates, found on raw bytes."""

from __future__ import annotations

import json

import pytest

from hf_mltrack.server.json_guard import MAX_JSON_DEPTH, describe_problem, has_lone_surrogate, json_depth_exceeds


@pytest.mark.parametrize("depth", [1, MAX_JSON_DEPTH - 1, MAX_JSON_DEPTH, MAX_JSON_DEPTH + 1, 1000, 100_000])
def test_depth_is_exact_for_arrays_and_objects(depth):
    arrays = b"[" * depth + b"]" * depth
    objects = b'{"a":' * depth + b"1" + b"}" * depth
    assert json_depth_exceeds(arrays) is (depth > MAX_JSON_DEPTH)
    assert json_depth_exceeds(objects) is (depth > MAX_JSON_DEPTH)


def test_brackets_inside_strings_do_not_count():
    text = json.dumps({"a": "[" * 500, "b": ["{" * 500, '\\"[[[[[' * 100]}).encode()
    assert not json_depth_exceeds(text)
    assert describe_problem(text) is None


@pytest.mark.parametrize("escape", ["\\n", '\\"', "\\\\", "\\u00e9", '\\"[', "]\\t{"])
def test_escapes_in_strings_do_not_hide_or_fake_nesting(escape):
    """An escape before the brackets (a newline in a run name, say) once hid a body nested 500 deep."""
    text = f'"x{escape}y"'.encode()
    deep = b'{"a": ' + text + b', "b": ' + b"[" * 500 + b"]" * 500 + b"}"
    wide = b'{"a": ' + text + b', "b": [' + b"[], " * 5000 + b"[]]}"
    assert json.loads(deep) and json.loads(wide)  # (valid JSON)
    assert json_depth_exceeds(deep)
    assert not json_depth_exceeds(wide)


def test_truncated_deep_body_is_still_too_deep():
    assert json_depth_exceeds(b"[" * (MAX_JSON_DEPTH + 1))


@pytest.mark.parametrize(
    ("body", "lone"),
    [
        (b'{"k": "\\ud800"}', True),
        (b'{"k": "\\udc00"}', True),
        (b'{"k": "\\ud83d\\ude00"}', False),  # an escaped emoji: a valid pair
        (b'{"k": "\\ude00\\ud83d"}', True),  # the halves in the wrong order
        (b'{"k": "\\ud83d x \\ude00"}', True),  # not adjacent
        (b'{"k": "\\\\ud800"}', False),  # an escaped backslash, then the plain text "ud800"
        (b'{"k": "\\\\\\ud800"}', True),  # an escaped backslash, then a real escape
        ('{"k": "é 😀"}'.encode(), False),  # raw UTF-8
    ],
)
def test_lone_surrogates(body, lone):
    assert has_lone_surrogate(body) is lone


def test_messages_name_the_field():
    assert "tags[1].value" in describe_problem(b'{"tags": [{"key": "a"}, {"value": "\\udfff"}]}')
    deep = json.dumps({"x": {"y": [[[]]] + [json.loads("[" * 70 + "]" * 70)]}}).encode()
    message = describe_problem(deep)
    assert f"deeper than {MAX_JSON_DEPTH} levels" in message and "(at x.y[1]" in message
