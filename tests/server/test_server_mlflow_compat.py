"""The official `mlflow` client (mlflow-skinny) and transformers' report_to="mlflow" against our server.

`mlflow` is not a dependency of hf_mltrack (installing it makes transformers report to it by default),
so these tests run it in a subprocess: the current interpreter if it has `mlflow`, or the one named by
``MLTRACK_TEST_MLFLOW_PYTHON`` (e.g. a venv made with ``python -m venv --system-site-packages`` and
``pip install mlflow-skinny``). Without either they are skipped.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import pytest

from hf_mltrack.tracking import MlTrackClient

_PYTHON = os.environ.get("MLTRACK_TEST_MLFLOW_PYTHON") or (
    sys.executable if importlib.util.find_spec("mlflow") is not None else None
)
pytestmark = pytest.mark.skipif(_PYTHON is None, reason="needs mlflow (set MLTRACK_TEST_MLFLOW_PYTHON)")

MLFLOW_SCRIPT = textwrap.dedent(
    """
    import json, os, tempfile
    import mlflow
    from mlflow import MlflowClient

    mlflow.set_experiment("mlflow-compat")
    with mlflow.start_run(run_name="compat") as run:
        mlflow.log_param("lr", 0.01)
        mlflow.log_params({"epochs": 3, "model": "gpt2"})
        for i in range(20):
            mlflow.log_metric("loss", 1 / (i + 1), step=i)
        mlflow.log_metrics({"acc": 0.9, "f1": 0.8}, step=19)
        mlflow.set_tag("team", "nlp")
        mlflow.log_text("hello", "notes/hello.txt")
        mlflow.log_dict({"k": 1}, "cfg.json")
        folder = tempfile.mkdtemp()
        with open(os.path.join(folder, "w.bin"), "wb") as f:
            f.write(b"\\x00\\x01" * 5000)
        mlflow.log_artifact(os.path.join(folder, "w.bin"), "model")
    client = MlflowClient()
    r = client.get_run(run.info.run_id)
    print(json.dumps({
        "run_id": run.info.run_id,
        "experiment_id": run.info.experiment_id,
        "status": r.info.status,
        "run_name": r.info.run_name,
        "params": r.data.params,
        "metrics": r.data.metrics,
        "tags": r.data.tags,
        "history": [[m.step, m.value] for m in client.get_metric_history(run.info.run_id, "loss")],
        "search": list(
            mlflow.search_runs(filter_string="metrics.acc > 0.5 and params.model = 'gpt2'")["run_id"]
        ),
        "artifacts": sorted(f.path for f in client.list_artifacts(run.info.run_id)),
        "model_dir": sorted(f.path for f in client.list_artifacts(run.info.run_id, "model")),
        "text": mlflow.artifacts.load_text(f"runs:/{run.info.run_id}/notes/hello.txt"),
        "experiment": client.get_experiment_by_name("mlflow-compat").experiment_id,
    }))
    """
)


def _run_mlflow(script: str, url: str, extra_env: dict[str, str] | None = None, timeout: int = 240) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update({"MLFLOW_TRACKING_URI": url, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", **(extra_env or {})})
    proc = subprocess.run([_PYTHON, "-c", script], env=env, capture_output=True, text=True, timeout=timeout)  # type: ignore[list-item]
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_mlflow_client_logs_and_reads_back(live_server, tmp_path):
    out = _run_mlflow(MLFLOW_SCRIPT, live_server.url)
    run_id = out["run_id"]
    assert out["status"] == "FINISHED" and out["run_name"] == "compat"
    assert out["params"] == {"lr": "0.01", "epochs": "3", "model": "gpt2"}
    assert out["metrics"] == {"loss": 0.05, "acc": 0.9, "f1": 0.8}
    assert out["tags"]["team"] == "nlp" and out["tags"]["mlflow.runName"] == "compat"
    assert [s for s, _ in out["history"]] == list(range(20)) and out["history"][1][1] == 0.5
    assert out["search"] == [run_id]
    assert out["artifacts"] == ["cfg.json", "model", "notes"]
    assert out["model_dir"] == ["model/w.bin"]
    assert out["text"] == "hello"
    assert out["experiment"] == out["experiment_id"]

    # what mlflow wrote is what hf_mltrack reads, and the artifacts went through the proxy
    ours = MlTrackClient(live_server.url).get_run(run_id)
    assert ours.data.params == out["params"] and ours.data.metrics == out["metrics"]
    assert ours.info.artifact_uri == f"mlflow-artifacts:/{out['experiment_id']}/{run_id}/artifacts"
    stored = tmp_path / "mlartifacts" / out["experiment_id"] / run_id / "artifacts"
    assert (stored / "notes" / "hello.txt").read_text() == "hello"
    assert (stored / "model" / "w.bin").stat().st_size == 10_000


def test_mlflow_client_with_basic_auth(make_app, server_thread, monkeypatch):
    import base64

    from fastapi.testclient import TestClient

    monkeypatch.setenv("HF_MLTRACK_AUTH_ADMIN_PASSWORD", "admin-password-123")
    app = make_app(auth="basic-auth")
    admin = TestClient(
        app, headers={"Authorization": "Basic " + base64.b64encode(b"admin:admin-password-123").decode()}
    )
    assert (
        admin.post("/api/2.0/mlflow/users/create", json={"username": "ml", "password": "ml-password-1234"}).status_code
        == 200
    )
    server = server_thread(app)
    script = textwrap.dedent(
        """
        import json, mlflow
        mlflow.set_experiment("auth-exp")
        with mlflow.start_run() as run:
            mlflow.log_metric("m", 1.0)
            mlflow.log_text("x", "a.txt")
        print(json.dumps({"run_id": run.info.run_id}))
        """
    )
    out = _run_mlflow(
        script, server.url, {"MLFLOW_TRACKING_USERNAME": "ml", "MLFLOW_TRACKING_PASSWORD": "ml-password-1234"}
    )
    run = admin.get("/api/2.0/mlflow/runs/get", params={"run_id": out["run_id"]}).json()["run"]
    assert run["info"]["user_id"] == "ml"
    env = {"MLFLOW_TRACKING_USERNAME": "ml", "MLFLOW_TRACKING_PASSWORD": "wrong-password-1"}
    bad = subprocess.run(
        [_PYTHON, "-c", "import mlflow; mlflow.set_experiment('auth-exp')"],  # type: ignore[list-item]
        env={**os.environ, "MLFLOW_TRACKING_URI": server.url, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode != 0 and "UNAUTHENTICATED" in bad.stderr


TRAINER_SCRIPT = textwrap.dedent(
    """
    import json, os
    os.environ["WANDB_DISABLED"] = "true"
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel, Trainer, TrainingArguments

    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(n_layer=2, n_head=2, n_embd=32, vocab_size=64, n_positions=32))

    class Data(torch.utils.data.Dataset):
        def __len__(self):
            return 32
        def __getitem__(self, i):
            ids = torch.arange(16) % 64
            return {"input_ids": ids, "labels": ids}

    args = TrainingArguments(
        output_dir=os.environ["OUT"], max_steps=6, per_device_train_batch_size=4, logging_steps=1,
        report_to=["mlflow"], run_name="hf-trainer", save_strategy="no", use_cpu=True, disable_tqdm=True,
    )
    Trainer(model=model, args=args, train_dataset=Data()).train()
    import mlflow
    run = mlflow.last_active_run()
    print(json.dumps({"run_id": run.info.run_id}))
    """
)


@pytest.mark.slow
def test_transformers_report_to_mlflow(live_server, tmp_path):
    pytest.importorskip("transformers")
    out = _run_mlflow(
        TRAINER_SCRIPT,
        live_server.url,
        {"OUT": str(tmp_path / "out"), "MLFLOW_EXPERIMENT_NAME": "hf", "HF_MLFLOW_LOG_ARTIFACTS": "0"},
        timeout=400,
    )
    client = MlTrackClient(live_server.url)
    run = client.get_run(out["run_id"])
    assert run.info.status == "FINISHED"
    assert run.data.params["max_steps"] == "6" and run.data.params["n_layer"] == "2"
    assert len(run.data.params) > 100  # more than one log-batch worth: mlflow chunked them for our limits
    assert [m.step for m in client.get_metric_history(out["run_id"], "loss")] == [1, 2, 3, 4, 5, 6]
    assert client.get_experiment(run.info.experiment_id).name == "hf"
