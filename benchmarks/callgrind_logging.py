"""Instructions per point of the single-key logging loop, counted by callgrind (independent of the load).

    python benchmarks/callgrind_logging.py            # 50,000 points; needs valgrind; ~3 minutes

Caller = (loop of N points) - (loop of 0); writer = (loop + flush) - (loop), the background flusher kept
asleep so that the flush writes everything on the calling thread; raw = the same rows built by a list
comprehension and ``executemany``d into the ``metric_points`` shape in one transaction, minus 0 rows.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_RAW_TABLE = (
    "CREATE TABLE metric_points (series_id INTEGER, step INTEGER, timestamp INTEGER, value REAL, "
    "PRIMARY KEY (series_id, step)) WITHOUT ROWID"
)


def _loop(n: int, flush: bool) -> None:
    d = tempfile.mkdtemp(prefix="callgrind_logging")
    os.environ["HF_MLTRACK_HOME"] = d + "/home"
    os.environ["HF_MLTRACK_ASYNC_FLUSH_INTERVAL"] = "100000"
    os.environ["HF_MLTRACK_ASYNC_COMMIT_INTERVAL_MS"] = "0"
    import hf_mltrack

    hf_mltrack.set_tracking_uri(f"sqlite:///{d}/mltrack.db")
    hf_mltrack.start_run()
    hf_mltrack.log_metric("loss", 0.5, step=0)
    hf_mltrack.flush_async_logging()
    log = hf_mltrack.log_metric
    for i in range(1, n + 1):
        log("loss", 0.5, step=i)
    if flush:
        hf_mltrack.flush_async_logging()


def _raw(n: int) -> None:
    import sqlite3

    conn = sqlite3.connect(Path(tempfile.mkdtemp(prefix="callgrind_raw")) / "raw.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(_RAW_TABLE)
    ts = int(time.time() * 1000)
    rows = [(1, i, ts, 0.5) for i in range(n)]
    conn.execute("BEGIN")
    conn.executemany("INSERT OR REPLACE INTO metric_points VALUES (?, ?, ?, ?)", rows)
    conn.execute("COMMIT")


def _instructions(mode: str, n: int) -> int:
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "callgrind.out"
        subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, __file__, mode, str(n)],
            check=True,
            capture_output=True,
        )
        found = re.search(r"^(?:summary|totals): (\d+)", out.read_text(), re.M)
        assert found, "no totals in callgrind's output"
        return int(found.group(1))


def main() -> None:
    n = 50_000
    base, loop, flush = _instructions("loop", 0), _instructions("loop", n), _instructions("flush", n)
    raw = _instructions("raw", n) - _instructions("raw", 0)
    caller, writer = (loop - base) / n, (flush - loop) / n
    print(
        f"single-key loop, instructions per point: caller {caller:,.0f}, writer {writer:,.0f}, total "
        f"{caller + writer:,.0f}; raw executemany {raw / n:,.0f} per row; ratio {raw / n / (caller + writer):.2f}x"
    )


if __name__ == "__main__":
    if len(sys.argv) == 3:  # one measured process (run under valgrind by main)
        mode, count = sys.argv[1], int(sys.argv[2])
        if mode == "raw":
            _raw(count)
        else:
            sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
            _loop(count, flush=mode == "flush")
        sys.stdout.flush()
        os._exit(0)  # no atexit drain: the loop-only run must not write its points
    main()
