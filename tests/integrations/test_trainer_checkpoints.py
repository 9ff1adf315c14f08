"""Checkpoints as run artifacts: background, zero-copy on local stores, adapter-only for PEFT, last N kept."""

from __future__ import annotations

import os

import pytest
from integrations_helpers import files_under, only_run

from hf_mltrack.artifacts import get_artifact_repository
from hf_mltrack.integrations import MlTrackCallback
from hf_mltrack.integrations._checkpoints import CheckpointLogger


def _local_root(artifact_uri: str) -> str:
    from hf_mltrack.artifacts.uri import local_path_from_uri

    return local_path_from_uri(artifact_uri)


def test_checkpoints_logged_zero_copy_and_rotated(tracked, client, make_gpt2, make_args, lm_dataset, tmp_path):
    from transformers import Trainer

    args = make_args(report_to="none", save_strategy="steps", save_steps=2, max_steps=6)
    callback = MlTrackCallback(log_checkpoints=True, keep_last_checkpoints=2)
    Trainer(model=make_gpt2(), args=args, train_dataset=lm_dataset, callbacks=[callback]).train()

    run = only_run(client)
    repo = get_artifact_repository(run.info.artifact_uri)
    logged = sorted(os.path.basename(f.path) for f in repo.list_artifacts("checkpoints"))
    assert logged == ["checkpoint-4", "checkpoint-6"]
    root = _local_root(run.info.artifact_uri)
    files = files_under(os.path.join(root, "checkpoints", "checkpoint-6"))
    assert {"model.safetensors", "config.json", "trainer_state.json", "optimizer.pt"} <= files
    # zero-copy: the artifact is the checkpoint's own file (same inode), not a copy
    source = tmp_path / "out" / "checkpoint-6" / "model.safetensors"
    artifact = os.path.join(root, "checkpoints", "checkpoint-6", "model.safetensors")
    assert os.stat(source).st_ino == os.stat(artifact).st_ino
    # no staging folders left behind, and the Trainer still finds its checkpoints
    assert not [p for p in os.listdir(tmp_path / "out") if p.startswith(".hf_mltrack")]
    assert run.info.status == "FINISHED"


def test_env_variable_turns_checkpoint_logging_on(tracked, client, make_gpt2, make_args, lm_dataset, monkeypatch):
    from transformers import Trainer

    monkeypatch.setenv("HF_MLTRACK_LOG_CHECKPOINTS", "true")
    args = make_args(save_strategy="steps", save_steps=2, max_steps=2, save_total_limit=1)
    Trainer(model=make_gpt2(), args=args, train_dataset=lm_dataset).train()
    repo = get_artifact_repository(only_run(client).info.artifact_uri)
    assert [os.path.basename(f.path) for f in repo.list_artifacts("checkpoints")] == ["checkpoint-2"]


def test_peft_checkpoints_hold_adapter_files_only(tracked, client, make_gpt2, make_args, lm_dataset):
    from peft import LoraConfig, get_peft_model
    from transformers import Trainer

    model = get_peft_model(make_gpt2(), LoraConfig(r=2, target_modules=["c_attn"], task_type="CAUSAL_LM"))
    args = make_args(report_to="none", save_strategy="steps", save_steps=2, max_steps=2)
    Trainer(model=model, args=args, train_dataset=lm_dataset, callbacks=[MlTrackCallback(log_checkpoints=True)]).train()
    root = _local_root(only_run(client).info.artifact_uri)
    files = files_under(os.path.join(root, "checkpoints", "checkpoint-2"))
    assert "adapter_model.safetensors" in files and "adapter_config.json" in files
    assert "trainer_state.json" in files
    assert not {"optimizer.pt", "scheduler.pt", "model.safetensors"} & files
    assert not any(f.startswith("rng_state") for f in files)


def test_snapshot_survives_deletion_of_the_checkpoint(tracking_uri, client, tmp_path):
    """The Trainer may rotate a checkpoint away right after on_save: the upload still completes."""
    run = client.create_run("0")
    folder = tmp_path / "checkpoint-7"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(b"w" * 1000)
    (folder / "sub").mkdir()
    (folder / "sub" / "a.json").write_text("{}")
    logger = CheckpointLogger(run.info.artifact_uri, keep_last=1)
    logger.submit(str(folder))
    for path in sorted(folder.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    folder.rmdir()
    logger.close()
    root = _local_root(run.info.artifact_uri)
    assert files_under(os.path.join(root, "checkpoints", "checkpoint-7")) == {"weights.bin", "sub/a.json"}
    assert logger.logged_paths == ["checkpoints/checkpoint-7"]


@pytest.mark.parametrize(
    ("uri", "local"),
    [
        ("file:///tmp/a", True),
        ("/tmp/a", True),
        ("relative/dir", True),
        ("mlflow-artifacts:/0/abc/artifacts", False),
        ("s3://bucket/key", False),
        ("http://host/x", False),
    ],
    ids=["file", "abs", "relative", "proxy", "s3", "http"],
)
def test_is_local_artifact_uri(uri: str, local: bool) -> None:
    from hf_mltrack.integrations._checkpoints import is_local_artifact_uri

    assert is_local_artifact_uri(uri) is local
