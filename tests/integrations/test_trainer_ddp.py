"""Distributed training (2 CPU processes, gloo): only the world-process-zero logs; other ranks stay idle."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap

import pytest
from integrations_helpers import metric_steps, only_run

_SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    import torch
    torch.set_num_threads(1)
    import hf_mltrack.integrations
    from transformers import GPT2Config, GPT2LMHeadModel, Trainer, TrainingArguments

    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=32, n_layer=2, n_embd=32, n_head=2, n_positions=16))
    rows = [{"input_ids": [i % 32] * 8, "labels": [i % 32] * 8} for i in range(32)]
    args = TrainingArguments(
        output_dir=sys.argv[1], report_to="hf_mltrack", use_cpu=True, ddp_backend="gloo", max_steps=4,
        logging_steps=1, per_device_train_batch_size=2, save_strategy="no", disable_tqdm=True, run_name="ddp",
    )
    trainer = Trainer(model=model, args=args, train_dataset=rows)
    trainer.train()
    cb = [c for c in trainer.callback_handler.callbacks if type(c).__name__ == "MlTrackCallback"][0]
    rank = int(os.environ["RANK"])
    # a file per rank: the two processes share stdout, where their lines can interleave
    with open(os.path.join(sys.argv[2], f"result-{rank}.json"), "w") as f:
        json.dump({
        "rank": rank,
        "world_size": args.world_size,
        "run_id": cb._run_id,
        "client": cb._client is not None,
        "store_imported": "sqlalchemy" in sys.modules,
    }, f)
    # An orderly gloo teardown: a rank that exits while the other still tears down can abort in C++
    # ("terminate called without an active exception"), failing the launcher on a loaded machine.
    import torch.distributed as dist
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_process_ddp_logs_from_rank_zero_only(tracking_uri, client, tmp_path):
    script = tmp_path / "ddp_train.py"
    script.write_text(_SCRIPT)
    env = {
        **os.environ,
        "HF_MLTRACK_TRACKING_URI": tracking_uri,
        "HF_MLTRACK_ENABLE_SYSTEM_METRICS_LOGGING": "false",
        "HF_MLTRACK_LOG_MODEL": "false",
        "OMP_NUM_THREADS": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
        "--master_port", str(_free_port()), str(script), str(tmp_path / "out"), str(tmp_path),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=400)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = {r["rank"]: r for r in (json.loads(p.read_text()) for p in tmp_path.glob("result-*.json"))}
    assert sorted(results) == [0, 1]
    assert results[0]["world_size"] == 2
    run = only_run(client)
    assert results[0]["run_id"] == run.info.run_id
    # rank 1 created no run, no client, and never touched the store
    assert results[1]["run_id"] is None and not results[1]["client"] and not results[1]["store_imported"]
    assert run.info.status == "FINISHED"
    assert run.data.params["world_size"] == "2"
    assert [s for s, _ in metric_steps(client, run.info.run_id, "loss")] == [1, 2, 3, 4]
