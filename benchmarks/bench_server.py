"""Tracking-server throughput over loopback: hf_mltrack's server and client, side by side with MLflow's.

    python benchmarks/bench_server.py                       # hf_mltrack only
    # + MLflow (its server and its client), from an interpreter that has the full `mlflow` package:
    python benchmarks/bench_server.py --mlflow-python /path/to/venv/bin/python
    # team scale (issue 23): SQLite (1 worker) vs PostgreSQL + S3 via moto (2 workers), 32 clients,
    # ingest points/s, p50/p99 of a 1,000-point log-batch, read-back points/s; --rate adds a run
    # paced at that many points/s in all (the latency a team sees at that load)
    python benchmarks/bench_server.py --team [--repeats 3] [--rate 100000] [--quick]

Every server runs in its own subprocess on a free loopback port with a fresh SQLite database. Measured:

1. sync ``log_metric``: one HTTP round trip per call (ms/call, calls/s);
2. async ``log_metric``: points logged as fast as the client accepts them, then flushed (points/s end to end);
3. 32 concurrent clients, each sending log-batch requests of 1000 points for its own run (points/s
   ingested, and a check that every point arrived).

``--team`` measures the server, not the clients: on a real team the 32 clients run on machines of their
own, here they share the server's cores, so they are one lean process (32 threads, each with one
keep-alive socket sending requests encoded before the clock starts, `LeanHttp`). The points are
real: each client logs 10 batches of 1,000 points to its own run and uploads one artifact through
the proxy, and afterwards every history is read back over the API and compared point by point.
``--probe`` splits a paced run's requests into phases inside the server (`server_probe`) and shows
which processes used the CPU meanwhile.

The MLflow column uses the official client against ``mlflow server`` (both from ``--mlflow-python``);
the "mlflow client -> hf_mltrack server" column isolates the server. Ratios are printed at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))


def free_port() -> int:
    """A free loopback port: from BENCH_PORT_RANGE (e.g. ``5850-5899``, on a shared machine) if set, else any."""
    lo, _, hi = os.environ.get("BENCH_PORT_RANGE", "0-0").partition("-")
    for port in range(int(lo), int(hi or lo) + 1) if int(lo) else [0]:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise RuntimeError(f"no free port in BENCH_PORT_RANGE={os.environ['BENCH_PORT_RANGE']}")


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not become healthy")


def start_ours(
    tmp: str,
    workers: int = 1,
    backend: str | None = None,
    artifacts: str | None = None,
    env: dict[str, str] | None = None,
    probe_dir: str | None = None,
) -> tuple[subprocess.Popen, str]:
    """Our server; with ``probe_dir``, started through `server_probe` (per-request timings land there)."""
    port = free_port()
    if probe_dir is not None:
        env = {**(env or {}), "HF_MLTRACK_PROBE_DIR": probe_dir}
    entry = ["-m", "hf_mltrack.cli.server"] if probe_dir is None else [os.path.join(HERE, "server_probe.py")]
    cmd = [
        sys.executable,
        *entry,
        "--port",
        str(port),
        "--backend-store-uri",
        backend or f"sqlite:///{tmp}/ours/mltrack.db",
        "--artifacts-destination",
        artifacts or f"{tmp}/ours/art",
        "--workers",
        str(workers),
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, **(env or {})}
    )
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, proc)
    return proc, url


def start_mlflow(python: str, tmp: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    os.makedirs(f"{tmp}/mlflow", exist_ok=True)
    cmd = [
        python,
        "-m",
        "mlflow",
        "server",
        "--port",
        str(port),
        "--backend-store-uri",
        f"sqlite:///{tmp}/mlflow/mlflow.db",
        "--artifacts-destination",
        f"{tmp}/mlflow/art",
        "--workers",
        "1",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=f"{tmp}/mlflow")
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, proc, timeout=240)
    return proc, url


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


# ---- hf_mltrack client -------------------------------------------------------------------------------
def ours_sync(url: str, calls: int) -> float:
    from hf_mltrack.tracking import MlTrackClient

    client = MlTrackClient(url)
    run_id = client.create_run("0").info.run_id
    client.log_metric(run_id, "warmup", 0.0, synchronous=True)
    start = time.perf_counter()
    for i in range(calls):
        client.log_metric(run_id, "loss", 1.0 / (i + 1), step=i, synchronous=True)
    return (time.perf_counter() - start) / calls


def ours_async(url: str, points: int) -> tuple[float, float]:
    """(points/s accepted by log_metric, points/s end to end including the final flush)."""
    from hf_mltrack.tracking import MlTrackClient

    client = MlTrackClient(url)
    run_id = client.create_run("0").info.run_id
    start = time.perf_counter()
    for i in range(points):
        client.log_metric(run_id, "loss", 1.0 / (i + 1), step=i)
    accepted = time.perf_counter() - start
    client.flush()
    total = time.perf_counter() - start
    got = len(client.get_metric_history(run_id, "loss"))
    assert got == points, f"lost points: {got} of {points}"
    return points / accepted, points / total


def concurrent_clients(url: str, clients: int = 32, batches: int = 10, size: int = 1000) -> float:
    """Raw log-batch requests from ``clients`` threads, one keep-alive connection each; points/s."""
    import httpx

    from hf_mltrack.tracking import MlTrackClient

    run_ids = [MlTrackClient(url).create_run("0").info.run_id for _ in range(clients)]
    errors: list[str] = []
    barrier = threading.Barrier(clients + 1)

    def work(run_id: str) -> None:
        with httpx.Client(base_url=url, timeout=120) as http:
            barrier.wait()
            for b in range(batches):
                body = {
                    "run_id": run_id,
                    "metrics": [
                        {"key": "loss", "value": 0.5, "timestamp": 1_700_000_000_000, "step": b * size + i}
                        for i in range(size)
                    ],
                }
                r = http.post("/api/2.0/mlflow/runs/log-batch", json=body)
                if r.status_code != 200:
                    errors.append(r.text[:200])

    threads = [threading.Thread(target=work, args=(r,)) for r in run_ids]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    assert not errors, errors[:3]
    client = MlTrackClient(url)
    for run_id in run_ids:
        n = len(client.get_metric_history(run_id, "loss"))
        assert n == batches * size, f"run {run_id}: {n} of {batches * size} points"
    return clients * batches * size / elapsed


# ---- team scale: PostgreSQL + S3 behind several workers, side by side with SQLite (issue 23) ----------
class LeanHttp:
    """One keep-alive HTTP/1.1 connection that sends requests encoded beforehand and reads the responses
    (status and body, by Content-Length or chunked) with a few socket calls: the team benchmark's
    clients share the server's machine, and on a real team they run on machines of their own, so each
    of their requests should cost this machine as little CPU as possible (an httpx request costs
    several times the server's parsing of the same 1,000 points)."""

    def __init__(self, url: str) -> None:
        host, _, port = url.split("://", 1)[1].partition(":")
        self.host = f"{host}:{port}".encode()
        self.sock = socket.create_connection((host, int(port)))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def encode(self, method: str, path: str, body: bytes, content_type: str = "application/json") -> bytes:
        """A complete request, ready for `send`."""
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host.decode()}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body

    def send(self, request: bytes) -> tuple[int, bytes]:
        """(status, body) of the response to ``request``."""
        self.sock.sendall(request)
        while b"\r\n\r\n" not in self.buf:
            self._read()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        headers = dict(line.lower().split(b": ", 1) for line in lines[1:])
        if b"content-length" in headers:
            body = self._exactly(int(headers[b"content-length"]))
        else:  # chunked
            parts = []
            while True:
                while b"\r\n" not in self.buf:
                    self._read()
                size_line, _, self.buf = self.buf.partition(b"\r\n")
                size = int(size_line.split(b";")[0], 16)
                parts.append(self._exactly(size + 2)[:size])
                if not size:
                    break
            body = b"".join(parts)
        return status, body

    def _read(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("the server closed the connection")
        self.buf += data

    def _exactly(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._read()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def close(self) -> None:
        self.sock.close()


def team_load(
    url: str,
    clients: int,
    batches: int,
    size: int,
    rate: float = 0.0,
    probe: dict[str, dict] | None = None,
    server: subprocess.Popen | None = None,
) -> dict[str, float]:
    """``clients`` threads, each with its own keep-alive connection and run, send ``batches``
    log-batch requests of ``size`` points, then upload one artifact through the proxy; then every
    history is read back and checked point by point (step, value, timestamp).

    The clients share the server's cores here, where a team's would run on machines of their own, so
    they cost as little as possible: every request is encoded (JSON body and HTTP head) before the
    clock starts and sent by `LeanHttp` (one socket write, a few reads). The figures are the server's:
    its ingest rate, the latency a client sees, and its read-back rate.

    ``rate`` (points/s for all clients together) paces the clients: each sends a batch every
    ``clients * size / rate`` seconds (at once when it is behind), so the latencies are those of a
    server under that load rather than of a queue of 32 clients that never wait (where by Little's
    law the latency is 32 requests' service time whatever the server does).

    ``probe`` receives each request's client-side stamps by its ``x-probe`` id (`server_probe`).
    With the ``server`` process, also the CPU time its processes used per log-batch request while the
    clients ran (uploads included, read-back not): a figure the other users of a shared machine
    disturb far less than the latencies."""
    import httpx

    api = "/api/2.0/mlflow"
    errors: list[str] = []
    latencies: list[float] = []
    runs: list[dict] = []
    with httpx.Client(base_url=url, timeout=60) as http:
        for _ in range(clients):
            runs.append(http.post(f"{api}/runs/create", json={"experiment_id": "0"}).json()["run"]["info"])
    connections = [LeanHttp(url) for _ in range(clients)]

    def point(b: int, j: int) -> dict[str, Any]:
        return {"key": "loss", "value": 1.0 / (j + 1), "timestamp": 1_700_000_000_000 + b, "step": b * size + j}

    def log_batch(i: int, b: int) -> bytes:
        body = json.dumps({"run_id": runs[i]["run_id"], "metrics": [point(b, j) for j in range(size)]}).encode()
        request = connections[i].encode("POST", f"{api}/runs/log-batch", body)
        if probe is None:
            return request
        return request.replace(b"\r\n\r\n", f"\r\nx-probe: {i}.{b}\r\n\r\n".encode(), 1)

    requests = [[log_batch(i, b) for b in range(batches)] for i in range(clients)]
    uploads = [
        connections[i].encode(
            "PUT",
            f"/api/2.0/mlflow-artifacts/artifacts/{info['artifact_uri'].split(':/', 1)[1]}/weights.bin",
            bytes([i]) * 4096,
            "application/octet-stream",
        )
        for i, info in enumerate(runs)
    ]
    barrier = threading.Barrier(clients + 1)
    interval = clients * size / rate if rate else 0.0

    def work(i: int) -> None:
        mine: list[float] = []
        http = connections[i]
        barrier.wait()
        due = time.perf_counter() + interval * i / clients  # spread the clients over one interval
        for b, request in enumerate(requests[i]):
            scheduled = due
            if interval:
                pause = due - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                due += interval
            t = time.perf_counter()
            status, body = http.send(request)
            end = time.perf_counter()
            mine.append(end - t)
            if probe is not None:
                probe[f"{i}.{b}"] = {"due": scheduled if interval else 0.0, "start": t, "end": end}
            if status != 200:
                errors.append(f"log-batch {status}: {body[:200]!r}")
        status, body = http.send(uploads[i])
        if status != 200:
            errors.append(f"upload {status}: {body[:200]!r}")
        latencies.extend(mine)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    cpu_before = _tree_cpu(server.pid) if server is not None else 0.0
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    cpu = _tree_cpu(server.pid) - cpu_before if server is not None else 0.0
    for connection in connections:
        connection.close()
    assert not errors, errors[:3]
    read_start = time.perf_counter()
    histories = []
    with httpx.Client(base_url=url, timeout=120) as http:
        for info in runs:
            got = http.get(f"{api}/metrics/get-history", params={"run_id": info["run_id"], "metric_key": "loss"})
            histories.append(got.json().get("metrics", []))
    read = time.perf_counter() - read_start
    expected = [point(b, j) for b in range(batches) for j in range(size)]
    for info, history in zip(runs, histories, strict=True):
        got = sorted(({k: m[k] for k in ("key", "value", "timestamp", "step")} for m in history), key=_step)
        if got != expected:
            wrong = next(((a, b) for a, b in zip(got, expected, strict=False) if a != b), None)
            raise AssertionError(f"run {info['run_id']}: {len(got)} of {len(expected)} points read back; {wrong}")
    latencies.sort()
    points = clients * batches * size
    return {
        "ingest": points / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1e3,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1e3,
        "read": points / read,
        "cpu_ms": 1e3 * cpu / (clients * batches),
    }


def _tree_cpu(pid: int) -> float:
    """CPU seconds used so far by process ``pid`` and its children (a server's workers)."""
    pids = [pid] + [p for p, (parent, _) in _processes().items() if parent == pid]
    return sum(map(_cpu_ticks, pids)) / os.sysconf("SC_CLK_TCK")


def _step(metric: dict) -> int:
    return int(metric["step"])


def _moto() -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import httpx

    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            httpx.get(url, timeout=1)
            return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("moto server did not start")


@dataclasses.dataclass
class _TeamBackends:
    """moto's S3 server (bucket ``bench``) and the name of a PostgreSQL database of the benchmark's own."""

    moto: subprocess.Popen
    moto_url: str
    admin: Any  # an AUTOCOMMIT engine on the admin database
    db_name: str
    pg_admin_uri: str

    def fresh_database(self) -> str:
        """The database (re)created empty; its URI."""
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {self.db_name} WITH (FORCE)")
            conn.exec_driver_sql(f"CREATE DATABASE {self.db_name}")
        return self.pg_admin_uri.rsplit("/", 1)[0] + "/" + self.db_name


@contextlib.contextmanager
def _team_backends(args: argparse.Namespace) -> Iterator[_TeamBackends]:
    """`_TeamBackends` with test S3 credentials in the environment; the database and moto are gone afterwards."""
    import uuid

    import boto3
    import sqlalchemy as sa

    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"})
    os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
    moto, moto_url = _moto()
    admin = sa.create_engine(args.pg_admin, isolation_level="AUTOCOMMIT")
    backends = _TeamBackends(moto, moto_url, admin, f"{args.pg_db_prefix}_{uuid.uuid4().hex[:6]}", args.pg_admin)
    try:
        boto3.client("s3", endpoint_url=moto_url).create_bucket(Bucket="bench")
        yield backends
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {backends.db_name} WITH (FORCE)")
        admin.dispose()
        stop(moto)


def team(args: argparse.Namespace) -> None:
    """SQLite (1 worker) and PostgreSQL + S3 (``--pg-workers``), alternating, ``--repeats`` times."""
    results: dict[str, list[dict[str, float]]] = {}
    with _team_backends(args) as backends, tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            configs = [
                ("sqlite, 1 worker", dict(workers=1, backend=f"sqlite:///{tmp}/r{r}/mltrack.db")),
                (
                    f"postgresql + s3, {args.pg_workers} workers",
                    dict(
                        workers=args.pg_workers,
                        backend=backends.fresh_database(),
                        artifacts=f"s3://bench/r{r}",
                        env={"HF_MLTRACK_S3_ENDPOINT_URL": backends.moto_url},
                    ),
                ),
            ]
            for name, cfg in configs:
                proc, url = start_ours(tmp, **cfg)  # type: ignore[arg-type]
                try:
                    results.setdefault(name, []).append(team_load(url, args.clients, args.batches, 1000, server=proc))
                    if args.rate:
                        paced = team_load(url, args.clients, args.batches, 1000, args.rate, server=proc)
                        results.setdefault(f"{name}, paced", []).append(paced)
                finally:
                    stop(proc)
    import statistics

    print(
        f"\n== team scale: {args.clients} clients x {args.batches} log-batch requests of 1,000 points, "
        f"{args.repeats} repeats (median), load average {os.getloadavg()[0]:.1f} =="
    )
    print(
        f"{'server':<40}{'ingest points/s':>16}{'p50 ms':>9}{'p99 ms':>9}{'read-back points/s':>20}"
        f"{'server CPU ms/batch':>21}"
    )
    for name, rows in results.items():
        med = {k: statistics.median(row[k] for row in rows) for k in rows[0]}
        print(
            f"{name:<40}{med['ingest']:>16,.0f}{med['p50_ms']:>9.1f}{med['p99_ms']:>9.1f}{med['read']:>20,.0f}"
            f"{med['cpu_ms']:>21.2f}"
        )
        print("  each repeat: " + ", ".join(f"{row['ingest']:,.0f}/s p99 {row['p99_ms']:.0f} ms" for row in rows))
    print(
        "server CPU ms/batch: CPU time of the server's processes per log-batch request while the clients ran "
        "(their artifact uploads included); other load on the machine moves it far less than the latencies"
    )


def _cpu_ticks(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime


def _processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command name) of every process."""
    out = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    head, rest = f.read().rsplit(")", 1)
                out[int(name)] = (int(rest.split()[1]), head.split("(", 1)[1])
            except OSError:
                continue
    return out


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine so far."""
    with open("/proc/stat") as f:
        values = [int(x) for x in f.readline().split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def team_probe(args: argparse.Namespace) -> None:
    """``--probe``: PostgreSQL + S3 paced at ``--rate``, through `server_probe`: where each request's
    time goes, and which processes used the 2 cores meanwhile (the clients share them)."""
    import server_probe

    with _team_backends(args) as backends, tempfile.TemporaryDirectory() as tmp:
        probe_dir = os.path.join(tmp, "probe")
        os.makedirs(probe_dir)
        proc, url = start_ours(
            tmp,
            workers=args.pg_workers,
            backend=backends.fresh_database(),
            artifacts="s3://bench/probe",
            env={"HF_MLTRACK_S3_ENDPOINT_URL": backends.moto_url},
            probe_dir=probe_dir,
        )
        try:
            team_load(url, args.clients, 2, 1000)  # warm: every worker's connections opened
            for name in os.listdir(probe_dir):
                os.truncate(os.path.join(probe_dir, name), 0)
            with backends.admin.connect() as conn:
                pids = conn.exec_driver_sql(f"SELECT pid FROM pg_stat_activity WHERE datname = '{backends.db_name}'")
                db_backends = [r[0] for r in pids]
            tree = _processes()
            workers = [p for p, (parent, _) in tree.items() if parent == proc.pid] + [proc.pid]
            others = [p for p, (_, cmd) in tree.items() if cmd.startswith("postgres") and p not in db_backends]
            groups = {
                "load generator (this process)": [os.getpid()],
                "server workers": workers,
                f"postgres backends ({len(db_backends)})": db_backends,
                "other postgres processes (WAL writer, ... and other users')": others,
                "moto": [backends.moto.pid],
            }
            before = {k: sum(map(_cpu_ticks, v)) for k, v in groups.items()}
            machine = _machine_ticks()
            load = os.getloadavg()[0]
            stamps: dict[str, dict] = {}
            result = team_load(url, args.clients, args.batches, 1000, args.rate, probe=stamps)
            busy = [b - a for a, b in zip(machine, _machine_ticks(), strict=True)]
            used = {k: sum(map(_cpu_ticks, v)) - before[k] for k, v in groups.items()}
        finally:
            stop(proc)
        requests, pauses, lags = server_probe.read_records(probe_dir)
    print(
        f"\n== probe: postgresql + s3, {args.pg_workers} workers, {args.clients} clients paced at {args.rate:,.0f} "
        f"points/s, load average {load:.1f} before =="
    )
    print(
        f"ingest {result['ingest']:,.0f} points/s, p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms, "
        f"read-back {result['read']:,.0f} points/s"
    )
    print(server_probe.breakdown(requests, stamps, pauses, lags))
    ticks = busy[1] or 1
    cores = os.cpu_count() or 1
    print(f"CPU during the run (share of {cores} cores): machine busy {100 * busy[0] / ticks:.0f}%")
    for name, value in used.items():
        print(f"  {name:<62}{100 * value * cores / ticks:5.0f}%")


# ---- mlflow client (in its own interpreter) --------------------------------------------------------------
MLFLOW_BENCH = textwrap.dedent(
    """
    import json, os, sys, time
    import mlflow
    from mlflow import MlflowClient
    from mlflow.entities import Metric
    calls, points = int(sys.argv[1]), int(sys.argv[2])
    client = MlflowClient()
    run = client.create_run("0")
    rid = run.info.run_id
    client.log_metric(rid, "warmup", 0.0)
    t = time.perf_counter()
    for i in range(calls):
        client.log_metric(rid, "loss", 1.0 / (i + 1), step=i)
    sync = (time.perf_counter() - t) / calls
    run2 = client.create_run("0").info.run_id
    t = time.perf_counter()
    for i in range(points):
        client.log_metric(run2, "loss", 1.0 / (i + 1), step=i, synchronous=False)
    accepted = time.perf_counter() - t
    mlflow.flush_async_logging()
    total = time.perf_counter() - t
    got = len(client.get_metric_history(run2, "loss"))
    print(json.dumps({"sync_s": sync, "async_accept": points / accepted, "async_total": points / total,
                      "got": got}))
    """
)


def mlflow_client(python: str, url: str, calls: int, points: int) -> dict:
    env = {**os.environ, "MLFLOW_TRACKING_URI": url}
    out = subprocess.run(
        [python, "-c", MLFLOW_BENCH, str(calls), str(points)],
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sync-calls", type=int, default=300)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--mlflow-points", type=int, default=5_000, help="async points for the (slow) MLflow client")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--mlflow-python", default=None, help="interpreter with `mlflow` installed (full package)")
    parser.add_argument("--team", action="store_true", help="only the team-scale comparison (issue 23)")
    parser.add_argument("--pg-admin", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--pg-db-prefix", default="h_perf_bench", help="a throwaway database is made per run")
    parser.add_argument("--pg-workers", type=int, default=2)
    parser.add_argument("--batches", type=int, default=10, help="team: log-batch requests per client")
    parser.add_argument("--repeats", type=int, default=3, help="team: alternating repeats")
    parser.add_argument(
        "--rate", type=float, default=0.0, help="team: also a run paced at this many points/s in all (e.g. 100000)"
    )
    parser.add_argument("--quick", action="store_true", help="team scale only, 1 repeat, 3 batches per client")
    parser.add_argument(
        "--probe", action="store_true", help="team: where a log-batch's time goes on PostgreSQL (with --rate)"
    )
    args = parser.parse_args()
    if args.quick:
        args.team, args.repeats, args.batches = True, 1, 3
    if args.team and args.probe:
        sys.path.insert(0, HERE)
        team_probe(args)
        return
    if args.team:
        team(args)
        return

    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("HF_MLTRACK_HOME", os.path.join(tmp, "home"))
        proc, url = start_ours(tmp)
        try:
            results["ours_sync_ms"] = ours_sync(url, args.sync_calls) * 1000
            accept, total = ours_async(url, args.points)
            results["ours_async_accept"], results["ours_async_total"] = accept, total
            results["ours_concurrent"] = concurrent_clients(url, args.clients)
            if args.mlflow_python:
                m = mlflow_client(args.mlflow_python, url, args.sync_calls, args.mlflow_points)
                results["mlflowclient_ours_sync_ms"] = m["sync_s"] * 1000
                results["mlflowclient_ours_async_total"] = m["async_total"]
        finally:
            stop(proc)
        if args.mlflow_python:
            mproc, murl = start_mlflow(args.mlflow_python, tmp)
            try:
                m = mlflow_client(args.mlflow_python, murl, args.sync_calls, args.mlflow_points)
                results["mlflow_sync_ms"] = m["sync_s"] * 1000
                results["mlflow_async_total"] = m["async_total"]
                results["mlflow_concurrent"] = concurrent_clients_mlflow(murl, args.clients)
            finally:
                stop(mproc)

    print("\n== tracking server over loopback (SQLite backend, 1 worker) ==")
    print(
        f"hf_mltrack sync log_metric:          {results['ours_sync_ms']:8.2f} ms/call "
        f"({1000 / results['ours_sync_ms']:,.0f} calls/s)"
    )
    print(
        f"hf_mltrack async log_metric:         {results['ours_async_total']:10,.0f} points/s end to end "
        f"({results['ours_async_accept']:,.0f}/s accepted)"
    )
    print(
        f"hf_mltrack server, {args.clients} clients:      {results['ours_concurrent']:10,.0f} "
        "points/s, no errors, no lost points"
    )
    if "mlflow_sync_ms" in results:
        print(
            f"mlflow client -> hf_mltrack server:  {results['mlflowclient_ours_sync_ms']:8.2f} ms/call sync, "
            f"{results['mlflowclient_ours_async_total']:,.0f} points/s async"
        )
        print(
            f"mlflow client -> mlflow server:      {results['mlflow_sync_ms']:8.2f} ms/call sync, "
            f"{results['mlflow_async_total']:,.0f} points/s async"
        )
        print(f"mlflow server, {args.clients} clients:          {results['mlflow_concurrent']:10,.0f} points/s")
        print("\nratios (higher is better for hf_mltrack):")
        print(
            "  sync latency, mlflow stack / hf_mltrack stack:     "
            f"{results['mlflow_sync_ms'] / results['ours_sync_ms']:6.1f}x"
        )
        print(
            f"  sync latency, mlflow server / hf_mltrack server:   "
            f"{results['mlflow_sync_ms'] / results['mlflowclient_ours_sync_ms']:6.1f}x (same mlflow client)"
        )
        print(
            "  async throughput, hf_mltrack / mlflow:             "
            f"{results['ours_async_total'] / results['mlflow_async_total']:6.1f}x"
        )
        print(
            f"  {args.clients}-client ingest, hf_mltrack / mlflow server:    "
            f"{results['ours_concurrent'] / results['mlflow_concurrent']:6.1f}x"
        )
    print(json.dumps({k: round(v, 3) for k, v in results.items()}))


def concurrent_clients_mlflow(url: str, clients: int) -> float:
    """The same raw log-batch load against an MLflow server (its limits are the same)."""
    import httpx

    run_ids = []
    with httpx.Client(base_url=url, timeout=60) as http:
        for _ in range(clients):
            r = http.post("/api/2.0/mlflow/runs/create", json={"experiment_id": "0", "start_time": 1})
            run_ids.append(r.json()["run"]["info"]["run_id"])
    errors: list[str] = []
    batches, size = 3, 1000
    barrier = threading.Barrier(clients + 1)

    def work(run_id: str) -> None:
        with httpx.Client(base_url=url, timeout=600) as http:
            barrier.wait()
            for b in range(batches):
                body = {
                    "run_id": run_id,
                    "metrics": [
                        {"key": "loss", "value": 0.5, "timestamp": 1_700_000_000_000, "step": b * size + i}
                        for i in range(size)
                    ],
                }
                r = http.post("/api/2.0/mlflow/runs/log-batch", json=body)
                if r.status_code != 200:
                    errors.append(r.text[:200])

    threads = [threading.Thread(target=work, args=(r,)) for r in run_ids]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if errors:
        print(f"mlflow server errors under load: {len(errors)}, e.g. {errors[0]}")
    return clients * batches * size / elapsed


if __name__ == "__main__":
    main()
