"""MlTrackCallback on real tiny Trainer runs: params, metrics, run lifecycle, crash handling, resume."""

from __future__ import annotations

import json
import math
import os
import warnings

import pytest
from integrations_helpers import metric_steps, only_run

import hf_mltrack
from hf_mltrack.integrations import MlTrackCallback
from hf_mltrack.integrations._params import REDACTED
from hf_mltrack.utils.validation import TRUNCATION_MARKER


def _trainer(model, args, train, eval_ds=None, **kwargs):
    from transformers import Trainer

    return Trainer(model=model, args=args, train_dataset=train, eval_dataset=eval_ds, **kwargs)


def test_report_to_logs_params_metrics_and_finishes(tracked, client, make_gpt2, make_args, lm_dataset, tokenizer):
    args = make_args(
        run_name="tiny-gpt2",
        eval_strategy="steps",
        eval_steps=2,
        hub_token="hf_" + "a" * 34,
        hub_model_id="m" * 7000,
    )
    trainer = _trainer(make_gpt2(), args, lm_dataset, lm_dataset[:4], processing_class=tokenizer)
    assert any(isinstance(cb, MlTrackCallback) for cb in trainer.callback_handler.callbacks)
    trainer.train()

    run = only_run(client)
    assert run.info.status == "FINISHED"
    assert run.data.tags["hf_mltrack.runName"] == "tiny-gpt2"
    assert run.data.tags["hf_mltrack.trainer.class"] == "Trainer"
    # what the UI's progress bar reads: step of max_steps, epoch of num_train_epochs
    assert run.data.tags["hf_mltrack.trainer.max_steps"] == "4"
    assert float(run.data.tags["hf_mltrack.trainer.num_train_epochs"]) > 0
    params = run.data.params
    # TrainingArguments, flattened; model config under "model."
    assert params["learning_rate"] == "0.001"
    assert params["max_steps"] == "4"
    assert params["accelerator_config.even_batches"] == "True"
    assert params["model.n_layer"] == "2" and params["model.n_embd"] == "32"
    # counts, sizes, environment
    assert int(params["num_parameters"]) == sum(p.numel() for p in trainer.model.parameters())
    assert params["num_trainable_parameters"] == params["num_parameters"]
    assert float(params["trainable_parameters_pct"]) == 100.0
    assert params["train_dataset_size"] == str(len(lm_dataset)) and params["eval_dataset_size"] == "4"
    assert params["world_size"] == "1" and params["gpu.count"] == "0"
    assert params["versions.torch"] and params["versions.transformers"]
    # secrets redacted; a long value truncated with the marker, not dropped
    assert params["hub_token"] == REDACTED
    assert params["hub_model_id"].endswith(TRUNCATION_MARKER) and params["hub_model_id"].startswith("mmmm")
    assert len(params["hub_model_id"]) == 6000

    # every logged step, at step=global_step, with epoch; eval perplexity for a language model
    assert [s for s, _ in metric_steps(client, run.info.run_id, "loss")] == [1, 2, 3, 4]
    assert [s for s, _ in metric_steps(client, run.info.run_id, "epoch")][-1] == 4
    assert [s for s, _ in metric_steps(client, run.info.run_id, "learning_rate")] == [1, 2, 3, 4]
    evals = dict(metric_steps(client, run.info.run_id, "eval_loss"))
    ppl = dict(metric_steps(client, run.info.run_id, "eval_perplexity"))
    assert sorted(evals) == [2, 4] and sorted(ppl) == [2, 4]
    assert ppl[4] == pytest.approx(math.exp(evals[4]))
    assert "train_runtime" in run.data.metrics and "total_flos" in run.data.metrics


def test_classifier_has_no_perplexity_and_logs_model_config(tracked, client, make_args, cls_dataset, tokenizer):
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=16, num_labels=2,
    )  # fmt: skip
    model = BertForSequenceClassification(config)
    trainer = _trainer(model, make_args(eval_strategy="steps", eval_steps=4), cls_dataset, cls_dataset[:4])
    trainer.train()
    run = only_run(client)
    assert "eval_loss" in run.data.metrics
    assert "eval_perplexity" not in run.data.metrics
    assert run.data.params["model.num_hidden_layers"] == "1"
    assert run.data.params["model.hidden_size"] == "16"
    assert run.data.tags["hf_mltrack.model.class"] == "BertForSequenceClassification"


def test_peft_lora_config_and_trainable_counts(tracked, client, make_gpt2, make_args, lm_dataset):
    from peft import LoraConfig, get_peft_model

    model = get_peft_model(
        make_gpt2(),
        LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=["c_attn"], task_type="CAUSAL_LM"),
    )
    trainer = _trainer(model, make_args(max_steps=2), lm_dataset)
    trainer.train()
    params = only_run(client).data.params
    assert params["peft.r"] == "4" and params["peft.lora_alpha"] == "8"
    assert params["peft.peft_type"] == "LORA" and params["peft.task_type"] == "CAUSAL_LM"
    assert json.loads(params["peft.target_modules"]) == ["c_attn"]
    assert params["peft.adapter_name"] == "default"
    trainable, total = model.get_nb_trainable_parameters()
    assert params["num_trainable_parameters"] == str(trainable) and params["num_parameters"] == str(total)
    assert 0 < float(params["trainable_parameters_pct"]) < 100
    assert params["model.n_layer"] == "2"  # the base model's config


def test_joins_the_active_run_and_leaves_it_open(tracked, client, make_gpt2, make_args, lm_dataset):
    with hf_mltrack.start_run(run_name="outer") as run:
        hf_mltrack.log_param("learning_rate", "0.001")  # same value as TrainingArguments: no conflict
        hf_mltrack.log_param("max_steps", 99)  # different value: the user's stays
        _trainer(make_gpt2(), make_args(), lm_dataset).train()
        assert client.get_run(run.info.run_id).info.status == "RUNNING"
        hf_mltrack.log_metric("after_training", 1.0)
    stored = only_run(client)
    assert stored.info.run_id == run.info.run_id
    assert stored.info.status == "FINISHED"
    assert stored.data.params["max_steps"] == "99"
    assert stored.data.params["model.n_layer"] == "2"
    assert [s for s, _ in metric_steps(client, run.info.run_id, "loss")] == [1, 2, 3, 4]


class _StepError(RuntimeError):
    pass


def _failing_trainer_class(fail_at: int, exc: BaseException):
    from transformers import Trainer

    class FailingTrainer(Trainer):
        def training_step(self, model, inputs, num_items_in_batch=None):
            if self.state.global_step == fail_at:
                raise exc
            return super().training_step(model, inputs, num_items_in_batch)

    return FailingTrainer


@pytest.mark.parametrize(
    ("exc", "status"),
    [(_StepError("user bug at step 2"), "FAILED"), (KeyboardInterrupt(), "KILLED")],
    ids=["exception-failed", "ctrl-c-killed"],
)
def test_crash_marks_run_and_propagates_unchanged(tracked, client, make_gpt2, make_args, lm_dataset, exc, status):
    trainer = _failing_trainer_class(2, exc)(model=make_gpt2(), args=make_args(), train_dataset=lm_dataset)
    with pytest.raises(type(exc)) as info:
        trainer.train()
    assert info.value is exc  # the very same exception object
    run = only_run(client)
    assert run.info.status == status
    assert run.info.end_time is not None
    # points logged before the crash were drained, not lost
    assert [s for s, _ in metric_steps(client, run.info.run_id, "loss")] == [1, 2]
    assert hf_mltrack.active_run() is None


def test_error_in_callback_is_one_warning_and_training_completes(tracked, client, make_gpt2, make_args, lm_dataset):
    class BrokenCallback(MlTrackCallback):
        def _current_run_id(self):  # every logging hook fails
            raise RuntimeError("broken store routing")

    args = make_args(report_to="none", max_steps=3)
    trainer = _trainer(make_gpt2(), args, lm_dataset, callbacks=[BrokenCallback()])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        output = trainer.train()
    ours = [w for w in caught if "hf_mltrack" in str(w.message)]
    assert len(ours) == 1, [str(w.message) for w in ours]
    assert "broken store routing" in str(ours[0].message)
    assert output.global_step == 3
    assert only_run(client).info.status == "FINISHED"


def test_explicit_callback_options(tracked, client, make_gpt2, make_args, lm_dataset):
    callback = MlTrackCallback(
        experiment_name="tiny-experiments", run_name="explicit", tags={"team": "nlp"}, log_params=False
    )
    _trainer(make_gpt2(), make_args(report_to="none"), lm_dataset, callbacks=[callback]).train()
    experiment = client.get_experiment_by_name("tiny-experiments")
    run = only_run(client, experiment.experiment_id)
    assert run.data.tags["team"] == "nlp" and run.data.tags["hf_mltrack.runName"] == "explicit"
    assert run.data.params == {}
    assert "loss" in run.data.metrics


def test_system_metrics_for_trainer_runs(tracked, client, make_gpt2, make_args, lm_dataset, monkeypatch):
    monkeypatch.setenv("HF_MLTRACK_SYSTEM_METRICS_SAMPLING_INTERVAL", "0.05")
    from transformers import TrainerCallback

    class Slow(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            import time

            time.sleep(0.1)

    callback = MlTrackCallback(log_system_metrics=True)
    _trainer(make_gpt2(), make_args(report_to="none"), lm_dataset, callbacks=[callback, Slow()]).train()
    run = only_run(client)
    assert "system/cpu_utilization_percentage" in run.data.metrics
    assert "system/process_memory_rss_megabytes" in run.data.metrics


@pytest.mark.parametrize("restore_state", [False, True], ids=["default", "restore-callback-states"])
def test_resume_from_checkpoint_continues_the_same_run(
    tracked, tracking_uri, client, make_gpt2, make_args, lm_dataset, tmp_path, restore_state
):
    from hf_mltrack.tracking import fluent

    options = {"save_strategy": "steps", "save_steps": 2, "max_steps": 4}
    options["restore_callback_states_from_checkpoint"] = restore_state
    _trainer(make_gpt2(), make_args(**options), lm_dataset).train()
    first = only_run(client)
    state = json.loads((tmp_path / "out" / "checkpoint-2" / "trainer_state.json").read_text())
    assert state["stateful_callbacks"]["MlTrackCallback"]["attributes"]["_resume_run_id"] == first.info.run_id

    fluent._reset_state()  # as in a new process
    hf_mltrack.set_tracking_uri(tracking_uri)
    trainer = _trainer(make_gpt2(), make_args(**options), lm_dataset)
    trainer.train(resume_from_checkpoint=str(tmp_path / "out" / "checkpoint-2"))

    run = only_run(client)
    assert run.info.run_id == first.info.run_id
    assert run.info.status == "FINISHED"
    history = metric_steps(client, run.info.run_id, "loss")
    assert [s for s, _ in history] == [1, 2, 3, 4]  # steps 3-4 re-logged: replaced, not duplicated
    assert len([cb for cb in trainer.callback_handler.callbacks if isinstance(cb, MlTrackCallback)]) == 1


def test_only_world_process_zero_logs(tracked, client, make_gpt2, make_args, lm_dataset, monkeypatch):
    from transformers import Trainer

    monkeypatch.setattr(Trainer, "is_world_process_zero", lambda self: False)
    _trainer(make_gpt2(), make_args(), lm_dataset).train()
    assert client.search_runs(["0"]) == []


def test_trainer_state_artifact_and_final_model(tracked, client, make_gpt2, make_args, lm_dataset, tokenizer):
    pytest.importorskip("hf_mltrack.transformers")
    from hf_mltrack.artifacts import get_artifact_repository

    callback = MlTrackCallback(log_model=True, log_input_example=True)
    args = make_args(max_steps=2, report_to="none")
    trainer = _trainer(make_gpt2(), args, lm_dataset, processing_class=tokenizer, callbacks=[callback])
    trainer.train()
    run = only_run(client)
    repo = get_artifact_repository(run.info.artifact_uri)
    state = json.loads(repo.read_text("trainer_state.json"))
    assert state["global_step"] == 2
    names = {os.path.basename(f.path) for f in repo.list_artifacts("model")}
    assert "MLmodel" in names
    mlmodel = repo.read_text("model/MLmodel")
    assert "text-generation" in mlmodel
    assert any(name.startswith("input_example") for name in names), names  # a decoded training row
    assert "signature" in mlmodel


def test_evaluate_after_training_logs_to_the_training_run(tracked, client, make_gpt2, make_args, lm_dataset):
    trainer = _trainer(make_gpt2(), make_args(max_steps=2), lm_dataset, lm_dataset[:4])
    trainer.train()
    metrics = trainer.evaluate()
    run = only_run(client)
    assert run.info.status == "FINISHED"
    assert metric_steps(client, run.info.run_id, "eval_loss") == [(2, pytest.approx(metrics["eval_loss"]))]
    assert "eval_perplexity" in run.data.metrics


def test_on_log_keeps_odd_names_valid_and_skips_unusable_ones(tracked, client, make_gpt2, make_args, lm_dataset):
    """on_log queues its points without re-validating them: names the store would reject are made
    valid first (or skipped), and numpy / tensor values become floats."""
    import numpy as np
    import torch
    from transformers import TrainerCallback

    long_key = "k" * 300

    class OddLogs(TrainerCallback):  # runs before ours: adds entries to the Trainer's logs dict
        def on_log(self, args, state, control, logs=None, **kwargs):
            logs.update(
                {
                    "/abs": 1.0,
                    "a/../b": 2,
                    long_key: np.float32(3.5),
                    "nul\x00key": torch.tensor(4.0),
                    "": 5.0,
                    7: 6.0,
                    "text": "not a metric",
                }
            )

    args = make_args(report_to="none", max_steps=2)
    trainer = _trainer(make_gpt2(), args, lm_dataset, callbacks=[OddLogs(), MlTrackCallback()])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer.train()
    assert not [w for w in caught if "hf_mltrack" in str(w.message)]
    run = only_run(client)
    metrics = run.data.metrics
    assert metrics["abs"] == 1.0 and metrics["a/./b"] == 2.0 and metrics["nulkey"] == 4.0
    shortened = [k for k in metrics if k.startswith("k" * 200)]
    assert len(shortened) == 1 and len(shortened[0]) <= 250 and metrics[shortened[0]] == 3.5
    assert "" not in metrics and "7" not in metrics and "text" not in metrics
    assert metric_steps(client, run.info.run_id, "loss")  # the Trainer's own entries still arrive


def test_on_log_keeps_a_copy_and_queues_nothing_on_the_training_thread(
    tracked, client, make_gpt2, make_args, lm_dataset, monkeypatch
):
    """A step's on_log only keeps a copy of the Trainer's logs (later callbacks may change them): the
    points are made and queued when the write queue flushes, not one call at a time between steps."""
    from transformers import TrainerCallback

    from hf_mltrack.tracking import MlTrackClient

    in_on_log = [False]
    queued_in_on_log = []
    submit = MlTrackClient._submit

    def recording_submit(self, *args, **kwargs):
        if in_on_log[0]:
            queued_in_on_log.append(args)
        return submit(self, *args, **kwargs)

    monkeypatch.setattr(MlTrackClient, "_submit", recording_submit)

    class Mutates(TrainerCallback):  # runs after ours and changes the logs dict it was given
        def on_log(self, args, state, control, logs=None, **kwargs):
            logs["loss"] = -1.0
            logs.pop("learning_rate", None)

    callback = MlTrackCallback()
    on_log = callback.on_log

    def watched_on_log(*args, **kwargs):
        in_on_log[0] = True
        try:
            return on_log(*args, **kwargs)
        finally:
            in_on_log[0] = False

    callback.on_log = watched_on_log  # the handler looks hooks up on the instance
    trainer = _trainer(make_gpt2(), make_args(report_to="none"), lm_dataset, callbacks=[callback, Mutates()])
    trainer.train()
    assert queued_in_on_log == []
    run = only_run(client)
    losses = metric_steps(client, run.info.run_id, "loss")
    assert [s for s, _ in losses] == [1, 2, 3, 4] and all(v > 0 for _, v in losses)
    assert [s for s, _ in metric_steps(client, run.info.run_id, "learning_rate")] == [1, 2, 3, 4]
    # each point has the time of its on_log call (kept with the entry, not the time it was written)
    history = client.get_metric_history(run.info.run_id, "loss")
    assert run.info.start_time <= history[0].timestamp <= history[-1].timestamp <= run.info.end_time


def test_held_logs_reach_the_store_without_a_flush(tracked, client, make_gpt2, make_args, lm_dataset, monkeypatch):
    """An evaluate() after training: its on_log entry is written by the background flusher alone."""
    import time

    monkeypatch.setenv("HF_MLTRACK_ASYNC_FLUSH_INTERVAL", "0.05")
    trainer = _trainer(make_gpt2(), make_args(max_steps=2), lm_dataset, lm_dataset[:4])
    trainer.train()
    run_id = only_run(client).info.run_id
    trainer.evaluate()
    store = client.store  # read the store itself: a client read would flush first
    deadline = time.time() + 10
    while time.time() < deadline and not store.get_metric_history(run_id, "eval_loss"):
        time.sleep(0.02)
    assert [m.step for m in store.get_metric_history(run_id, "eval_loss")] == [2]


def test_a_drain_re_entered_on_its_thread_neither_deadlocks_nor_loses_points(tracked, client, monkeypatch):
    """The write queue's backpressure flushes inside a drain (on the writer's thread, say) while the
    training thread has logged again: the flush re-enters the drain, which leaves the entry to the
    outer call (no deadlock on its lock, every point queued once, in order)."""
    import threading

    from transformers import TrainerState

    from hf_mltrack.tracking import MlTrackClient, _batcher

    callback = MlTrackCallback(log_system_metrics=False)
    state = TrainerState()
    state.global_step = 1
    submit = MlTrackClient._submit

    def submit_then_log_and_flush(self, *args, **kwargs):
        submit(self, *args, **kwargs)
        if state.global_step < 3:
            state.global_step += 1
            callback.on_log(None, state, None, logs={"loss": float(state.global_step)})
            _batcher.flush(raise_errors=False)  # what enqueue does when the queue is full

    with hf_mltrack.start_run() as run:
        callback._client, callback._run_id, callback._active = client, run.info.run_id, True
        _batcher.add_source(callback._drain_logs)
        callback.on_log(None, state, None, logs={"loss": 1.0})
        monkeypatch.setattr(MlTrackClient, "_submit", submit_then_log_and_flush)
        drain = threading.Thread(target=callback._drain_logs, daemon=True)
        drain.start()
        drain.join(30)
        if drain.is_alive():
            callback._pending_logs.clear()  # later drains (the run's end) would wait on the stuck one
            pytest.fail("the drain deadlocked on its own lock")
        monkeypatch.undo()
        assert not callback._pending_logs
    assert metric_steps(client, run.info.run_id, "loss") == [(1, 1.0), (2, 2.0), (3, 3.0)]


def test_a_long_backlog_is_drained_by_the_training_thread(
    tracked, client, make_gpt2, make_args, lm_dataset, monkeypatch
):
    """More held entries than `_MAX_PENDING_LOGS` (the writer is behind): on_log makes the points itself,
    so memory stays bounded and the write queue's backpressure applies again."""
    from hf_mltrack.integrations import trainer_callback

    monkeypatch.setattr(trainer_callback, "_MAX_PENDING_LOGS", 1)
    drains = []
    drain = MlTrackCallback._drain_logs

    def counting_drain(self):
        drains.append(len(self._pending_logs))
        drain(self)

    monkeypatch.setattr(MlTrackCallback, "_drain_logs", counting_drain)
    monkeypatch.setenv("HF_MLTRACK_ASYNC_FLUSH_INTERVAL", "100000")  # the writer sleeps: the backlog grows
    monkeypatch.setenv("HF_MLTRACK_ASYNC_COMMIT_INTERVAL_MS", "0")
    _trainer(make_gpt2(), make_args(max_steps=6), lm_dataset).train()
    assert 2 in drains  # on_log drained two held entries itself
    run = only_run(client)
    assert [s for s, _ in metric_steps(client, run.info.run_id, "loss")] == [1, 2, 3, 4, 5, 6]
