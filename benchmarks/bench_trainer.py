"""HF Trainer overhead of report_to="hf_mltrack", split into a fixed and a per-step cost (issues 7, 23).

A tiny GPT-2 (2 layers, n_embd 32) is trained with ``logging_steps=1`` for a short and a long
``max_steps`` (``--short``, ``--long``); every variant runs at both lengths in every repeat, and the
variants alternate (these machines are noisy). For each repeat the variant's extra time over
``report_to="none"`` at both lengths gives two equations:

    extra(steps) = fixed + steps * per_step

so ``per_step = (extra(long) - extra(short)) / (long - short)`` and ``fixed = extra(short) - short *
per_step``; the tables give the median over repeats. Wall time is ``trainer.train()`` plus draining
the logging queue (the background writes are part of the cost). Because whole-training wall times
on a shared 2-core machine move by more than the figures being measured, the callback's own time
is also timed directly (its hooks wrapped with a clock): the time it holds the training thread at
train begin + end (fixed) and per step (``on_log`` and the other per-step events).

Variants (one process for ours, and transformers' ``MLflowCallback`` in a worker process on the
interpreter given with ``--mlflow-python``, which needs mlflow, torch and transformers; that worker
runs its own ``report_to="none"`` baseline, interleaved with the main process's runs):

- ``none``: ``report_to="none"``;
- ``hf_mltrack``: ``report_to="hf_mltrack"``: params, every metric, system metrics, no final model;
- ``hf_mltrack+model``: the same plus the final model logged with the transformers flavor;
- ``mlflow``: transformers' ``MLflowCallback`` on MLflow's SQLite store (its defaults: synchronous
  logging, no model artifacts).

``--cold`` adds the first training of a fresh process on a fresh store (subprocesses, interleaved):
what a user's script pays once, imports and store creation included.

``--calls`` counts instead of timing (repeatable on a busy machine): the Python calls (functions and
built-ins) made on the training thread from the first step to train end, and its garbage collections,
for ``none`` and ``hf_mltrack`` at both lengths; the per-step difference names the extra work a step
does with the tracker.

With ``--checkpoint-mb N`` a last table saves a model carrying N MB of frozen weights every
``--save-steps`` steps: ``none`` vs ``hf_mltrack`` with ``log_checkpoints=True``.

    python benchmarks/bench_trainer.py --mlflow-python /tmp/mlflow-compat/venv/bin/python
    python benchmarks/bench_trainer.py --quick         # under a minute
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

# Hook names of a tracking callback whose time counts as fixed (the rest counts per step).
_FIXED_HOOKS = ("on_init_end", "on_train_begin", "on_train_end")


def _model(ballast_mb: int = 0) -> Any:
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    config = GPT2Config(vocab_size=64, n_layer=2, n_embd=32, n_head=2, n_positions=16, bos_token_id=0, eos_token_id=0)
    model = GPT2LMHeadModel(config)
    if ballast_mb:
        # Frozen weights: saved in every checkpoint, never trained (no optimizer state, no compute).
        model.ballast = torch.nn.Parameter(torch.zeros(ballast_mb * 2**20 // 4), requires_grad=False)
    return model


def _dataset() -> list[dict[str, list[int]]]:
    return [
        {"input_ids": [(i * 7 + j) % 64 for j in range(8)], "labels": [(i * 7 + j) % 64 for j in range(8)]}
        for i in range(64)
    ]


def _clock_overhead(calls: int = 20_000) -> float:
    """CPU seconds one ``thread_time`` pair adds to a timed call (subtracted from hook times)."""
    clock = {"fixed": 0.0, "step": 0.0}

    class Probe:
        def on_log(self) -> None:
            pass

    probe = Probe()
    _time_hooks(probe, clock, own_only=False)
    start = time.thread_time()
    for _ in range(calls):
        probe.on_log()
    total = time.thread_time() - start
    return min(clock["step"], total) / calls


def _time_hooks(callback: Any, clock: dict[str, float], own_only: bool = True) -> None:
    """Wrap the callback's own ``on_*`` hooks on the instance (the handler looks them up by name).

    Hooks it inherits from ``TrainerCallback`` are empty and cost every callback the same.
    """
    base = object
    if own_only:
        from transformers import TrainerCallback

        base = TrainerCallback

    def wrap(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        bucket = "fixed" if name in _FIXED_HOOKS else "step"

        def timed(*args: Any, **kwargs: Any) -> Any:
            start, wall = time.thread_time(), time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                clock[bucket] += time.thread_time() - start
                clock["wall_" + bucket] = clock.get("wall_" + bucket, 0.0) + time.perf_counter() - wall
                clock["calls_" + bucket] = clock.get("calls_" + bucket, 0.0) + 1

        return timed

    for name in dir(type(callback)):
        if name.startswith("on_") and getattr(type(callback), name) is not getattr(base, name, None):
            clock["calls_fixed" if name in _FIXED_HOOKS else "calls_step"] = 0.0
            setattr(callback, name, wrap(name, getattr(callback, name)))


def _train(variant: str, workdir: str, steps: int, ballast_mb: int = 0, save_steps: int = 0) -> dict[str, float]:
    """Wall and CPU seconds of ``trainer.train()`` plus draining the logging queue, and hook times."""
    from transformers import PrinterCallback, Trainer, TrainingArguments

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
    first_step: list[float] = []
    built = time.perf_counter()  # the Trainer is built: its callbacks' on_init_end run
    trainer = Trainer(
        model=_model(ballast_mb), args=args, train_dataset=_dataset(), callbacks=[*callbacks, _FirstStep(first_step)]
    )
    trainer.remove_callback(PrinterCallback)  # no log lines on stdout (the worker's channel)
    clock = {"fixed": 0.0, "step": 0.0}
    overhead = _clock_overhead(2000)
    for cb in trainer.callback_handler.callbacks:
        if type(cb).__name__ in ("MlTrackCallback", "MLflowCallback"):
            _time_hooks(cb, clock)
    start, cpu, main_cpu = time.perf_counter(), time.process_time(), time.thread_time()
    trainer.train()
    if variant.startswith("hf_mltrack"):
        import hf_mltrack

        flush, flush_wall = time.thread_time(), time.perf_counter()
        hf_mltrack.flush_async_logging()  # the background writes are part of the cost
        clock["fixed"] += time.thread_time() - flush
        clock["wall_fixed"] = clock.get("wall_fixed", 0.0) + time.perf_counter() - flush_wall
    wall, cpu, main_cpu = time.perf_counter() - start, time.process_time() - cpu, time.thread_time() - main_cpu
    return {
        "wall": wall,
        "main": main_cpu,  # the training thread's CPU time over train() + flush
        "first_step": first_step[0] - start,  # train() called -> the first step begins
        "with_init": time.perf_counter() - built,  # Trainer(...) built, trained, flushed
        "cpu": cpu,
        "background": cpu - main_cpu,  # other threads: writer, system metrics
        "hook_fixed": clock["fixed"] - overhead * clock.get("calls_fixed", 0.0),
        "hook_step": clock["step"] - overhead * clock.get("calls_step", 0.0),
        "hook_wall_fixed": clock.get("wall_fixed", 0.0),
    }


def _FirstStep(out: list[float]) -> Any:  # noqa: N802  (a class made on use: transformers is imported late)
    """A callback noting when the first training step begins (``perf_counter``)."""
    from transformers import TrainerCallback

    class FirstStep(TrainerCallback):
        def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if not out:
                out.append(time.perf_counter())

    return FirstStep()


def _worker() -> None:
    """``--worker``: run the commands read from stdin (one JSON object a line) in this process."""
    workdir = tempfile.mkdtemp(prefix="bench_trainer_worker_")
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{workdir}/mlflow.db"
    os.environ.setdefault("MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING", "false")
    import torch

    torch.set_num_threads(1)
    for line in sys.stdin:
        cmd = json.loads(line)
        result = _train(cmd["variant"], workdir, cmd["steps"])
        print("RESULT " + json.dumps(result), flush=True)


class _Worker:
    """A long-lived ``--worker`` process on another interpreter (MLflow's own venv)."""

    def __init__(self, python: str) -> None:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        self.proc = subprocess.Popen(
            [python, os.path.abspath(__file__), "--worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )

    def train(self, variant: str, steps: int) -> dict[str, float]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"variant": variant, "steps": steps}) + "\n")
        self.proc.stdin.flush()
        for line in self.proc.stdout:  # the Trainer prints too
            if line.startswith("RESULT "):
                return json.loads(line[len("RESULT ") :])
        raise RuntimeError("the MLflow worker exited (does its interpreter have torch + transformers?)")

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=60)


def _split(
    runs: dict[tuple[str, int], list[dict[str, float]]], variant: str, base: str, short: int, long: int
) -> dict[str, float]:
    """Median fixed and per-step extra over ``base``, by repeat, from wall and CPU times; hook times."""
    out: dict[str, float] = {}
    for field in ("wall", "cpu", "background", "main"):
        fixed, per_step = [], []
        for s_v, s_b, l_v, l_b in zip(
            runs[variant, short], runs[base, short], runs[variant, long], runs[base, long], strict=True
        ):
            extra_short, extra_long = s_v[field] - s_b[field], l_v[field] - l_b[field]
            step = (extra_long - extra_short) / (long - short)
            per_step.append(step)
            fixed.append(extra_short - short * step)
        out[f"{field}_fixed"] = statistics.median(fixed)
        out[f"{field}_step"] = statistics.median(per_step)
    long_runs = runs[variant, long]
    out["hook_fixed"] = statistics.median(r["hook_fixed"] for r in long_runs)
    out["hook_wall_fixed"] = statistics.median(r.get("hook_wall_fixed", 0.0) for r in long_runs)
    out["hook_step"] = statistics.median(r["hook_step"] / long for r in long_runs)
    out["wall_long"] = statistics.median(r["wall"] for r in long_runs)
    out["base_long"] = statistics.median(r["wall"] for r in runs[base, long])
    return out


def _print_split(rows: list[tuple[str, dict[str, float]]], short: int, long: int) -> None:
    print(
        f"\nExtra cost over report_to='none', from {short}- and {long}-step runs (median over repeats).\n"
        "hooks: CPU time of the callback on the training thread (begin + end + final flush = fixed),\n"
        "  and the wall time it held the training thread at begin + end (waits included);\n"
        "thread: the training thread's whole CPU time, extra over 'none' (the hooks and what they cause:\n"
        "  collections, a colder cache for the step; noisier than hooks);\n"
        "background: CPU time of the other threads (writer, system metrics), extra over 'none';\n"
        "wall: whole-training wall time, extra over 'none' (noisy on a shared machine).\n"
        f"{'variant':<14}{'hooks fixed ms':>15}{'(wall) ms':>10}{'hooks us/step':>14}{'thread us/step':>15}"
        f"{'bg fixed ms':>12}{'bg us/step':>11}"
        f"{'wall fixed ms':>14}{'wall us/step':>13}{f'wall {long} steps':>18}"
    )
    for name, r in rows:
        print(
            f"{name:<14}{r['hook_fixed'] * 1e3:>15.1f}{r['hook_wall_fixed'] * 1e3:>10.1f}{r['hook_step'] * 1e6:>14.1f}"
            f"{r['main_step'] * 1e6:>15.1f}{r['background_fixed'] * 1e3:>12.1f}{r['background_step'] * 1e6:>11.1f}"
            f"{r['wall_fixed'] * 1e3:>14.1f}{r['wall_step'] * 1e6:>13.0f}"
            f"{r['wall_long']:>10.3f}s ({r['wall_long'] / r['base_long']:.2f}x)"
        )


_COLD_SCRIPT = r"""
import os, sys, tempfile, time, json
sys.path.insert(0, {bench_dir!r})
os.environ["HF_MLTRACK_TRACKING_URI"] = "sqlite:///" + tempfile.mkdtemp() + "/cold.db"
import torch
torch.set_num_threads(1)
import bench_trainer
import transformers, transformers.trainer  # the user's script imports these anyway
import hf_mltrack
assert hf_mltrack.__file__.startswith(os.getcwd()), hf_mltrack.__file__  # the tree under test
variant = {variant!r}
if variant != "none":
    import hf_mltrack.integrations  # noqa: F401  (what report_to="hf_mltrack" needs)
print("RESULT " + json.dumps(bench_trainer._train(variant, tempfile.mkdtemp(), {steps})))
"""


def _cold(variants: list[str], steps: int, repeats: int, trees: dict[str, str]) -> None:
    """First training of a fresh process on a fresh store (imports of our store layer included).

    ``trees``: label -> the checkout whose ``hf_mltrack`` the process imports (``PYTHONPATH``), e.g.
    this one and ``main`` for a before/after; every repeat runs each tree's variants in turn.
    """
    runs: dict[tuple[str, str], list[dict[str, float]]] = {}
    # Bytecode as an installed package has it, for every tree alike: compiled once (by the warm-up
    # round) into a cache outside the checkouts, read by every timed run.
    pycache = os.path.join(tempfile.gettempdir(), "bench_trainer_pycache")
    for repeat in range(repeats + 1):
        for label, root in trees.items():
            env = {**os.environ, "PYTHONPATH": root, "PYTHONPYCACHEPREFIX": pycache}
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            for v in variants:
                code = _COLD_SCRIPT.format(bench_dir=os.path.dirname(os.path.abspath(__file__)), variant=v, steps=steps)
                proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=root)
                if proc.returncode:
                    raise RuntimeError(f"the cold run of {v} in {root} failed:\n{proc.stderr[-3000:]}")
                line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")][-1]
                if repeat:  # round 0 is the warm-up
                    runs.setdefault((label, v), []).append(json.loads(line[len("RESULT ") :]))
    print(
        f"\nCold: the first train() of a fresh process on a fresh store, {steps} steps, {repeats} repeats, "
        f"load average {os.getloadavg()[0]:.1f}.\nwall: train() + final flush; +init: the same from Trainer(...) "
        "on; first step: train() called -> first step begins;\ncpu: the process's CPU time over train() + flush "
        "(all threads). Medians; extra is the median of the per-repeat\ndifferences to 'none' of the same tree "
        "(run just before it)."
    )
    print(
        f"{'tree':<10}{'variant':<14}{'wall s':>8}{'extra ms':>10}{'+init extra':>12}{'first step ms':>15}"
        f"{'extra ms':>10}{'cpu extra ms':>14}"
    )
    for label in trees:
        for v in variants:
            rs, base = runs[label, v], runs[label, "none"]
            med = lambda f, rs=rs: statistics.median(r[f] for r in rs)  # noqa: E731
            extra = lambda f, rs=rs, base=base: statistics.median(  # noqa: E731
                r[f] - b[f] for r, b in zip(rs, base, strict=True)
            )
            print(
                f"{label:<10}{v:<14}{med('wall'):>8.3f}{extra('wall') * 1e3:>10.1f}{extra('with_init') * 1e3:>12.1f}"
                f"{med('first_step') * 1e3:>15.1f}{extra('first_step') * 1e3:>10.1f}{extra('cpu') * 1e3:>14.1f}"
            )


def _hook_cost(calls: int = 5000) -> None:
    """``on_log`` alone, on a run with a store: the callback's time per logged step."""
    from transformers import TrainerControl, TrainerState

    import hf_mltrack
    from hf_mltrack.integrations import MlTrackCallback

    callback = MlTrackCallback(log_system_metrics=False)
    state = TrainerState()
    with hf_mltrack.start_run() as run:
        callback._client = hf_mltrack.MlTrackClient()
        callback._run_id, callback._active = run.info.run_id, True
        drain = getattr(callback, "_drain_logs", None)
        if drain is not None:  # what on_train_begin does: the writer makes the points of held on_log entries
            from hf_mltrack.tracking import _batcher

            _batcher.add_source(drain)
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
        f"\non_log alone: {per_call * 1e6:.1f} us per logged step (4 metrics; the calling thread's part); "
        f"making the points left + writing {calls * 4} points: {flush:.3f} s; stored {points} loss points"
    )
    assert points == calls, f"{points} of {calls} points stored"


def _count_calls(variant: str, workdir: str, steps: int) -> collections.Counter[str]:
    """Python calls on the training thread from the first ``on_step_begin`` to ``on_train_end`` (the
    step loop), by function (``file:line name``, or the built-in's name), and its collections by generation."""
    import gc
    import threading

    from transformers import Trainer, TrainerCallback

    counts: collections.Counter[str] = collections.Counter()
    on = [False]
    main = threading.main_thread()

    class Gate(TrainerCallback):  # first in the handler: opens before anything else of the step runs
        def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            on[0] = True

        def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            on[0] = False

    def profile(frame: Any, event: str, arg: Any) -> None:
        if not on[0]:
            return
        if event == "call":
            code = frame.f_code
            counts[f"{_short_path(code.co_filename)}:{code.co_firstlineno} {code.co_name}"] += 1
        elif event == "c_call":
            counts[f"(built-in) {getattr(arg, '__qualname__', repr(arg))}"] += 1

    def collected(phase: str, info: dict[str, int]) -> None:
        if on[0] and phase == "start" and threading.current_thread() is main:
            counts[f"(gc) generation {info['generation']} collection"] += 1

    init = Trainer.__init__

    def gated_init(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        self.callback_handler.callbacks.insert(0, Gate())

    Trainer.__init__ = gated_init  # type: ignore[method-assign]
    gc.callbacks.append(collected)
    sys.setprofile(profile)
    try:
        _train(variant, workdir, steps)
    finally:
        sys.setprofile(None)
        gc.callbacks.remove(collected)
        Trainer.__init__ = init  # type: ignore[method-assign]
    return counts


def _short_path(path: str) -> str:
    for marker in ("site-packages/", "/lib/python3"):
        if marker in path:
            return path.split(marker, 1)[1]
    return os.path.relpath(path) if os.path.isabs(path) else path


def _calls(short: int, long: int, top: int = 40) -> None:
    """``--calls``: the per-step difference in calls on the training thread, ``hf_mltrack`` - ``none``."""
    import hf_mltrack

    workdir = tempfile.mkdtemp(prefix="bench_trainer_calls_")
    hf_mltrack.set_tracking_uri(f"sqlite:///{workdir}/mltrack.db")
    for v in ("none", "hf_mltrack"):  # warm-up: lazy imports, the store's schema
        _train(v, workdir, 3)
    per_step: dict[str, dict[str, float]] = {}
    for v in ("none", "hf_mltrack"):
        a, b = _count_calls(v, workdir, short), _count_calls(v, workdir, long)
        per_step[v] = {k: (b[k] - a[k]) / (long - short) for k in a.keys() | b.keys()}
    none, ours = per_step["none"], per_step["hf_mltrack"]
    diff = {k: ours.get(k, 0.0) - none.get(k, 0.0) for k in none.keys() | ours.keys()}
    print(
        f"\nCalls per step on the training thread (first step .. train end), from {short}- and {long}-step "
        f"runs:\nnone {sum(none.values()):.1f}, hf_mltrack {sum(ours.values()):.1f}, "
        f"extra {sum(diff.values()):+.1f}. The {top} largest differences (hf_mltrack - none; none's count):"
    )
    for key, d in sorted(diff.items(), key=lambda kv: (-abs(kv[1]), kv[0]))[:top]:
        if abs(d) >= 0.01:
            print(f"{d:+9.2f}  {none.get(key, 0.0):9.2f}  {key}")


def _cold_run(opts: argparse.Namespace) -> None:
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    trees = {"this": here}
    if opts.cold_compare:
        trees["compare"] = os.path.abspath(opts.cold_compare)
    repeats = opts.cold_repeats or (1 if opts.quick else 3)
    _cold(["none", "hf_mltrack"], opts.short, repeats, trees)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--short", type=int, default=20, help="steps of the short runs")
    parser.add_argument("--long", type=int, default=420, help="steps of the long runs")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--mlflow-python", help="interpreter with mlflow + torch + transformers")
    parser.add_argument("--cold", action="store_true", help="also time a fresh process's first train()")
    parser.add_argument(
        "--cold-compare", metavar="DIR", help="with --cold: also time the hf_mltrack of another checkout (before)"
    )
    parser.add_argument("--cold-only", action="store_true", help="only the --cold measurement")
    parser.add_argument("--cold-repeats", type=int, help="repeats of --cold (default: 1 quick, else 3)")
    parser.add_argument("--checkpoint-mb", type=int, default=0)
    parser.add_argument("--save-steps", type=int, default=50)
    parser.add_argument("--quick", action="store_true", help="10/60 steps, 2 repeats, no model variant")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 keeps a shared machine steady)")
    parser.add_argument(
        "--calls", action="store_true", help="only count the training thread's calls per step (see above)"
    )
    parser.add_argument(
        "--no-model", action="store_true", help="leave out the hf_mltrack+model variant (as --quick does)"
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.worker:
        _worker()
        return
    if opts.quick:
        opts.short, opts.long, opts.repeats = 10, 60, 2
    if opts.cold_only:
        _cold_run(opts)
        return
    if opts.calls:
        import torch

        torch.set_num_threads(opts.threads)
        _calls(opts.short, opts.long)
        return

    import torch

    torch.set_num_threads(opts.threads)
    import hf_mltrack
    import hf_mltrack.integrations  # noqa: F401  (report_to="hf_mltrack")

    workdir = tempfile.mkdtemp(prefix="bench_trainer_")
    hf_mltrack.set_tracking_uri(f"sqlite:///{workdir}/mltrack.db")
    variants = ["none", "hf_mltrack"] + ([] if opts.quick or opts.no_model else ["hf_mltrack+model"])
    worker = _Worker(opts.mlflow_python) if opts.mlflow_python else None
    print(
        f"python {sys.version.split()[0]}, torch {torch.__version__}, {os.cpu_count()} CPUs, "
        f"torch threads {opts.threads}, load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"logging_steps=1, {opts.short} and {opts.long} steps, {opts.repeats} repeats, variants interleaved"
        + (f"; MLflow worker: {opts.mlflow_python}" if worker else "")
    )
    for v in variants:  # warm-up: lazy imports, the store's schema, the allocator
        _train(v, workdir, 3)
    if worker:
        worker.train("none", 3)
        worker.train("mlflow", 3)
    runs: dict[tuple[str, int], list[dict[str, float]]] = {}
    for _ in range(opts.repeats):
        for steps in (opts.short, opts.long):
            for v in variants:
                runs.setdefault((v, steps), []).append(_train(v, workdir, steps))
            if worker:
                for v in ("none", "mlflow"):
                    runs.setdefault((f"worker:{v}", steps), []).append(worker.train(v, steps))
    rows = [(v, _split(runs, v, "none", opts.short, opts.long)) for v in variants[1:]]
    if worker:
        worker.close()
        rows.append(("mlflow 3.17", _split(runs, "worker:mlflow", "worker:none", opts.short, opts.long)))
    _print_split(rows, opts.short, opts.long)
    _hook_cost()
    if opts.cold:
        _cold_run(opts)

    if opts.checkpoint_mb:
        ck_variants = ["none", "hf_mltrack"]
        ck: dict[str, list[float]] = {v: [] for v in ck_variants}
        for _ in range(opts.repeats):
            for v in ck_variants:
                ck[v].append(_train(v, workdir, opts.long, opts.checkpoint_mb, opts.save_steps)["wall"])
        base = statistics.median(ck["none"])
        print(
            f"\nCheckpoints of a {opts.checkpoint_mb} MB model every {opts.save_steps} steps, {opts.long} steps "
            "(hf_mltrack: log_checkpoints=True)"
        )
        for v in ck_variants:
            med = statistics.median(ck[v])
            print(f"{v:<18}{med:>8.3f} s  ({med / base:.2f}x)")


if __name__ == "__main__":
    main()
