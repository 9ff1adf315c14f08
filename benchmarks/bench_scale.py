"""A team's scale (issue 23): 100,000 runs in one experiment, a 1M-point series, a run with 1,000 keys.

A store is generated on SQLite and on PostgreSQL (``--backends``), then measured the way the UI and a
user's script read it:

1. ``search_runs`` with a metric filter and a metric ``order_by`` (100 runs back), and with a param
   filter; in process, through ``MlTrackClient``;
2. the first page of the UI's runs table: the UI's own ``runs/search`` request (1,000 runs ordered by
   start time, with their params, metrics and tags), timed over loopback against ``hf-mltrack
   server`` (server time plus a loopback transfer);
3. ``get_metric_history`` of a 1M-point series against a raw read of the same rows on the driver's own
   cursor (the same query, plain tuples), interleaved;
4. a run with 1,000 metric keys x 1,000 steps opening its chart list the way the run page does:
   ``runs/get`` (the latest value of every key), then the first 12 charts' ``get-history-bulk-interval``
   requests, 4 at a time.

Runs, params, tags and single-point metrics are written straight into the schema in bulk (the
generator is not what is measured); the two big series are logged through the store's own
``log_batch``, so their chart summaries are built as in real use. ``--explain`` prints the query plans
of the searches (``EXPLAIN QUERY PLAN`` / ``EXPLAIN``).

    python benchmarks/bench_scale.py                   # 100,000 runs, SQLite and PostgreSQL
    python benchmarks/bench_scale.py --quick           # 5,000 runs, 100k-point series, 100 keys
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

N_PARAMS, N_METRICS, N_TAGS = 10, 5, 5
METRIC_FILTER = "metrics.accuracy > 0.9 and params.optimizer = 'adamw'"
METRIC_ORDER = ["metrics.loss ASC"]


def _median_ms(fn: Any, repeats: int) -> float:
    return _median_wall_cpu(fn, repeats)[0]


def _median_wall_cpu(fn: Any, repeats: int) -> tuple[float, float]:
    """Median wall and process-CPU milliseconds (CPU time is what a loaded machine distorts least:
    with a load average of 15 on 2 cores a runnable thread gets a fraction of a core)."""
    fn()  # warm: caches, the first connection, page cache
    walls, cpus = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    return statistics.median(walls) * 1e3, statistics.median(cpus) * 1e3


# ---- generation ------------------------------------------------------------------------------------
def _rows(exp_id: int, n_runs: int, base_time: int) -> dict[str, list[tuple]]:
    import random

    rnd = random.Random(0)
    runs, params, tags, metrics, series, points = [], [], [], [], [], []
    optimizers = ("adamw", "sgd", "adafactor", "lion")
    for i in range(n_runs):
        rid = uuid.UUID(int=rnd.getrandbits(128)).hex
        start = base_time + i * 1000
        runs.append((rid, f"run-{i}", exp_id, "bench", "FINISHED", start, start + 500, "active", f"file:///art/{rid}"))
        p = {
            "learning_rate": f"{rnd.choice((1e-5, 3e-5, 1e-4, 3e-4, 1e-3)):g}",
            "optimizer": optimizers[i % 4],
            "batch_size": str(rnd.choice((8, 16, 32, 64))),
            "epochs": str(rnd.randint(1, 10)),
            "seed": str(i),
            "model": rnd.choice(("gpt2", "llama-7b", "mistral-7b", "bert-base")),
            "lora_r": str(rnd.choice((4, 8, 16, 64))),
            "warmup_steps": str(rnd.randint(0, 1000)),
            "weight_decay": f"{rnd.random() / 10:.4f}",
            "dataset": rnd.choice(("alpaca", "dolly", "oasst", "sharegpt")),
        }
        params += [(rid, k, v) for k, v in p.items()]
        t = {"team": rnd.choice(("nlp", "vision", "speech")), "stage": rnd.choice(("dev", "prod")),
             "owner": f"user{rnd.randint(1, 50)}", "git_commit": f"{rnd.getrandbits(40):010x}",
             "hf_mltrack.runName": f"run-{i}"}  # fmt: skip
        tags += [(rid, k, v) for k, v in t.items()]
        m = {"loss": rnd.random() * 3, "accuracy": rnd.random(), "eval_loss": rnd.random() * 3,
             "perplexity": rnd.random() * 50, "epoch": float(rnd.randint(1, 10))}  # fmt: skip
        metrics += [(rid, k, 10, v, start + 400, False) for k, v in m.items()]
        for k, v in m.items():  # one series per (run, key) (revision 0007), one point each
            series.append((len(series) + 1, rid, k, "", "", ""))
            points.append((len(series), 10, start + 400, v))
    return {"runs": runs, "params": params, "tags": tags, "latest_metrics": metrics, "metric_series": series,
            "metric_points": points}  # fmt: skip


_COLUMNS = {
    "runs": ("run_uuid", "name", "experiment_id", "user_id", "status", "start_time", "end_time", "lifecycle_stage",
             "artifact_uri"),
    "params": ("run_uuid", "key", "value"),
    "tags": ("run_uuid", "key", "value"),
    "metric_series": ("series_id", "run_uuid", "key", "model_id", "dataset_name", "dataset_digest"),
    "metric_points": ("series_id", "step", "timestamp", "value"),
    "latest_metrics": ("run_uuid", "key", "step", "value", "timestamp", "is_nan"),
}  # fmt: skip


def _bulk_write(uri: str, tables: dict[str, list[tuple]]) -> None:
    from hf_mltrack.store.sql.engine import get_engine

    engine = get_engine(uri)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        for table in ("runs", "params", "tags", "metric_series", "metric_points", "latest_metrics"):
            rows = tables[table]
            cols = _COLUMNS[table]
            if engine.dialect.name == "postgresql":
                with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                cur.execute("BEGIN")
                cur.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", rows)
                cur.execute("COMMIT")
        if engine.dialect.name == "postgresql":
            # series ids were given explicitly: move the sequence past them for the store's own inserts
            cur.execute("SELECT setval(pg_get_serial_sequence('metric_series', 'series_id'), MAX(series_id)) "
                        "FROM metric_series")  # fmt: skip
            raw.commit()
            cur.execute("ANALYZE")
            raw.commit()
        else:
            cur.execute("ANALYZE")
    finally:
        raw.close()


def _log_series(store: Any, run_id: str, keys: list[str], steps: int, chunk: int = 50_000) -> None:
    from hf_mltrack.entities import Metric

    per_key = max(1, chunk // len(keys))
    for lo in range(0, steps, per_key):
        batch = [Metric(k, float((s * 7919) % 1000) / 1000, 1_700_000_000_000 + s, s)
                 for k in keys for s in range(lo, min(steps, lo + per_key))]  # fmt: skip
        store.log_batch(run_id, batch)


def generate(uri: str, n_runs: int, series_points: int, wide_keys: int, wide_steps: int) -> dict[str, Any]:
    from hf_mltrack.store.sql.tracking_store import SqlTrackingStore

    store = SqlTrackingStore(uri, tempfile.mkdtemp(prefix="bench_scale_art_"))
    exp_id = store.create_experiment(f"scale-{uuid.uuid4().hex[:6]}")
    t = time.perf_counter()
    _bulk_write(uri, _rows(int(exp_id), n_runs, 1_700_000_000_000))
    runs_s = time.perf_counter() - t
    t = time.perf_counter()
    long_run = store.create_run(exp_id, None, 1, [], "long-series").info.run_id
    _log_series(store, long_run, ["loss"], series_points)
    wide_run = store.create_run(exp_id, None, 2, [], "wide-run").info.run_id
    _log_series(store, wide_run, [f"layer_{i:04d}/grad_norm" for i in range(wide_keys)], wide_steps)
    series_s = time.perf_counter() - t
    print(
        f"  generated {n_runs:,} runs in {runs_s:.1f} s; {series_points:,}-point series and "
        f"{wide_keys:,} keys x {wide_steps:,} steps through log_batch in {series_s:.1f} s"
    )
    return {"store": store, "exp_id": exp_id, "long_run": long_run, "wide_run": wide_run}


# ---- measurements ----------------------------------------------------------------------------------
def _raw_history(uri: str, run_id: str) -> int:
    from hf_mltrack.store.sql.engine import get_engine

    engine = get_engine(uri)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        mark = "%s" if engine.dialect.name == "postgresql" else "?"
        cur.execute(
            "SELECT step, value, timestamp FROM metric_points WHERE series_id = (SELECT series_id FROM "
            f"metric_series WHERE run_uuid = {mark} AND key = {mark}) ORDER BY step",
            (run_id, "loss"),
        )
        n = len(cur.fetchall())
        if engine.dialect.name == "postgresql":
            raw.commit()
        return n
    finally:
        raw.close()


def _http_first_page(url: str, exp_id: str, client: Any = None) -> int:
    import httpx

    body = {
        "experiment_ids": [exp_id],
        "order_by": ["attributes.start_time DESC"],
        "max_results": 1000,
        "run_view_type": "ACTIVE_ONLY",
    }
    if client is not None:
        r = client.post("/api/2.0/mlflow/runs/search", json=body)
    else:
        r = httpx.post(f"{url}/api/2.0/mlflow/runs/search", json=body, timeout=120)
    r.raise_for_status()
    return len(r.json()["runs"])


def _http_chart_list(url: str, run_id: str, charts: int = 12, client: Any = None) -> int:
    """``runs/get``, then the first ``charts`` charts' requests, 4 at a time (as the UI's queue)."""
    import httpx

    if client is not None:  # in process: the same requests one after another
        run = client.get("/api/2.0/mlflow/runs/get", params={"run_id": run_id}).json()["run"]
        keys = sorted(m["key"] for m in run["data"]["metrics"])
        for key in keys[:charts]:
            client.get(
                "/api/2.0/mlflow/metrics/get-history-bulk-interval",
                params={"run_ids": run_id, "metric_key": key, "max_results": 1000},
            ).raise_for_status()
        return len(keys)
    with httpx.Client(base_url=url, timeout=120) as http:
        run = http.get("/api/2.0/mlflow/runs/get", params={"run_id": run_id}).json()["run"]
        keys = sorted(m["key"] for m in run["data"]["metrics"])
        todo = list(keys[:charts])
        lock = threading.Lock()

        def worker() -> None:
            with httpx.Client(base_url=url, timeout=120) as h:
                while True:
                    with lock:
                        if not todo:
                            return
                        key = todo.pop(0)
                    r = h.get(
                        "/api/2.0/mlflow/metrics/get-history-bulk-interval",
                        params={"run_ids": run_id, "metric_key": key, "max_results": 1000},
                    )
                    r.raise_for_status()

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return len(keys)


def _explain(uri: str, store: Any, exp_id: str) -> None:
    import sqlalchemy as sa

    from hf_mltrack.store.sql.engine import get_engine

    engine = get_engine(uri)
    seen: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "runs" in statement:
            seen.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", capture)
    try:
        store.search_runs([exp_id], METRIC_FILTER, max_results=100, order_by=METRIC_ORDER)
    finally:
        sa.event.remove(engine, "before_cursor_execute", capture)
    statement, parameters = seen[0]
    prefix = "EXPLAIN " if engine.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
    with engine.connect() as conn:
        plan = conn.exec_driver_sql(prefix + statement, parameters).fetchall()
    print(f"  plan of search_runs({METRIC_FILTER!r}, order_by={METRIC_ORDER}):")
    for row in plan:
        print("    " + " | ".join(str(c) for c in row))


def measure(name: str, uri: str, ctx: dict[str, Any], repeats: int, explain: bool) -> dict[str, float]:
    from bench_server import start_ours, stop

    import hf_mltrack

    store, exp_id = ctx["store"], ctx["exp_id"]
    client = hf_mltrack.MlTrackClient(uri)
    out: dict[str, float] = {}
    out["search_metric"], out["search_metric_cpu"] = _median_wall_cpu(
        lambda: client.search_runs([exp_id], METRIC_FILTER, max_results=100, order_by=METRIC_ORDER), repeats
    )
    out["search_param"], out["search_param_cpu"] = _median_wall_cpu(
        lambda: client.search_runs([exp_id], "params.model = 'gpt2' and params.lora_r = '16'", max_results=100),
        repeats,
    )
    # The same two UI requests in process (the app on a test client): wall and CPU of the process.
    from fastapi.testclient import TestClient

    from hf_mltrack.server.app import create_app

    with tempfile.TemporaryDirectory() as art:
        tc = TestClient(create_app(uri, artifacts_destination=art), base_url="http://127.0.0.1")
        out["ui_first_page_inproc"], out["ui_first_page_cpu"] = _median_wall_cpu(
            lambda: _http_first_page("", exp_id, tc), repeats
        )
        out["chart_list_inproc"], out["chart_list_cpu"] = _median_wall_cpu(
            lambda: _http_chart_list("", ctx["wide_run"], client=tc), repeats
        )
    # get_metric_history vs a raw read, interleaved
    hist, raw = [], []
    n = len(store.get_metric_history(ctx["long_run"], "loss"))
    _raw_history(uri, ctx["long_run"])
    for _ in range(repeats):
        t = time.perf_counter()
        got = store.get_metric_history(ctx["long_run"], "loss")
        _ = got[-1].value  # materialise the last point (the sequence is lazy per item)
        hist.append(time.perf_counter() - t)
        t = time.perf_counter()
        _raw_history(uri, ctx["long_run"])
        raw.append(time.perf_counter() - t)
    out["history_ms"], out["raw_ms"] = statistics.median(hist) * 1e3, statistics.median(raw) * 1e3
    out["history_points"] = n
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_ours(tmp, backend=uri)
        try:
            out["ui_first_page"] = _median_ms(lambda: _http_first_page(url, exp_id), repeats)
            out["chart_list"] = _median_ms(lambda: _http_chart_list(url, ctx["wide_run"]), repeats)
        finally:
            stop(proc)
    if explain:
        _explain(uri, store, exp_id)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--series-points", type=int, default=1_000_000)
    parser.add_argument("--wide-keys", type=int, default=1000)
    parser.add_argument("--wide-steps", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--pg-admin", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--pg-db-prefix", default="h_perf_bench")
    parser.add_argument("--explain", action="store_true", help="print the query plan of the metric search")
    parser.add_argument("--quick", action="store_true", help="5,000 runs, 100k-point series, 100 keys x 1,000")
    opts = parser.parse_args()
    if opts.quick:
        opts.runs, opts.series_points, opts.wide_keys, opts.repeats = 5_000, 100_000, 100, 3
    import sqlalchemy as sa

    print(f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs")
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for backend in opts.backends.split(","):
            admin = db_name = None
            if backend == "sqlite":
                uri = f"sqlite:///{tmp}/scale.db"
            else:
                admin = sa.create_engine(opts.pg_admin, isolation_level="AUTOCOMMIT")
                db_name = f"{opts.pg_db_prefix}_{uuid.uuid4().hex[:6]}"
                with admin.connect() as conn:
                    conn.exec_driver_sql(f"CREATE DATABASE {db_name}")
                uri = opts.pg_admin.rsplit("/", 1)[0] + "/" + db_name
            print(f"{backend}:")
            try:
                ctx = generate(uri, opts.runs, opts.series_points, opts.wide_keys, opts.wide_steps)
                results[backend] = measure(backend, uri, ctx, opts.repeats, opts.explain)
            finally:
                if admin is not None:
                    from hf_mltrack.store.sql import engine as engine_mod

                    for key in [k for k in engine_mod._ENGINES if db_name and db_name in k]:
                        engine_mod._ENGINES.pop(key).dispose()
                    with admin.connect() as conn:
                        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")
                    admin.dispose()
    print(
        f"\n== {opts.runs:,} runs x ({N_PARAMS} params, {N_METRICS} metrics, {N_TAGS} tags); median of "
        f"{opts.repeats}, load average {os.getloadavg()[0]:.1f} =="
    )
    rows = [
        ("search_runs, metric filter + metric order_by, 100 runs (ms)", "search_metric", "<= 150"),
        ("  the same, CPU time (ms)", "search_metric_cpu", ""),
        ("search_runs, two param filters, 100 runs (ms)", "search_param", ""),
        ("  the same, CPU time (ms)", "search_param_cpu", ""),
        ("UI runs table, first page of 1,000 runs over HTTP (ms)", "ui_first_page", "<= 200"),
        ("  the same request in process (ms)", "ui_first_page_inproc", ""),
        ("  the same request in process, CPU time (ms)", "ui_first_page_cpu", ""),
        ("get_metric_history of the long series (ms)", "history_ms", ""),
        ("raw driver read of the same rows (ms)", "raw_ms", ""),
        (f"run with {opts.wide_keys:,} keys: runs/get + 12 charts (ms)", "chart_list", "<= 300"),
        ("  the same requests in process, one at a time (ms)", "chart_list_inproc", ""),
        ("  the same requests in process, CPU time (ms)", "chart_list_cpu", ""),
    ]
    backends = list(results)
    print(f"{'measure':<62}" + "".join(f"{b:>12}" for b in backends) + f"{'target':>10}")
    for label, key, target in rows:
        print(f"{label:<62}" + "".join(f"{results[b][key]:>12.1f}" for b in backends) + f"{target:>10}")
    points = format(int(results[backends[0]]["history_points"]), ",")
    print(
        f"{'get_metric_history / raw read (' + points + ' points)':<62}"
        + "".join(f"{results[b]['history_ms'] / results[b]['raw_ms']:>11.2f}x" for b in backends)
        + f"{'<= 1.2x':>10}"
    )


if __name__ == "__main__":
    main()
