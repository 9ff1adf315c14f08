"""Where a log-batch request's time goes inside the server: ``bench_server.py --team --probe``.

Run as the server's entry point (``python benchmarks/server_probe.py <hf-mltrack server options>``),
it installs timing hooks in every worker (uvicorn spawns workers that re-import this file first),
then starts the server as ``hf-mltrack server`` does. Nothing of hf_mltrack is changed: the hooks wrap
module attributes the request path looks up at call time. Each worker appends one JSON line per
log-batch request to ``$HF_MLTRACK_PROBE_DIR/w<pid>.jsonl``: ``time.perf_counter()`` stamps, which on
Linux read the system-wide monotonic clock and so compare with the client's stamps:

    in        the app is called (uvicorn has parsed the request line and headers)
    body      the last body chunk has been received
    submit    the handler hands the request to the thread pool (middleware and JSON parse done)
    thread    the handler's thread starts running it
    parsed    the body has been validated into Metric tuples
    got       a connection is taken from the pool (after waiting for one, if none was free)
    ready     it is checked out (after a ping, for a connection idle for a while)
    checked   the run is checked and its series' last steps read (one query)
    written   points, latest values and bucket summaries are written (one pipelined round trip)
    committed the transaction is committed (the WAL flushed, with synchronous_commit on)
    returned  the handler's thread is done
    respond   the response is sent back

It also records garbage-collector pauses and event-loop lateness (a task that wakes every 2 ms), as
``{"gc": [...]}`` and ``{"lag": [...]}`` lines when the worker stops.
"""

from __future__ import annotations

import contextvars
import gc
import json
import os
import time
from typing import Any

_now = time.perf_counter
_REQUEST: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("probe_request", default=None)


def _stamp(name: str) -> None:
    record = _REQUEST.get()
    if record is not None:
        record[name] = _now()


def _install() -> None:
    """Wrap the request path of this process (called in the server and in each spawned worker)."""
    import contextlib

    from starlette import concurrency

    from hf_mltrack.server import app as app_module
    from hf_mltrack.server.routers import runs
    from hf_mltrack.store.sql import tracking_store

    out = open(os.path.join(os.environ["HF_MLTRACK_PROBE_DIR"], f"w{os.getpid()}.jsonl"), "a", buffering=1)
    pauses: list[tuple[float, float, int]] = []
    lags: list[tuple[float, float]] = []
    gc_start = [0.0]

    def on_gc(phase: str, info: dict) -> None:
        if phase == "start":
            gc_start[0] = _now()
        else:
            pauses.append((gc_start[0], _now(), info["generation"]))

    gc.callbacks.append(on_gc)

    def dump() -> None:
        out.write(json.dumps({"gc": pauses, "lag": lags}) + "\n")
        pauses.clear()
        lags.clear()

    async def watch_loop() -> None:  # (a spawned worker ends with os._exit: no atexit, so dump as it goes)
        import asyncio

        while True:
            t = _now()
            await asyncio.sleep(0.002)
            late = _now() - t - 0.002
            if late > 0.001:
                lags.append((t, late))
            if pauses and _now() - pauses[0][0] > 0.5 or lags and _now() - lags[0][0] > 0.5:
                dump()

    def wrap_app(inner: Any) -> Any:
        started = [False]

        async def probed(scope: dict, receive: Any, send: Any) -> None:
            if not started[0] and scope["type"] == "http":
                import asyncio

                started[0] = True
                asyncio.get_running_loop().create_task(watch_loop())
            if scope["type"] != "http" or not scope["path"].endswith("/runs/log-batch"):
                await inner(scope, receive, send)
                return
            record: dict[str, Any] = {"in": _now()}
            for name, value in scope["headers"]:
                if name == b"x-probe":
                    record["id"] = value.decode()
            _REQUEST.set(record)

            async def probed_receive() -> dict:
                message = await receive()
                if not message.get("more_body", False):
                    record.setdefault("body", _now())
                return message

            async def probed_send(message: dict) -> None:
                if message["type"] == "http.response.start":
                    record["respond"] = _now()
                    record["status"] = message["status"]
                await send(message)

            await inner(scope, probed_receive, probed_send)
            out.write(json.dumps(record) + "\n")

        probed.state = inner.state  # type: ignore[attr-defined]  (what the server's startup reads)
        return probed

    make_app = app_module.create_app_from_config

    def create_app_from_config(config: Any) -> Any:
        app = make_app(config)
        pool = app.state.server.store.engine.pool
        do_get = pool._do_get

        def timed_get() -> Any:
            connection = do_get()
            _stamp("got")
            return connection

        pool._do_get = timed_get
        from sqlalchemy import event

        event.listen(pool, "checkout", lambda *_: _stamp("ready"))
        return wrap_app(app)

    app_module.create_app_from_config = create_app_from_config  # what app_from_env (each worker) calls

    run_in_threadpool = concurrency.run_in_threadpool

    async def timed_run_in_threadpool(func: Any, *args: Any, **kwargs: Any) -> Any:
        _stamp("submit")
        return await run_in_threadpool(func, *args, **kwargs)

    concurrency.run_in_threadpool = timed_run_in_threadpool  # type: ignore[assignment]

    def timed(name: str, func: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            result = func(*args, **kwargs)
            _stamp(name)
            return result

        return wrapper

    log_batch = runs._log_batch

    def timed_log_batch(*args: Any) -> Any:
        _stamp("thread")
        cpu = time.thread_time()
        result = log_batch(*args)
        _stamp("returned")
        record = _REQUEST.get()
        if record is not None:
            record["thread_cpu"] = time.thread_time() - cpu
        return result

    runs._log_batch = timed_log_batch
    runs.parse_log_batch = timed("parsed", runs.parse_log_batch)
    store = tracking_store.SqlTrackingStore
    store._check_run_and_last_steps = timed("checked", store._check_run_and_last_steps)
    store._insert_metrics = timed("written", store._insert_metrics)
    write = store._write

    @contextlib.contextmanager
    def timed_write(self: Any) -> Any:
        with write(self) as conn:
            yield conn
        _stamp("committed")

    store._write = timed_write


# ---- the breakdown, in the benchmark's process ----------------------------------------------------------
#: (label, from stamp, to stamp): consecutive phases of one request, client send to client receipt.
PHASES = (
    ("client send -> app called", "start", "in"),
    ("body received", "in", "body"),
    ("middleware + JSON parse", "body", "submit"),
    ("wait for a thread (GIL)", "submit", "thread"),
    ("validate 1,000 points", "thread", "parsed"),
    ("pool: take a connection", "parsed", "got"),
    ("pool: checkout (ping if idle)", "got", "ready"),
    ("check run + last steps", "ready", "checked"),
    ("write (pipelined)", "checked", "written"),
    ("commit", "written", "committed"),
    ("thread -> event loop -> send", "committed", "respond"),
    ("response -> client thread", "respond", "end"),
)


def read_records(folder: str) -> tuple[list[dict], list[tuple[float, float, int]], list[tuple[float, float]]]:
    """The workers' request records, GC pauses (start, stop, generation) and event-loop lags (at, seconds)."""
    requests: list[dict] = []
    pauses: list = []
    lags: list = []
    for name in sorted(n for n in os.listdir(folder) if n.endswith(".jsonl")):
        with open(os.path.join(folder, name)) as f:
            for line in f:
                row = json.loads(line)
                if "gc" in row:
                    pauses += row["gc"]
                    lags += row["lag"]
                else:
                    requests.append(row)
    return requests, pauses, lags


def breakdown(server: list[dict], client: dict[str, dict], pauses: list, lags: list) -> str:
    """Median of each phase over all requests and mean over the slowest 2%, as a table."""
    rows = []
    for record in server:
        mine = client.get(record.get("id", ""))
        if mine is not None and "committed" in record:
            rows.append({**record, **mine})
    if not rows:
        return "no probed requests matched"
    rows.sort(key=lambda r: r["end"] - r["start"])
    tail = rows[-max(1, len(rows) // 50) :]

    def ms(values: list[float]) -> str:
        return f"{1e3 * sorted(values)[len(values) // 2]:8.1f}"

    lines = [f"{'phase':<34}{'median ms':>10}{'slowest 2%: mean ms':>22}"]
    for label, a, b in PHASES:
        lines.append(
            f"{label:<34}{ms([r[b] - r[a] for r in rows]):>10}{1e3 * sum(r[b] - r[a] for r in tail) / len(tail):>22.1f}"
        )
    total = [r["end"] - r["start"] for r in rows]
    cpu = [r["thread_cpu"] for r in rows if "thread_cpu" in r]
    if cpu:
        lines.append(f"{'(CPU time of the handler thread)':<34}{ms(cpu):>10}")
    lines.append(
        f"{'total (client-measured latency)':<34}{ms(total):>10}{1e3 * sum(total[-len(tail) :]) / len(tail):>22.1f}"
    )
    first, last = min(r["start"] for r in rows), max(r["end"] for r in rows)
    when = sorted(100 * (r["start"] - first) / (last - first or 1) for r in tail)
    lines.append(
        f"the slowest 2% were sent at {', '.join(f'{w:.0f}' for w in when)}% of the run (each client uploads "
        "its artifact after its last batch: the last ~10%)"
    )
    late = [r["start"] - r["due"] for r in rows if r.get("due")]
    if late:
        late.sort()
        lines.append(
            f"client lateness (sent after due): median {1e3 * late[len(late) // 2]:.1f} ms, "
            f"p99 {1e3 * late[int(len(late) * 0.99)]:.1f} ms (not part of the latency)"
        )
    in_run = [p for p in pauses if first <= p[0] <= last]
    if in_run:
        per_gen = ", ".join(
            f"gen {g}: {len(d)} x, longest {1e3 * max(d):.1f} ms, {1e3 * sum(d):.0f} ms in all"
            for g in (0, 1, 2)
            if (d := [p[1] - p[0] for p in in_run if p[2] == g])
        )
        hit = sum(1 for r in tail if any(r["start"] <= p[0] <= r["end"] for p in in_run if p[1] - p[0] > 0.005))
        lines.append(f"GC pauses: {per_gen}; {hit} of the {len(tail)} slowest requests overlap one over 5 ms")
    in_run_lags = [lag for lag in lags if first <= lag[0] <= last]
    if in_run_lags:
        values = sorted(lag[1] for lag in in_run_lags)
        lines.append(
            f"event loop late > 1 ms: {len(values)} times, median {1e3 * values[len(values) // 2]:.1f} ms, "
            f"max {1e3 * values[-1]:.1f} ms"
        )
    return "\n".join(lines)


if os.environ.get("HF_MLTRACK_PROBE_DIR"):
    _install()

if __name__ == "__main__":
    from hf_mltrack.cli.server import server

    server()  # pylint: disable=no-value-for-parameter
