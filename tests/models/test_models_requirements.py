"""requirements.txt, python_env.yaml and conda.yaml: given, extended, from conda, or inferred."""

from __future__ import annotations

import importlib.metadata
import platform

import pytest
import yaml

from hf_mltrack.exceptions import InvalidParameterError
from hf_mltrack.models.requirements import write_environment


def _reqs(path):
    return (path / "requirements.txt").read_text().splitlines()


def test_inferred_from_flavor_packages_pinned_without_local_label(tmp_path):
    env = write_environment(str(tmp_path), ["torch", "safetensors", "not-an-installed-package-xyz"])
    assert env == {"conda": "conda.yaml", "virtualenv": "python_env.yaml"}
    reqs = _reqs(tmp_path)
    torch_version = importlib.metadata.version("torch").split("+")[0]
    assert reqs[0].startswith("hf_mltrack")
    assert f"torch=={torch_version}" in reqs
    assert f"safetensors=={importlib.metadata.version('safetensors')}" in reqs
    assert not any("not-an-installed" in r for r in reqs)
    python_env = yaml.safe_load((tmp_path / "python_env.yaml").read_text())
    assert python_env["python"] == platform.python_version()
    assert python_env["dependencies"] == ["-r requirements.txt"]
    conda = yaml.safe_load((tmp_path / "conda.yaml").read_text())
    assert conda["dependencies"][0] == f"python={platform.python_version()}"
    assert conda["dependencies"][-1] == {"pip": reqs}


def test_explicit_pip_requirements_are_kept_verbatim(tmp_path):
    seed = ["transformers>=4.34.0", "torch>=2.0.0", "accelerate>=0.24.0"]
    write_environment(str(tmp_path), ["torch"], pip_requirements=seed)
    reqs = _reqs(tmp_path)
    assert reqs[1:] == seed and reqs[0].startswith("hf_mltrack")


def test_pip_requirements_from_a_file(tmp_path):
    file = tmp_path / "reqs.txt"
    file.write_text("# pinned\nsentencepiece==0.1.99  # tokenizer\n\n")
    write_environment(str(tmp_path / "m"), pip_requirements=str(file))
    assert _reqs(tmp_path / "m")[1:] == ["sentencepiece==0.1.99"]


def test_extra_pip_requirements_extend_the_defaults(tmp_path):
    write_environment(str(tmp_path), ["torch"], extra_pip_requirements=["peft>=0.10"])
    reqs = _reqs(tmp_path)
    assert any(r.startswith("torch==") for r in reqs) and reqs[-1] == "peft>=0.10"


def test_conda_env_dict(tmp_path):
    conda_env = {
        "name": "x",
        "channels": ["defaults"],
        "dependencies": ["python=3.10", {"pip": ["torch==2.1.0"]}],
    }
    write_environment(str(tmp_path), ["torch"], conda_env=conda_env)
    assert yaml.safe_load((tmp_path / "conda.yaml").read_text()) == conda_env
    assert _reqs(tmp_path) == ["torch==2.1.0"]


def test_only_one_environment_argument(tmp_path):
    with pytest.raises(InvalidParameterError, match="only one of.*pip_requirements, extra_pip_requirements"):
        write_environment(str(tmp_path), pip_requirements=["a"], extra_pip_requirements=["b"])


def test_invalid_requirement_is_named(tmp_path):
    with pytest.raises(InvalidParameterError, match="Invalid requirement 'torch >>= 2'"):
        write_environment(str(tmp_path), pip_requirements=["torch >>= 2"])
