"""Several processes writing one SQLite file (the seed's pitfall 7.4.1, solved)."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

from hf_mltrack.tracking import MlTrackClient


def _writer(uri: str, worker: int, n: int) -> str:
    import hf_mltrack

    hf_mltrack.set_tracking_uri(uri)
    hf_mltrack.set_experiment("shared")
    with hf_mltrack.start_run(run_name=f"w{worker}") as run:
        hf_mltrack.log_param("worker", worker)
        for step in range(n):
            hf_mltrack.log_metric("loss", 1.0 / (step + 1), step=step)
            if step % 50 == 0:
                hf_mltrack.log_metric("sync", float(step), step=step, synchronous=True)
    return run.info.run_id


def test_four_processes_one_sqlite_file(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'shared.db'}"
    MlTrackClient(uri).create_experiment("shared")
    ctx = mp.get_context("spawn")
    with ctx.Pool(4) as pool:
        run_ids = pool.starmap(_writer, [(uri, w, 500) for w in range(4)])
    client = MlTrackClient(uri)
    assert len(set(run_ids)) == 4
    for run_id in run_ids:
        run = client.get_run(run_id)
        assert run.info.status == "FINISHED"
        assert len(client.get_metric_history(run_id, "loss")) == 500
        assert len(client.get_metric_history(run_id, "sync")) == 10
    exp = client.get_experiment_by_name("shared")
    assert len(client.search_runs([exp.experiment_id])) == 4
