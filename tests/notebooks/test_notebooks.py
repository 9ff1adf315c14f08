"""The notebooks of ``notebooks/``: each runs top to bottom in a fresh folder and leaves what it says.

Every notebook is executed with nbclient (a real kernel) in a temporary working directory; then the
stores it wrote are opened and checked, so a notebook that "ran" but recorded the wrong thing fails.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

pytest.importorskip("nbclient")
pytest.importorskip("nbformat")
pytest.importorskip("ipykernel")
pytest.importorskip("transformers")
pytest.importorskip("peft")

import nbformat  # noqa: E402
from notebook_runner import execute, notebook_paths, stream_text  # noqa: E402

import hf_mltrack  # noqa: E402

NOTEBOOKS = {path.name: path for path in notebook_paths()}


@pytest.fixture
def run_notebook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """``run_notebook(name) -> (workdir, printed text)``, asserting that no hf_mltrack warning was shown."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # 2 shared cores: one torch thread per kernel
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "false")

    def run(name: str) -> tuple[Path, str]:
        workdir = tmp_path / "work"
        workdir.mkdir()
        nb, _seconds = execute(NOTEBOOKS[name], workdir)
        text = stream_text(nb)
        assert "hf_mltrack:" not in text, f"{name} showed an hf_mltrack warning:\n{text}"
        return workdir, text

    return run


def _client(uri: str) -> hf_mltrack.MlTrackClient:
    return hf_mltrack.MlTrackClient(uri)


def test_the_four_scenarios_are_there() -> None:
    assert sorted(NOTEBOOKS) == [
        "01_lora_finetune_tracking.ipynb",
        "02_registry_production_rollback.ipynb",
        "03_compare_models.ipynb",
        "04_server_and_ui.ipynb",
    ]


@pytest.mark.parametrize("name", sorted(NOTEBOOKS))
def test_committed_with_outputs(name: str) -> None:
    nb = nbformat.read(NOTEBOOKS[name], as_version=4)
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code and all(cell.execution_count for cell in code), "execute the notebook before committing it"
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1)), "run top to bottom"
    for cell in code:
        for out in cell.outputs:
            assert out.output_type != "error", f"{name}: committed with an error:\n{cell.source}"
    assert any(cell.outputs for cell in code)
    assert nb.metadata["kernelspec"]["name"] == "python3"


def test_lora_finetune_tracking(run_notebook) -> None:
    workdir, text = run_notebook("01_lora_finetune_tracking.ipynb")
    client = _client(str(workdir / "mlruns"))
    experiment = client.get_experiment_by_name("LLM-Instruction-Tuning")
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "tiny-gpt2-lora-instructions"
    assert run.data.tags["method"] == "lora"
    assert run.data.params["lora_rank"] == "16" and run.data.params["peft.r"] == "16"
    assert float(run.data.params["trainable_params_pct"]) > 0
    losses = client.get_metric_history(run.info.run_id, "loss")
    assert [m.step for m in losses] == [5, 10, 15, 20, 25, 30]
    eval_steps = [m.step for m in client.get_metric_history(run.info.run_id, "eval_loss")]
    assert eval_steps == [10, 20, 30]  # the final evaluation is logged at the last step, not at 0
    assert run.data.metrics["total_train_steps"] == 30
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"model", "training_logs", "plots"} <= artifacts
    assert {a.path for a in client.list_artifacts(run.info.run_id, "plots")} == {"plots/loss_curve.png"}
    version = client.get_model_version("tiny-gpt2-lora-instructions", 1)
    assert version.run_id == run.info.run_id
    assert f"Run finished! Run ID: {run.info.run_id}" in text
    assert "### Instruction: what is a model registry? ### Response:" in text  # the loaded pipeline generated


def test_registry_production_and_rollback(run_notebook) -> None:
    workdir, text = run_notebook("02_registry_production_rollback.ipynb")
    client = _client(str(workdir / "mlruns"))
    name = "tiny-gpt2-lora-alpaca"
    stages = {v.version: v.current_stage for v in client.search_model_versions(f"name = '{name}'")}
    assert stages == {"1": "Production", "2": "Archived"}  # rolled back
    v1 = client.get_model_version(name, 1)
    assert v1.tags == {"approved_by": "tech-lead"}
    assert v1.description.startswith("passed evaluation")
    assert v1.aliases == ["champion"]
    moves = [
        (e.version, e.from_stage, e.to_stage)
        for e in client.get_registered_model_history(name, event="stage_transition")
    ]
    assert moves == [
        ("1", "None", "Staging"),
        ("1", "Staging", "Production"),
        ("2", "None", "Staging"),
        ("1", "Production", "Archived"),
        ("2", "Staging", "Production"),
        ("2", "Production", "Archived"),
        ("1", "Archived", "Production"),
    ]


def test_compare_models(run_notebook) -> None:
    workdir, text = run_notebook("03_compare_models.ipynb")
    client = _client(str(workdir / "mlruns"))
    experiment = client.get_experiment_by_name("LLM-Model-Comparison")
    runs = {r.info.run_name: r for r in client.search_runs([experiment.experiment_id])}
    assert set(runs) == {
        "compare-gpt2-2x32-full",
        "compare-gpt2-2x32-lora",
        "compare-gpt2-2x64-full",
        "compare-gpt2-2x64-lora",
        "comparison-report",
    }
    candidates = [r for name, r in runs.items() if name != "comparison-report"]
    for r in candidates:
        assert r.data.tags["model_type"] == r.info.run_name.rsplit("-", 1)[1]
        assert [m.step for m in client.get_metric_history(r.info.run_id, "eval_loss")] == [5, 10, 15, 20, 25]
    best = min(candidates, key=lambda r: r.data.metrics["eval_loss"])
    assert f"best: {best.info.run_name} " in text
    report = runs["comparison-report"]
    assert {a.path for a in client.list_artifacts(report.info.run_id)} == {"comparison.png", "ranking.json"}
    ranking = json.loads((Path(report.info.artifact_uri.removeprefix("file://")) / "ranking.json").read_text())
    assert ranking["data"][0][0] == best.info.run_name


def test_server_and_ui(run_notebook) -> None:
    workdir, text = run_notebook("04_server_and_ui.ipynb")
    assert "health: OK" in text
    assert "title: hf_mltrack" in text
    assert "port closed: True" in text
    port = int(text.split("--port ", 1)[1].split()[0])
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0  # the server is stopped
    # what the server stored: the run in its database, the model files in its artifact destination
    client = _client(f"sqlite:///{workdir / 'server-store' / 'mltrack.db'}")
    (run,) = client.search_runs([client.get_experiment_by_name("server-demo").experiment_id])
    assert run.info.status == "FINISHED"
    assert run.info.artifact_uri.startswith("mlflow-artifacts:/")
    assert [m.step for m in client.get_metric_history(run.info.run_id, "loss")] == [5, 10, 15, 20]
    assert client.get_model_version("server-demo-gpt2", 1).run_id == run.info.run_id
    stored = {p.name for p in (workdir / "server-artifacts").rglob("*") if p.is_file()}
    assert {"MLmodel", "config.json", "model.safetensors", "trainer_state.json"} <= stored
