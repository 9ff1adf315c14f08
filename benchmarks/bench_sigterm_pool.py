"""SIGTERM of processes that log (the hang fixed in `hf_mltrack/tracking/_sigterm.py`): rounds of a spawned
multiprocessing pool whose 4 workers each log 500 points to one SQLite file, then `Pool.terminate()`, the
way `with Pool(...)` ends. Counts the rounds in which a worker, having caught SIGTERM, did not end within
--wait seconds (the old handler could leave a worker blocked in C on the pool's queue lock forever).

    python benchmarks/bench_sigterm_pool.py [--rounds 100] [--busy 2] [--wait 20]

--busy N runs N busy loops beside it (the hang needs a loaded machine: about 1 round in 10-33 on 2 cores).
Bounded: a hung round is reported, its workers are killed, and the next round goes on.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _writer(uri: str, worker: int, points: int) -> str:
    import hf_mltrack

    hf_mltrack.set_tracking_uri(uri)
    hf_mltrack.set_experiment("shared")
    with hf_mltrack.start_run(run_name=f"w{worker}") as run:
        for step in range(points):
            hf_mltrack.log_metric("loss", 1.0 / (step + 1), step=step)
    return run.info.run_id


def _busy(stop: float) -> None:
    while time.time() < stop:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--busy", type=int, default=2, help="busy loops (processes) beside the pool")
    parser.add_argument(
        "--wait", type=float, default=20.0, help="seconds a terminate may take before it counts as hung"
    )
    opts = parser.parse_args()

    from hf_mltrack.tracking import MlTrackClient

    ctx = mp.get_context("spawn")
    hogs = [ctx.Process(target=_busy, args=(time.time() + 3600,), daemon=True) for _ in range(opts.busy)]
    for hog in hogs:
        hog.start()
    hung = 0
    started = time.time()
    try:
        for i in range(opts.rounds):
            uri = f"sqlite:///{tempfile.mkdtemp(prefix='hf-sigterm-')}/shared.db"
            MlTrackClient(uri).create_experiment("shared")
            pool = ctx.Pool(4)
            pool.starmap(_writer, [(uri, w, 500) for w in range(4)])
            ending = threading.Thread(target=pool.terminate, daemon=True)
            ending.start()
            ending.join(opts.wait)
            if ending.is_alive():
                hung += 1
                alive = [p.pid for p in pool._pool if p.exitcode is None]  # type: ignore[attr-defined]
                print(f"round {i}: terminate() hung; workers still alive: {alive}", flush=True)
                for pid in alive:
                    os.kill(pid, signal.SIGKILL)
                ending.join(10)
    finally:
        for hog in hogs:
            hog.kill()
    load = os.getloadavg()[0]
    print(
        f"{opts.rounds} rounds of a 4-worker pool logging then terminated, {opts.busy} busy loops beside it: "
        f"{hung} hung (load average {load:.1f}, {time.time() - started:.0f} s)"
    )


if __name__ == "__main__":
    main()
