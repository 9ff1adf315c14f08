"""MLproject parsing: the seed's file, short parameter forms, environments, folders without MLproject."""

from __future__ import annotations

from pathlib import Path

import pytest
from projects_helpers import SEED_MLPROJECT

from hf_mltrack.projects import ExecutionError, Parameter, load_project


def test_seed_mlproject_parses(make_project) -> None:
    root = make_project({"MLproject": SEED_MLPROJECT, "train.py": "", "evaluate.py": ""})
    project = load_project(root)
    assert project.name == "llm-finetuning"
    assert project.has_mlproject
    assert project.directory == root.resolve()
    assert set(project.entry_points) == {"main", "evaluate"}
    main = project.entry_points["main"]
    assert main.parameters == {
        # YAML reads 2e-5 as text (no dot): it is kept exactly as written.
        "learning_rate": Parameter("learning_rate", "float", "2e-5"),
        "epochs": Parameter("epochs", "int", "3"),
        "lora_rank": Parameter("lora_rank", "int", "8"),
        "model_name": Parameter("model_name", "string", "meta-llama/Llama-2-7b-hf"),
    }
    assert main.command.startswith("python train.py --lr {learning_rate}")
    evaluate = project.entry_points["evaluate"]
    assert evaluate.parameters["model_uri"].required
    assert not evaluate.parameters["dataset"].required
    assert project.default_env_manager() == "local"


def test_short_parameter_forms(make_project) -> None:
    root = make_project(
        {
            "MLproject": """
                entry_points:
                  main:
                    parameters:
                      alpha: float
                      data: path
                      source: uri
                      plain:
                      with_default: {default: 1}
                      flag: {type: string, default: true}
                    command: "python x.py"
            """
        }
    )
    params = load_project(root).entry_points["main"].parameters
    assert params["alpha"] == Parameter("alpha", "float", None)
    assert params["alpha"].required
    assert params["data"].type == "path"
    assert params["source"].type == "uri"
    assert params["plain"] == Parameter("plain", "string", None)
    assert params["with_default"] == Parameter("with_default", "string", "1")
    assert params["flag"].default == "true"  # YAML's boolean, written back as the user typed it


def test_name_defaults_to_folder_name(make_project) -> None:
    root = make_project({"MLproject": "entry_points:\n  main:\n    command: python a.py\n"}, name="my-proj")
    assert load_project(root).name == "my-proj"


def test_mlproject_file_name_is_case_insensitive(make_project) -> None:
    root = make_project({"mlproject": "name: lower\n"})
    assert load_project(root).name == "lower"


def test_environments_are_parsed(make_project) -> None:
    root = make_project(
        {
            "MLproject": """
                name: envs
                python_env: envs/python_env.yaml
                docker_env:
                  image: pytorch/pytorch:2.0.1-cuda11.7-cudnn8-runtime
                  volumes: ["/data:/data:ro"]
                  environment: [HOME, ["MODE", "train"]]
            """,
            "envs/python_env.yaml": "python: '3.11'\n",
        }
    )
    project = load_project(root)
    assert project.python_env == (root / "envs" / "python_env.yaml").resolve()
    assert project.docker_env is not None
    assert project.docker_env.image == "pytorch/pytorch:2.0.1-cuda11.7-cudnn8-runtime"
    assert project.docker_env.volumes == ("/data:/data:ro",)
    assert project.docker_env.environment == (("HOME", None), ("MODE", "train"))
    assert project.default_env_manager() == "docker"


def test_seed_conda_and_docker_together(make_project) -> None:
    # The seed shows conda_env and docker_env in one file: both are kept, docker is the default.
    root = make_project(
        {
            "MLproject": "name: x\nconda_env: conda.yaml\ndocker_env:\n  image: img:1\n",
            "conda.yaml": "dependencies: [python=3.11]\n",
        }
    )
    project = load_project(root)
    assert project.conda_env == (root / "conda.yaml").resolve()
    assert project.default_env_manager() == "docker"


def test_env_files_next_to_mlproject_are_used(make_project) -> None:
    root = make_project({"MLproject": "name: x\n", "python_env.yaml": "dependencies: []\n"})
    project = load_project(root)
    assert project.python_env == (root / "python_env.yaml").resolve()
    assert project.default_env_manager() == "virtualenv"
    conda_root = make_project({"MLproject": "name: y\n", "conda.yaml": "dependencies: []\n"}, name="c")
    assert load_project(conda_root).default_env_manager() == "conda"


@pytest.mark.parametrize(
    ("mlproject", "message"),
    [
        pytest.param("- a\n- b\n", "must be a YAML mapping", id="not-a-mapping"),
        pytest.param("name: [unclosed\n", "not valid YAML", id="bad-yaml"),
        pytest.param("python_env: missing.yaml\n", "python_env file 'missing.yaml' not found", id="missing-env"),
        pytest.param("conda_env: ../outside.yaml\n", "outside the project folder", id="env-escapes"),
        pytest.param("docker_env: {volumes: []}\n", "docker_env.image: Field required", id="docker-no-image"),
        pytest.param(
            "entry_points: [main]\n", "entry_points: Input should be a valid dictionary", id="entry-points-list"
        ),
        pytest.param("entry_points:\n  main: {}\n", "entry_points.main.command: Field required", id="no-command"),
        pytest.param(
            "entry_points:\n  main:\n    parameters: {lr: double}\n    command: x\n",
            "entry_points.main.parameters.lr.type: Input should be 'string', 'float', 'int', 'path' or 'uri' "
            "(got 'double')",
            id="unknown-type",
        ),
        pytest.param(
            "entry_points:\n  main:\n    parameters: {lr: {typ: float}}\n    command: x\n",
            "entry_points.main.parameters.lr.typ: Extra inputs are not permitted",
            id="typo-key",
        ),
    ],
)
def test_malformed_mlproject_names_the_problem(make_project, mlproject: str, message: str) -> None:
    root = make_project({"MLproject": mlproject})
    with pytest.raises(ExecutionError, match=None) as info:
        load_project(root)
    assert message in str(info.value)


def test_python_and_conda_env_conflict(make_project) -> None:
    root = make_project({"MLproject": "python_env: p.yaml\nconda_env: c.yaml\n", "p.yaml": "{}\n", "c.yaml": "{}\n"})
    with pytest.raises(ExecutionError, match="both python_env and conda_env"):
        load_project(root)


def test_folder_without_mlproject_runs_scripts(make_project) -> None:
    root = make_project({"train.py": "print(1)\n", "run.sh": "echo hi\n", "notes.txt": ""}, name="plain")
    project = load_project(root)
    assert not project.has_mlproject
    assert project.name == "plain"
    assert project.entry_points == {}
    assert project.get_entry_point("train.py").name == "train.py"
    assert project.get_entry_point("run.sh").command == ""
    with pytest.raises(ExecutionError) as info:
        project.get_entry_point("main")
    # The message lists what can be run and how.
    assert "runnable scripts (.py, .sh): run.sh, train.py" in str(info.value)
    assert "-e NAME" in str(info.value)


def test_script_entry_point_must_exist_and_stay_inside(make_project, tmp_path: Path) -> None:
    (tmp_path / "outside.py").write_text("print('x')\n")
    project = load_project(make_project({"a.py": ""}))
    with pytest.raises(ExecutionError, match="outside the project folder"):
        project.get_entry_point("../outside.py")
    with pytest.raises(ExecutionError, match="not found"):
        project.get_entry_point("missing.py")


def test_mlproject_entry_points_fall_back_to_scripts(seed_project: Path) -> None:
    project = load_project(seed_project)
    assert project.get_entry_point("evaluate.py").command == ""
    with pytest.raises(ExecutionError, match="declared entry points: 'main', 'evaluate'"):
        project.get_entry_point("nope")


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ExecutionError, match="does not exist"):
        load_project(tmp_path / "nope")
