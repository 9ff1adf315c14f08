"""Benchmark: the transformers flavor against plain transformers, side by side on the same disk.

1. ``log_model`` of a ~100 MB GPT-2 vs ``model.save_pretrained`` (target <= 1.5x; MLflow: 1.26 s vs 0.09 s).
2. ``log_model`` of the same model's checkpoint folder (files already on disk).
3. ``load_model(..., return_type="pipeline")`` vs ``pipeline()`` from the plain folder (target <= 1.2x).
4. Peak host RAM added while loading, in a fresh process, vs the model's size (target <= 1.3x).

Run: ``python benchmarks/bench_transformers_log_model.py [--repeat 5] [--device cpu]``
The model is built from a config (no download). Each timing is the median of ``--repeat`` runs after a
warm-up, so page-cache effects hit both sides equally.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def _build_model(n_embd: int = 384, n_layer: int = 4):
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(n_embd=n_embd, n_layer=n_layer, n_head=6, n_positions=512)
    return GPT2LMHeadModel(config).eval()


def _tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<unk>", "<pad>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(["hello world", "the quick brown fox jumps over the lazy dog"] * 10, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>")


def _interleaved(fns: dict, repeat: int, cleanup=None) -> dict[str, float]:
    """Median time of each function, run in turn (so disk and machine noise hit all of them alike).

    Dirty pages are flushed (``os.sync``) and outputs removed before every timed call: a write benchmark
    otherwise measures the write-back of the previous runs.
    """
    times: dict[str, list[float]] = {name: [] for name in fns}
    for i in range(repeat + 1):
        for name, fn in fns.items():
            if cleanup is not None:
                cleanup()
            os.sync()
            start = time.perf_counter()
            fn()
            if i:  # the first round is a warm-up
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def _dir_bytes(path: str) -> int:
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files)


_PEAK_SCRIPT = r"""
import json, os, sys, threading, time
import torch, transformers, hf_mltrack.transformers as hft
from transformers import pipeline
PAGE = os.sysconf("SC_PAGE_SIZE")
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE
mode, path, device = sys.argv[1], sys.argv[2], sys.argv[3]
peak = [0]
done = threading.Event()
def sample():  # ru_maxrss is a lifetime high-water mark (imports included): sample RSS instead
    while not done.is_set():
        peak[0] = max(peak[0], rss())
        time.sleep(0.0005)
before = rss()
thread = threading.Thread(target=sample, daemon=True)
thread.start()
if mode == "hf_mltrack":
    pipe = hft.load_model(path, device=device)
else:
    pipe = pipeline("text-generation", model=path, device=device)
done.set()
thread.join()
print(json.dumps({"before": before, "peak": max(peak[0], rss())}))
"""


def _peak_ram(mode: str, path: str, device: str) -> int:
    """Peak RSS growth (bytes) while loading, in a fresh process, the median of 3 processes."""
    values = []
    for _ in range(3):
        out = subprocess.run(
            [sys.executable, "-c", _PEAK_SCRIPT, mode, path, device],
            capture_output=True,
            text=True,
            check=True,
        )
        data = json.loads(out.stdout.strip().splitlines()[-1])
        values.append(data["peak"] - data["before"])
    return int(statistics.median(values))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--workdir", default=None, help="folder on the disk to measure (default: a temp dir)")
    args = parser.parse_args()

    import torch
    from transformers import pipeline

    import hf_mltrack
    import hf_mltrack.transformers as hft

    torch.manual_seed(0)
    workdir = tempfile.mkdtemp(prefix="bench_hft_", dir=args.workdir)
    os.environ.setdefault("HF_MLTRACK_HOME", os.path.join(workdir, "home"))
    hf_mltrack.set_tracking_uri(f"sqlite:///{workdir}/mltrack.db")
    exp = hf_mltrack.create_experiment("bench", artifact_location=os.path.join(workdir, "artifacts"))
    model, tok = _build_model(), _tokenizer()
    out_root = os.path.join(workdir, "out")
    counter = {"n": 0}
    ids = itertools.count()

    def fresh(prefix: str) -> str:
        counter["n"] += 1
        return os.path.join(out_root, f"{prefix}-{counter['n']}")

    def cleanup() -> None:
        shutil.rmtree(out_root, ignore_errors=True)
        shutil.rmtree(os.path.join(workdir, "artifacts"), ignore_errors=True)

    def save_pretrained() -> None:
        model.save_pretrained(fresh("plain"))

    def log_model() -> None:  # inside the active run, like a training script
        hft.log_model({"model": model}, name=f"model-{next(ids)}", task="text-generation")

    plain = os.path.join(workdir, "plain-ref")
    model.save_pretrained(plain)
    tok.save_pretrained(plain)
    size = _dir_bytes(plain)

    def log_checkpoint() -> None:
        hft.log_model(plain, name=f"ckpt-{next(ids)}")

    def run_and_log() -> None:  # including start_run/end_run (a run per model)
        with hf_mltrack.start_run(experiment_id=exp):
            hft.log_model({"model": model}, name="model", task="text-generation")

    hf_mltrack.start_run(experiment_id=exp)
    write = _interleaved(
        {"save": save_pretrained, "log": log_model, "ckpt": log_checkpoint}, args.repeat, cleanup=cleanup
    )
    hf_mltrack.end_run()
    t_save, t_log, t_ckpt = write["save"], write["log"], write["ckpt"]
    t_run = _interleaved({"run": run_and_log}, args.repeat, cleanup=cleanup)["run"]

    saved = os.path.join(workdir, "saved-model")
    hft.save_model({"model": model, "tokenizer": tok}, saved, task="text-generation")

    def load_plain() -> None:
        pipeline("text-generation", model=plain, device=args.device)

    def load_ours() -> None:
        hft.load_model(saved, device=args.device)

    read = _interleaved({"pipe": load_plain, "ours": load_ours}, args.repeat)
    t_pipe, t_load = read["pipe"], read["ours"]
    ram_ours = _peak_ram("hf_mltrack", saved, args.device)
    ram_plain = _peak_ram("plain", plain, args.device)

    mb = size / 1e6
    print(f"model: GPT-2 {sum(p.numel() for p in model.parameters()) / 1e6:.1f}M params, {mb:.1f} MB on disk")
    print(f"device: {args.device}; median of {args.repeat} interleaved runs after a warm-up round")
    print(f"save_pretrained              {t_save:7.3f} s")
    print(f"log_model (in-memory model)  {t_log:7.3f} s   ratio {t_log / t_save:5.2f}x  (target <= 1.5x)")
    print(f"log_model (checkpoint dir)   {t_ckpt:7.3f} s   ratio {t_ckpt / t_save:5.2f}x")
    print(f"start_run + log_model        {t_run:7.3f} s   ratio {t_run / t_save:5.2f}x")
    print(f"pipeline() from folder       {t_pipe:7.3f} s")
    print(f"load_model(pipeline)         {t_load:7.3f} s   ratio {t_load / t_pipe:5.2f}x  (target <= 1.2x)")
    print(
        f"peak RAM added by load_model {ram_ours / 1e6:7.1f} MB   {ram_ours / size:5.2f}x model size "
        f"(target <= 1.3x); pipeline(): {ram_plain / 1e6:.1f} MB ({ram_plain / size:.2f}x)"
    )
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
