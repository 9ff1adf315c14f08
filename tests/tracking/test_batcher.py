"""Batched writes: drained by end_run, flush, atexit and SIGTERM; failures isolated and reported."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import hf_mltrack
from hf_mltrack.exceptions import InvalidParameterError, InvalidStateError
from hf_mltrack.tracking import MlTrackClient, _batcher


def _run_script(tmp_path: Path, body: str, **kwargs) -> subprocess.CompletedProcess:
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(body))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_MLTRACK_")}
    return subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120, **kwargs)


_LOGGING = """
import os, signal, time
import hf_mltrack
from hf_mltrack.tracking import _batcher
hf_mltrack.set_tracking_uri("sqlite:///{db}")
run = hf_mltrack.start_run()
for i in range({points}):
    hf_mltrack.log_metric("loss", float(i), step=i)
print(run.info.run_id, flush=True)
"""


def _log_then(tmp_path: Path, points: int, then: str) -> tuple[subprocess.CompletedProcess, list]:
    """A process that logs ``points`` of "loss" to a new run on a SQLite file, then runs ``then``;
    returns the process and the points stored in that run once it ended."""
    db = tmp_path / "store.db"
    proc = _run_script(tmp_path, _LOGGING.format(db=db, points=points) + textwrap.dedent(then))
    run_id = proc.stdout.split()[0]
    return proc, MlTrackClient(f"sqlite:///{db}").get_metric_history(run_id, "loss")


def test_log_returns_before_write_and_end_run_drains(tracking_uri: str) -> None:
    with hf_mltrack.start_run() as run:
        for i in range(1000):
            hf_mltrack.log_metric("m", float(i), step=i)
    assert _batcher.get_batcher().pending() == 0
    assert len(MlTrackClient().get_metric_history(run.info.run_id, "m")) == 1000


def test_atexit_drains_queue(tmp_path: Path) -> None:
    # no end_run, no flush: the interpreter exits with points still queued
    proc, points = _log_then(tmp_path, 5000, "")
    assert proc.returncode == 0, proc.stderr
    assert len(points) == 5000


def test_sigterm_drains_queue(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    script = tmp_path / "script.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import sys, time
            import hf_mltrack
            hf_mltrack.set_tracking_uri("sqlite:///{db}")
            import os
            os.environ["HF_MLTRACK_ASYNC_FLUSH_INTERVAL"] = "3600"  # only a drain can write
            run = hf_mltrack.start_run()
            for i in range(3000):
                hf_mltrack.log_metric("loss", float(i), step=i)
            print(run.info.run_id, flush=True)
            time.sleep(60)
            """
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_MLTRACK_")}
    proc = subprocess.Popen([sys.executable, str(script)], env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    run_id = proc.stdout.readline().strip()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGTERM
    assert len(MlTrackClient(f"sqlite:///{db}").get_metric_history(run_id, "loss")) == 3000


def test_sigterm_inside_log_metric_still_drains_and_ends_the_process(tmp_path: Path) -> None:
    """The handler runs in the main thread between two bytecodes, here while it holds the queue's lock
    (as inside `log_metric`'s append): the drain must not wait on that lock in the same thread."""
    proc, points = _log_then(
        tmp_path,
        2000,
        """
        lock = _batcher.get_batcher()._tail_lock
        lock.acquire()
        os.kill(os.getpid(), signal.SIGTERM)  # handled at the next bytecode, with the lock held
        time.sleep(0.3)
        lock.release()
        time.sleep(30)
        print("still running", flush=True)
        """,
    )
    assert proc.returncode == -signal.SIGTERM, (proc.returncode, proc.stdout, proc.stderr)
    assert "still running" not in proc.stdout
    assert len(points) == 2000


def test_our_background_threads_leave_sigterm_and_sigint_to_the_main_thread(tracking_uri: str) -> None:
    """A signal the kernel hands to one of our threads waits for the main thread's next Python code;
    while the main thread waits in C (a pool worker on its queue's lock) it would wait forever."""
    import threading

    with hf_mltrack.start_run():
        hf_mltrack.log_metric("m", 1.0)
        ours = {t.native_id: t.name for t in threading.enumerate() if t.name.startswith("hf_mltrack-")}
        assert {"hf_mltrack-flusher", "hf_mltrack-spill-guard"} <= set(ours.values())
        for native_id, name in ours.items():
            status = Path(f"/proc/self/task/{native_id}/status").read_text()
            blocked = int(status.split("SigBlk:")[1].split()[0], 16)
            for sig in (signal.SIGTERM, signal.SIGINT):
                assert blocked >> (sig - 1) & 1, f"{name} can take {sig.name}"
    main = Path(f"/proc/self/task/{threading.main_thread().native_id}/status").read_text()
    assert not int(main.split("SigBlk:")[1].split()[0], 16) >> (signal.SIGTERM - 1) & 1


def test_rejected_points_isolated_and_reported(tracking_uri: str) -> None:
    client = MlTrackClient()
    good = client.create_run("0")
    doomed = client.create_run("0")
    # Deleted behind this client's back (its own delete_run would make log_metric raise at the call):
    # the point is queued and the flush reports it.
    MlTrackClient().delete_run(doomed.info.run_id)
    client.log_metric(good.info.run_id, "ok", 1.0)
    client.log_metric(doomed.info.run_id, "lost", 1.0)
    with pytest.raises(InvalidStateError, match=doomed.info.run_id):
        client.flush()
    assert client.get_run(good.info.run_id).data.metrics == {"ok": 1.0}
    client.flush()  # reported once, then cleared


def test_background_thread_writes_without_flush(tracking_uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_MLTRACK_ASYNC_FLUSH_INTERVAL", "0.05")
    with hf_mltrack.start_run() as run:
        hf_mltrack.log_metric("m", 1.0)
        deadline = time.time() + 10
        from hf_mltrack.store import get_tracking_store

        store = get_tracking_store(hf_mltrack.get_tracking_uri())
        while time.time() < deadline and not store.get_run(run.info.run_id).data.metrics:
            time.sleep(0.05)
        assert store.get_run(run.info.run_id).data.metrics == {"m": 1.0}


def test_transient_store_failure_is_retried(tracking_uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlalchemy.exc

    client = MlTrackClient()
    run = client.create_run("0")
    store = client.store
    real = store.log_batches
    calls = {"n": 0}

    def flaky(batches):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] < 3:
            raise sqlalchemy.exc.OperationalError("INSERT", {}, Exception("database is locked"))
        return real(batches)

    monkeypatch.setattr(store, "log_batches", flaky)
    client.log_metric(run.info.run_id, "m", 2.0)
    client.flush()
    assert calls["n"] == 3
    assert client.get_run(run.info.run_id).data.metrics == {"m": 2.0}


def test_end_run_writes_last_points_and_status_together(tracking_uri: str) -> None:
    with hf_mltrack.start_run() as run:
        hf_mltrack.log_params({"a": 1})
        hf_mltrack.log_metrics({"m": 1.0, "n": 2.0}, step=3)
        assert _batcher.get_batcher().pending() > 0
    assert _batcher.get_batcher().pending() == 0
    stored = MlTrackClient().get_run(run.info.run_id)
    assert stored.info.status == "FINISHED" and stored.info.end_time is not None
    assert stored.data.metrics == {"m": 1.0, "n": 2.0} and stored.data.params == {"a": "1"}


def test_end_run_still_ends_the_run_when_queued_data_is_rejected(tracking_uri: str) -> None:
    client = MlTrackClient()
    with hf_mltrack.start_run() as run:
        client.log_param(run.info.run_id, "lr", "0.1", synchronous=True)
        hf_mltrack.log_metric("kept", 1.0)
        client.log_param(run.info.run_id, "lr", "0.2")  # conflicts: rejected at the flush
    stored = client.get_run(run.info.run_id)
    assert stored.info.status == "FINISHED"
    assert stored.data.metrics == {"kept": 1.0} and stored.data.params == {"lr": "0.1"}
    with pytest.raises(InvalidParameterError, match="'0.2'"):
        client.flush()
