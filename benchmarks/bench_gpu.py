"""GPU benchmarks of issue 24, side by side in one run (run by ``benchmarks/gpu_check.sh``).

1. Trainer overhead: a GPT-2 of 124M parameters (GPT-2 small's shape, built from a config) trained in
   bf16 for ``--steps`` steps at ``logging_steps=1``: ``report_to="none"``, ``"hf_mltrack"`` and
   transformers' ``MLflowCallback`` (MLflow in its own venv, ``--mlflow-python``), each variant in a
   fresh process, interleaved over ``--repeats``. Per step: the median time between two
   ``on_step_end`` calls (it includes every callback's ``on_log``); in total: ``trainer.train()`` wall
   time (run creation, the final flush and the end of the run included). Targets: <= 0.5% per step,
   <= 1 s in total.
2. ``hf_mltrack.transformers.load_model`` onto ``cuda:0`` vs ``AutoModelForCausalLM.from_pretrained(...,
   device_map="cuda")`` of the same saved folder, interleaved, median of ``--repeats`` (warm file cache).
   Target <= 1.1x.
3. Checkpoints of the 124M model every ``--save-steps`` steps: how much longer the Trainer waits per save
   with ``log_checkpoints=True`` than with ``False`` (target <= 5%), against the save itself.

    python benchmarks/bench_gpu.py --report gpu-bench.md                      # on a GPU
    python benchmarks/bench_gpu.py --device cpu --tiny --steps 20 --repeats 1  # dry run of the logic on CPU

Each measurement runs in a child process of this script (``--worker``), so that every variant starts
from the same state (CUDA context, allocator, imports) and a failure of one cannot skew the others.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")

SEQ_LEN = 128
BATCH = 8


# ---- the worker side (one measurement per process) ---------------------------------------------------
def _gpt2(tiny: bool) -> Any:
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    shape = dict(n_layer=2, n_embd=64, n_head=2) if tiny else dict(n_layer=12, n_embd=768, n_head=12)
    return GPT2LMHeadModel(GPT2Config(vocab_size=50257, n_positions=SEQ_LEN, **shape))


class _Rows:
    """Fixed random token rows (``input_ids`` = ``labels``), the same in every variant."""

    def __init__(self, n: int) -> None:
        import torch

        gen = torch.Generator().manual_seed(0)
        self.ids = torch.randint(0, 50257, (n, SEQ_LEN), generator=gen)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return {"input_ids": self.ids[i], "labels": self.ids[i]}


def _step_timer() -> Any:
    from transformers import TrainerCallback

    class StepTimer(TrainerCallback):
        def __init__(self) -> None:
            self.ends: list[float] = []

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.ends.append(time.perf_counter())

    return StepTimer()


def _worker_train(opts: argparse.Namespace) -> dict[str, Any]:
    """One Trainer run: ``{"train_s", "step_ms" (median), "steps"}``."""
    import torch
    from transformers import Trainer, TrainingArguments

    variant = opts.worker_variant
    work = tempfile.mkdtemp(prefix=f"bench_gpu_{variant}_")
    callbacks: list[Any] = [_step_timer()]
    report_to = "none"
    if variant.startswith("hf_mltrack"):
        import hf_mltrack
        import hf_mltrack.integrations  # noqa: F401  (report_to="hf_mltrack")

        hf_mltrack.set_tracking_uri(f"sqlite:///{work}/mltrack.db")
        os.environ["HF_MLTRACK_LOG_MODEL"] = "false"
        report_to = "hf_mltrack"
        if variant == "hf_mltrack+ckpt":
            os.environ["HF_MLTRACK_LOG_CHECKPOINTS"] = "true"
    elif variant == "mlflow":
        os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{work}/mlflow.db"
        report_to = "mlflow"
    saves = opts.save_steps if variant in ("save", "hf_mltrack+save", "hf_mltrack+ckpt") else 0
    on_cpu = opts.device == "cpu"
    args = TrainingArguments(
        output_dir=f"{work}/out",
        report_to=report_to,
        max_steps=opts.steps,
        logging_steps=1,
        per_device_train_batch_size=BATCH,
        bf16=True,
        use_cpu=on_cpu,
        save_strategy="steps" if saves else "no",
        save_steps=saves or 500,
        disable_tqdm=True,
        dataloader_num_workers=0,
        run_name=f"bench-{variant}",
    )
    trainer = Trainer(model=_gpt2(opts.tiny), args=args, train_dataset=_Rows(opts.steps * BATCH), callbacks=callbacks)
    if not on_cpu:
        torch.cuda.synchronize()
    start = time.perf_counter()
    trainer.train()
    if variant.startswith("hf_mltrack"):
        import hf_mltrack

        hf_mltrack.flush_async_logging()
    train_s = time.perf_counter() - start
    ends = callbacks[0].ends
    gaps = [
        b - a for a, b in zip(ends[1:], ends[2:], strict=False)
    ]  # the first steps warm up kernels and the allocator
    return {"train_s": train_s, "step_ms": statistics.median(gaps) * 1e3, "steps": len(ends)}


def _worker_load(opts: argparse.Namespace) -> dict[str, Any]:
    """Load the saved model ``--load-repeats`` times each way, interleaved: medians in seconds."""
    import gc

    import torch
    from transformers import AutoModelForCausalLM

    import hf_mltrack.transformers as hft

    device = "cpu" if opts.device == "cpu" else "cuda"
    folder = opts.folder
    timings: dict[str, list[float]] = {"hf_mltrack.load_model": [], "from_pretrained": []}

    def sync() -> None:
        if device == "cuda":
            torch.cuda.synchronize()

    for i in range(opts.repeats + 1):
        for name in timings:
            gc.collect()
            if device == "cuda":
                torch.cuda.empty_cache()
            sync()
            start = time.perf_counter()
            if name == "from_pretrained":
                model = AutoModelForCausalLM.from_pretrained(f"{folder}/model", device_map=device)
            else:
                model = hft.load_model(folder, return_type="components", device=device)["model"]
            sync()
            elapsed = time.perf_counter() - start
            assert next(model.parameters()).device.type == device
            del model
            if i:  # the first round warms the file cache and the imports
                timings[name].append(elapsed)
    return {name: statistics.median(values) for name, values in timings.items()}


# ---- the driver --------------------------------------------------------------------------------------
def _run_worker(python: str, kind: str, variant: str, opts: argparse.Namespace, **extra: str) -> dict[str, Any]:
    cmd = [
        python,
        os.path.abspath(__file__),
        "--worker",
        kind,
        "--worker-variant",
        variant,
        "--device",
        opts.device,
        "--steps",
        str(extra.get("steps", opts.steps)),
        "--save-steps",
        str(opts.save_steps),
        "--repeats",
        str(opts.repeats),
    ]
    if opts.tiny:
        cmd.append("--tiny")
    if "folder" in extra:
        cmd += ["--folder", extra["folder"]]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_MLTRACK_", "MLFLOW_"))}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f"{kind}/{variant} failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _versions(mlflow_python: str | None) -> list[str]:
    import torch
    import transformers

    import hf_mltrack

    lines = [
        f"python {platform.python_version()}, torch {torch.__version__}, transformers {transformers.__version__}, "
        f"hf_mltrack {hf_mltrack.__version__}"
    ]
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        lines.append(
            f"GPU: {props.name}, {props.total_memory / 2**30:.0f} GiB, CUDA {torch.version.cuda}, "
            f"{torch.cuda.device_count()} device(s)"
        )
    if mlflow_python:
        out = subprocess.run(
            [mlflow_python, "-c", "import mlflow; print(mlflow.__version__)"], capture_output=True, text=True
        )
        lines.append(f"MLflow {out.stdout.strip() or '(not importable: ' + out.stderr.strip()[-200:] + ')'}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--save-steps", type=int, default=50)
    parser.add_argument("--checkpoint-steps", type=int, default=100, help="steps of the checkpoint benchmark")
    parser.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    parser.add_argument("--tiny", action="store_true", help="a 2-layer GPT-2 (dry runs)")
    parser.add_argument("--mlflow-python", default=None, help="a python with mlflow installed (its own venv)")
    parser.add_argument("--report", default=None, help="append the results to this markdown file")
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: trainer,load,checkpoints")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--worker-variant", default="", help=argparse.SUPPRESS)
    parser.add_argument("--folder", default="", help=argparse.SUPPRESS)
    opts = parser.parse_args()

    if opts.worker == "train":
        print(json.dumps(_worker_train(opts)))
        return
    if opts.worker == "load":
        print(json.dumps(_worker_load(opts)))
        return

    skip = {s.strip() for s in opts.skip.split(",") if s.strip()}
    out: list[str] = ["## GPU benchmarks (benchmarks/bench_gpu.py)", "", *_versions(opts.mlflow_python), ""]
    command = " ".join(["python", "benchmarks/bench_gpu.py", *sys.argv[1:]])
    out += [f"Command: `{command}`", ""]

    def emit(lines: list[str]) -> None:
        out.extend(lines)
        print("\n".join(lines), flush=True)

    emit([])
    if "trainer" not in skip:
        variants = ["none", "hf_mltrack"] + (["mlflow"] if opts.mlflow_python else [])
        results: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
        for _ in range(opts.repeats):
            for v in variants:
                python = opts.mlflow_python if v == "mlflow" else sys.executable
                results[v].append(_run_worker(python, "train", v, opts))
        base_step = statistics.median(r["step_ms"] for r in results["none"])
        base_total = statistics.median(r["train_s"] for r in results["none"])
        emit(
            [
                f"### Trainer, GPT-2 {'2-layer' if opts.tiny else '124M'} bf16, {opts.steps} steps, "
                f"logging_steps=1, batch {BATCH}x{SEQ_LEN}, median of {opts.repeats} (interleaved)",
                "",
                "| report_to | step ms (median) | added per step | train() s | added in total |",
                "|---|---|---|---|---|",
            ]
        )
        for v in variants:
            step = statistics.median(r["step_ms"] for r in results[v])
            total = statistics.median(r["train_s"] for r in results[v])
            emit(
                [
                    f"| {v} | {step:.2f} | {100 * (step - base_step) / base_step:+.2f}% | {total:.2f} | "
                    f"{total - base_total:+.2f} s |"
                ]
            )
        emit(["", "Targets: hf_mltrack adds <= 0.5% per step and <= 1 s in total.", ""])

    if "load" not in skip:
        import torch

        import hf_mltrack.transformers as hft

        folder = tempfile.mkdtemp(prefix="bench_gpu_model_") + "/m"
        from hf_mltrack.quickstart.tiny import build_tokenizer

        hft.save_model(
            {"model": _gpt2(opts.tiny).to(torch.bfloat16), "tokenizer": build_tokenizer()},
            folder,
            task="text-generation",
        )
        load = _run_worker(sys.executable, "load", "load", opts, folder=folder)
        ratio = load["hf_mltrack.load_model"] / load["from_pretrained"]
        emit(
            [
                f"### Loading the saved bf16 model onto {opts.device} (median of {opts.repeats}, warm cache)",
                "",
                "| how | seconds |",
                "|---|---|",
                f"| hf_mltrack.transformers.load_model(folder) | {load['hf_mltrack.load_model']:.3f} |",
                f"| AutoModelForCausalLM.from_pretrained(folder/model, device_map='{opts.device}') | "
                f"{load['from_pretrained']:.3f} |",
                "",
                f"Ratio {ratio:.2f}x (target <= 1.1x; load_model also reads MLmodel and the tokenizer).",
                "",
            ]
        )

    if "checkpoints" not in skip:
        variants = ["nosave", "save", "hf_mltrack+save", "hf_mltrack+ckpt"]
        ck: dict[str, list[float]] = {v: [] for v in variants}
        for _ in range(opts.repeats):
            for v in variants:
                r = _run_worker(sys.executable, "train", v, opts, steps=str(opts.checkpoint_steps))
                ck[v].append(r["train_s"])
        saves = opts.checkpoint_steps // opts.save_steps
        med = {v: statistics.median(ck[v]) for v in variants}
        per_save = (med["save"] - med["nosave"]) / saves
        added = (med["hf_mltrack+ckpt"] - med["hf_mltrack+save"]) / saves
        emit(
            [
                f"### Checkpoints every {opts.save_steps} steps ({saves} saves in {opts.checkpoint_steps} steps), "
                f"median of {opts.repeats}",
                "",
                "| variant | train() s |",
                "|---|---|",
                *(f"| {v} | {med[v]:.2f} |" for v in variants),
                "",
                f"A save costs the Trainer {per_save:.3f} s; log_checkpoints=True adds {added:+.3f} s per save "
                f"({100 * added / per_save if per_save > 0 else float('nan'):+.1f}%; target <= 5%). "
                "(`save`: report_to='none'; `hf_mltrack+save` / `+ckpt`: report_to='hf_mltrack' with "
                "log_checkpoints False / True, so the difference is the checkpoint logging alone.)",
                "",
            ]
        )

    if opts.report:
        with open(opts.report, "a", encoding="utf-8") as f:
            f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
