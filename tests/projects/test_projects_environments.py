"""Environments: local, a real cached virtualenv, and clear errors for uv, conda and docker when missing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import hf_mltrack
from hf_mltrack.entities import RunStatus
from hf_mltrack.exceptions import InvalidParameterError
from hf_mltrack.projects import ExecutionError, load_project
from hf_mltrack.projects.environments import (
    CORE_REQUIREMENTS,
    check_environment,
    core_requirements,
    docker_argv,
    docker_engine_error,
    local_environment,
    python_env_spec,
    validate_env_manager,
)
from hf_mltrack.projects.environments import _requirement_lines as requirement_lines

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_validate_env_manager() -> None:
    assert validate_env_manager(None) is None
    assert validate_env_manager("VirtualEnv") == "virtualenv"
    with pytest.raises(InvalidParameterError, match="Unknown env_manager 'pipenv': use one of local, virtualenv"):
        validate_env_manager("pipenv")


def test_local_environment_uses_this_interpreter(tmp_path: Path) -> None:
    env = local_environment()
    argv, variables = env.command(["python", "train.py", "--x", "1"], {"PATH": "/usr/bin"}, tmp_path)
    assert argv == [sys.executable, "train.py", "--x", "1"]
    assert variables["PATH"].split(os.pathsep)[0] == os.path.dirname(sys.executable)
    # The launching hf_mltrack is importable from anywhere, and nothing else is added to the path.
    shim = Path(variables["PYTHONPATH"].split(os.pathsep)[0])
    assert [p.name for p in shim.iterdir()] == ["hf_mltrack"]
    assert (shim / "hf_mltrack").resolve() == Path(hf_mltrack.__file__).resolve().parent
    out = subprocess.run(
        [sys.executable, "-c", "import hf_mltrack; print(hf_mltrack.__file__)"],
        cwd=tmp_path,
        env={**os.environ, **variables},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert Path(out.strip()).resolve() == Path(hf_mltrack.__file__).resolve()
    # Only "python" at the head is the interpreter; "bash" or a python argument stay as they are.
    assert env.command(["bash", "python"], {}, tmp_path)[0] == ["bash", "python"]


def test_core_requirements_match_pyproject() -> None:
    pyproject = REPO_ROOT / "pyproject.toml"
    if not pyproject.is_file():
        pytest.skip("runs from a source checkout only")
    import tomllib

    declared = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    assert sorted(CORE_REQUIREMENTS) == sorted(declared)
    assert all("extra" not in r for r in core_requirements())


def test_python_env_spec_sources(make_project) -> None:
    root = make_project(
        {
            "MLproject": "name: p\npython_env: python_env.yaml\n",
            "python_env.yaml": """
                python: "3.11"
                build_dependencies: [pip]
                dependencies: [six==1.17.0, -r requirements.txt, hf_mltrack>=0.1]
            """,
            "requirements.txt": "-c constraints.txt\nsix\n",
            "constraints.txt": "six<2\n",
        }
    )
    spec = python_env_spec(load_project(root))
    assert spec.python == "3.11"
    assert spec.build_dependencies == ("pip",)
    lines, files = requirement_lines(spec)
    # Requirement files are made absolute (pip runs elsewhere) and hf_mltrack itself is never installed.
    assert lines == ["six==1.17.0", f"-r {(root / 'requirements.txt').resolve()}"]
    assert files == [(root / "requirements.txt").resolve(), (root / "constraints.txt").resolve()]


def test_python_env_from_conda_yaml(make_project) -> None:
    root = make_project(
        {
            "conda.yaml": """
                name: llm
                channels: [conda-forge]
                dependencies:
                  - python=3.10.12
                  - pip
                  - cudatoolkit=11.8
                  - pip:
                    - transformers==4.40.0
                    - peft
            """
        }
    )
    project = load_project(root)
    assert project.default_env_manager() == "conda"
    with pytest.warns(UserWarning, match=r"conda packages \['cudatoolkit=11.8'\] have no pip equivalent"):
        spec = python_env_spec(project)
    assert spec.python == "3.10.12"
    assert spec.dependencies == ("transformers==4.40.0", "peft")


def test_requirements_txt_is_used_without_env_file(make_project) -> None:
    root = make_project({"requirements.txt": "six\n", "a.py": ""})
    spec = python_env_spec(load_project(root))
    assert spec.dependencies == ("-r requirements.txt",)


def test_missing_requirement_file(make_project) -> None:
    root = make_project({"python_env.yaml": "dependencies: [-r nope.txt]\n"})
    with pytest.raises(ExecutionError, match="Requirement file 'nope.txt' not found"):
        check_environment("virtualenv", load_project(root))


def test_unavailable_python_version(make_project, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    root = make_project({"python_env.yaml": "python: '2.7'\n"})
    monkeypatch.setenv("PATH", str(tmp_path))  # no python2.7 anywhere
    with pytest.raises(ExecutionError) as info:
        check_environment("virtualenv", load_project(root))
    message = str(info.value)
    assert "asks for Python 2.7" in message
    assert "env_manager='uv'" in message and "env_manager='local'" in message


@pytest.mark.parametrize(
    ("env_manager", "files", "message"),
    [
        pytest.param("uv", {"a.py": ""}, "env_manager='uv' needs the uv command", id="uv"),
        pytest.param("conda", {"conda.yaml": "dependencies: []\n"}, "env_manager='conda' needs conda", id="conda"),
        pytest.param(
            "docker",
            {"MLproject": "docker_env: {image: 'pytorch/pytorch:2.0.1'}\n"},
            "the docker command is not on PATH",
            id="docker-cli",
        ),
    ],
)
def test_missing_tools(make_project, monkeypatch, tmp_path: Path, env_manager: str, files, message: str) -> None:
    project = load_project(make_project(files))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(ExecutionError, match=message):
        check_environment(env_manager, project)


def test_docker_without_a_running_engine(make_project) -> None:
    if shutil.which("docker") is None or docker_engine_error() is None:
        pytest.skip("needs a docker CLI without a reachable engine")
    project = load_project(make_project({"MLproject": "docker_env: {image: 'img:1'}\n"}))
    with pytest.raises(ExecutionError) as info:
        check_environment("docker", project)
    assert "declares docker_env (image img:1), but the Docker engine is not reachable" in str(info.value)
    assert "Start a Docker engine" in str(info.value)


def test_docker_and_conda_need_their_sections(make_project) -> None:
    project = load_project(make_project({"a.py": ""}))
    with pytest.raises(ExecutionError, match="needs a docker_env section"):
        check_environment("docker", project)
    if shutil.which("conda") or shutil.which("mamba"):
        with pytest.raises(ExecutionError, match="needs a conda_env file"):
            check_environment("conda", project)


def test_docker_argv(tmp_path: Path) -> None:
    argv = docker_argv(
        "pytorch/pytorch:2.0.1",
        ["python", "train.py", "--model", "; rm -rf /"],
        project_dir=tmp_path,
        env_names=["HF_MLTRACK_RUN_ID", "HF_MLTRACK_TRACKING_URI", "HF_MLTRACK_RUN_ID"],
        volumes=["/data:/data:ro"],
        mounts=[tmp_path / "store"],
        docker_args={"gpus": "all", "t": True, "skip": False},
        container_name="hf-mltrack-abc",
        network_host=True,
        hf_mltrack_dir=Path("/src/hf_mltrack"),
    )
    assert argv[:5] == ["docker", "run", "--rm", "--name", "hf-mltrack-abc"]
    assert argv[argv.index("-w") + 1] == "/hf_mltrack/project"
    assert f"{tmp_path}:/hf_mltrack/project" in argv
    assert f"{tmp_path / 'store'}:{tmp_path / 'store'}" in argv
    assert "/data:/data:ro" in argv
    assert "/src/hf_mltrack:/hf_mltrack/lib/hf_mltrack:ro" in argv
    # Variables go by name (values stay out of argv and `ps`), once each.
    assert argv.count("HF_MLTRACK_RUN_ID") == 1
    assert ["--gpus", "all"] == argv[argv.index("--gpus") : argv.index("--gpus") + 2]
    assert "-t" in argv and "--skip" not in argv and "--network" in argv
    assert argv[-5:] == ["pytorch/pytorch:2.0.1", "python", "train.py", "--model", "; rm -rf /"]


VENV_TRAIN = """
import json, os, sys
import hf_mltrack
import six  # installed from requirements.txt into the environment

try:
    import sklearn  # noqa: F401  (present in the launching interpreter only)
    isolated = False
except ImportError:
    isolated = True

hf_mltrack.log_metric("isolated", float(isolated))
with open("venv.json", "w") as f:
    json.dump({"prefix": sys.prefix, "six": six.__version__, "hf_mltrack": hf_mltrack.__file__,
               "virtual_env": os.environ.get("VIRTUAL_ENV"), "pythonpath": os.environ.get("PYTHONPATH")}, f)
"""


@pytest.fixture(scope="session")
def shared_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One HF_MLTRACK_HOME for the session, so virtualenvs built once are reused by every test."""
    return tmp_path_factory.mktemp("projects-env-cache")


@pytest.mark.slow  # ~20 s: builds a real venv and pip-installs hf_mltrack's requirements into it
def test_virtualenv_environment(make_project, tracking_uri, client, shared_home, monkeypatch) -> None:
    pytest.importorskip("sklearn")
    monkeypatch.setenv("HF_MLTRACK_HOME", str(shared_home))
    monkeypatch.setenv("PYTHONPATH", "/nonexistent-host-path")  # must not leak into the venv
    root = make_project(
        {
            "MLproject": """
                name: venv-project
                python_env: python_env.yaml
                entry_points:
                  main:
                    command: "python train.py"
            """,
            "python_env.yaml": f"python: '{sys.version_info[0]}.{sys.version_info[1]}'\n"
            "build_dependencies: [pip]\ndependencies: [-r requirements.txt]\n",
            "requirements.txt": "six\n",
            "train.py": VENV_TRAIN,
        }
    )
    start = time.monotonic()
    first = hf_mltrack.projects.run(str(root))  # virtualenv is the default for a python_env project
    build_seconds = time.monotonic() - start
    info = json.loads((root / "venv.json").read_text())
    prefix = Path(info["prefix"])
    assert shared_home in prefix.parents and prefix.name.startswith("virtualenv-")
    assert info["virtual_env"] == str(prefix)
    assert info["pythonpath"] is None
    assert info["six"]
    assert Path(info["hf_mltrack"]).resolve() == Path(hf_mltrack.__file__).resolve()
    run = client.get_run(first.run_id)
    assert run.info.status == RunStatus.FINISHED
    assert run.data.metrics["isolated"] == 1.0
    assert run.data.tags["hf_mltrack.project.env"] == "virtualenv"

    # Same requirements: the cached environment is reused, no rebuild.
    (root / "venv.json").unlink()
    start = time.monotonic()
    second = hf_mltrack.projects.run(str(root), env_manager="virtualenv")
    reuse_seconds = time.monotonic() - start
    assert json.loads((root / "venv.json").read_text())["prefix"] == str(prefix)
    assert second.run_id != first.run_id
    assert reuse_seconds < build_seconds
    envs = [p for p in (shared_home / "projects" / "envs").glob("virtualenv-*") if p.is_dir()]
    assert envs == [prefix]


@pytest.mark.skipif(shutil.which("uv") is None, reason="needs uv on PATH")
def test_uv_environment(make_project, tracking_uri, client, shared_home, monkeypatch) -> None:
    monkeypatch.setenv("HF_MLTRACK_HOME", str(shared_home))
    root = make_project({"requirements.txt": "six\n", "train.py": VENV_TRAIN})
    submitted = hf_mltrack.projects.run(str(root), entry_point="train.py", env_manager="uv")
    info = json.loads((root / "venv.json").read_text())
    assert Path(info["prefix"]).name.startswith("uv-")
    assert client.get_run(submitted.run_id).data.metrics["isolated"] in (0.0, 1.0)
