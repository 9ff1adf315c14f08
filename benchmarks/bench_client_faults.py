"""Faults a training job meets, measured as a user's job would see them (issue 18 items 5-6, issue 23 item 5).

    python benchmarks/bench_client_faults.py --quick            # every scenario, small sizes (< 1 min each)
    python benchmarks/bench_client_faults.py embedded-kill9     # one scenario, full size

Scenarios (each prints one JSON line):

- ``down-from-start``: the server is down before the first call; ``start_run``, a 300-step loop
  (``log_metric`` + ``log_metrics`` of 2 keys per step) and ``end_run``; then the server starts and we
  time until everything is stored.
- ``long-outage``: a job logs at ~100 steps/s; the server is killed for longer than the HTTP retries
  (5 retries, default back-off: 7.75 s) and restarted; the job keeps logging; seconds until the backlog
  is stored, and whether the stored steps are exactly 0..N-1 (in order, no duplicates).
- ``kill-16``: 16 client processes stream metrics (~20 s); the server is SIGKILLed 1 s in and restarted
  9 s later (longer than the retries); points acknowledged (``log_metric`` returned) vs stored when the
  jobs exited, and after a later process of the same user ran.
- ``embedded-kill9``: 8 processes log into one SQLite file; one is SIGKILLed; how long before the kill
  its last stored point was acknowledged (the window at risk) and points acknowledged vs stored.
- ``slow-server``: a server throttled to R points/s; a client logs N points as fast as it can; peak RSS
  growth of the client, the longest ``log_metric`` call, and whether every point arrives.

Each scenario runs the tree on ``PYTHONPATH`` (set it to an older checkout to measure "before").
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

PY = sys.executable


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_MLTRACK_")}
    env["HF_MLTRACK_HOME"] = str(home)
    env.update(extra)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``hf-mltrack server`` in a subprocess on loopback (SIGKILL and restart on the same database)."""

    def __init__(self, tmp: Path, port: int | None = None, throttle: int = 0) -> None:
        self.tmp = tmp
        self.port = port or _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.throttle = throttle
        self.proc: subprocess.Popen | None = None

    def start(self) -> Server:
        import httpx

        db = f"sqlite:///{self.tmp / 'server' / 'mltrack.db'}"
        if self.throttle:
            code = _THROTTLED_SERVER.format(db=db, art=str(self.tmp / "art"), port=self.port, rate=self.throttle)
            cmd = [PY, "-c", code]
        else:
            cmd = [PY, "-m", "hf_mltrack.cli.server", "--port", str(self.port), "--backend-store-uri", db]
            cmd += ["--artifacts-destination", str(self.tmp / "art")]
        self.proc = subprocess.Popen(
            cmd,
            env=_env(self.tmp / "srvhome"),
            stdout=subprocess.DEVNULL,
            stderr=open(self.tmp / f"server-{self.port}.log", "a"),  # noqa: SIM115
            start_new_session=True,
        )
        deadline = time.monotonic() + 300  # a loaded 2-core machine can take a while
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}")
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("server did not start")

    def kill(self) -> None:
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
            self.proc = None

    def steps(self, run_id: str, key: str) -> list[int]:
        import httpx

        r = httpx.get(
            f"{self.url}/api/2.0/mlflow/metrics/get-history", params={"run_id": run_id, "metric_key": key}, timeout=60
        )
        return [int(m.get("step", 0)) for m in r.json().get("metrics", [])] if r.status_code == 200 else []

    def run_by_client_id(self, run_id: str) -> str | None:
        """The server's id of a run: itself, or the run created for a client-chosen (offline) id."""
        import httpx

        if httpx.get(f"{self.url}/api/2.0/mlflow/runs/get", params={"run_id": run_id}).status_code == 200:
            return run_id
        r = httpx.post(
            f"{self.url}/api/2.0/mlflow/runs/search",
            json={"experiment_ids": ["0"], "filter": f"tags.`hf_mltrack.clientRunId` = '{run_id}'"},
        )
        runs = r.json().get("runs") or []
        return runs[0]["info"]["run_id"] if runs else None


# A real server whose log-batch route takes `rate` metric points per second (a slow, overloaded server).
_THROTTLED_SERVER = textwrap.dedent(
    """
    import json, time, threading, uvicorn
    from hf_mltrack.server import create_app
    app = create_app({db!r}, artifacts_destination={art!r})
    lock = threading.Lock()
    inner = app.build_middleware_stack if False else None

    class Throttle:
        def __init__(self, app):
            self.app = app
        async def __call__(self, scope, receive, send):
            if scope["type"] != "http" or not scope["path"].endswith("/runs/log-batch"):
                return await self.app(scope, receive, send)
            chunks = []
            more = True
            while more:
                msg = await receive()
                chunks.append(msg.get("body", b""))
                more = msg.get("more_body", False)
            body = b"".join(chunks)
            n = len(json.loads(body or b"{{}}").get("metrics") or ())
            import asyncio
            await asyncio.sleep(n / {rate})
            sent = False
            async def replay():
                nonlocal sent
                if sent:
                    return {{"type": "http.disconnect"}}
                sent = True
                return {{"type": "http.request", "body": body, "more_body": False}}
            return await self.app(scope, replay, send)

    uvicorn.run(Throttle(app), host="127.0.0.1", port={port}, log_level="warning", limit_concurrency=4)
    """
)


def _script(tmp: Path, body: str) -> Path:
    path = tmp / f"job_{time.monotonic_ns()}.py"
    path.write_text(textwrap.dedent(body))
    return path


# ---- down-from-start ----------------------------------------------------------------------------------
def down_from_start(tmp: Path, quick: bool) -> dict:
    port = _free_port()
    server = Server(tmp, port)
    job = _script(
        tmp,
        f"""
        import json, statistics, time, warnings
        warnings.simplefilter("ignore")
        import httpx, hf_mltrack
        hf_mltrack.set_tracking_uri("http://127.0.0.1:{port}")
        out = {{}}
        t = time.perf_counter()
        try:
            run = hf_mltrack.start_run()
        except Exception as exc:
            out["start_run_error"] = f"{{type(exc).__name__}} after {{time.perf_counter() - t:.1f}} s"
            print(json.dumps(out)); raise SystemExit(0)
        out["start_run_ms"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter(); second = hf_mltrack.start_run(nested=True); hf_mltrack.end_run()
        out["nested_start_run_ms"] = (time.perf_counter() - t) * 1000
        costs = []
        deadline = time.monotonic() + 120
        steps = 0
        for step in range(300):
            t = time.perf_counter()
            hf_mltrack.log_metric("loss", 1.0 / (step + 1), step=step)
            hf_mltrack.log_metrics({{"acc": step / 300, "lr": 0.1}}, step=step)
            costs.append(time.perf_counter() - t)
            steps += 1
            if time.monotonic() > deadline:
                break
        out["steps_done"] = steps
        out["step_overhead_mean_ms"] = statistics.mean(costs) * 1000
        out["step_overhead_max_ms"] = max(costs) * 1000
        t = time.perf_counter(); hf_mltrack.end_run(); out["end_run_ms"] = (time.perf_counter() - t) * 1000
        out["run_id"] = run.info.run_id
        starts = []
        for _ in range(20):  # later runs of the same job: nothing one-time left (imports, HTTP pool)
            t = time.perf_counter(); hf_mltrack.start_run(); starts.append(time.perf_counter() - t)
            hf_mltrack.end_run()
            time.sleep(0.02)
        out["later_start_run_median_ms"] = statistics.median(starts) * 1000
        print(json.dumps(out), flush=True)
        """,
    )
    t0 = time.monotonic()
    proc = subprocess.run([PY, str(job)], env=_env(tmp / "home"), capture_output=True, text=True, timeout=900)
    if not proc.stdout.strip():
        raise RuntimeError(proc.stderr[-3000:])
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["job_seconds"] = round(time.monotonic() - t0, 2)
    out["exit_message"] = "NOT delivered" in proc.stderr
    if "run_id" not in out:
        return out
    server.start()
    # the job has exited: the next process of the same user sends its journal (any call does)
    t0 = time.monotonic()
    replay = _script(
        tmp,
        f"""
        import hf_mltrack
        hf_mltrack.MlTrackClient("{server.url}").search_experiments()
        """,
    )
    subprocess.run([PY, str(replay)], env=_env(tmp / "home"), capture_output=True, timeout=300)
    server_id = server.run_by_client_id(out["run_id"])
    stored = len(server.steps(server_id, "acc")) if server_id else 0
    out["delivered_after_return_s"] = round(time.monotonic() - t0, 2)
    out["acknowledged_points"] = 900
    out["stored_points"] = stored * 3 if server_id else 0
    server.kill()
    return out


# ---- long-outage ---------------------------------------------------------------------------------------
def long_outage(tmp: Path, quick: bool) -> dict:
    server = Server(tmp).start()
    outage = 9.0  # longer than the default retries (7.75 s of back-off)
    job = _script(
        tmp,
        f"""
        import json, sys, time, warnings
        warnings.simplefilter("ignore")
        import hf_mltrack
        hf_mltrack.set_tracking_uri("{server.url}")
        run = hf_mltrack.start_run()
        print(run.info.run_id, flush=True)
        step = 0
        stop_at = None
        for line in iter(sys.stdin.readline, ""):
            if line.startswith("mark"):
                print(step, flush=True)
            if line.startswith("stop"):
                break
            end = time.monotonic() + float(line.split()[1])
            while time.monotonic() < end:
                hf_mltrack.log_metric("loss", float(step), step=step)
                step += 1
                time.sleep(0.01)
            print(step, flush=True)
        hf_mltrack.end_run()
        print(step, flush=True)
        """,
    )
    proc = subprocess.Popen(
        [PY, str(job)],
        env=_env(tmp / "home"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdin and proc.stdout
    run_id = proc.stdout.readline().strip()

    def log(seconds: float) -> int:
        proc.stdin.write(f"log {seconds}\n")
        proc.stdin.flush()
        return int(proc.stdout.readline())

    log(1.0)
    server.kill()
    before_return = log(outage)
    server.start()
    t0 = time.monotonic()
    delivered = None
    while time.monotonic() - t0 < 60:
        log(0.5)
        if len(server.steps(run_id, "loss")) >= before_return:
            delivered = time.monotonic() - t0
            break
    proc.stdin.write("stop\n")
    proc.stdin.flush()
    total = int(proc.stdout.readline())
    proc.wait(timeout=300)
    stored = server.steps(run_id, "loss")
    server.kill()
    return {
        "outage_s": outage,
        "backlog_points_at_return": before_return,
        "backlog_delivered_within_s": None if delivered is None else round(delivered, 2),
        "acknowledged_points": total,
        "stored_points_at_end": len(stored),
        "in_order_no_duplicates": stored == list(range(total)),
    }


# ---- kill-16 -------------------------------------------------------------------------------------------
def kill_16(tmp: Path, quick: bool) -> dict:
    clients = 16
    points = 3000 if quick else 12000
    server = Server(tmp).start()
    job = _script(
        tmp,
        f"""
        import sys, time, warnings
        warnings.simplefilter("ignore")
        import hf_mltrack
        client = hf_mltrack.MlTrackClient("{server.url}")
        run_id = client.create_run("0").info.run_id
        print("run", run_id, flush=True)
        sys.stdin.readline()  # every client streams at once
        acked = 0
        for step in range({points}):
            client.log_metric(run_id, "loss", step * 0.001, step=step)
            acked += 1  # acknowledged: log_metric returned
            if step % 8 == 0:
                time.sleep(0.05)  # ~20 s of streaming: the jobs outlive the outage
        print("acked", acked, flush=True)
        client.flush()
        """,
    )
    env = _env(tmp / "home")
    procs = [
        subprocess.Popen(
            [PY, str(job)],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=open(tmp / f"client{i}.err", "w"),  # noqa: SIM115 - closed at exit
            text=True,
        )
        for i in range(clients)
    ]
    run_ids = [p.stdout.readline().split()[1] for p in procs]  # type: ignore[union-attr]
    for p in procs:
        p.stdin.write("go\n")  # type: ignore[union-attr]
        p.stdin.flush()  # type: ignore[union-attr]
    time.sleep(1.0)
    server.kill()  # SIGKILL mid-stream
    killed = time.monotonic()
    time.sleep(9.0)  # longer than the HTTP retries (7.75 s of back-off)
    server.start()
    acked = 0
    for p in procs:
        out, _ = p.communicate(timeout=900)
        acked += sum(int(line.split()[1]) for line in out.splitlines() if line.startswith("acked"))
    exited = time.monotonic() - killed
    stored_by_jobs = sum(len(server.steps(r, "loss")) for r in run_ids)
    if os.environ.get("BENCH_KEEP"):
        for i in range(clients):
            Path(f"/tmp/kill16-client{i}.err").write_text((tmp / f"client{i}.err").read_text())
    # anything a job left in its journal is sent by the next process of that user
    subprocess.run(
        [PY, "-c", f"import hf_mltrack; hf_mltrack.MlTrackClient('{server.url}').search_experiments()"],
        env=env,
        capture_output=True,
        timeout=600,
    )
    stored = sum(len(server.steps(r, "loss")) for r in run_ids)
    server.kill()
    return {
        "clients": clients,
        "acknowledged_points": acked,
        "stored_when_jobs_exited": stored_by_jobs,
        "stored_points": stored,
        "jobs_exited_s_after_kill": round(exited, 2),
    }


# ---- embedded-kill9 ------------------------------------------------------------------------------------
def embedded_kill9(tmp: Path, quick: bool, flat_out: bool = False, kill_after: float = 8.0) -> dict:
    writers = 8
    pace = not flat_out
    db = f"sqlite:///{tmp / 'embedded' / 'mltrack.db'}"
    # The database is created by the writers themselves, all at once (as 8 jobs started together do).
    job = _script(
        tmp,
        f"""
        import os, sys, time
        import hf_mltrack
        hf_mltrack.set_tracking_uri({db!r})
        run = hf_mltrack.start_run()
        log = open(sys.argv[1], "w", buffering=1)
        log.write(run.info.run_id + "\\n")
        step = 0
        while True:
            hf_mltrack.log_metrics({{f"m{{k}}": step * 0.5 for k in range(5)}}, step=step)
            step += 1
            if step % 20 == 0:
                log.write(f"{{step}} {{time.time()}}\\n")  # acknowledged: log_metrics returned
                if {pace}:
                    time.sleep(0.01)
        """,
    )
    logs = [tmp / f"w{i}.log" for i in range(writers)]
    procs = [subprocess.Popen([PY, str(job), str(p)], env=_env(tmp / "home")) for p in logs]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (logs[0].exists() and len(logs[0].read_text().splitlines()) > 1):
        time.sleep(0.05)
    time.sleep(kill_after)  # after the victim's first acknowledged points
    victim = procs[0]
    victim.send_signal(signal.SIGKILL)
    killed_at = time.time()
    victim.wait()
    for p in procs[1:]:
        p.terminate()
    for p in procs[1:]:
        p.wait(timeout=120)
    # The next job on this machine (any process that logs) restores what the killed one had spilled.
    nxt = f"import hf_mltrack; hf_mltrack.set_tracking_uri({db!r}); hf_mltrack.start_run(); hf_mltrack.end_run()"
    subprocess.run([PY, "-c", nxt], env=_env(tmp / "home"), check=True, timeout=300)
    lines = logs[0].read_text().splitlines()
    run_id = lines[0]
    acks = [(int(a), float(b)) for a, b in (ln.split() for ln in lines[1:] if len(ln.split()) == 2)]
    acked_steps, _ = acks[-1]
    from hf_mltrack.tracking import MlTrackClient

    hist = MlTrackClient(db).get_metric_history(run_id, "m0")
    stored_steps = len(hist)
    # when was the first step that is not stored acknowledged? (the oldest point lost)
    lost_since = next((t for s, t in acks if s > stored_steps), killed_at)
    return {
        "writers": writers,
        "killed_after_s": kill_after,
        "loop": "flat out" if flat_out else "5 keys per step, 10 ms pause every 20 steps",
        "acknowledged_points": acked_steps * 5,
        "stored_points": stored_steps * 5,
        "window_lost_ms": round((killed_at - lost_since) * 1000),
    }


# ---- slow-server ---------------------------------------------------------------------------------------
def slow_server(tmp: Path, quick: bool, points: int | None, rate: int | None, unthrottle: bool) -> dict:
    """A client logs ``points`` as fast as it can to a server taking ``rate`` points/s.

    ``unthrottle``: once the client has logged everything, the slow server is replaced by a normal one on
    the same database and port (the client sees an outage, then a fast server), so that ``end_run``
    delivers the backlog in minutes instead of ``points / rate`` seconds.
    """
    points = points or (200_000 if quick else 10_000_000)
    rate = rate or (50_000 if quick else 1_000)
    server = Server(tmp, throttle=rate).start()
    job = _script(
        tmp,
        f"""
        import json, statistics, sys, threading, time, warnings
        warnings.simplefilter("ignore")
        import psutil, hf_mltrack
        proc = psutil.Process()
        hf_mltrack.set_tracking_uri("{server.url}")
        run = hf_mltrack.start_run()
        hf_mltrack.log_metric("warm", 1.0)
        hf_mltrack.flush_async_logging()
        base = proc.memory_info().rss
        peak = [base]
        done = threading.Event()
        def watch():
            while not done.is_set():
                peak[0] = max(peak[0], proc.memory_info().rss)
                time.sleep(0.02)
        threading.Thread(target=watch, daemon=True).start()
        sample = []  # every 100th call (keeping 10M timings would itself cost 300 MB)
        worst = 0.0
        over_10ms = 0
        t0 = time.perf_counter()
        for step in range({points}):
            t = time.perf_counter()
            hf_mltrack.log_metric("loss", step * 1e-6, step=step)
            d = time.perf_counter() - t
            if d > worst:
                worst = d
            if d > 0.01:
                over_10ms += 1
            if step % 100 == 0:
                sample.append(d)
        logged = time.perf_counter() - t0
        peak[0] = max(peak[0], proc.memory_info().rss)
        sample.sort()
        out = {{"run_id": run.info.run_id, "log_seconds": logged,
               "log_call_p50_us": sample[len(sample) // 2] * 1e6,
               "log_call_p999_ms": sample[int(len(sample) * 0.999)] * 1000,
               "log_call_max_ms": worst * 1000,
               "log_calls_over_10ms": over_10ms}}
        print("logged", json.dumps({{**out, "rss_growth_mb_while_logging": (peak[0] - base) / 2**20}}), flush=True)
        sys.stdin.readline()
        t1 = time.perf_counter()
        hf_mltrack.end_run()
        out["end_run_drain_seconds"] = time.perf_counter() - t1
        done.set()
        out["rss_growth_mb"] = (peak[0] - base) / 2**20
        print(json.dumps(out), flush=True)
        """,
    )
    proc = subprocess.Popen(
        [PY, str(job)], env=_env(tmp / "home"), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdin and proc.stdout
    first = proc.stdout.readline().split(" ", 1)
    assert first[0] == "logged", first
    print(f"# logging phase: {first[1].strip()}", file=sys.stderr, flush=True)
    if unthrottle:
        server.kill()
        server = Server(tmp, port=server.port).start()
    proc.stdin.write("go\n")
    proc.stdin.flush()
    out = json.loads(proc.stdout.readline())
    proc.wait(timeout=3600)
    out["stored_points"] = len(server.steps(out.pop("run_id"), "loss"))
    out.update(points=points, server_rate=rate, unthrottled_after_logging=unthrottle)
    server.kill()
    return out


SCENARIOS = {
    "down-from-start": down_from_start,
    "long-outage": long_outage,
    "kill-16": kill_16,
    "embedded-kill9": embedded_kill9,
    "embedded-kill9-flat-out": lambda tmp, quick: embedded_kill9(tmp, quick, flat_out=True),
    "embedded-kill9-early": lambda tmp, quick: embedded_kill9(tmp, quick, flat_out=True, kill_after=4.5),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenario", nargs="*", help=f"some of {[*SCENARIOS, 'slow-server']} (default: all)")
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--points", type=int, default=None, help="slow-server: points the client logs")
    parser.add_argument("--rate", type=int, default=None, help="slow-server: points/s the server takes")
    parser.add_argument(
        "--unthrottle", action="store_true", help="slow-server: a normal server takes over once everything is logged"
    )
    args = parser.parse_args()
    chosen = args.scenario or [*SCENARIOS, "slow-server"]
    for name in chosen:
        with tempfile.TemporaryDirectory(prefix=f"bench_faults_{name}_") as d:
            t0 = time.monotonic()
            if name == "slow-server":
                result = slow_server(Path(d), args.quick, args.points, args.rate, args.unthrottle)
            else:
                result = SCENARIOS[name](Path(d), args.quick)
            result = {"scenario": name, **result, "scenario_seconds": round(time.monotonic() - t0, 1)}
            print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()}), flush=True)


if __name__ == "__main__":
    main()
