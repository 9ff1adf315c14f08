"""Faults: the server down, killed mid-batch and restarted; the client journal keeps and replays."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import pytest

import hf_mltrack
from hf_mltrack.tracking import MlTrackClient


@pytest.fixture
def fast_retries(monkeypatch):
    monkeypatch.setenv("HF_MLTRACK_HTTP_REQUEST_MAX_RETRIES", "1")
    monkeypatch.setenv("HF_MLTRACK_HTTP_REQUEST_BACKOFF_FACTOR", "0.01")
    monkeypatch.setenv("HF_MLTRACK_HTTP_REQUEST_TIMEOUT", "5")


def _journal_files(home: Path) -> list[Path]:
    folder = home / "journal"
    if not folder.exists():
        return []
    return [p for p in folder.rglob("*.jsonl") if p.stat().st_size > 0 and not p.name.endswith(".rejected.jsonl")]


def test_training_survives_an_outage_and_the_journal_replays(make_app, server_thread, fast_retries, tmp_path):
    server = server_thread(make_app())
    hf_mltrack.set_tracking_uri(server.url)
    run = hf_mltrack.start_run()
    hf_mltrack.log_metric("loss", 0.0, step=0)
    hf_mltrack.flush_async_logging()
    server.stop()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for step in range(1, 2000):
            hf_mltrack.log_metric("loss", float(step), step=step)
        hf_mltrack.flush_async_logging()  # must not raise: the points are journaled
        hf_mltrack.log_param("lr", 0.1, synchronous=True)
        hf_mltrack.set_tag("phase", "after-outage", synchronous=True)
        hf_mltrack.end_run()  # ending the run is journaled too
    outage = [w for w in caught if "unreachable" in str(w.message)]
    assert len(outage) == 1, [str(w.message) for w in caught]
    assert "training continues" in str(outage[0].message)
    assert _journal_files(tmp_path / "mltrack_home")

    server_thread(make_app(), port=server.port)  # back, on the same database
    got = MlTrackClient().get_run(run.info.run_id)  # a read first sends what was journaled
    assert got.info.status == "FINISHED"
    assert got.data.params == {"lr": "0.1"} and got.data.tags["phase"] == "after-outage"
    history = MlTrackClient().get_metric_history(run.info.run_id, "loss")
    assert [m.step for m in history] == list(range(2000))
    assert not _journal_files(tmp_path / "mltrack_home")


def test_journal_of_an_exited_process_is_sent_by_the_next(make_app, server_thread, fast_retries, tmp_path):
    server = server_thread(make_app())
    run_id = MlTrackClient(server.url).create_run("0").info.run_id
    port = server.port
    server.stop()
    script = (
        "import hf_mltrack\n"
        f"c = hf_mltrack.MlTrackClient({server.url!r})\n"
        f"for i in range(300): c.log_metric({run_id!r}, 'acc', i / 300, step=i)\n"
        f"c.set_terminated({run_id!r})\n"
    )
    env = {k: v for k, v in os.environ.items()}
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr  # the training process exits cleanly while the server is down
    assert _journal_files(tmp_path / "mltrack_home")

    server_thread(make_app(), port=port)
    client = MlTrackClient(server.url)
    assert len(client.get_metric_history(run_id, "acc")) == 300
    assert client.get_run(run_id).info.status == "FINISHED"


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:hf_mltrack. the tracking server")  # the expected single outage warning
def test_server_killed_mid_batch_keeps_every_acknowledged_point(server_process, fast_retries, tmp_path):
    args = [
        "--backend-store-uri",
        f"sqlite:///{tmp_path / 'db' / 'mltrack.db'}",
        "--artifacts-destination",
        str(tmp_path / "art"),
    ]
    first = server_process(args)
    client = MlTrackClient(first.url)
    run_id = client.create_run("0").info.run_id
    total = 30_000
    logged = []
    halfway = threading.Event()

    def train() -> None:
        for step in range(total):
            client.log_metric(run_id, "loss", step * 0.001, step=step)  # acknowledged when it returns
            logged.append(step)
            if step == total // 3:
                halfway.set()
            if step % 500 == 0:
                time.sleep(0.02)  # a training step's worth of time, so the kill lands mid-stream

    trainer = threading.Thread(target=train)
    trainer.start()
    assert halfway.wait(60)
    first.kill()  # SIGKILL while batches are in flight
    time.sleep(0.5)
    second = server_process(args, port=first.port)
    trainer.join(120)
    assert len(logged) == total
    client.flush()
    store = client.store
    assert store.flush_journal()  # type: ignore[attr-defined]
    history = MlTrackClient(second.url).get_metric_history(run_id, "loss")
    assert len(history) == total
    assert [m.step for m in history] == list(range(total))
