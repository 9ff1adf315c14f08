"""Helpers for project tests: project files in the seed's shape and git repositories made with git."""

from __future__ import annotations

import os
import subprocess
import textwrap
from pathlib import Path

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}

# A training script in the seed's shape: parses the MLproject arguments, resumes the project run with
# start_run() and logs into it.
TRAIN_PY = """
import argparse
import json
import os
import sys

import hf_mltrack

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, required=True)
parser.add_argument("--epochs", type=int, required=True)
parser.add_argument("--lora_rank", type=int, required=True)
parser.add_argument("--model", required=True)
args, extra = parser.parse_known_args()

with hf_mltrack.start_run() as run:
    for epoch in range(args.epochs):
        hf_mltrack.log_metric("train_loss", 1.0 / (epoch + 1) * args.lr * 1e5, step=epoch)
    hf_mltrack.log_metric("lora_rank_seen", args.lora_rank)
    with open("child.json", "w") as handle:
        json.dump(
            {
                "run_id": run.info.run_id,
                "argv": sys.argv[1:],
                "model": args.model,
                "extra": extra,
                "executable": sys.executable,
                "prefix": sys.prefix,
                "cwd": os.getcwd(),
            },
            handle,
        )
"""

SEED_MLPROJECT = """
name: llm-finetuning

entry_points:
  main:
    parameters:
      learning_rate: {type: float, default: 2e-5}
      epochs: {type: int, default: 3}
      lora_rank: {type: int, default: 8}
      model_name: {type: string, default: "meta-llama/Llama-2-7b-hf"}
    command: "python train.py --lr {learning_rate} --epochs {epochs} --lora_rank {lora_rank} --model {model_name}"

  evaluate:
    parameters:
      model_uri: {type: string}
      dataset: {type: string, default: "eval"}
    command: "python evaluate.py --model_uri {model_uri} --dataset {dataset}"
"""  # noqa: E501  (the seed's command line, verbatim)

EVALUATE_PY = """
import argparse
import hf_mltrack

parser = argparse.ArgumentParser()
parser.add_argument("--model_uri", required=True)
parser.add_argument("--dataset", required=True)
args = parser.parse_args()
hf_mltrack.log_metric("eval_accuracy", 0.75)
hf_mltrack.set_tag("evaluated", args.model_uri + "|" + args.dataset)
"""


def write_files(root: Path, files: dict[str, str]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
    return root


def git(*args: str, cwd: Path) -> str:
    env = {**os.environ, **GIT_ENV}
    proc = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True)
    return proc.stdout.strip()


def commit_all(repo: Path, message: str) -> str:
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", message, cwd=repo)
    return git("rev-parse", "HEAD", cwd=repo)
