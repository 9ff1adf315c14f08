"""The Trainer as MLflow 3 would want it: datasets as run inputs, every logged checkpoint a LoggedModel
with its step's eval metrics, the best checkpoint of a sweep one search away, registered and loaded
back as a pipeline."""

from __future__ import annotations

import math

import pytest

import hf_mltrack
from hf_mltrack.integrations import MlTrackCallback

datasets = pytest.importorskip("datasets")


def _hf_split(tokenizer, sentences: list[str]):  # noqa: ANN001, ANN202
    rows = tokenizer(sentences, padding="max_length", max_length=8, truncation=True)
    return datasets.Dataset.from_dict({"input_ids": rows["input_ids"], "labels": rows["input_ids"]})


@pytest.mark.slow
def test_sweep_best_checkpoint_is_one_search_away(tracked, make_gpt2, make_args, tokenizer, tmp_path) -> None:
    from transformers import Trainer

    words = sorted(w for w in tokenizer.get_vocab() if not w.startswith("["))
    sentences = [" ".join(words[i : i + 6]) for i in range(0, len(words), 3)]
    train = _hf_split(tokenizer, sentences * 2)
    evals = _hf_split(tokenizer, sentences[:4])
    hf_mltrack.set_experiment("sweep")
    run_ids = []
    for lr in (5e-3, 5e-4):
        args = make_args(
            output_dir=str(tmp_path / f"out-{lr}"),
            learning_rate=lr,
            max_steps=6,
            eval_strategy="steps",
            eval_steps=2,
            save_strategy="steps",
            save_steps=2,
            load_best_model_at_end=True,
            metric_for_best_model="eval_loss",
            report_to="none",
        )
        callback = MlTrackCallback(log_checkpoints=True, log_model=True, run_name=f"lr-{lr}")
        trainer = Trainer(
            model=make_gpt2(),
            args=args,
            train_dataset=train,
            eval_dataset=evals,
            processing_class=tokenizer,
            callbacks=[callback],
        )
        trainer.train()
        run_ids.append(callback._run_id)

    client = hf_mltrack.MlTrackClient()
    checkpoints = hf_mltrack.search_logged_models(
        filter_string="model_type = 'checkpoint'",
        order_by=[{"field_name": "metrics.eval_loss", "ascending": True, "dataset_name": "eval"}],
        output_format="list",
    )
    assert len(checkpoints) == 6 and {m.status for m in checkpoints} == {"READY"}
    assert {m.source_run_id for m in checkpoints} == set(run_ids)
    assert {m.name for m in checkpoints} == {"checkpoint-2", "checkpoint-4", "checkpoint-6"}
    # the first is the lowest eval_loss of all six evaluations of the sweep
    # (the run's history holds each evaluation once as the Trainer logged it, and again linked to the
    # checkpoint saved at that step, as MLflow 3 keeps a model's metrics: a series per model and dataset)
    history = [(run_id, m) for run_id in run_ids for m in client.get_metric_history(run_id, "eval_loss")]
    evals_logged = [(m.value, run_id, m.step) for run_id, m in history if m.model_id is None]
    assert len(evals_logged) == 6
    linked_points = sorted((m.value, run_id, m.step) for run_id, m in history if m.model_id is not None)
    assert {m.model_id for _, m in history if m.model_id} >= {c.model_id for c in checkpoints}
    assert set(linked_points) >= set(evals_logged)  # each evaluation linked to its checkpoint
    best_value, best_run, best_step = min(evals_logged)
    best = checkpoints[0]
    (linked,) = [m for m in best.metrics if m.key == "eval_loss"]
    assert (linked.value, best.source_run_id, linked.step) == (best_value, best_run, best_step)
    assert best.name == f"checkpoint-{best_step}" and linked.dataset_digest == evals._fingerprint[:8]
    assert [m.metrics[0].value for m in checkpoints if m.metrics] == sorted(v for v, _, _ in evals_logged)

    # the run read its datasets and produced its checkpoints and final model
    run = client.get_run(best_run)
    contexts = {d.context: d.dataset for d in run.inputs.dataset_inputs}
    assert set(contexts) == {"training", "eval"} and contexts["eval"].digest == evals._fingerprint[:8]
    assert (contexts["training"].name, contexts["eval"].name) == ("train", "eval")
    assert sorted(o.step for o in run.outputs.model_outputs) == [2, 4, 6, 6]  # 3 checkpoints, final model
    (final,) = hf_mltrack.search_logged_models(
        filter_string=f"name = 'model' and source_run_id = '{best_run}'", output_format="list"
    )
    assert final.tags["hf_mltrack.best_checkpoint"] == f"checkpoint-{best_step}"
    assert [(m.key, m.value) for m in final.metrics] == [("eval_loss", best_value)]
    assert client.get_logged_model(best.model_id).tags["hf_mltrack.checkpoint.best"] == "true"

    # registered from the logged model, loaded back as a pipeline
    mv = hf_mltrack.register_model(best.model_uri, "sweep-best")
    assert mv.model_id == best.model_id and mv.run_id == best_run
    pipe = hf_mltrack.transformers.load_model("models:/sweep-best/1", device="cpu")
    out = pipe("models learn", max_new_tokens=2, do_sample=False)
    assert isinstance(out[0]["generated_text"], str)
    assert not math.isnan(best_value)


@pytest.mark.slow
def test_trl_sft_trainer_checkpoints_are_logged_models(tracked, tmp_path, monkeypatch) -> None:
    trl = pytest.importorskip("trl")
    from hf_mltrack.quickstart.tiny import CORPUS, build_gpt2, build_tokenizer

    monkeypatch.setenv("HF_MLTRACK_LOG_CHECKPOINTS", "true")
    monkeypatch.setenv("HF_MLTRACK_LOG_MODEL", "false")
    tokenizer = build_tokenizer()
    texts = list(CORPUS)
    config = trl.SFTConfig(
        output_dir=str(tmp_path / "sft"),
        report_to="hf_mltrack",
        max_steps=6,
        per_device_train_batch_size=4,
        per_device_eval_batch_size=4,
        eval_strategy="steps",
        eval_steps=2,
        save_strategy="steps",
        save_steps=2,
        logging_steps=1,
        learning_rate=5e-3,
        max_length=32,
        use_cpu=True,
        disable_tqdm=True,
        dataloader_num_workers=0,
        seed=0,
    )
    trainer = trl.SFTTrainer(
        model=build_gpt2(tokenizer),
        args=config,
        train_dataset=datasets.Dataset.from_dict({"text": texts[:-4]}),
        eval_dataset=datasets.Dataset.from_dict({"text": texts[-4:]}),
        processing_class=tokenizer,
    )
    trainer.train()
    models = hf_mltrack.search_logged_models(
        filter_string="model_type = 'checkpoint'",
        order_by=[{"field_name": "metrics.eval_loss", "ascending": True}],
        output_format="list",
    )
    assert sorted(m.name for m in models) == ["checkpoint-2", "checkpoint-4", "checkpoint-6"]
    assert {m.status for m in models} == {"READY"}
    losses = [next(x.value for x in m.metrics if x.key == "eval_loss") for m in models]
    assert losses == sorted(losses)
    run = hf_mltrack.get_run(models[0].source_run_id)
    assert {d.context for d in run.inputs.dataset_inputs} == {"training", "eval"}
    pipe = hf_mltrack.transformers.load_model(models[0].model_uri, device="cpu")
    assert isinstance(pipe("the model", max_new_tokens=2, do_sample=False)[0]["generated_text"], str)
