"""Generations across checkpoints: `MlTrackCallback(log_generations=[...])` and `hf_mltrack.log_generations`."""

from __future__ import annotations

import json

import pytest
from integrations_helpers import metric_steps, only_run

import hf_mltrack
from hf_mltrack.exceptions import MlTrackException
from hf_mltrack.integrations import MlTrackCallback

PROMPTS = ["the model", "a tiny"]


def _train(make_gpt2, make_args, lm_dataset, tokenizer, name: str, **callback_kwargs):
    from transformers import Trainer

    args = make_args(run_name=name, report_to="none", eval_strategy="steps", eval_steps=2, max_steps=6)
    model = make_gpt2()
    callback = MlTrackCallback(run_name=name, **callback_kwargs)
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=lm_dataset,
        eval_dataset=lm_dataset[:4],
        processing_class=tokenizer,
        callbacks=[callback],
    )
    trainer.train()
    return trainer, callback._run_id


def test_generations_are_logged_per_eval_and_leave_training_unchanged(
    tracked, client, make_gpt2, make_args, lm_dataset, tokenizer
):
    # Sampling draws random numbers and GPT-2 trains with dropout: only restored RNG states keep the
    # training identical to the run without generation.
    plain, plain_id = _train(make_gpt2, make_args, lm_dataset, tokenizer, "plain")
    gen, gen_id = _train(
        make_gpt2,
        make_args,
        lm_dataset,
        tokenizer,
        "with-generations",
        log_generations=PROMPTS,
        generation_kwargs={"do_sample": True, "max_new_tokens": 4},
    )
    assert metric_steps(client, gen_id, "loss") == metric_steps(client, plain_id, "loss")
    assert metric_steps(client, gen_id, "eval_loss") == metric_steps(client, plain_id, "eval_loss")
    for (name, a), b in zip(plain.model.state_dict().items(), gen.model.state_dict().values(), strict=True):
        assert a.equal(b), name

    files = sorted(f.path for f in client.list_artifacts(gen_id, "generations"))
    assert files == [f"generations/step-{s:09d}.json" for s in (2, 4, 6)]
    table = json.loads(open(client.download_artifacts(gen_id, files[1]), encoding="utf-8").read())
    rows = [dict(zip(table["columns"], r, strict=True)) for r in table["data"]]
    assert [r["prompt"] for r in rows] == PROMPTS
    assert all(isinstance(r["output"], str) and r["step"] == 4 for r in rows)
    assert rows[0]["eval_loss"] == pytest.approx(dict(metric_steps(client, gen_id, "eval_loss"))[4])
    assert not client.list_artifacts(plain_id, "generations")  # opt-in


def test_log_generations_public_function(tracked, client):
    with hf_mltrack.start_run() as run:
        path = hf_mltrack.log_generations(["q1", "q2"], ["a1", "a2"], step=10, metrics={"eval_loss": 0.5})
        with pytest.raises(MlTrackException, match="2 prompts and 1 outputs"):
            hf_mltrack.log_generations(["q1", "q2"], ["a1"], step=11)
        with pytest.raises(MlTrackException, match="step must be an int"):
            hf_mltrack.log_generations(["q1"], ["a1"], step=-1)
    assert path == "generations/step-000000010.json"
    table = json.loads(open(client.download_artifacts(run.info.run_id, path), encoding="utf-8").read())
    assert table["columns"] == ["prompt", "output", "step", "eval_loss"]
    assert table["data"] == [["q1", "a1", 10, 0.5], ["q2", "a2", 10, 0.5]]
    assert only_run(client).info.run_id == run.info.run_id
