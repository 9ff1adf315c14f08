"""A Trainer's run is created in the background: the first steps never wait for the tracking store.

The store is opened (SQLAlchemy imported, schema created) and the run created on a thread; what is
logged meanwhile is held and queued right after, reads wait for the run, a failure is one warning.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import warnings
from typing import Any

import pytest
from integrations_helpers import metric_steps, only_run

import hf_mltrack
from hf_mltrack.exceptions import MlTrackException
from hf_mltrack.tracking import fluent


@pytest.fixture
def gated_store(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Opening a SQL store waits for ``gate`` (at most 60 s) and records which thread opened it."""
    from hf_mltrack.store.sql import tracking_store

    seen: dict[str, Any] = {"gate": threading.Event(), "threads": [], "timed_out": False}
    original = tracking_store.SqlTrackingStore.__init__

    def gated(self: Any, *args: Any, **kwargs: Any) -> None:
        seen["threads"].append(threading.current_thread().name)
        if not seen["gate"].wait(60):
            seen["timed_out"] = True
        original(self, *args, **kwargs)

    monkeypatch.setattr(tracking_store.SqlTrackingStore, "__init__", gated)
    return seen


def _trainer(model: Any, args: Any, dataset: Any, callbacks: list[Any]) -> Any:
    from transformers import Trainer

    return Trainer(model=model, args=args, train_dataset=dataset, callbacks=callbacks)


def _open_gate_at_step(seen: dict[str, Any], step: int) -> Any:
    from transformers import TrainerCallback

    class OpenGate(TrainerCallback):
        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if state.global_step == step:
                seen["run_visible_to_steps"] = hf_mltrack.active_run() is not None
                seen["gate"].set()

    return OpenGate()


def test_training_steps_run_while_the_store_opens(tracked, client, make_gpt2, make_args, lm_dataset, gated_store):
    # The store cannot open before step 3 has ended: if a step waited for it, training would stall
    # for the gate's 60 s timeout.
    args = make_args(max_steps=4)
    output = _trainer(make_gpt2(), args, lm_dataset, [_open_gate_at_step(gated_store, 3)]).train()
    assert output.global_step == 4
    assert not gated_store["timed_out"]
    assert gated_store["run_visible_to_steps"]  # hf_mltrack.active_run() is the run at once
    assert gated_store["threads"] == ["hf_mltrack-run-start"]
    run = only_run(client)
    assert run.info.status == "FINISHED"
    # What was logged before the run existed was held and written after it, in order: nothing lost.
    assert [s for s, _ in metric_steps(client, run.info.run_id, "loss")] == [1, 2, 3, 4]
    assert run.data.params["learning_rate"] == "0.001"
    assert run.data.tags["hf_mltrack.user"]  # the environment's tags, captured on the thread


def test_get_run_right_after_start_sees_the_run(tracking_uri, gated_store):
    threading.Timer(0.3, gated_store["gate"].set).start()
    run = fluent._start_run_in_background(run_name="bg", tags={"team": "nlp"})
    assert hf_mltrack.active_run() is run and run.info.run_id and run.info.status == "RUNNING"
    for step in range(5):
        hf_mltrack.log_metric("loss", 1.0 / (step + 1), step=step)  # held: the run does not exist yet
    stored = hf_mltrack.get_run(run.info.run_id)  # waits for the creation, then flushes
    assert stored.info.run_id == run.info.run_id and stored.info.run_name == "bg"
    assert stored.data.tags["team"] == "nlp" and stored.data.metrics["loss"] == pytest.approx(0.2)
    assert run.info.experiment_id == "0" and run.info.artifact_uri == stored.info.artifact_uri
    hf_mltrack.end_run()
    history = hf_mltrack.MlTrackClient().get_metric_history(run.info.run_id, "loss")
    assert [m.step for m in history] == [0, 1, 2, 3, 4]
    assert hf_mltrack.get_run(run.info.run_id).info.status == "FINISHED"


def test_synchronous_log_waits_for_the_run(tracking_uri, gated_store):
    """``synchronous=True`` means written on return: it waits for the run, then writes."""
    threading.Timer(0.2, gated_store["gate"].set).start()
    run = fluent._start_run_in_background()
    hf_mltrack.log_metric("queued", 1.0, step=0)  # held
    hf_mltrack.log_metric("now", 2.0, step=0, synchronous=True)
    assert gated_store["gate"].is_set()
    from hf_mltrack.store import get_tracking_store

    stored = get_tracking_store(tracking_uri).get_run(run.info.run_id)  # the store itself: no flush
    assert stored.data.metrics["now"] == 2.0
    assert stored.data.metrics["queued"] == 1.0  # held before it: written first, in order
    hf_mltrack.end_run()


def test_experiment_name_is_resolved_in_the_background(tracking_uri, gated_store):
    gated_store["gate"].set()
    with fluent._start_run_in_background(experiment_name="created-on-the-thread") as run:
        hf_mltrack.log_param("lr", 0.1)
    experiment = hf_mltrack.get_experiment_by_name("created-on-the-thread")
    assert experiment is not None and run.info.experiment_id == experiment.experiment_id
    assert hf_mltrack.get_run(run.info.run_id).data.params == {"lr": "0.1"}
    assert fluent._active_experiment_id == experiment.experiment_id  # as set_experiment(name) makes it


def _old_revision_store(uri: str) -> None:
    """A database whose schema is older than this hf_mltrack: opening it fails (needs `db upgrade`)."""
    import sqlalchemy as sa

    from hf_mltrack.store.sql.engine import _create_engine

    engine = _create_engine(uri)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE experiments (experiment_id INTEGER PRIMARY KEY)"))
        conn.execute(sa.text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)"))
        conn.execute(sa.text("INSERT INTO alembic_version VALUES ('0001_initial')"))
    engine.dispose()


def test_failed_creation_is_one_warning_and_reported(tracked, make_gpt2, make_args, lm_dataset, gated_store):
    _old_revision_store(tracked)
    args = make_args(max_steps=4)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        output = _trainer(make_gpt2(), args, lm_dataset, [_open_gate_at_step(gated_store, 2)]).train()
    assert output.global_step == 4  # training is never broken by the tracker
    ours = [str(w.message) for w in caught if "hf_mltrack" in str(w.message)]
    assert len(ours) == 1, ours
    assert "Could not create run" in ours[0] and "hf-mltrack db upgrade" in ours[0]
    # The params and the first two steps' points were held when it failed: counted, not silently lost.
    assert "values so far" in ours[0] and "(0 values" not in ours[0]
    with pytest.raises(MlTrackException, match="Could not create run"):
        hf_mltrack.flush_async_logging()
    assert hf_mltrack.active_run() is None


_COLD_SCRIPT = """
import importlib.abc, json, os, sys, threading
importers = []

class Watch(importlib.abc.MetaPathFinder):
    # Records the thread that executes sqlalchemy/__init__.py (a find_spec probe imports nothing).

    def find_spec(self, name, path=None, target=None):
        if name != "sqlalchemy":
            return None
        for finder in sys.meta_path:
            spec = None if finder is self else finder.find_spec(name, path, target)
            if spec is not None:
                execute = spec.loader.exec_module

                def exec_module(module):
                    importers.append(threading.current_thread().name)
                    execute(module)

                spec.loader.exec_module = exec_module
                return spec
        return None

sys.meta_path.insert(0, Watch())
os.environ["HF_MLTRACK_TRACKING_URI"] = "sqlite:///" + sys.argv[1] + "/cold.db"
os.environ["HF_MLTRACK_LOG_MODEL"] = "false"
import torch
torch.set_num_threads(1)
from transformers import GPT2Config, GPT2LMHeadModel, Trainer, TrainingArguments, TrainerCallback
import hf_mltrack.integrations

first_step = {}

class FirstStep(TrainerCallback):
    def on_step_begin(self, args, state, control, **kwargs):
        first_step.setdefault("sqlalchemy_imported_by", list(importers))

model = GPT2LMHeadModel(GPT2Config(vocab_size=64, n_layer=1, n_embd=16, n_head=2, n_positions=16))
rows = [{"input_ids": [i % 64] * 8, "labels": [i % 64] * 8} for i in range(16)]
args = TrainingArguments(sys.argv[1] + "/out", report_to="hf_mltrack", max_steps=3, logging_steps=1,
                         use_cpu=True, disable_tqdm=True, save_strategy="no", per_device_train_batch_size=4)
Trainer(model=model, args=args, train_dataset=rows, callbacks=[FirstStep()]).train()
hf_mltrack.flush_async_logging()
trained = list(importers)  # the search below builds its query with SQLAlchemy
run = hf_mltrack.search_runs(output_format="list")[0]
points = hf_mltrack.MlTrackClient().get_metric_history(run.info.run_id, "loss")
print("RESULT " + json.dumps({"first_step": first_step, "importers": trained,
                              "status": run.info.status, "steps": [m.step for m in points]}))
"""


def test_cold_process_on_a_local_store_never_imports_sqlalchemy(tmp_path):
    """A fresh process on a new SQLite store: the store is created and the run written on the sqlite3
    module (`hf_mltrack.store.sql.sqlite_direct`); SQLAlchemy is imported by no thread at all."""
    out = subprocess.run(
        [sys.executable, "-c", _COLD_SCRIPT, str(tmp_path)], capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads([line for line in out.stdout.splitlines() if line.startswith("RESULT ")][-1][7:])
    assert result["importers"] == [] and result["first_step"]["sqlalchemy_imported_by"] == []
    assert result["status"] == "FINISHED" and result["steps"] == [1, 2, 3]


def test_exit_before_the_run_exists_keeps_what_was_logged(tmp_path):
    """The process ends while the run is still being created: the exit waits, creates it, writes the points."""
    uri = f"sqlite:///{tmp_path}/exit.db"
    script = textwrap.dedent(
        f"""
        import hf_mltrack
        from hf_mltrack.tracking import fluent
        hf_mltrack.set_tracking_uri({uri!r})
        run = fluent._start_run_in_background(run_name="short-lived")
        for step in range(3):
            hf_mltrack.log_metric("x", float(step), step=step)
        print(run.info.run_id)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=True)
    run_id = out.stdout.strip().splitlines()[-1]
    client = hf_mltrack.MlTrackClient(uri)
    assert client.get_run(run_id).info.run_name == "short-lived"
    assert [m.value for m in client.get_metric_history(run_id, "x")] == [0.0, 1.0, 2.0]


def test_warnings_as_errors_never_leave_end_run_waiting():
    """``-W error``: the failed creation's warning raises on the creating thread; end_run and reads are
    released anyway, and that error is the start's error (what ``info.experiment_id`` names)."""
    script = textwrap.dedent(
        """
        import hf_mltrack
        from hf_mltrack.exceptions import MlTrackException
        from hf_mltrack.tracking import fluent
        hf_mltrack.set_tracking_uri("sqlite:////proc/nope/x.db")  # no such folder: the creation fails
        run = fluent._start_run_in_background(run_name="r")
        hf_mltrack.log_metric("loss", 1.0, step=1)
        hf_mltrack.end_run()
        start = run._start
        assert start.done and start.run is None
        assert isinstance(start.error, RuntimeWarning) and "Could not create run" in str(start.error)
        try:
            run.info.experiment_id
        except MlTrackException as exc:
            assert "could not be created" in str(exc)
        try:
            hf_mltrack.flush_async_logging()
        except MlTrackException as exc:
            print("RAISED", exc.message[:40])
        """
    )
    out = subprocess.run([sys.executable, "-W", "error", "-c", script], capture_output=True, text=True, timeout=120)
    assert "RAISED Could not create run" in out.stdout, out.stderr[-3000:]


def test_run_ends_after_its_inputs_are_logged(tracked, client, make_gpt2, make_args, lm_dataset, monkeypatch):
    """The follow-ups of the creation (dataset inputs) have run before train end waits no more: a 1-step
    training's finished run has its inputs, and the eval input is known to the final artifacts."""
    import time

    from hf_mltrack.integrations import _logged_checkpoints, trainer_callback

    original = _logged_checkpoints.log_dataset_inputs

    def slow(*args: Any) -> Any:
        time.sleep(1.0)  # longer than one step and the train end
        return original(*args)

    monkeypatch.setattr(_logged_checkpoints, "log_dataset_inputs", slow)
    seen: dict[str, Any] = {}
    end = trainer_callback.MlTrackCallback._log_artifacts_at_end

    def at_end(self: Any, *args: Any) -> None:
        seen["eval_dataset"] = self._eval_dataset
        end(self, *args)

    monkeypatch.setattr(trainer_callback.MlTrackCallback, "_log_artifacts_at_end", at_end)
    from transformers import Trainer

    trainer = Trainer(model=make_gpt2(), args=make_args(max_steps=1), train_dataset=lm_dataset, eval_dataset=lm_dataset)
    assert trainer.train().global_step == 1
    run = only_run(client)
    assert run.info.status == "FINISHED"
    assert {d.context for d in run.inputs.dataset_inputs} == {"training", "eval"}
    assert seen["eval_dataset"] is not None


_FORK_SCRIPT = """
import os, sys, threading, time
import hf_mltrack
from hf_mltrack.exceptions import MlTrackException
from hf_mltrack.store.sql import tracking_store
from hf_mltrack.tracking import fluent
from hf_mltrack.utils import fork_guard

gate = threading.Event()
original = tracking_store.SqlTrackingStore.__init__
def gated(self, *args, **kwargs):
    gate.wait(60)
    original(self, *args, **kwargs)
tracking_store.SqlTrackingStore.__init__ = gated if sys.argv[2] == "gated" else original
fork_guard.FORK_WAIT_S = 0.3 if sys.argv[2] == "gated" else 60
hf_mltrack.set_tracking_uri(f"sqlite:///{sys.argv[1]}/parent.db")

def child():
    import faulthandler
    faulthandler.dump_traceback_later(50, exit=True)  # a hang shows where
    tracking_store.SqlTrackingStore.__init__ = original  # the stores the child opens are not gated
    hf_mltrack.log_metric("x", 1.0)
    print("CHILD logged", flush=True)
    try:
        print("CHILD artifact_uri", run.info.artifact_uri, flush=True)
    except MlTrackException as exc:
        print("CHILD artifact_uri error:", exc, flush=True)
    hf_mltrack.end_run()
    print("CHILD ended", flush=True)
    with hf_mltrack.start_run(run_name="child-own") as own:  # imports and opens its own store
        hf_mltrack.log_metric("y", 2.0)
    hf_mltrack.set_tracking_uri(f"sqlite:///{sys.argv[1]}/child.db")
    with hf_mltrack.start_run(run_name="child-new-store"):
        hf_mltrack.log_metric("y", 3.0)
    print("CHILD own run", flush=True)

run = fluent._start_run_in_background(run_name="parent")
hf_mltrack.log_metric("x", 0.0, step=0)
pid = os.fork()
if pid == 0:
    try:
        child()
    finally:
        os._exit(0)
gate.set()
deadline = time.monotonic() + 60
while os.waitpid(pid, os.WNOHANG) == (0, 0):
    if time.monotonic() > deadline:
        os.kill(pid, 9)
        print("CHILD HUNG", flush=True)
        break
    time.sleep(0.05)
hf_mltrack.end_run()
stored = hf_mltrack.get_run(run.info.run_id)
print("PARENT", stored.info.status, stored.info.run_name, stored.data.metrics.get("x"), flush=True)
"""


@pytest.mark.parametrize("mode", ["gated", "plain"])
def test_fork_while_the_run_is_created(tmp_path, mode):
    """A fork (a DataLoader worker) while the run is created: the child never waits on the parent's start
    nor on an import lock of its thread; where the start was still under way, the child is told to start
    its own run. The parent's run is whole."""
    out = subprocess.run(
        [sys.executable, "-c", _FORK_SCRIPT, str(tmp_path), mode], capture_output=True, text=True, timeout=180
    )
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.splitlines()
    assert "CHILD HUNG" not in lines and "CHILD own run" in lines, out.stdout + out.stderr[-5000:]
    assert "CHILD ended" in lines and "PARENT FINISHED parent 0.0" in lines
    if mode == "gated":  # still being created at the fork: a failed start in the child, naming the fork
        errors = [line for line in lines if line.startswith("CHILD artifact_uri error:")]
        assert errors and "forked" in errors[0] and "start its own run" in errors[0]


def test_a_current_experiment_changed_meanwhile_is_kept(tracking_uri, tmp_path, gated_store):
    """The creating thread makes the resolved experiment current (as set_experiment(name) would) only if
    the user did not change the current experiment (or URI) since the run was started."""
    run = fluent._start_run_in_background(experiment_name="resolved-on-the-thread")
    hf_mltrack.set_tracking_uri(f"sqlite:///{tmp_path}/other.db")  # the user switches away and back:
    hf_mltrack.set_tracking_uri(tracking_uri)  # no current experiment now
    gated_store["gate"].set()
    hf_mltrack.end_run()
    experiment = hf_mltrack.get_experiment_by_name("resolved-on-the-thread")
    assert experiment is not None and run.info.experiment_id == experiment.experiment_id
    assert fluent._active_experiment_id is None  # the user's choice, not overridden by the thread


def test_failed_starts_are_not_kept_for_the_life_of_the_process(tmp_path):
    """A failed start is forgotten when its run is ended, and at most a bounded number are kept; the
    next flush still raises the failure."""
    from hf_mltrack.tracking import _run_start

    hf_mltrack.set_tracking_uri("sqlite:////proc/nope/x.db")  # no such folder: every creation fails
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(3):
            run = fluent._start_run_in_background()
            hf_mltrack.log_metric("x", 1.0)
            hf_mltrack.end_run()
            assert run.info.run_id not in _run_start._FAILED
        starts = [
            _run_start.new_start(hf_mltrack.get_tracking_uri(), "0", None, {}, None, 0, "u")
            for _ in range(_run_start._MAX_FAILED + 8)
        ]
        for start in starts:
            start.wait()
    assert len(_run_start._FAILED) == _run_start._MAX_FAILED
    assert starts[-1].run_id in _run_start._FAILED and starts[0].run_id not in _run_start._FAILED
    with pytest.raises(MlTrackException, match="Could not create run"):
        hf_mltrack.flush_async_logging()
