"""`MlTrackCallback`: HF Trainer runs tracked in hf_mltrack (``report_to="hf_mltrack"``).

```python
from transformers import Trainer, TrainingArguments
import hf_mltrack

args = TrainingArguments("out", report_to="hf_mltrack", run_name="lora-sft", logging_steps=10)
trainer = Trainer(model=model, args=args, train_dataset=train, eval_dataset=val)
trainer.train()                      # params, metrics, system metrics, final model -> one run
trainer.train(resume_from_checkpoint=True)   # in a new process: continues the same run
```

What it records, and how it differs from transformers' ``MLflowCallback``:

- train begin: starts a run (name from ``TrainingArguments.run_name``) or joins the active one, or
  resumes the run recorded in the checkpoint. A new run is created on a thread (the store opened,
  in a fresh process SQLAlchemy imported — already while the Trainer is built), so the first step
  never waits for the store; its id is known at once (`hf_mltrack.tracking._run_start`). Logs every
  `TrainingArguments` field (flattened), the model config (``model.``), the PEFT config (``peft.``),
  parameter counts, dataset sizes, library versions, GPU names and world size. Long values are
  truncated with a marker, never dropped; secrets are redacted.
- ``on_log``: every numeric entry at ``step=global_step`` (``epoch`` included), written by a background
  thread; ``eval_perplexity = exp(eval_loss)`` for language models. The training thread only keeps a
  copy of the ``logs`` dict: the points are made on the writer's thread, in batches, when it wakes to
  write (`_batcher.add_source`), or sooner where ordering needs them (``flush()``, a read, a save,
  the run's end). Made one call at a time between two training steps, they cost 3-5x more (the step
  has evicted the code and data they touch from the CPU's caches) than in a batch.
- ``on_save`` (``log_checkpoints``): checkpoints logged in the background, zero-copy on local stores,
  adapter files only for PEFT models, the last N kept.
- train end: the final model logged with the transformers flavor; the run FINISHED. A crash marks it
  FAILED (KILLED on Ctrl-C) after draining queued points.
- distributed training: only the world-process-zero logs; other ranks do nothing costly.
- hyperparameter search: a parent run and one nested run per trial (its params and objective).

Our own errors never break training: the first becomes one warning, later ones go to the
``hf_mltrack.integrations`` logger.
"""

from __future__ import annotations

import atexit
import functools
import logging
import math
import os
import sys
import threading
import time
import warnings
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from transformers.trainer_callback import TrainerCallback

try:  # transformers >= 4.41 saves callback state in checkpoints (used to resume into the same run)
    from transformers.trainer_callback import ExportableState
except ImportError:  # pragma: no cover - older transformers

    class ExportableState:  # type: ignore[no-redef]
        pass


from .. import _env
from ..entities import Metric, Param, RunStatus, RunTag
from ..utils.threads import background_thread
from . import _guard, _logged_checkpoints, _params
from ._model_logging import FlavorUnavailable, infer_task, input_example, is_language_model, log_final_model

logger = logging.getLogger("hf_mltrack.integrations")

_RESUME_ATTRIBUTE = "_resume_run_id"
_open_callbacks: weakref.WeakSet[MlTrackCallback] = weakref.WeakSet()
_atexit_registered = False
_flavor_notice_shown = False
_valid_keys: set[str] = set()  # metric names of on_log already checked (the same ones every step)
# on_log entries a callback holds at most; beyond, the training thread makes their points itself (the
# writer is behind: the write queue's backpressure applies again, and memory stays bounded).
_MAX_PENDING_LOGS = 10_000


def _guarded(method: Callable[..., Any]) -> Callable[..., None]:
    """Run a hook; an exception in our code becomes one warning and never reaches the Trainer."""

    @functools.wraps(method)
    def hook(self: MlTrackCallback, *args: Any, **kwargs: Any) -> None:
        try:
            method(self, *args, **kwargs)
        except Exception as exc:
            self._hook_failed(method.__name__, exc)

    return hook


class MlTrackCallback(TrainerCallback, ExportableState):
    """A `TrainerCallback` that records a Trainer run in hf_mltrack.

    Args:
        tracking_uri (`str`, *optional*): where to log; defaults to the current tracking URI.
        experiment_name (`str`, *optional*): experiment of new runs (created if missing); defaults to the
            current experiment (``set_experiment`` / ``HF_MLTRACK_EXPERIMENT_NAME``).
        run_name (`str`, *optional*): name of a new run; defaults to ``TrainingArguments.run_name``.
        run_id (`str`, *optional*): log into this existing run instead of starting one.
        tags (`dict`, *optional*): tags set on the run.
        log_params (`bool`, *optional*, defaults to `True`): log arguments, configs and counts as params.
        log_model (`bool`, *optional*): log the final model with the transformers flavor at train end;
            defaults to ``HF_MLTRACK_LOG_MODEL`` (on).
        model_name (`str`, *optional*, defaults to `"model"`): artifact name of the final model.
        registered_model_name (`str`, *optional*): also register the final model under this name.
        task (`str`, *optional*): pipeline task of the final model; inferred from the model when not given.
        log_input_example (`bool`, *optional*, defaults to `False`): log a decoded training row as the
            input example.
        log_model_signature (`bool`, *optional*, defaults to `True`): let the flavor infer a signature.
        log_checkpoints (`bool`, *optional*): log checkpoints as artifacts (``checkpoints/checkpoint-N``);
            defaults to ``HF_MLTRACK_LOG_CHECKPOINTS`` (off). Each logged checkpoint is a LoggedModel
            (``model_type="checkpoint"``, loadable as a pipeline from ``models:/m-<id>``) with the eval
            metrics of its step linked to it, so ``search_logged_models(order_by=...)`` finds the best.
        keep_last_checkpoints (`int`, *optional*): keep only the newest N logged checkpoints; defaults to
            ``HF_MLTRACK_KEEP_LAST_CHECKPOINTS``, else ``TrainingArguments.save_total_limit``.
        log_system_metrics (`bool`, *optional*): sample CPU/GPU/memory as ``system/...`` metrics for runs
            this callback starts; defaults to ``HF_MLTRACK_ENABLE_SYSTEM_METRICS_LOGGING`` when set, else on.
        log_perplexity (`bool`, *optional*): add ``eval_perplexity = exp(eval_loss)``; defaults to on for
            language models (causal, masked, seq2seq).
        log_datasets (`bool`, *optional*, defaults to `True`): log the train and eval datasets as run
            inputs (contexts ``training`` and ``eval``; an HF `datasets.Dataset` by its fingerprint), and
            their sizes as params.
        max_param_length (`int`, *optional*): longest param value kept whole; defaults to
            ``HF_MLTRACK_PARAM_VALUE_MAX_LENGTH``.
        log_generations (`list[str]`, *optional*): prompts the model completes at every evaluation;
            the outputs are logged with the step's eval metrics (`hf_mltrack.log_generations`), and
            the web UI shows them as prompts x checkpoints. Off by default. Generation runs in eval
            mode without gradients, and restores the model's mode and every RNG state after.
        generation_kwargs (`dict`, *optional*): passed to ``model.generate`` (defaults:
            ``max_new_tokens=32, do_sample=False``).
    """

    _hf_mltrack_callback = True

    def __init__(
        self,
        *,
        tracking_uri: str | None = None,
        experiment_name: str | None = None,
        run_name: str | None = None,
        run_id: str | None = None,
        tags: dict[str, Any] | None = None,
        log_params: bool = True,
        log_model: bool | None = None,
        model_name: str = "model",
        registered_model_name: str | None = None,
        task: str | None = None,
        log_input_example: bool = False,
        log_model_signature: bool = True,
        log_checkpoints: bool | None = None,
        keep_last_checkpoints: int | None = None,
        log_system_metrics: bool | None = None,
        log_perplexity: bool | None = None,
        log_datasets: bool = True,
        max_param_length: int | None = None,
        autolog: str | None = None,
        log_generations: Sequence[str] | None = None,
        generation_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self.tracking_uri = tracking_uri
        self.experiment_name = experiment_name
        self.run_name = run_name
        self.run_id = run_id
        self.tags = dict(tags or {})
        self.log_params = log_params
        self.log_model = log_model
        self.model_name = model_name
        self.registered_model_name = registered_model_name
        self.task = task
        self.log_input_example = log_input_example
        self.log_model_signature = log_model_signature
        self.log_checkpoints = log_checkpoints
        self.keep_last_checkpoints = keep_last_checkpoints
        self.log_system_metrics = log_system_metrics
        self.log_perplexity = log_perplexity
        self.log_datasets = log_datasets
        self.max_param_length = max_param_length
        self.autolog = autolog
        self.log_generations = list(log_generations) if log_generations else None
        self.generation_kwargs = dict(generation_kwargs or {})
        # runtime state
        self._resume_run_id: str | None = None  # restored by transformers from a checkpoint's state
        self._run_id: str | None = None
        self._owns_run = False
        self._active = False  # log events of this process to the run (also after train end: evaluate())
        self._open = False  # training in progress: the run still has to be ended
        self._client: Any = None
        self._trainer_ref: weakref.ReferenceType | None = None
        self._warned = False
        self._perplexity = False
        self._checkpoints: Any = None
        self._hpo_parent: tuple[str, bool] | None = None
        self._trial_run_id: str | None = None
        self._trial_pending = False
        self._eval_dataset: Any = None  # the eval input: linked metrics name it
        self._eval_metrics: dict[int, dict[str, float]] = {}  # step -> eval_* values, for on_save
        self._checkpoint_models: dict[str, str] = {}  # checkpoint-N -> model id
        self._task: str | None = None
        self._start: Any = None  # the background creation of the run this callback started
        self._run_info: Any = None
        # on_log entries not yet made into points: (run id, step, time.time(), copy of logs), appended by
        # the training thread, taken by `_drain_logs` on whichever thread flushes.
        self._pending_logs: deque[tuple[str | None, int, float, dict[str, Any]]] = deque()
        self._drain_lock = threading.RLock()
        self._draining = False
        self._is_source = False

    # ---- ExportableState: the run id travels with each checkpoint's trainer_state.json --------
    def state(self) -> dict[str, Any]:
        args = {
            k: getattr(self, k)
            for k in (
                "tracking_uri", "experiment_name", "run_name", "run_id", "tags", "log_params", "log_model",
                "model_name", "registered_model_name", "task", "log_input_example", "log_model_signature",
                "log_checkpoints", "keep_last_checkpoints", "log_system_metrics", "log_perplexity",
                "log_datasets", "max_param_length", "autolog", "log_generations", "generation_kwargs",
            )
        }  # fmt: skip
        run_id = None if self._trial_run_id else self._run_id
        return {"args": args, "attributes": {_RESUME_ATTRIBUTE: run_id}}

    # ---- error handling ------------------------------------------------------------------------
    def _hook_failed(self, where: str, exc: BaseException) -> None:
        if not self._warned:
            self._warned = True
            warnings.warn(
                f"hf_mltrack: the Trainer callback failed in {where} ({exc!r}); training continues. "
                "Further errors of this callback go to the 'hf_mltrack.integrations' logger.",
                RuntimeWarning,
                stacklevel=3,
            )
        logger.debug("hf_mltrack callback error in %s", where, exc_info=exc)

    def _safe_call(self, where: str, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return fn(*args)
        except Exception as exc:
            self._hook_failed(where, exc)
            return None

    # ---- trainer discovery ---------------------------------------------------------------------
    @property
    def trainer(self) -> Any:
        return self._trainer_ref() if self._trainer_ref is not None else None

    def _set_trainer(self, trainer: Any) -> None:
        if trainer is not None and self.trainer is not trainer:
            self._trainer_ref = weakref.ref(trainer)
            _guard.attach(trainer)

    def _before_train(self, trainer: Any) -> None:
        self._set_trainer(trainer)
        if self._trial_pending:  # the previous trial's objective is logged: close it
            self._finish_trial("COMPLETE", RunStatus.FINISHED)

    @_guarded
    def on_init_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._set_trainer(_guard.find_trainer(self))
        if state.is_world_process_zero:
            _prewarm_store_modules(self.tracking_uri)

    # ---- train begin ---------------------------------------------------------------------------
    @_guarded
    def on_train_begin(
        self,
        args: Any,
        state: Any,
        control: Any,
        model: Any = None,
        processing_class: Any = None,
        train_dataloader: Any = None,
        eval_dataloader: Any = None,
        **kwargs: Any,
    ) -> None:
        self._active = False
        if not state.is_world_process_zero:
            return  # other ranks: no run, no imports, no I/O
        if self.trainer is None:
            self._set_trainer(_guard.find_trainer(self))
        from ..tracking import MlTrackClient, fluent

        if self.tracking_uri:
            fluent.set_tracking_uri(self.tracking_uri)
        self._client = MlTrackClient()
        if getattr(state, "is_hyper_param_search", False) and self.trainer is not None:
            self._set_experiment()
            run, fresh = self._start_trial_run(args, state), True
        else:
            run, fresh = self._start_or_join(args, state)
        self._run_id = run.info.run_id
        self._run_info = run.info  # its artifact root, read at train end (no store read, no extra flush)
        # A new run is created in the background (`_run_start`): the first step does not wait for the
        # store; what needs the run (dataset inputs, the checkpoints' artifact root) follows it.
        self._start = start = getattr(run, "_start", None)
        self._active = self._open = True
        _register_open(self)
        if not self._is_source:
            from ..tracking import _batcher

            _batcher.add_source(self._drain_logs)
            self._is_source = True
        self._perplexity = self.log_perplexity if self.log_perplexity is not None else is_language_model(model)
        self._log_run_info(args, state, model, train_dataloader, eval_dataloader, fresh)
        self._eval_dataset, self._eval_metrics, self._checkpoint_models = None, {}, {}
        if self.log_datasets and self.trainer is not None:
            log_inputs = functools.partial(
                self._log_dataset_inputs,
                self._current_run_id(),
                getattr(self.trainer, "train_dataset", None),
                getattr(self.trainer, "eval_dataset", None),
            )
            if start is not None:
                start.after(lambda _run: log_inputs())
            else:
                log_inputs()
        self._task = self.task or infer_task(model)
        self._checkpoints = None
        if self._checkpoint_logging_enabled():
            from ._checkpoints import CheckpointLogger

            keep = self.keep_last_checkpoints or _env.KEEP_LAST_CHECKPOINTS.get() or args.save_total_limit
            self._checkpoints = CheckpointLogger(
                (lambda: run.info.artifact_uri) if start is not None else run.info.artifact_uri,
                keep_last=keep,
                adapter_only=bool(_params.peft_config_params(model)),
                on_error=lambda exc: self._hook_failed("on_save", exc),
                on_rotated=self._checkpoint_rotated,
            )

    def _log_dataset_inputs(self, run_id: str, train_ds: Any, eval_ds: Any) -> None:
        self._eval_dataset = self._safe_call(
            "on_train_begin", _logged_checkpoints.log_dataset_inputs, self._client, run_id, train_ds, eval_ds
        )

    def _set_experiment(self) -> None:
        if self.experiment_name:
            from ..tracking import fluent

            fluent.set_experiment(self.experiment_name)

    def _system_metrics(self) -> bool:
        if self.log_system_metrics is not None:
            return self.log_system_metrics
        from .. import _env

        return _env.SYSTEM_METRICS.get() if _env.SYSTEM_METRICS.is_set() else True

    def _checkpoint_logging_enabled(self) -> bool:
        return self.log_checkpoints if self.log_checkpoints is not None else _env.LOG_CHECKPOINTS.get()

    def _model_logging_enabled(self) -> bool:
        return self.log_model if self.log_model is not None else _env.LOG_MODEL.get()

    def _new_run_tags(self) -> dict[str, Any]:
        tags = dict(self.tags)
        trainer = self.trainer
        if trainer is not None:
            tags.setdefault("hf_mltrack.trainer.class", type(trainer).__name__)
        if self.autolog:
            tags.setdefault("hf_mltrack.autologging", self.autolog)
        return tags

    def _start_or_join(self, args: Any, state: Any) -> tuple[Any, bool]:
        """(run, fresh): the explicit run, the active run, the checkpoint's run, or a new run."""
        from ..exceptions import MlTrackException
        from ..tracking import fluent

        active = fluent.active_run()
        if self.run_id or active is not None:
            self._set_experiment()
        if self.run_id:
            if active is not None:  # log into the given run; the active run stays the active one
                self._owns_run = False
                return (active if active.info.run_id == self.run_id else self._client.get_run(self.run_id)), False
            self._owns_run = True
            return fluent.start_run(run_id=self.run_id, log_system_metrics=self._system_metrics()), False
        if active is not None:
            self._owns_run = False
            return active, False
        recorded = self._recorded_run_id(state) if state.global_step > 0 else None
        if recorded:
            self._set_experiment()
            try:
                run = fluent.start_run(run_id=recorded, log_system_metrics=self._system_metrics())
                self._owns_run = True
                logger.info("hf_mltrack: resuming run %s from the checkpoint", recorded)
                return run, False
            except MlTrackException as exc:
                logger.warning("hf_mltrack: cannot resume run %s (%s); starting a new run", recorded, exc)
        from .. import _env

        self._owns_run = True
        # The store is opened and the run created on a thread; the id is known now (`_run_start`).
        run = fluent._start_run_in_background(
            run_name=self.run_name or getattr(args, "run_name", None) or None,
            tags=self._new_run_tags(),
            log_system_metrics=self._system_metrics(),
            experiment_name=self.experiment_name,
        )
        return run, not _env.RUN_ID.get()  # HF_MLTRACK_RUN_ID resumes an existing run

    def _recorded_run_id(self, state: Any) -> str | None:
        if self._resume_run_id:
            return self._resume_run_id
        entry = (getattr(state, "stateful_callbacks", None) or {}).get(type(self).__name__)
        if isinstance(entry, list):
            entry = entry[0] if entry else None
        if isinstance(entry, dict):
            value = (entry.get("attributes") or {}).get(_RESUME_ATTRIBUTE)
            return str(value) if value else None
        return None

    def _log_run_info(self, args: Any, state: Any, model: Any, train_dl: Any, eval_dl: Any, fresh: bool) -> None:
        trainer = self.trainer
        raw: dict[str, Any] = {}
        tags: dict[str, Any] = {} if fresh else self._new_run_tags()
        if self.log_params:
            train_ds = getattr(trainer, "train_dataset", None) if trainer is not None else None
            eval_ds = getattr(trainer, "eval_dataset", None) if trainer is not None else None
            if train_ds is None and train_dl is not None:
                train_ds = getattr(train_dl, "dataset", None)
            if eval_ds is None and eval_dl is not None:
                eval_ds = getattr(eval_dl, "dataset", None)
            raw = _params.merge(
                _params.training_args_params(args),
                _params.model_config_params(model),
                _params.peft_config_params(model),
                _params.parameter_count_params(model),
                _params.dataset_params(train_ds, eval_ds) if self.log_datasets else None,
                _params.library_version_params(),
                _params.hardware_params(args),
                {"total_train_batch_size": args.train_batch_size * args.gradient_accumulation_steps * args.world_size},
            )
            if self._trial_run_id is not None:
                raw.update({f"trial.{k}": v for k, v in (getattr(state, "trial_params", None) or {}).items()})
            if self.log_datasets:
                tags.update(_dataset_tags(train_ds, eval_ds))
        base = _params.base_model(model)
        if base is not None:
            tags.setdefault("hf_mltrack.model.class", type(base).__name__)
        # The web UI's progress bar: step of max_steps, epoch of num_train_epochs, and an ETA.
        if getattr(state, "max_steps", 0):
            tags["hf_mltrack.trainer.max_steps"] = int(state.max_steps)
        if getattr(state, "num_train_epochs", 0):
            tags["hf_mltrack.trainer.num_train_epochs"] = state.num_train_epochs
        params = _params.sanitize_params(raw, self.max_param_length)
        if not fresh:  # params are immutable: keep what a resumed or joined run already has
            params = _params.drop_keys(params, self._client.get_run(self._current_run_id()).data.params)
        self._client.log_batch(
            self._current_run_id(),
            params=[Param(k, v) for k, v in params.items()],
            tags=[RunTag(k, str(v)) for k, v in tags.items()],
            synchronous=False,
        )

    def _current_run_id(self) -> str:
        return self._trial_run_id or self._run_id  # type: ignore[return-value]

    # ---- metrics -------------------------------------------------------------------------------
    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        # On the training thread: only a copy of the entry (later callbacks may change ``logs``); the
        # points are made by `_drain_logs`. (No `_guarded` wrapper: one call less, the same contract.)
        if not self._active or not logs:
            return
        try:
            pending = self._pending_logs
            pending.append((self._trial_run_id or self._run_id, state.global_step, time.time(), dict(logs)))
            if len(pending) > _MAX_PENDING_LOGS:
                self._drain_logs()
        except Exception as exc:
            self._hook_failed("on_log", exc)

    def _drain_logs(self) -> None:
        """Make the points of the held on_log entries and queue them for writing, in order (any thread).

        Called by the write queue before it writes (`_batcher.add_source`), and here where the points
        must be queued now: a save (its eval metrics), the run's end. Never raises.
        """
        pending = self._pending_logs
        if not pending:
            return
        with self._drain_lock:
            if self._draining:  # re-entered on this thread (the queue's backpressure flushes): the outer call goes on
                return
            self._draining = True
            try:
                while pending:  # (entries logged while the points were queued are taken too)
                    run_id: str | None = ""
                    points: list[tuple] = []
                    while pending:  # only this (locked) drain takes entries; the training thread only appends
                        entry = pending.popleft()
                        if entry[0] != run_id and points:
                            self._queue_points(run_id, points)
                            points = []
                        run_id = entry[0]
                        try:
                            self._log_points(entry[1], entry[2], entry[3], points)
                        except Exception as exc:
                            self._hook_failed("on_log", exc)
                    if points:
                        self._queue_points(run_id, points)
            finally:
                self._draining = False

    def _queue_points(self, run_id: str | None, points: list[tuple]) -> None:
        try:
            # Keys and values are checked and the step is the Trainer's int: queue the points as they
            # are (log_batch would validate and copy each one again).
            self._client._submit(run_id, points, [], [], False)  # type: ignore[arg-type]
        except Exception as exc:
            self._hook_failed("on_log", exc)

    def _log_points(self, step: int, when: float, logs: dict[str, Any], metrics: list[tuple]) -> None:
        """Append the points of one on_log entry to ``metrics``: plain tuples of `Metric`'s fields, which
        the garbage collector stops tracking (a `Metric` stays tracked: thousands of them waiting in the
        write queue lengthen the training process's collections and bring full ones sooner)."""
        ts = int(when * 1000)
        for key, value in logs.items():
            if type(value) is not float:
                if type(value) is int:
                    value = float(value)
                elif value is None or isinstance(value, (str, bool, bytes, dict, list, tuple)):
                    continue  # not a metric
                else:
                    try:
                        value = float(value)  # numpy scalars, 0-d tensors
                    except (TypeError, ValueError):
                        continue
            if key not in _valid_keys:
                usable = _metric_key(key)
                if usable is None:
                    continue  # no usable name (empty, not a string)
                key = usable
            metrics.append((key, value, ts, step, None, None, None, None))
            if key.startswith("eval_") and self._checkpoints is not None:
                self._remember_eval(step, key, value)
            if self._perplexity and key.startswith("eval_") and key.endswith("loss"):
                try:
                    ppl = math.exp(value)
                except OverflowError:
                    ppl = math.inf
                metrics.append((key[: -len("loss")] + "perplexity", ppl, ts, step, None, None, None, None))

    # ---- generations at each evaluation (opt-in) ------------------------------------------------
    @_guarded
    def on_evaluate(
        self, args: Any, state: Any, control: Any, metrics: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        if not self._active or not self.log_generations:
            return
        trainer = self.trainer
        model = kwargs.get("model") or (trainer.model if trainer is not None else None)
        tokenizer = kwargs.get("processing_class") or kwargs.get("tokenizer")
        if tokenizer is None and trainer is not None:
            tokenizer = getattr(trainer, "processing_class", None) or getattr(trainer, "tokenizer", None)
        if model is None or tokenizer is None:
            raise RuntimeError("log_generations needs the model and its tokenizer (pass processing_class=)")
        from ..tracking.generations import log_generations
        from ._generations import generate

        model = getattr(model, "module", model)  # DDP / DataParallel wrappers
        outputs = generate(model, tokenizer, self.log_generations, self.generation_kwargs)
        log_generations(
            self.log_generations, outputs, int(state.global_step), metrics=metrics, run_id=self._current_run_id()
        )

    # ---- checkpoints ---------------------------------------------------------------------------
    @_guarded
    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if not self._active or self._checkpoints is None:
            return
        self._drain_logs()  # this step's eval metrics, linked to the checkpoint's model
        trainer = self.trainer
        output_dir = args.output_dir
        if trainer is not None and hasattr(trainer, "_get_output_dir"):
            output_dir = trainer._get_output_dir(trial=getattr(trainer, "_trial", None))
        folder = os.path.join(output_dir, f"checkpoint-{state.global_step}")
        if os.path.isdir(folder):
            # The LoggedModel is created in the background, before the upload: on_save only snapshots.
            job = _CheckpointModelJob(self, state.global_step)
            self._checkpoints.submit(folder, after=job.after, before=job.before)

    def _remember_eval(self, step: int, key: str, value: float) -> None:
        self._eval_metrics.setdefault(step, {})[key] = value
        while len(self._eval_metrics) > 4:  # only the eval of the coming save is needed
            self._eval_metrics.pop(next(iter(self._eval_metrics)))

    def _checkpoint_rotated(self, name: str) -> None:
        model_id = self._checkpoint_models.pop(name, None)
        if model_id is not None:  # its files are gone: the model goes with them
            self._client.delete_logged_model(model_id)

    # ---- train end -----------------------------------------------------------------------------
    @_guarded
    def on_train_end(
        self,
        args: Any,
        state: Any,
        control: Any,
        model: Any = None,
        processing_class: Any = None,
        **kwargs: Any,
    ) -> None:
        if not self._open:
            return
        if self._trial_run_id is not None:
            # The trial stays open: optuna may evaluate after train() returns; the objective is
            # logged when computed, and the run ends when the next trial or the search starts/ends.
            self._wait_checkpoints()
            self._trial_pending = True
            return
        if self._start is not None and self._start.wait() is None:
            self._warned = True  # its creation failed: the one warning is given (`_run_start`)
            self._finish(RunStatus.FINISHED)
            return
        try:
            self._log_artifacts_at_end(state, model, processing_class)
        finally:
            self._finish(RunStatus.FINISHED)

    def _log_artifacts_at_end(self, state: Any, model: Any, processing_class: Any) -> None:
        global _flavor_notice_shown
        from ._model_logging import trainer_state_json

        self._wait_checkpoints()
        try:
            from ._checkpoints import artifact_repository

            info = self._run_info
            if info is None or info.run_id != self._run_id:
                info = self._client.get_run(self._run_id).info
            artifact_repository(info.artifact_uri).write_text(trainer_state_json(state), "trainer_state.json")
        except ImportError:
            pass
        if not self._model_logging_enabled() or model is None:
            return
        trainer = self.trainer
        example = None
        if self.log_input_example:
            example = input_example(getattr(trainer, "train_dataset", None), processing_class)
        try:
            info = log_final_model(
                model,
                processing_class,
                name=self.model_name,
                task=self.task or infer_task(model),
                registered_model_name=self.registered_model_name,
                example=example,
                log_signature=self.log_model_signature,
                run_id=self._run_id,
                step=state.global_step,
            )
            self._safe_call("on_train_end", self._mark_best, state, info)
        except FlavorUnavailable as exc:
            if not _flavor_notice_shown:
                _flavor_notice_shown = True
                logger.warning("hf_mltrack: the final model was not logged (%s)", exc)

    def _mark_best(self, state: Any, info: Any) -> None:
        """With ``load_best_model_at_end`` the final model is the best checkpoint: say so on both
        LoggedModels and link the best metric to the final model."""
        best = getattr(state, "best_model_checkpoint", None)
        model_id = getattr(info, "model_id", None)
        if not best or model_id is None:
            return
        name = os.path.basename(os.path.normpath(best))
        self._client.set_logged_model_tags(model_id, {"hf_mltrack.best_checkpoint": name})
        best_id = self._checkpoint_models.get(name)
        if best_id is not None:
            self._client.set_logged_model_tags(best_id, {_logged_checkpoints.BEST_TAG: "true"})
        trainer = self.trainer
        metric = getattr(getattr(trainer, "args", None), "metric_for_best_model", None)
        run_id = self._run_id
        if run_id is not None and metric and getattr(state, "best_metric", None) is not None:
            key = metric if metric.startswith("eval_") else f"eval_{metric}"
            step = int(name.rsplit("-", 1)[-1]) if name.rsplit("-", 1)[-1].isdigit() else state.global_step
            _logged_checkpoints.link_metrics(
                self._client, run_id, model_id, step, {key: float(state.best_metric)}, self._eval_dataset
            )

    def _wait_checkpoints(self) -> None:
        if self._checkpoints is not None:
            self._checkpoints.wait()

    def _finish(self, status: str) -> None:
        """End the run this callback owns (joined runs stay open) after queued points are written.

        Later ``trainer.evaluate()`` calls still log to the run (at the final step).
        """
        self._open = False
        self._trial_pending = False
        _open_callbacks.discard(self)
        self._drain_logs()  # the last points go before the run's end
        try:
            self._wait_checkpoints()
        finally:
            if self._trial_run_id is not None:
                run_id, self._trial_run_id = self._trial_run_id, None
                self._end_run(run_id, status)
            elif self._owns_run and self._run_id is not None:
                self._end_run(self._run_id, status)
            else:
                from ..tracking import _batcher

                _batcher.flush(raise_errors=False)
            self._owns_run = False

    def _end_run(self, run_id: str, status: str) -> None:
        from ..tracking import MlTrackClient, fluent

        active = fluent.active_run()
        if active is not None and active.info.run_id == run_id:
            fluent.end_run(status)
        else:
            _drop_from_stack(run_id)
            (self._client or MlTrackClient()).set_terminated(run_id, status)

    def _train_failed(self, exc: BaseException) -> None:
        """Called by the train() guard: the run ends FAILED, or KILLED for Ctrl-C / SystemExit."""
        if not self._open:
            return
        status = RunStatus.KILLED if isinstance(exc, (KeyboardInterrupt, SystemExit)) else RunStatus.FAILED
        if self._trial_run_id is not None:
            if type(exc).__name__ == "TrialPruned":
                self._finish_trial("PRUNED", RunStatus.FINISHED)
            else:
                self._finish_trial(status, status)
            return
        self._finish(status)

    def _finish_trial(self, trial_state: str, status: str) -> None:
        if self._trial_run_id is not None:
            self._client.set_tag(self._trial_run_id, "hf_mltrack.hpo.trial_state", trial_state)
        self._finish(status)

    # ---- hyperparameter search -------------------------------------------------------------------
    def _start_trial_run(self, args: Any, state: Any) -> Any:
        from ..tracking import fluent

        trainer = self.trainer
        if self._trial_run_id is not None:  # the previous trial, kept open for its objective
            self._finish_trial("COMPLETE", RunStatus.FINISHED)
        if self._hpo_parent is None:
            active = fluent.active_run()
            if active is not None:
                self._hpo_parent = (active.info.run_id, False)
            else:
                backend = getattr(trainer, "hp_search_backend", None)
                parent = fluent.start_run(
                    run_name=self.run_name or getattr(args, "run_name", None) or "hyperparameter-search",
                    tags={
                        **self._new_run_tags(),
                        "hf_mltrack.hpo.backend": str(getattr(backend, "value", backend)),
                    },
                )
                self._hpo_parent = (parent.info.run_id, True)
        trial = getattr(trainer, "_trial", None)
        number = getattr(trial, "number", None)
        name = getattr(state, "trial_name", None) or (f"trial-{number}" if number is not None else None)
        tags = {**self._new_run_tags(), "hf_mltrack.hpo.trial_state": "RUNNING"}
        if number is not None:
            tags["hf_mltrack.hpo.trial_number"] = number
        run = fluent.start_run(
            nested=True,
            parent_run_id=self._hpo_parent[0],
            run_name=name,
            tags=tags,
            log_system_metrics=self._system_metrics(),
        )
        self._trial_run_id = run.info.run_id
        self._owns_run = True
        self._wrap_compute_objective(trainer)
        return run

    def _wrap_compute_objective(self, trainer: Any) -> None:
        original = getattr(trainer, "compute_objective", None)
        if original is None or getattr(original, "_hf_mltrack", False):
            return
        ref = weakref.ref(self)

        @functools.wraps(original)
        def compute_objective(metrics: dict[str, float]) -> Any:
            value = original(metrics)
            cb = ref()
            if cb is not None:
                cb._safe_call("compute_objective", cb._log_objective, value)
            return value

        compute_objective._hf_mltrack = True  # type: ignore[attr-defined]
        trainer.compute_objective = compute_objective

    def _log_objective(self, value: Any) -> None:
        if self._trial_run_id is None:
            return
        trainer = self.trainer
        step = trainer.state.global_step if trainer is not None else 0
        values = list(value) if isinstance(value, (list, tuple)) else [value]
        ts = int(time.time() * 1000)
        keys = ["objective"] if len(values) == 1 else [f"objective_{i}" for i in range(len(values))]
        metrics = [Metric(k, float(v), ts, step) for k, v in zip(keys, values, strict=True)]
        self._client.log_batch(self._trial_run_id, metrics=metrics, synchronous=False)

    def _hpo_end(self, best: Any, exc: BaseException | None) -> None:
        """Called by the hyperparameter_search() guard: close the last trial and the parent run."""
        if exc is None:
            status = RunStatus.FINISHED
        elif isinstance(exc, (KeyboardInterrupt, SystemExit)):
            status = RunStatus.KILLED
        else:
            status = RunStatus.FAILED
        if self._trial_run_id is not None:
            self._finish_trial("COMPLETE" if exc is None else status, status)
        if self._hpo_parent is None:
            return
        parent_id, owned = self._hpo_parent
        self._hpo_parent = None
        if best is not None and not isinstance(best, list):
            ts = int(time.time() * 1000)
            metrics = [] if best.objective is None else [Metric("best_objective", float(best.objective), ts, 0)]
            params = _params.sanitize_params(
                {
                    "best_trial": best.run_id,
                    **{f"best.{k}": v for k, v in (best.hyperparameters or {}).items()},
                }
            )
            self._client.log_batch(
                parent_id, metrics=metrics, params=[Param(k, v) for k, v in params.items()], synchronous=False
            )
        if owned:
            self._end_run(parent_id, status)


class _CheckpointModelJob:
    """The LoggedModel of one checkpoint, made in the checkpoint thread: created (with the eval metrics of
    its step, captured at save time, linked) before the upload, described by an MLmodel and READY after."""

    def __init__(self, callback: MlTrackCallback, step: int) -> None:
        self.callback = callback
        self.step = step
        self.run_id = callback._current_run_id()
        self.metrics = dict(callback._eval_metrics.get(step, {}))
        self.model_id: str | None = None

    def before(self) -> None:
        cb = self.callback
        run = cb._client.get_run(self.run_id)
        model = _logged_checkpoints.create_checkpoint_model(cb._client, run, self.step, cb._checkpoints.adapter_only)
        self.model_id = model.model_id
        cb._checkpoint_models[model.name] = model.model_id
        _logged_checkpoints.link_metrics(
            cb._client, self.run_id, model.model_id, self.step, self.metrics, cb._eval_dataset
        )

    def after(self, staged: str, repo: Any, path: str, error: BaseException | None) -> None:
        if self.model_id is None:
            return
        client = self.callback._client
        if error is None:
            try:
                _logged_checkpoints.write_mlmodel(staged, repo, path, self.model_id, self.run_id, self.callback._task)
            except Exception as exc:  # the files are logged; only the pipeline loader is missing
                logger.debug("hf_mltrack: no MLmodel for checkpoint %s", path, exc_info=exc)
                client.set_logged_model_tags(self.model_id, {_logged_checkpoints.LOADABLE_TAG: f"false: {exc}"[:500]})
        _logged_checkpoints.finalize(client, self.model_id, error is None)


def _metric_key(key: Any) -> str | None:
    """A valid metric name for ``key`` (shortened when the store would reject it), remembered."""
    from ..exceptions import MlTrackException
    from ..utils import validation

    if not isinstance(key, str):
        return None
    name = key
    if key.startswith("/") or ".." in key or len(key) > validation.MAX_KEY_LENGTH or "\x00" in key:
        name = _params._short_key(key.replace("\x00", ""))
    try:
        validation.validate_key("metric", name)
    except MlTrackException:
        return None
    if name == key:
        _valid_keys.add(key)
    return name


def _dataset_tags(train_ds: Any, eval_ds: Any) -> dict[str, str]:
    tags: dict[str, str] = {}
    for name, ds in (("train", train_ds), ("eval", eval_ds)):
        fingerprint = getattr(ds, "_fingerprint", None)
        if isinstance(fingerprint, str):
            tags[f"hf_mltrack.dataset.{name}.fingerprint"] = fingerprint
    return tags


def _drop_from_stack(run_id: str) -> None:
    """Remove a run that is not on top from the fluent run stack (it ends under someone else's run)."""
    from ..tracking import fluent

    stack = fluent._run_stack.get()
    for run in stack:
        if run.info.run_id == run_id and run._system_monitor is not None:
            run._system_monitor.stop()
    fluent._run_stack.set(tuple(r for r in stack if r.info.run_id != run_id))


_prewarm_started = False


def _prewarm_store_modules(tracking_uri: str | None) -> None:
    """Import the SQL store's modules on a thread while the Trainer is set up (SQLAlchemy and the
    schema too, unless the store is a local SQLite file: `hf_mltrack.store.sql.sqlite_direct`).

    The run is created in the background at train begin anyway; importing ahead lets that start
    sooner. Only imports: no database is opened or created until training starts. A fork (DataLoader
    workers) waits for these imports (`hf_mltrack.utils.fork_guard`), so that no worker inherits a
    module lock held by this thread.
    """
    global _prewarm_started
    if _prewarm_started or "hf_mltrack.store.sql.tracking_store" in sys.modules:
        return
    _prewarm_started = True

    from ..utils import fork_guard

    def imports() -> None:
        with fork_guard.busy():
            prewarm()

    def prewarm() -> None:
        try:
            from ..tracking import _run_start, fluent

            uri = tracking_uri or fluent.get_tracking_uri()
            if _run_start.background_capable(uri):
                from ..store.sql import engine, sqlite_direct, tracking_store  # noqa: F401

                if sqlite_direct.local_path(uri) is None:
                    engine.import_schema_modules()
        except Exception:  # the run's creation reports what goes wrong
            logger.debug("hf_mltrack: prewarming the store's modules failed", exc_info=True)

    background_thread(imports, "hf_mltrack-prewarm").start()


def _register_open(callback: MlTrackCallback) -> None:
    global _atexit_registered
    _open_callbacks.add(callback)
    if not _atexit_registered:
        _atexit_registered = True
        atexit.register(_end_open_runs)


def _end_open_runs() -> None:
    """At exit, a run still open by a callback (training never ended) is marked FAILED."""
    for callback in list(_open_callbacks):
        try:
            callback._finish(RunStatus.FAILED)
        except Exception:
            pass


def _register_if_transformers_ready() -> None:
    # When this module is what imported transformers' integrations, the post-import hook had to wait.
    import sys

    utils = sys.modules.get("transformers.integrations.integration_utils")
    if utils is not None and hasattr(utils, "INTEGRATION_TO_CALLBACK"):
        from .report_to import register_report_to

        register_report_to(utils)


_register_if_transformers_ready()

__all__ = ["MlTrackCallback"]
