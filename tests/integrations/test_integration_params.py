"""What Trainer runs record as params: flattening, secret redaction, truncation (no torch needed)."""

from __future__ import annotations

import enum

import pytest

from hf_mltrack.integrations._params import (
    REDACTED,
    drop_keys,
    flatten,
    is_secret_key,
    redact_value,
    sanitize_params,
)
from hf_mltrack.utils.validation import TRUNCATION_MARKER


@pytest.mark.parametrize(
    "key",
    ["hub_token", "hf_token", "token", "api_key", "openai_apikey", "db.password", "aws_secret_access_key",
     "aws_access_key_id", "wandb.api-key", "client_secret", "push_to_hub_token", "credentials"],
)  # fmt: skip
def test_secret_keys_are_detected(key):
    assert is_secret_key(key)


@pytest.mark.parametrize(
    "key",
    ["model.pad_token_id", "pad_token", "eos_token", "model.bos_token_id", "include_num_input_tokens_seen",
     "max_new_tokens", "model.tokenizer_class", "hub_model_id", "learning_rate", "mask_token"],
)  # fmt: skip
def test_ordinary_keys_are_kept(key):
    assert not is_secret_key(key)


def test_secret_values_are_redacted_wherever_they_are():
    assert redact_value("hf_" + "A" * 34) == REDACTED
    assert redact_value("sk-" + "x" * 40) == REDACTED
    assert redact_value("postgresql://user:hunter2@db:5432/x") == f"postgresql://user:{REDACTED}@db:5432/x"
    assert redact_value("plain text") == "plain text"
    params = sanitize_params({"note": "hf_" + "b" * 34, "hub_token": "anything", "hub_token_unset": None})
    assert params["note"] == REDACTED and params["hub_token"] == REDACTED


def test_flatten_nested_and_exotic_values():
    class Color(str, enum.Enum):
        RED = "red"

    flat = flatten({"a": {"b": 1, "c": {"d": [1, 2]}}, "e": {"x", "y"}, "f": Color.RED, "g": {}, "h": None})
    assert flat == {"a.b": 1, "a.c.d": "[1, 2]", "e": '["x", "y"]', "f": "red", "g": "{}", "h": None}


def test_long_values_are_truncated_with_marker_never_dropped(monkeypatch):
    monkeypatch.setenv("HF_MLTRACK_PARAM_VALUE_MAX_LENGTH", "100")
    params = sanitize_params({"prompt": "p" * 500, "short": "ok"})
    assert params["prompt"] == "p" * (100 - len(TRUNCATION_MARKER)) + TRUNCATION_MARKER
    assert params["short"] == "ok"
    assert len(sanitize_params({"x": "y" * 50}, max_length=20)["x"]) == 20


def test_long_keys_are_shortened_uniquely():
    a, b = "k" * 300 + "a", "k" * 300 + "b"
    params = sanitize_params({a: 1, b: 2})
    assert len(params) == 2 and all(len(k) <= 250 for k in params)


def test_drop_keys_keeps_first_values():
    assert drop_keys({"a": "1", "b": "2"}, ["a"]) == {"b": "2"}
