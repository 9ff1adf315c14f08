"""`hf_mltrack.projects.run`: the project run is tracked, and the child logs into that same run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from pathlib import Path

import pytest
from projects_helpers import commit_all, git, write_files

import hf_mltrack
from hf_mltrack.entities import RunStatus
from hf_mltrack.exceptions import InvalidParameterError, ResourceNotFoundError
from hf_mltrack.projects import ExecutionError, SubmittedRun, run


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for its reaper counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def wait_for(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


def test_seed_project_logs_into_the_submitted_run(seed_project: Path, client, tracking_uri: str) -> None:
    submitted = run(
        str(seed_project),
        entry_point="main",
        parameters={"learning_rate": 3e-4, "epochs": 5, "lora_rank": 16},
        experiment_name="LLM-FineTuning",
        run_name="lora-r16",
    )
    assert isinstance(submitted, SubmittedRun)
    assert submitted.get_status() == RunStatus.FINISHED
    assert submitted.wait() is True

    child = json.loads((seed_project / "child.json").read_text())
    assert child["run_id"] == submitted.run_id  # the child's start_run() resumed the project run
    assert child["cwd"] == str(seed_project.resolve())
    assert child["argv"] == [
        "--lr", "0.0003", "--epochs", "5", "--lora_rank", "16", "--model", "meta-llama/Llama-2-7b-hf",
    ]  # fmt: skip

    tracked = client.get_run(submitted.run_id)
    assert tracked.info.status == RunStatus.FINISHED
    assert tracked.info.run_name == "lora-r16"
    experiment = client.get_experiment_by_name("LLM-FineTuning")
    assert experiment is not None and tracked.info.experiment_id == experiment.experiment_id
    history = client.get_metric_history(submitted.run_id, "train_loss")
    assert [m.step for m in history] == [0, 1, 2, 3, 4]
    assert tracked.data.metrics["lora_rank_seen"] == 16
    assert tracked.data.params == {
        "learning_rate": "0.0003",
        "epochs": "5",
        "lora_rank": "16",
        "model_name": "meta-llama/Llama-2-7b-hf",
    }
    tags = tracked.data.tags
    assert tags["hf_mltrack.source.type"] == "PROJECT"
    assert tags["hf_mltrack.source.name"] == str(seed_project.resolve())
    assert tags["hf_mltrack.project.entryPoint"] == "main"
    assert tags["hf_mltrack.project.env"] == "local"
    assert "hf_mltrack.source.git.commit" not in tags  # not a repository


def test_child_environment(make_project, client, tracking_uri: str, monkeypatch) -> None:
    root = make_project(
        {
            "env.py": """
                import json, os
                keys = ["HF_MLTRACK_RUN_ID", "HF_MLTRACK_TRACKING_URI", "HF_MLTRACK_EXPERIMENT_ID",
                        "HF_MLTRACK_EXPERIMENT_NAME"]
                json.dump({k: os.environ.get(k) for k in keys}, open("env.json", "w"))
            """
        }
    )
    exp_id = client.create_experiment("child-env")
    monkeypatch.setenv("HF_MLTRACK_EXPERIMENT_NAME", "ignored-by-the-child")
    submitted = run(str(root), entry_point="env.py", experiment_id=exp_id)
    env = json.loads((root / "env.json").read_text())
    assert env == {
        "HF_MLTRACK_RUN_ID": submitted.run_id,
        "HF_MLTRACK_TRACKING_URI": tracking_uri,
        "HF_MLTRACK_EXPERIMENT_ID": exp_id,
        "HF_MLTRACK_EXPERIMENT_NAME": None,
    }
    # The child never touched the run: the launcher ends it from the exit code.
    assert client.get_run(submitted.run_id).info.status == RunStatus.FINISHED


def test_child_logging_without_start_run(seed_project: Path, client, tracking_uri: str) -> None:
    submitted = run(str(seed_project), entry_point="evaluate", parameters={"model_uri": "runs:/abc/model"})
    tracked = client.get_run(submitted.run_id)
    assert tracked.data.metrics == {"eval_accuracy": 0.75}
    assert tracked.data.tags["evaluated"] == "runs:/abc/model|eval"
    assert tracked.data.params == {"model_uri": "runs:/abc/model", "dataset": "eval"}
    assert tracked.info.status == RunStatus.FINISHED


def test_validation_errors_create_no_run(seed_project: Path, client, tracking_uri: str) -> None:
    with pytest.raises(InvalidParameterError, match="needs a value for 'model_uri'"):
        run(str(seed_project), entry_point="evaluate")
    with pytest.raises(InvalidParameterError, match="Parameter 'epochs' expects an integer"):
        run(str(seed_project), parameters={"epochs": "three"})
    with pytest.raises(ExecutionError, match="Entry point 'train' not found"):
        run(str(seed_project), entry_point="train")
    assert len(client.search_runs(["0"])) == 0
    assert not (seed_project / "child.json").exists()


def test_folder_without_mlproject(make_project, client, tracking_uri: str) -> None:
    root = make_project(
        {
            "train.py": """
                import sys, hf_mltrack
                hf_mltrack.log_param("argv", " ".join(sys.argv[1:]))
            """,
            "run.sh": """
                printf '%s\\n' "$@" > args.txt
            """,
        },
        name="scripts",
    )
    submitted = run(str(root), entry_point="train.py", parameters={"lr": 0.1, "name": "a b"})
    tracked = client.get_run(submitted.run_id)
    assert tracked.data.params["argv"] == "--lr 0.1 --name a b"
    assert tracked.data.params["lr"] == "0.1"  # extra parameters are logged too
    assert tracked.data.tags["hf_mltrack.project.entryPoint"] == "train.py"

    run(str(root), entry_point="run.sh", parameters={"msg": "$(touch pwned)"})
    assert (root / "args.txt").read_text() == "--msg\n$(touch pwned)\n"
    assert not (root / "pwned").exists()


INJECTION_MLPROJECT = """
name: inject
entry_points:
  main:
    parameters:
      name: string
      data: path
      count: {type: int, default: 1}
    command: "python echo.py --name {name} --data {data} --count {count}"
  shell:
    parameters:
      msg: string
    command: "bash -c 'echo {msg} > shell_out.txt'"
"""

ECHO_PY = """
import json, sys
json.dump(sys.argv[1:], open("argv.json", "w"))
"""


@pytest.mark.parametrize(
    "payload",
    [
        "; touch pwned",
        "$(touch pwned)",
        "`touch pwned`",
        "x && touch pwned",
        "' ; touch pwned ; '",
        "a\ntouch pwned",
    ],
)
def test_injection_attempts_create_nothing(make_project, client, tracking_uri, payload: str, monkeypatch) -> None:
    root = make_project({"MLproject": INJECTION_MLPROJECT, "echo.py": ECHO_PY})
    monkeypatch.chdir(root)
    submitted = run(str(root), parameters={"name": payload, "data": payload, "extra": payload})
    argv = json.loads((root / "argv.json").read_text())
    assert argv[:2] == ["--name", payload]
    assert argv[3] == str(root.resolve() / payload)  # a path, made absolute, still one argument
    assert argv[-2:] == ["--extra", payload]
    run(str(root), entry_point="shell", parameters={"msg": payload})
    assert (root / "shell_out.txt").read_text() == payload + "\n"  # the shell printed it, ran nothing
    assert not (root / "pwned").exists()
    assert not any(p.name == "pwned" for p in root.parent.rglob("pwned"))
    assert client.get_run(submitted.run_id).data.params["name"] == payload
    with pytest.raises(InvalidParameterError, match="Parameter 'count' expects an integer"):
        run(str(root), parameters={"name": "a", "data": "b", "count": payload})


def test_failed_run_raises_and_is_marked_failed(make_project, client, tracking_uri: str) -> None:
    root = make_project({"fail.py": "import hf_mltrack, sys\nhf_mltrack.log_metric('m', 1)\nsys.exit(3)\n"})
    with pytest.raises(ExecutionError, match=r"Run \(ID '(\w+)'\) of entry point 'fail.py' failed with exit code 3"):
        run(str(root), entry_point="fail.py")
    [failed] = client.search_runs(["0"])
    assert failed.info.status == RunStatus.FAILED
    assert failed.data.metrics["m"] == 1.0


def test_child_verdict_is_kept(make_project, client, tracking_uri: str) -> None:
    root = make_project(
        {
            "raises.py": """
                import hf_mltrack
                with hf_mltrack.start_run():
                    raise RuntimeError("boom")
            """,
            "ends_then_fails.py": """
                import sys, hf_mltrack
                with hf_mltrack.start_run():
                    hf_mltrack.log_metric("done", 1)
                sys.exit(1)  # the run itself was ended FINISHED by the child
            """,
        }
    )
    handle = run(str(root), entry_point="raises.py", synchronous=False)
    assert handle.wait() is False
    assert client.get_run(handle.run_id).info.status == RunStatus.FAILED
    handle = run(str(root), entry_point="ends_then_fails.py", synchronous=False)
    assert handle.wait() is False
    assert handle.get_status() == RunStatus.FAILED  # the process failed ...
    assert client.get_run(handle.run_id).info.status == RunStatus.FINISHED  # ... the child's verdict stays


def test_asynchronous_run_and_monitor(make_project, client, tracking_uri: str) -> None:
    root = make_project({"slow.py": "import time, hf_mltrack\ntime.sleep(1)\nhf_mltrack.log_metric('m', 2)\n"})
    handle = run(str(root), entry_point="slow.py", synchronous=False)
    assert handle.get_status() == RunStatus.RUNNING
    assert client.get_run(handle.run_id).info.status == RunStatus.RUNNING
    # Without wait(), the background monitor ends the run when the process exits.
    wait_for(lambda: client.get_run(handle.run_id).info.status == RunStatus.FINISHED)
    assert handle.wait() is True
    assert client.get_run(handle.run_id).data.metrics["m"] == 2


def test_cancel_kills_the_process_group(make_project, client, tracking_uri: str) -> None:
    root = make_project(
        {
            "hang.py": """
                import subprocess, sys, time
                import hf_mltrack
                hf_mltrack.start_run()
                child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
                open("pids.txt", "w").write(str(child.pid))
                time.sleep(120)
            """
        }
    )
    handle = run(str(root), entry_point="hang.py", synchronous=False)
    wait_for(lambda: (root / "pids.txt").exists() and (root / "pids.txt").read_text())
    grandchild = int((root / "pids.txt").read_text())
    start = time.monotonic()
    handle.cancel()
    assert time.monotonic() - start < 15
    assert handle.get_status() == RunStatus.KILLED
    assert handle.wait() is False
    assert client.get_run(handle.run_id).info.status == RunStatus.KILLED
    wait_for(lambda: not alive(grandchild), timeout=10)  # the grandchild went with the group
    handle.cancel()  # a second cancel is a no-op
    assert client.get_run(handle.run_id).info.status == RunStatus.KILLED


def test_missing_program_fails_the_run(make_project, client, tracking_uri: str) -> None:
    root = make_project({"MLproject": "entry_points:\n  main:\n    command: no-such-program-xyz --flag\n"})
    with pytest.raises(ExecutionError, match="Cannot run 'no-such-program-xyz': no such program"):
        run(str(root))
    [failed] = client.search_runs(["0"])
    assert failed.info.status == RunStatus.FAILED


def test_missing_tool_fails_before_any_run(make_project, client, tracking_uri: str, monkeypatch) -> None:
    root = make_project({"MLproject": "docker_env: {image: 'pytorch/pytorch:2.0.1'}\n", "a.py": ""})
    monkeypatch.setenv("PATH", str(root / "empty"))
    with pytest.raises(ExecutionError, match="declares docker_env"):
        run(str(root), entry_point="a.py")
    with pytest.raises(ExecutionError, match="env_manager='conda' needs conda"):
        run(str(root), entry_point="a.py", env_manager="conda")
    assert len(client.search_runs(["0"])) == 0


def test_experiment_and_run_options(seed_project: Path, client, tracking_uri: str) -> None:
    with pytest.raises(InvalidParameterError, match="not both"):
        run(str(seed_project), experiment_name="a", experiment_id="0")
    with pytest.raises(ResourceNotFoundError):
        run(str(seed_project), experiment_id="424242")
    with pytest.raises(InvalidParameterError, match="Unsupported backend 'databricks'"):
        run(str(seed_project), backend="databricks")
    # An existing run can be the target (MLflow's run_id argument).
    existing = client.create_run("0", run_name="pre-made")
    submitted = run(str(seed_project), parameters={"epochs": 1}, run_id=existing.info.run_id)
    assert submitted.run_id == existing.info.run_id
    assert json.loads((seed_project / "child.json").read_text())["run_id"] == existing.info.run_id
    assert client.get_run(existing.info.run_id).data.params["epochs"] == "1"


def test_experiment_from_the_environment(seed_project: Path, client, tracking_uri: str, monkeypatch) -> None:
    monkeypatch.setenv("HF_MLTRACK_EXPERIMENT_NAME", "from-env")
    submitted = run(str(seed_project), parameters={"epochs": 1})
    experiment = client.get_experiment_by_name("from-env")
    assert experiment is not None
    assert client.get_run(submitted.run_id).info.experiment_id == experiment.experiment_id


def test_in_memory_store_is_refused(seed_project: Path) -> None:
    hf_mltrack.set_tracking_uri("sqlite:///:memory:")
    with pytest.raises(ExecutionError, match="in-memory database"):
        run(str(seed_project))


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_git_project_tag_and_subdirectory(tmp_path: Path, client, tracking_uri: str) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git("init", "-q", "-b", "main", cwd=repo)
    write_files(
        repo,
        {
            "training/MLproject": """
                name: sub
                entry_points:
                  main:
                    parameters: {lr: float}
                    command: "python train.py {lr}"
            """,
            "training/train.py": """
                import sys, hf_mltrack
                hf_mltrack.log_metric("version", 1)
                hf_mltrack.log_param("got_lr", sys.argv[1])
            """,
        },
    )
    v1 = commit_all(repo, "v1")
    git("tag", "v1.0.0", cwd=repo)
    write_files(repo, {"training/train.py": "import hf_mltrack\nhf_mltrack.log_metric('version', 2)\n"})
    commit_all(repo, "v2")

    uri = repo.as_uri() + "#training"
    submitted = run(uri, version="v1.0.0", parameters={"lr": "1e-4"})
    tracked = client.get_run(submitted.run_id)
    assert tracked.data.metrics["version"] == 1  # the tagged code ran, not main
    assert tracked.data.params["got_lr"] == "1e-4"
    tags = tracked.data.tags
    assert tags["hf_mltrack.source.git.commit"] == v1
    assert tags["hf_mltrack.source.git.repoURL"] == repo.as_uri()
    assert tags["hf_mltrack.source.git.branch"] == "v1.0.0"
    assert tags["hf_mltrack.source.name"] == uri

    latest = run(uri, parameters={"lr": 1})
    assert client.get_run(latest.run_id).data.metrics["version"] == 2


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_local_repository_commit_is_recorded(seed_project: Path, client, tracking_uri: str) -> None:
    git("init", "-q", "-b", "main", cwd=seed_project)
    commit = commit_all(seed_project, "init")
    submitted = run(str(seed_project), parameters={"epochs": 1})
    assert client.get_run(submitted.run_id).data.tags["hf_mltrack.source.git.commit"] == commit


def test_keyboard_interrupt_cancels(make_project, client, tracking_uri: str) -> None:
    root = make_project(
        {
            "interrupt.py": """
                import os, signal, time
                # Interrupt the launcher (our parent) while it waits, as Ctrl-C would.
                time.sleep(0.5)
                os.kill(os.getppid(), signal.SIGINT)
                time.sleep(60)
            """
        }
    )
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            run(str(root), entry_point="interrupt.py")
    finally:
        signal.signal(signal.SIGINT, previous)
    [killed] = client.search_runs(["0"])
    assert killed.info.status == RunStatus.KILLED


def test_remote_path_parameter_is_downloaded(make_project, client, tracking_uri: str, tmp_path: Path) -> None:
    source = client.create_run("0", run_name="data-producer")
    data = tmp_path / "train.csv"
    data.write_text("a,b\n1,2\n")
    client.log_artifact(source.info.run_id, str(data), artifact_path="data")
    root = make_project(
        {
            "MLproject": """
                entry_points:
                  main:
                    parameters: {data: path}
                    command: "python read.py {data}"
            """,
            "read.py": """
                import sys, hf_mltrack
                hf_mltrack.log_param("content", open(sys.argv[1]).read())
                hf_mltrack.log_param("local", sys.argv[1])
            """,
        }
    )
    storage = tmp_path / "downloads"
    uri = f"runs:/{source.info.run_id}/data/train.csv"
    submitted = run(str(root), parameters={"data": uri}, storage_dir=str(storage))
    params = client.get_run(submitted.run_id).data.params
    assert params["content"] == "a,b\n1,2\n"
    assert Path(params["local"]).is_relative_to(storage)
    assert params["data"] == uri  # the run records what reproduces it, not a download location
