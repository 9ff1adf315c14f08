"""``hf-mltrack quickstart``: a real tiny LoRA fine-tune, tracked, registered and loaded back, offline."""

from __future__ import annotations

import ast
import os
import re
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("peft")

from hf_mltrack.cli import cli  # noqa: E402


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Refuse every connection that leaves the machine (loopback and Unix sockets stay allowed)."""
    attempts: list[object] = []
    original = socket.socket.connect

    def connect(self: socket.socket, address: object) -> None:
        host = address[0] if isinstance(address, tuple) else None
        if host is not None and host not in ("127.0.0.1", "::1", "localhost"):
            attempts.append(address)
            raise OSError(f"network access attempted in the quickstart: {address}")
        return original(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return attempts


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread() -> None:
    import torch

    torch.set_num_threads(1)  # 2 shared cores: more threads only add contention for a tiny model


def _summary_value(output: str, label: str) -> str:
    match = re.search(rf"^  {label}\s+(.+)$", output, re.MULTILINE)
    assert match, f"{label!r} missing from the summary:\n{output}"
    return match.group(1).strip()


def test_quickstart_into_default_mlruns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_network) -> None:
    monkeypatch.delenv("HF_MLTRACK_HOME")  # what a fresh machine has: the store goes to ./mlruns
    monkeypatch.chdir(tmp_path)

    result = CliRunner().invoke(cli, ["quickstart", "--steps", "12"], catch_exceptions=False)

    assert result.exit_code == 0, result.output
    assert no_network == []
    assert (tmp_path / "mlruns" / "mltrack.db").is_file()
    out = result.output
    run_id = _summary_value(out, "run id").split()[0]
    assert "Open the UI: hf-mltrack ui" in out
    assert _summary_value(out, "registered model") == "quickstart-tiny-gpt2-lora version 1"

    import hf_mltrack
    import hf_mltrack.transformers as hft

    client = hf_mltrack.MlTrackClient(f"sqlite:///{tmp_path / 'mlruns' / 'mltrack.db'}")
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.data.tags["hf_mltrack.runName"] == "quickstart-lora"
    assert run.data.tags["hf_mltrack.autologging"] == "transformers"  # the Trainer callback came from autolog
    assert client.get_experiment(run.info.experiment_id).name == "quickstart"
    # params from the Trainer callback (arguments, PEFT config, counts) and our own
    params = run.data.params
    assert params["max_steps"] == "12"
    assert params["peft.r"] == "8" and params["lora_rank"] == "8"
    trainable = int(params["num_trainable_parameters"])
    assert 0 < trainable < int(params["num_parameters"])
    assert f"{trainable:,} trainable" in _summary_value(out, "parameters")
    # metrics: the training loss at each logging step, then the final evaluation
    losses = client.get_metric_history(run_id, "loss")
    assert [m.step for m in losses] == [2, 4, 6, 8, 10, 12]
    assert losses[-1].value < losses[0].value  # it learned something
    assert f"{losses[-1].value:.4f} in 12 steps" in _summary_value(out, "train loss")
    eval_loss = run.data.metrics["eval_loss"]
    assert run.data.metrics["eval_perplexity"] == pytest.approx(2.718281828**eval_loss, rel=1e-6)
    assert _summary_value(out, "eval loss") == f"{eval_loss:.4f}"

    # the registered version points at this run's adapter-only model, whose base is logged beside it
    version = client.get_model_version("quickstart-tiny-gpt2-lora", 1)
    assert version.run_id == run_id
    artifacts = {a.path for a in client.list_artifacts(run_id)}
    assert {"model", "base_model", "trainer_state.json"} <= artifacts
    assert {a.path for a in client.list_artifacts(run_id, "model/peft")} == {
        "model/peft/adapter_config.json",
        "model/peft/adapter_model.safetensors",
    }

    # the printed generation is what the registered model produces when loaded again
    hf_mltrack.set_tracking_uri(client.tracking_uri)
    pipe = hft.load_model("models:/quickstart-tiny-gpt2-lora/latest", device="cpu")
    prompt = ast.literal_eval(_summary_value(out, "prompt"))  # printed with repr()
    text = pipe(prompt, max_new_tokens=16, do_sample=False)[0]["generated_text"]
    assert text.startswith(prompt)
    assert repr(text[len(prompt) :]) == _summary_value(out, "generated")


def test_quickstart_tracking_uri_adds_versions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = tmp_path / "team-store"
    runner = CliRunner()
    for expected_version in ("1", "2"):
        result = runner.invoke(
            cli, ["quickstart", "--steps", "2", "--tracking-uri", str(store)], catch_exceptions=False
        )
        assert result.exit_code == 0, result.output
        assert _summary_value(result.output, "registered model").endswith(f"version {expected_version}")

    uri = f"sqlite:///{store / 'mltrack.db'}"
    assert f"hf-mltrack ui --backend-store-uri '{uri}'" in result.output
    assert not (tmp_path / "mlruns").exists()
    # nothing went to the default store (on a loaded machine the writer may spill points awaiting their commit
    # to the journal folder under the home, which is not a store)
    home = Path(os.environ["HF_MLTRACK_HOME"])
    assert not home.exists() or {p.name for p in home.iterdir()} <= {"journal"}

    import hf_mltrack

    client = hf_mltrack.MlTrackClient(uri)
    runs = client.search_runs([client.get_experiment_by_name("quickstart").experiment_id])
    assert len(runs) == 2 and {r.info.status for r in runs} == {"FINISHED"}
    assert all(len(client.get_metric_history(r.info.run_id, "loss")) == 2 for r in runs)
    versions = client.search_model_versions("name = 'quickstart-tiny-gpt2-lora'")
    assert sorted(str(v.version) for v in versions) == ["1", "2"]
    assert {v.run_id for v in versions} == {r.info.run_id for r in runs}


def test_quickstart_rejects_zero_steps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["quickstart", "--steps", "0"])
    assert result.exit_code == 2
    assert "--steps" in result.output and "0" in result.output
    assert not Path(os.environ["HF_MLTRACK_HOME"]).exists()


def test_quickstart_listed_in_cli_help() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert re.search(r"^\s+quickstart\s+Fine-tune a tiny GPT-2", result.output, re.MULTILINE), result.output
