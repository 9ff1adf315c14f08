"""Typed parameters and argv building: validation messages, defaults, extras, and no shell injection."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hf_mltrack.exceptions import InvalidParameterError
from hf_mltrack.projects import EntryPoint, ExecutionError, Parameter
from hf_mltrack.projects.parameters import build_argv, convert_value, resolve_parameters

SEED_MAIN = EntryPoint(
    name="main",
    command="python train.py --lr {learning_rate} --epochs {epochs} --lora_rank {lora_rank} --model {model_name}",
    parameters={
        "learning_rate": Parameter("learning_rate", "float", "2e-5"),
        "epochs": Parameter("epochs", "int", "3"),
        "lora_rank": Parameter("lora_rank", "int", "8"),
        "model_name": Parameter("model_name", "string", "meta-llama/Llama-2-7b-hf"),
    },
)


def argv_for(entry: EntryPoint, params: dict | None = None, **kwargs) -> list[str]:
    declared, extra = resolve_parameters(entry, params, **kwargs)
    return build_argv(entry, declared, extra)


def test_seed_defaults_and_overrides() -> None:
    assert argv_for(SEED_MAIN) == [
        "python", "train.py", "--lr", "2e-5", "--epochs", "3", "--lora_rank", "8", "--model",
        "meta-llama/Llama-2-7b-hf",
    ]  # fmt: skip
    # The seed's call: numbers given as Python values.
    argv = argv_for(SEED_MAIN, {"learning_rate": 3e-4, "epochs": 5, "lora_rank": 16})
    assert argv[2:8] == ["--lr", "0.0003", "--epochs", "5", "--lora_rank", "16"]


def test_extra_parameters_become_flags() -> None:
    declared, extra = resolve_parameters(SEED_MAIN, {"epochs": "2", "warmup": 10, "tag": "a b"})
    assert declared["epochs"] == "2"
    assert extra == {"warmup": "10", "tag": "a b"}
    assert build_argv(SEED_MAIN, declared, extra)[-4:] == ["--warmup", "10", "--tag", "a b"]


@pytest.mark.parametrize(
    ("type_", "value", "expected"),
    [
        pytest.param("float", "3e-4", "3e-4", id="float-text-kept"),
        pytest.param("float", 0.5, "0.5", id="float-number"),
        pytest.param("float", 2, "2", id="float-from-int"),
        pytest.param("float", " 1.5 ", "1.5", id="float-stripped"),
        pytest.param("int", "16", "16", id="int-text"),
        pytest.param("int", 16, "16", id="int-number"),
        pytest.param("int", 4.0, "4", id="int-integral-float"),
        pytest.param("string", "; touch x", "; touch x", id="string-verbatim"),
        pytest.param("string", 7, "7", id="string-from-int"),
        pytest.param("uri", "s3://bucket/key", "s3://bucket/key", id="uri-s3"),
        pytest.param("uri", "runs:/abc/model", "runs:/abc/model", id="uri-runs"),
        pytest.param("uri", "models:/name/1", "models:/name/1", id="uri-models"),
    ],
)
def test_valid_values(type_: str, value, expected: str) -> None:
    assert convert_value(Parameter("p", type_), value) == expected


@pytest.mark.parametrize(
    ("type_", "value", "expected"),
    [
        pytest.param("float", "abc", "expects a number (type float)", id="float-text"),
        pytest.param("float", True, "expects a number (type float)", id="float-bool"),
        pytest.param("int", "3.5", "expects an integer (type int)", id="int-decimal"),
        pytest.param("int", 2.5, "expects an integer (type int)", id="int-float"),
        pytest.param("int", "ten", "expects an integer (type int)", id="int-word"),
        pytest.param("int", False, "expects an integer (type int)", id="int-bool"),
        pytest.param("uri", "not a uri", "expects a URI", id="uri-spaces"),
        pytest.param("uri", "/local/path", "expects a URI", id="uri-no-scheme"),
        pytest.param("uri", "s3:", "expects a URI", id="uri-empty"),
        pytest.param("string", ["a"], "expects a string or number", id="string-list"),
        pytest.param("path", "", "expects a local path", id="path-empty"),
    ],
)
def test_bad_values_name_parameter_and_type(type_: str, value, expected: str) -> None:
    with pytest.raises(InvalidParameterError) as info:
        convert_value(Parameter("lr", type_), value)
    assert "Parameter 'lr'" in str(info.value)
    assert expected in str(info.value)
    assert repr(value) in str(info.value)


def test_bad_default_is_named_as_default() -> None:
    entry = EntryPoint("main", "python x.py {n}", {"n": Parameter("n", "int", "many")})
    with pytest.raises(InvalidParameterError, match="Parameter 'n' expects an integer .*got default 'many'"):
        resolve_parameters(entry, None)


def test_nul_character_rejected() -> None:
    with pytest.raises(InvalidParameterError, match="NUL"):
        convert_value(Parameter("s", "string"), "a\x00b")


def test_missing_required_parameters_are_all_named() -> None:
    entry = EntryPoint(
        "evaluate",
        "python evaluate.py --model_uri {model_uri} --split {split} --dataset {dataset}",
        {
            "model_uri": Parameter("model_uri", "string"),
            "split": Parameter("split", "string"),
            "dataset": Parameter("dataset", "string", "eval"),
        },
    )
    with pytest.raises(InvalidParameterError) as info:
        resolve_parameters(entry, {"dataset": "x"})
    message = str(info.value)
    assert "Entry point 'evaluate' needs a value for 'model_uri' (type string), 'split' (type string)" in message
    assert "-P model_uri=VALUE -P split=VALUE" in message
    # None counts as not given.
    with pytest.raises(InvalidParameterError, match="model_uri"):
        resolve_parameters(entry, {"model_uri": None, "split": "a"})


def test_path_values_become_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    param = Parameter("data", "path")
    assert convert_value(param, "data/train.csv") == str(tmp_path / "data" / "train.csv")
    assert convert_value(param, Path("x.csv")) == str(tmp_path / "x.csv")
    assert convert_value(param, "/abs/../abs/file") == "/abs/file"
    assert convert_value(param, "file:///tmp/a%20b.txt") == "/tmp/a b.txt"
    assert convert_value(param, "rel.txt", cwd="/base") == "/base/rel.txt"
    assert convert_value(param, "~/f") == os.path.expanduser("~/f")


def test_remote_path_needs_a_downloader() -> None:
    param = Parameter("data", "path")
    with pytest.raises(InvalidParameterError, match="expects a local path, got the s3:// URI") as info:
        convert_value(param, "s3://bucket/data.csv")
    assert "type uri" in str(info.value)
    seen: list[str] = []

    def download(uri: str, p: Parameter) -> str:
        seen.append(uri)
        return "/downloaded/" + p.name

    assert convert_value(param, "s3://bucket/data.csv", download=download) == "/downloaded/data"
    assert seen == ["s3://bucket/data.csv"]


INJECTIONS = [
    "; touch pwned",
    "$(touch pwned)",
    "`touch pwned`",
    "a && touch pwned",
    "x' ; touch pwned '",
    "| cat",
]


@pytest.mark.parametrize("payload", INJECTIONS)
def test_values_stay_single_arguments(payload: str) -> None:
    argv = argv_for(SEED_MAIN, {"model_name": payload, "note": payload})
    assert argv[argv.index("--model") + 1] == payload
    assert argv[-2:] == ["--note", payload]
    assert len(argv) == 12


def test_placeholder_inside_an_argument() -> None:
    entry = EntryPoint(
        "main",
        "python train.py --lr={lr} 'name with {tag} inside' --json '{{\"k\": 1}}'",
        {"lr": Parameter("lr", "float"), "tag": Parameter("tag", "string")},
    )
    assert argv_for(entry, {"lr": "0.1", "tag": "{lr} $(id)"}) == [
        "python", "train.py", "--lr=0.1", "name with {lr} $(id) inside", "--json", '{"k": 1}',
    ]  # fmt: skip


@pytest.mark.parametrize("payload", INJECTIONS)
def test_values_inside_a_shell_script_are_quoted(payload: str, tmp_path: Path) -> None:
    import subprocess

    entry = EntryPoint("main", "bash -c 'printf %s {msg}'", {"msg": Parameter("msg", "string")})
    argv = argv_for(entry, {"msg": payload})
    assert argv[:2] == ["bash", "-c"]
    # Running it proves the shell saw one quoted word: the payload is printed, nothing is executed.
    out = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    assert out == payload
    assert not (tmp_path / "pwned").exists()


def test_shell_script_detection_handles_combined_flags() -> None:
    entry = EntryPoint("main", "timeout 5 sh -ec 'echo {m}' {m}", {"m": Parameter("m", "string")})
    argv = argv_for(entry, {"m": "a b"})
    assert argv == ["timeout", "5", "sh", "-ec", "echo 'a b'", "a b"]


def test_unknown_placeholder_is_an_error() -> None:
    entry = EntryPoint("main", "python x.py {lr} {missing}", {"lr": Parameter("lr", "float", "1")})
    with pytest.raises(ExecutionError, match=r"uses \{missing\}, which is not a declared parameter"):
        argv_for(entry)


def test_unbalanced_quotes_are_an_error() -> None:
    with pytest.raises(ExecutionError, match="cannot be split"):
        argv_for(EntryPoint("main", "python x.py 'oops"))


def test_script_entry_points() -> None:
    assert argv_for(EntryPoint("train.py", ""), {"lr": 0.1}) == ["python", "train.py", "--lr", "0.1"]
    assert argv_for(EntryPoint("tools/run.sh", ""), {"n": "1"}) == ["bash", "tools/run.sh", "--n", "1"]
