"""Producers that hold points until the writer asks (`_batcher.add_source`): drained before every flush,
by the background threads, before a run's end; forgotten when their object goes and in a forked child."""

from __future__ import annotations

import gc
import os
import threading
import time

import pytest

import hf_mltrack
from hf_mltrack.entities import Metric
from hf_mltrack.tracking import MlTrackClient, _batcher


class Producer:
    """Holds points like the Trainer callback holds its on_log entries; `drain` queues them."""

    def __init__(self, client: MlTrackClient, run_id: str) -> None:
        self.client, self.run_id = client, run_id
        self.held: list[Metric] = []
        self.threads: list[str] = []

    def hold(self, key: str, value: float, step: int) -> None:
        self.held.append(Metric(key, value, int(time.time() * 1000), step))

    def drain(self) -> None:
        self.threads.append(threading.current_thread().name)
        held, self.held = self.held, []
        if held:
            self.client.log_batch(self.run_id, metrics=held, synchronous=False)


def _steps(store: object, run_id: str, key: str) -> list[int]:
    """The stored steps, read from the store itself (a client read would flush first)."""
    return [m.step for m in store.get_metric_history(run_id, key)]  # type: ignore[attr-defined]


def test_flush_and_reads_write_what_a_source_holds(tracking_uri: str, client: MlTrackClient) -> None:
    with hf_mltrack.start_run() as run:
        producer = Producer(client, run.info.run_id)
        _batcher.add_source(producer.drain)
        for step in range(3):
            producer.hold("loss", 1.0 / (step + 1), step)
        hf_mltrack.flush_async_logging()
        assert _steps(client.store, run.info.run_id, "loss") == [0, 1, 2]
        producer.hold("loss", 0.1, 3)
        assert [m.step for m in client.get_metric_history(run.info.run_id, "loss")] == [0, 1, 2, 3]


def test_end_run_writes_what_a_source_holds_before_the_end(tracking_uri: str, client: MlTrackClient) -> None:
    run = hf_mltrack.start_run()
    hf_mltrack.flush_async_logging()  # the write queue is empty: only the producer holds points
    producer = Producer(client, run.info.run_id)
    _batcher.add_source(producer.drain)
    producer.hold("loss", 0.5, 7)
    hf_mltrack.end_run()
    store = client.store
    assert store.get_run(run.info.run_id).info.status == "FINISHED"
    assert _steps(store, run.info.run_id, "loss") == [7]  # written by end_run, not later


def test_background_threads_drain_sources(
    tracking_uri: str, client: MlTrackClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_MLTRACK_ASYNC_FLUSH_INTERVAL", "0.05")
    with hf_mltrack.start_run() as run:
        producer = Producer(client, run.info.run_id)
        _batcher.add_source(producer.drain)
        producer.hold("loss", 0.5, 1)
        deadline = time.time() + 10
        while time.time() < deadline and not _steps(client.store, run.info.run_id, "loss"):
            time.sleep(0.02)
        assert _steps(client.store, run.info.run_id, "loss") == [1]  # no flush on this thread

        # With the flusher asleep, the spill guard drains (what a source holds is at risk too).
        monkeypatch.setenv("HF_MLTRACK_ASYNC_FLUSH_INTERVAL", "100000")
        monkeypatch.setenv("HF_MLTRACK_ASYNC_COMMIT_INTERVAL_MS", "200")
        deadline = time.time() + 10
        while time.time() < deadline and "hf_mltrack-spill-guard" not in producer.threads:
            producer.hold("loss", 0.5, 2)
            time.sleep(0.02)
        assert "hf_mltrack-spill-guard" in producer.threads


def test_a_source_goes_with_its_object(tracking_uri: str, client: MlTrackClient) -> None:
    with hf_mltrack.start_run() as run:
        producer = Producer(client, run.info.run_id)
        _batcher.add_source(producer.drain)
        assert any(ref() is not None and ref().__self__ is producer for ref in _batcher._SOURCES)
        del producer
        gc.collect()
        hf_mltrack.flush_async_logging()
        assert not [ref for ref in _batcher._SOURCES if ref() is None]  # forgotten by the flush


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork only")
def test_a_forked_child_does_not_write_its_parents_held_points(
    tracking_uri: str, client: MlTrackClient, tmp_path
) -> None:
    marker = tmp_path / "drained-in-child"

    class Marking(Producer):
        def drain(self) -> None:
            if os.getpid() != parent:
                marker.write_text("drained")
            super().drain()

    parent = os.getpid()
    with hf_mltrack.start_run() as run:
        producer = Marking(client, run.info.run_id)
        _batcher.add_source(producer.drain)
        producer.hold("loss", 0.5, 1)
        pid = os.fork()
        if pid == 0:  # the child: a flush of its own (a DataLoader worker that logs, say)
            try:
                _batcher.drain_sources()
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        assert not marker.exists()
        hf_mltrack.flush_async_logging()
        assert _steps(client.store, run.info.run_id, "loss") == [1]
