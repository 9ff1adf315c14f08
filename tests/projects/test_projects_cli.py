"""``hf-mltrack run`` through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from hf_mltrack.cli.projects import run as run_command
from hf_mltrack.entities import RunStatus


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_run_command(runner: CliRunner, seed_project: Path, tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'cli' / 'mltrack.db'}"
    result = runner.invoke(
        run_command,
        [
            str(seed_project),
            "-e", "main",
            "-P", "learning_rate=3e-4",
            "-P", "epochs=2",
            "-P", "model_name=tiny gpt2",
            "-P", "warmup=5",
            "--experiment-name", "LLM-FineTuning",
            "--run-name", "from-cli",
            "--env-manager", "local",
            "--tracking-uri", store,
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    child = json.loads((seed_project / "child.json").read_text())
    assert f"=== Run (ID '{child['run_id']}') succeeded ===" in result.output
    assert "hf-mltrack run: Running " in result.output  # progress: the command that ran
    assert child["model"] == "tiny gpt2"
    assert child["extra"] == ["--warmup", "5"]

    from hf_mltrack.tracking import MlTrackClient

    client = MlTrackClient(store)
    tracked = client.get_run(child["run_id"])
    assert tracked.info.status == RunStatus.FINISHED
    assert tracked.info.run_name == "from-cli"
    assert tracked.data.params["learning_rate"] == "3e-4"
    assert tracked.data.params["warmup"] == "5"
    assert client.get_experiment(tracked.info.experiment_id).name == "LLM-FineTuning"
    assert [m.step for m in client.get_metric_history(child["run_id"], "train_loss")] == [0, 1]


def test_tracking_uri_from_environment(runner, seed_project: Path, tmp_path: Path, monkeypatch) -> None:
    store = f"sqlite:///{tmp_path / 'env-store.db'}"
    monkeypatch.setenv("HF_MLTRACK_TRACKING_URI", store)
    result = runner.invoke(run_command, [str(seed_project), "-P", "epochs=1", "--no-conda"])
    assert result.exit_code == 0, result.output
    assert "--no-conda is deprecated" in result.output
    from hf_mltrack.tracking import MlTrackClient

    run_id = json.loads((seed_project / "child.json").read_text())["run_id"]
    assert MlTrackClient(store).get_run(run_id).data.tags["hf_mltrack.project.env"] == "local"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        pytest.param(["-P", "epochs"], 2, "'epochs' is not NAME=VALUE", id="param-without-value"),
        pytest.param(["-P", "a=1", "-P", "a=2"], 2, "'a' is given more than once", id="param-twice"),
        pytest.param(["-P", "epochs=three"], 1, "Parameter 'epochs' expects an integer", id="bad-type"),
        pytest.param(["-e", "evaluate"], 1, "needs a value for 'model_uri'", id="missing-param"),
        pytest.param(["--env-manager", "pipenv"], 2, "'pipenv' is not one of", id="bad-env-manager"),
        pytest.param(["-b", "kubernetes"], 1, "Unsupported backend 'kubernetes'", id="bad-backend"),
        pytest.param(["--no-conda", "--env-manager", "conda"], 2, "--no-conda conflicts", id="no-conda-clash"),
        pytest.param(["-c", "[1]"], 2, "must be a JSON object", id="bad-backend-config"),
        pytest.param(["-c", '{"a": 1}'], 1, "not used by the local backend", id="backend-config-unused"),
    ],
)
def test_usage_errors(runner, seed_project: Path, tmp_path: Path, args, code: int, message) -> None:
    store = f"sqlite:///{tmp_path / 'errors.db'}"
    result = runner.invoke(run_command, [str(seed_project), "--tracking-uri", store, *args])
    assert result.exit_code == code, result.output
    assert message in result.output
    assert not (seed_project / "child.json").exists()


def test_failing_run_exits_nonzero(runner, make_project, tmp_path: Path) -> None:
    root = make_project({"fail.py": "import sys\nsys.exit(4)\n"})
    store = f"sqlite:///{tmp_path / 'fail.db'}"
    result = runner.invoke(run_command, [str(root), "-e", "fail.py", "--tracking-uri", store])
    assert result.exit_code == 1
    assert "failed with exit code 4" in result.output


def test_docker_args_reach_the_run(runner, make_project, tmp_path: Path, monkeypatch) -> None:
    # No engine on PATH: the error names the image and the fix; -A flags were parsed before that.
    root = make_project({"MLproject": "docker_env: {image: 'img:1'}\n", "a.py": ""})
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    store = f"sqlite:///{tmp_path / 'docker.db'}"
    result = runner.invoke(run_command, [str(root), "-e", "a.py", "-A", "gpus=all", "-A", "t", "--tracking-uri", store])
    assert result.exit_code == 1
    assert "declares docker_env (image img:1)" in result.output
    assert "env_manager='local'" in result.output
