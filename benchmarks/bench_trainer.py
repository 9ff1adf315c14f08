"""HF Trainer overhead of report_to="hf_mltrack" (issue 7, DESIGN section 4).

Measured side by side in one process (these machines are noisy): a tiny GPT-2 (2 layers, n_embd 32)
trained for ``--steps`` steps with ``logging_steps=1``, alternating the variants in each repeat and
reporting the median wall time of ``trainer.train()``:

- ``none``: ``report_to="none"`` (the baseline);
- ``hf_mltrack``: ``report_to="hf_mltrack"`` with its defaults (params, every metric, system metrics);
- ``hf_mltrack+model``: the same plus the final model logged with the transformers flavor;
- ``mlflow``: transformers' own ``MLflowCallback`` on MLflow's default store (when mlflow is installed).

With ``--checkpoint-mb N`` (default 100) a second table saves a model carrying N MB of frozen weights
every ``--save-steps`` steps: ``none`` vs ``hf_mltrack`` with ``log_checkpoints=True`` (background,
zero-copy logging of every checkpoint).

    python benchmarks/bench_trainer.py                  # 200 steps, 3 repeats
    python benchmarks/bench_trainer.py --steps 50 --repeats 1 --checkpoint-mb 0   # quick look
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import tempfile
import time
from typing import Any

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")


def _model(ballast_mb: int = 0) -> Any:
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=64, n_layer=2, n_embd=32, n_head=2, n_positions=16))
    if ballast_mb:
        # Frozen weights: saved in every checkpoint, never trained (no optimizer state, no compute).
        model.ballast = torch.nn.Parameter(torch.zeros(ballast_mb * 2**20 // 4), requires_grad=False)
    return model


def _dataset() -> list[dict[str, list[int]]]:
    return [
        {"input_ids": [(i * 7 + j) % 64 for j in range(8)], "labels": [(i * 7 + j) % 64 for j in range(8)]}
        for i in range(64)
    ]


def _train(
    variant: str, workdir: str, steps: int, ballast_mb: int = 0, save_steps: int = 0
) -> tuple[float, float]:
    """(wall seconds, process CPU seconds) of ``trainer.train()`` plus draining the logging queue."""
    from transformers import Trainer, TrainingArguments

    import hf_mltrack

    callbacks: list[Any] = []
    report_to = "none"
    os.environ["HF_MLTRACK_LOG_MODEL"] = "true" if variant == "hf_mltrack+model" else "false"
    if variant.startswith("hf_mltrack"):
        report_to = "hf_mltrack"
        if save_steps:
            from hf_mltrack.integrations import MlTrackCallback

            report_to = "none"
            callbacks = [MlTrackCallback(log_checkpoints=True, keep_last_checkpoints=1)]
    elif variant == "mlflow":
        report_to = "mlflow"
        os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{workdir}/mlflow.db"
    out = tempfile.mkdtemp(dir=workdir)
    args = TrainingArguments(
        output_dir=out,
        report_to=report_to,
        max_steps=steps,
        logging_steps=1,
        per_device_train_batch_size=8,
        save_strategy="steps" if save_steps else "no",
        save_steps=save_steps or 500,
        save_total_limit=1 if save_steps else None,
        use_cpu=True,
        disable_tqdm=True,
        dataloader_num_workers=0,
    )
    trainer = Trainer(model=_model(ballast_mb), args=args, train_dataset=_dataset(), callbacks=callbacks)
    start, cpu = time.perf_counter(), time.process_time()
    trainer.train()
    if variant.startswith("hf_mltrack"):
        hf_mltrack.flush_async_logging()  # the background writes are part of the cost
    return time.perf_counter() - start, time.process_time() - cpu


def _table(title: str, variants: list[str], times: dict[str, list[tuple[float, float]]], steps: int) -> None:
    """Wall time (median and min: the min is the least disturbed by other load) and CPU time (all threads)."""

    def stats(v: str) -> tuple[float, float, float]:
        walls = [w for w, _ in times[v]]
        return statistics.median(walls), min(walls), statistics.median(c for _, c in times[v])

    base_med, base_min, base_cpu = stats("none")
    print(f"\n{title}")
    print(
        f"{'variant':<18}{'wall med s':>11}{'wall min s':>11}{'ratio(min)':>11}{'ms/step':>9}"
        f"{'cpu s':>8}{'ratio(cpu)':>11}{'cpu ms/step':>12}"
    )
    for v in variants:
        med, low, cpu = stats(v)
        print(
            f"{v:<18}{med:>11.3f}{low:>11.3f}{low / base_min:>11.3f}{(low - base_min) / steps * 1e3:>9.2f}"
            f"{cpu:>8.3f}{cpu / base_cpu:>11.3f}{(cpu - base_cpu) / steps * 1e3:>12.2f}"
        )


def _hook_cost(workdir: str, calls: int = 5000) -> None:
    """The callback's own time per logged step (deterministic, unlike whole-training wall times)."""
    from transformers import TrainerControl, TrainerState

    import hf_mltrack
    from hf_mltrack.integrations import MlTrackCallback

    callback = MlTrackCallback(log_system_metrics=False)
    state = TrainerState()
    with hf_mltrack.start_run() as run:
        callback._client = hf_mltrack.MlTrackClient()
        callback._run_id, callback._active = run.info.run_id, True
        logs = {"loss": 2.5, "grad_norm": 1.25, "learning_rate": 5e-5, "epoch": 0.5}
        start = time.perf_counter()
        for step in range(1, calls + 1):
            state.global_step = step
            callback.on_log(None, state, TrainerControl(), logs=logs)
        per_call = (time.perf_counter() - start) / calls
        t = time.perf_counter()
        hf_mltrack.flush_async_logging()
        flush = time.perf_counter() - t
    points = len(hf_mltrack.MlTrackClient().get_metric_history(run.info.run_id, "loss"))
    print(
        f"\non_log cost: {per_call * 1e6:.1f} us per logged step (4 metrics, queued); "
        f"background write of {calls * 4} points: {flush:.3f} s; stored {points} loss points"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--checkpoint-mb", type=int, default=100)
    parser.add_argument("--save-steps", type=int, default=50)
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (1 keeps a shared machine steady)"
    )
    opts = parser.parse_args()

    import torch

    torch.set_num_threads(opts.threads)
    import hf_mltrack
    import hf_mltrack.integrations  # noqa: F401  (report_to="hf_mltrack")

    workdir = tempfile.mkdtemp(prefix="bench_trainer_")
    hf_mltrack.set_tracking_uri(f"sqlite:///{workdir}/mltrack.db")
    variants = ["none", "hf_mltrack", "hf_mltrack+model"]
    if importlib.util.find_spec("mlflow") is not None:
        variants.append("mlflow")
    print(
        f"python {sys.version.split()[0]}, torch {torch.__version__}, {os.cpu_count()} CPUs, "
        f"torch threads {opts.threads}"
    )
    print(
        f"{opts.steps} steps, logging_steps=1, {opts.repeats} repeats (variants alternate within each repeat)"
    )

    _train("none", workdir, 5)  # warm-up: lazy imports, allocator
    _train("hf_mltrack", workdir, 5)
    times: dict[str, list[tuple[float, float]]] = {v: [] for v in variants}
    for _ in range(opts.repeats):
        for v in variants:
            times[v].append(_train(v, workdir, opts.steps))
    _table("Logging every step", variants, times, opts.steps)

    _hook_cost(workdir)

    if opts.checkpoint_mb:
        ck_variants = ["none", "hf_mltrack"]
        ck_times: dict[str, list[tuple[float, float]]] = {v: [] for v in ck_variants}
        for _ in range(opts.repeats):
            for v in ck_variants:
                ck_times[v].append(_train(v, workdir, opts.steps, opts.checkpoint_mb, opts.save_steps))
        _table(
            f"Checkpoints of a {opts.checkpoint_mb} MB model every {opts.save_steps} steps "
            "(hf_mltrack: log_checkpoints=True)",
            ck_variants,
            ck_times,
            opts.steps,
        )


if __name__ == "__main__":
    main()
