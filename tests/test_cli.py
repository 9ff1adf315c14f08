"""The CLI: every user error is one ``Error: ...`` line (exit 1 or 2, no traceback), read commands never
create stores, and the MLflow-parity commands (artifacts, experiments csv, runs describe/list, doctor)."""

from __future__ import annotations

import csv
import io
import json
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

import hf_mltrack
from hf_mltrack.cli import cli


@pytest.fixture
def store(tmp_path: Path) -> dict[str, str]:
    """A store with the Default experiment, `LLM-FineTuning` (2 runs, one with an artifact) and `empty`."""
    uri = str(tmp_path / "store")
    client = hf_mltrack.MlTrackClient(uri)
    exp_id = client.create_experiment("LLM-FineTuning")
    ids = []
    for i, lr in enumerate((1e-4, 2e-4)):
        run = client.create_run(exp_id, run_name=f"lora-{i}")
        client.log_param(run.info.run_id, "learning_rate", str(lr))
        client.log_metric(run.info.run_id, "eval_loss", 1.5 - i)
        client.set_terminated(run.info.run_id)
        ids.append(run.info.run_id)
    client.log_text(ids[0], "hello", "notes/readme.txt")
    client.create_experiment("empty")  # created after the runs: "latest" means the latest run's experiment
    return {"uri": uri, "exp_id": exp_id, "run0": ids[0], "run1": ids[1], "tmp": str(tmp_path)}


def _invoke(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(cli, list(args))
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exc_info
    return res.exit_code, res.output


def _busy_port() -> tuple[socket.socket, int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock, sock.getsockname()[1]


# (id, argv with {uri}/{run}/{tmp} placeholders, exit code, text the one error line must contain)
BAD_INPUT = [
    ("experiments-create-existing", "experiments create -n LLM-FineTuning --tracking-uri {uri}", 1, "already exists"),
    ("experiments-delete-unknown-id", "experiments delete -x 99 --tracking-uri {uri}", 1, "'99'"),
    ("experiments-rename-unknown-name", "experiments rename -x nope --new-name b --tracking-uri {uri}", 1, "'nope'"),
    ("experiments-restore-unknown", "experiments restore -x 77 --tracking-uri {uri}", 1, "experiments search"),
    ("experiments-search-bad-filter", "experiments search --filter name== --tracking-uri {uri}", 1, "name=="),
    ("experiments-search-no-store", "experiments search --tracking-uri {tmp}/typo", 1, "No tracking store"),
    ("experiments-csv-unknown", "experiments csv -x 42 --tracking-uri {uri}", 1, "'42'"),
    ("runs-describe-unknown", "runs describe -r deadbeef --tracking-uri {uri}", 1, "runs list"),
    ("runs-delete-unknown", "runs delete -r deadbeef --tracking-uri {uri}", 1, "'deadbeef'"),
    ("runs-restore-unknown", "runs restore -r deadbeef --tracking-uri {uri}", 1, "'deadbeef'"),
    (
        "runs-list-bad-filter",
        "runs list -x LLM-FineTuning --filter metrics.eval_loss< --tracking-uri {uri}",
        1,
        "eval_loss",
    ),
    ("runs-list-unknown-experiment", "runs list -x 42 --tracking-uri {uri}", 1, "No experiment with id or name '42'"),
    ("runs-list-unknown-name", "runs list -x LLM-FineTunin --tracking-uri {uri}", 1, "'LLM-FineTunin'"),
    ("runs-list-bad-column", "runs list -x 1 -c eval_loss --tracking-uri {uri}", 2, "metrics.<key>"),
    ("runs-list-no-store", "runs list --tracking-uri {tmp}/typo", 1, "--tracking-uri"),
    ("artifacts-list-unknown-run", "artifacts list -r deadbeef --tracking-uri {uri}", 1, "'deadbeef'"),
    ("artifacts-list-no-target", "artifacts list --tracking-uri {uri}", 2, "--run-id"),
    ("artifacts-download-bad-dst", "artifacts download -r {run} -d {tmp}/afile --tracking-uri {uri}", 1, "afile"),
    (
        "artifacts-log-missing-file",
        "artifacts log-artifact -l {tmp}/missing.txt -r {run} --tracking-uri {uri}",
        2,
        "missing.txt",
    ),
    (
        "artifacts-log-bad-path",
        "artifacts log-artifact -l {tmp}/afile -r {run} -a ../up --tracking-uri {uri}",
        1,
        "../up",
    ),
    ("db-upgrade-bad-scheme", "db upgrade foo://x", 1, "foo://x"),
    ("server-port-out-of-range", "server --port 99999", 2, "99999"),
    ("ui-port-out-of-range", "ui --port -1", 2, "-1"),
    ("gc-bad-duration", "gc --older-than 3x --backend-store-uri {uri}", 2, "3x"),
    ("run-missing-project", "run {tmp}/no-project", 1, "no-project"),
    ("recipes-run-no-recipe", "recipes run --recipe-root {tmp}", 1, "recipe.yaml"),
    ("runs-list-server-down", "runs list -x 1 --tracking-uri {dead}", 1, "Cannot reach the tracking server"),
    (
        "runs-list-no-database",
        "runs list --tracking-uri postgresql://postgres@127.0.0.1:5432/h_code_nope",
        1,
        "h_code_nope",
    ),
    ("doctor-no-store", "doctor --tracking-uri {tmp}/typo", 1, "PROBLEM"),
]


@pytest.mark.parametrize(("argv", "code", "needle"), [c[1:] for c in BAD_INPUT], ids=[c[0] for c in BAD_INPUT])
def test_bad_input_is_one_error_line(
    store: dict[str, str], argv: str, code: int, needle: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_MLTRACK_HTTP_REQUEST_MAX_RETRIES", "0")
    Path(store["tmp"], "afile").write_text("x")
    sock, port = _busy_port()
    sock.close()  # a port nobody listens on
    dead = f"http://127.0.0.1:{port}"
    args = argv.format(uri=store["uri"], run=store["run0"], tmp=store["tmp"], dead=dead).split()
    exit_code, output = _invoke(*args)
    assert exit_code == code, output
    assert "Traceback" not in output
    if argv.startswith("doctor"):
        assert needle in output and "tracking store" in output
        return
    errors = [line for line in output.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, output
    assert needle in errors[0], output
    assert not Path(store["tmp"], "typo").exists()  # read commands never create a store


@pytest.mark.parametrize("workers", ["1", "2"])
def test_busy_port_names_the_address_and_suggests_port(tmp_path: Path, workers: str) -> None:
    sock, port = _busy_port()
    try:
        code, output = _invoke("server", "--port", str(port), "-w", workers, "--backend-store-uri", str(tmp_path))
    finally:
        sock.close()
    assert code == 1
    assert f"Error: Cannot listen on 127.0.0.1:{port}: the address is already in use" in output
    assert "--port " in output and "listening on" not in output


def test_runs_list_defaults_to_the_latest_experiment_and_says_so(store: dict[str, str]) -> None:
    code, output = _invoke("runs", "list", "--tracking-uri", store["uri"])
    assert code == 0, output
    assert f"Experiment 'LLM-FineTuning' (id {store['exp_id']}), the latest" in output
    assert store["run0"] in output and store["run1"] in output


def test_runs_list_by_name_with_metric_and_param_columns(store: dict[str, str]) -> None:
    code, output = _invoke(
        "runs", "list", "-x", "LLM-FineTuning", "-c", "metrics.eval_loss,params.learning_rate",
        "--order-by", "metrics.eval_loss ASC", "--tracking-uri", store["uri"],
    )  # fmt: skip
    assert code == 0, output
    lines = output.splitlines()
    assert lines[0].split() == ["run", "id", "status", "name", "metrics.eval_loss", "params.learning_rate"]
    assert lines[1].split()[0] == store["run1"] and lines[1].split()[-2:] == ["0.5", "0.0002"]
    assert lines[2].split()[0] == store["run0"] and lines[2].split()[-2:] == ["1.5", "0.0001"]


def test_runs_describe_json_and_text(store: dict[str, str]) -> None:
    code, output = _invoke("runs", "describe", "-r", store["run0"], "--tracking-uri", store["uri"])
    assert code == 0 and json.loads(output)["info"]["run_id"] == store["run0"]
    code, output = _invoke("runs", "describe", "-r", store["run0"], "--format", "text", "--tracking-uri", store["uri"])
    assert code == 0
    assert "params (1)" in output and "learning_rate  0.0001" in output
    assert "metrics (1)" in output and "eval_loss  1.5" in output
    assert "hf_mltrack.runName" in output  # tags


def test_experiments_csv(store: dict[str, str], tmp_path: Path) -> None:
    code, output = _invoke("experiments", "csv", "-x", "LLM-FineTuning", "--tracking-uri", store["uri"])
    assert code == 0, output
    rows = list(csv.DictReader(io.StringIO(output)))
    assert {r["run_id"] for r in rows} == {store["run0"], store["run1"]}
    assert {r["metrics.eval_loss"] for r in rows} == {"1.5", "0.5"}
    out = tmp_path / "runs.csv"
    code, _ = _invoke("experiments", "csv", "-x", store["exp_id"], "-o", str(out), "--tracking-uri", store["uri"])
    assert code == 0 and len(list(csv.DictReader(out.open()))) == 2


def test_artifacts_log_list_download(store: dict[str, str], tmp_path: Path) -> None:
    local = tmp_path / "weights.bin"
    local.write_bytes(b"\0" * 10)
    uri, run = store["uri"], store["run1"]
    code, output = _invoke(
        "artifacts", "log-artifact", "-l", str(local), "-r", run, "-a", "ckpt", "--tracking-uri", uri
    )
    assert code == 0, output
    code, output = _invoke("artifacts", "list", "-r", run, "--tracking-uri", uri)
    assert code == 0 and output.split() == ["-", "ckpt/"]
    code, output = _invoke("artifacts", "list", "-r", run, "-a", "ckpt", "--tracking-uri", uri)
    assert output.split() == ["10", "ckpt/weights.bin"]
    dst = tmp_path / "dl"
    code, output = _invoke("artifacts", "download", "-r", run, "-a", "ckpt", "-d", str(dst), "--tracking-uri", uri)
    assert code == 0, output
    assert (Path(output.strip()) / "weights.bin").read_bytes() == b"\0" * 10
    code, output = _invoke("artifacts", "download", "-u", f"runs:/{store['run0']}/notes/readme.txt", "-d", str(dst),
                           "--tracking-uri", uri)  # fmt: skip
    assert code == 0 and Path(output.strip()).read_text() == "hello"


def test_doctor_reports_versions_and_store(store: dict[str, str]) -> None:
    code, output = _invoke("doctor", "--tracking-uri", store["uri"])
    assert code == 0, output
    assert f"hf_mltrack {hf_mltrack.__version__}" in output
    assert "sqlalchemy" in output
    assert "tracking store (--tracking-uri): ok:" in output and "(current)" in output
