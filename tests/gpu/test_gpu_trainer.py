"""A Trainer run in bf16 on the GPU with report_to="hf_mltrack" and checkpoint logging."""

from __future__ import annotations

import pytest
import torch

import hf_mltrack

from .conftest import BF16, DEVICE_TYPE, ON_CPU

pytestmark = pytest.mark.skipif(not BF16, reason="this GPU has no bfloat16")


def test_bf16_trainer_run_with_checkpoints(store, gpt2_folder, tmp_path, monkeypatch, free_gpu):
    from transformers import (
        AutoModelForCausalLM,
        AutoTokenizer,
        DataCollatorForLanguageModeling,
        Trainer,
        TrainingArguments,
    )

    from hf_mltrack.quickstart.tiny import build_dataset

    monkeypatch.setenv("HF_MLTRACK_LOG_CHECKPOINTS", "true")
    tok = AutoTokenizer.from_pretrained(gpt2_folder)
    model = AutoModelForCausalLM.from_pretrained(gpt2_folder)
    train, evals = build_dataset(tok)
    args = TrainingArguments(
        str(tmp_path / "out"),
        max_steps=20,
        per_device_train_batch_size=4,
        logging_steps=1,
        save_steps=10,
        eval_strategy="steps",
        eval_steps=10,
        bf16=True,
        use_cpu=ON_CPU,
        report_to="hf_mltrack",
        run_name="gpu-bf16",
    )
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=train,
        eval_dataset=evals,
        data_collator=DataCollatorForLanguageModeling(tok, mlm=False),
    )
    trainer.train()
    assert next(model.parameters()).device.type == DEVICE_TYPE
    client = hf_mltrack.MlTrackClient()
    [run] = client.search_runs(
        client.get_experiment_by_name("Default").experiment_id, "attributes.run_name = 'gpu-bf16'"
    )
    assert run.info.status == "FINISHED"
    assert run.data.params["bf16"] == "True"
    losses = client.get_metric_history(run.info.run_id, "loss")
    assert len(losses) == 20 and all(torch.isfinite(torch.tensor(m.value)) for m in losses)
    assert "eval_loss" in run.data.metrics
    logged = {f.path for f in client.list_artifacts(run.info.run_id, "checkpoints")}
    assert {"checkpoints/checkpoint-10", "checkpoints/checkpoint-20"} <= logged
