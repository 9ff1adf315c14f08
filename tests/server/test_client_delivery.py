"""The client never stalls, breaks or withholds: faults against a real ``hf-mltrack server`` subprocess.

Each test stops and starts the server on loopback and bounds its own time and size.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import httpx
import pytest

import hf_mltrack
from hf_mltrack.tracking import MlTrackClient


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_args(tmp_path: Path, *extra: str) -> list[str]:
    return [
        "--backend-store-uri",
        f"sqlite:///{tmp_path / 'db' / 'mltrack.db'}",
        "--artifacts-destination",
        str(tmp_path / "art"),
        *extra,
    ]


def _wait_for(predicate, timeout: float) -> float:  # type: ignore[no-untyped-def]
    """Seconds until ``predicate()`` is true (fails the test past ``timeout``)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(0.05)
    raise AssertionError(f"not true within {timeout} s")


def _stored_steps(url: str, run_id: str, key: str, auth: tuple[str, str] | None = None) -> list[int]:
    """What the server stored, read with a plain HTTP client (not through the journaling client)."""
    r = httpx.get(f"{url}/api/2.0/mlflow/metrics/get-history", params={"run_id": run_id, "metric_key": key}, auth=auth)
    if r.status_code != 200:
        return []
    return [int(m.get("step", 0)) for m in r.json().get("metrics", [])]


@pytest.mark.filterwarnings("ignore:hf_mltrack. the tracking server")
@pytest.mark.filterwarnings("ignore:hf_mltrack. .* NOT delivered")
def test_server_down_from_the_first_call(server_process, tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    hf_mltrack.set_tracking_uri(url)
    from hf_mltrack.store.rest import http_client

    # the connection pool (imports, TLS context): any first call pays it, server up or down
    assert http_client(url).client is not None

    t0 = time.perf_counter()
    run = hf_mltrack.start_run(run_name="offline")
    first_start = time.perf_counter() - t0
    run_id = run.info.run_id
    step_costs = []
    for step in range(300):
        t = time.perf_counter()
        hf_mltrack.log_metric("loss", 1.0 / (step + 1), step=step)
        hf_mltrack.log_metrics({"acc": step / 300, "lr": 0.1}, step=step)
        step_costs.append(time.perf_counter() - t)
    hf_mltrack.log_param("lr", 0.1)
    t = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        hf_mltrack.end_run()
    end_cost = time.perf_counter() - t
    loud = [str(w.message) for w in caught if "NOT delivered" in str(w.message)]
    assert loud and run_id in loud[0] and ".jsonl" in loud[0], [str(w.message) for w in caught]
    assert first_start < 0.5, first_start  # one refused connection, no retries (before: 7.7 s, then raised)
    steps = sorted(step_costs)
    assert steps[len(steps) // 2] < 0.001 and sum(steps) / len(steps) < 0.001, (steps[150], sum(steps) / 300)
    assert end_cost < 0.5, end_cost

    # A second run while the server is still down starts without touching the network (measured once
    # the background threads have written the first run's data: they compete for the GIL).
    time.sleep(0.5)
    t = time.perf_counter()
    second = hf_mltrack.start_run()
    assert time.perf_counter() - t < 0.05  # ~0.4 ms on a quiet machine (bench_client_faults.py); CI is busy
    hf_mltrack.log_metric("x", 1.0)
    hf_mltrack.end_run()

    server_process(_server_args(tmp_path), port=port)
    # Delivered by the background sender (no call from the job needed), under the id the job holds.
    delivered = _wait_for(lambda: hf_mltrack.get_run(run_id).data.metrics.get("loss") == 1.0 / 300, 15)
    assert delivered < 10
    got = MlTrackClient().get_run(run_id)
    assert got.info.run_id == run_id and got.info.status == "FINISHED" and got.info.run_name == "offline"
    assert got.data.params == {"lr": "0.1"}
    assert [m.step for m in MlTrackClient().get_metric_history(run_id, "acc")] == list(range(300))
    assert MlTrackClient().get_run(second.info.run_id).data.metrics == {"x": 1.0}


@pytest.mark.filterwarnings("ignore:hf_mltrack. the tracking server")
@pytest.mark.filterwarnings("ignore:hf_mltrack. .* NOT delivered")
def test_set_experiment_by_name_with_the_server_down(server_process, tmp_path, monkeypatch):
    """``set_experiment(name)`` while the server is unreachable: the job goes on offline, and its runs land
    in the experiment of that name once the server is back (created there, or the existing one)."""
    monkeypatch.setenv("HF_MLTRACK_HTTP_REQUEST_MAX_RETRIES", "1")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = server_process(_server_args(tmp_path), port=port)
    MlTrackClient(url).create_experiment("existing")
    server.kill()
    hf_mltrack.set_tracking_uri(url)

    runs = {}
    for name in ("brand-new", "existing", "brand-new"):
        experiment = hf_mltrack.set_experiment(name)
        assert experiment.name == name and experiment.lifecycle_stage == "active"
        with hf_mltrack.start_run() as run:
            for step in range(50):
                hf_mltrack.log_metric("loss", 1.0 / (step + 1), step=step)
        runs.setdefault(name, []).append(run.info.run_id)

    server_process(_server_args(tmp_path), port=port)
    client = MlTrackClient(url)
    all_ids = [r for ids in runs.values() for r in ids]
    # (offline runs get their server ids on delivery; this process's client maps the ids the job holds)
    _wait_for(lambda: all(len(client.get_metric_history(r, "loss")) == 50 for r in all_ids), 30)
    by_name = {name: client.get_experiment_by_name(name) for name in runs}
    assert all(e is not None for e in by_name.values())
    for name, ids in runs.items():
        stored = client.search_runs([by_name[name].experiment_id])  # type: ignore[union-attr]
        assert sorted(r.data.tags["hf_mltrack.clientRunId"] for r in stored) == sorted(ids)
    assert [e.name for e in client.search_experiments()].count("brand-new") == 1
    # the job's current experiment works against the server now (its offline id is resolved by name)
    assert len(hf_mltrack.search_runs(output_format="list")) == 2
    hf_mltrack.set_experiment_tag("team", "nlp")
    assert client.get_experiment_by_name("brand-new").tags["team"] == "nlp"  # type: ignore[union-attr]
    with hf_mltrack.start_run() as later:
        hf_mltrack.log_metric("x", 1.0)
    assert client.get_run(later.info.run_id).info.experiment_id == by_name["brand-new"].experiment_id  # type: ignore[union-attr]


@pytest.mark.filterwarnings("ignore:hf_mltrack. the tracking server")
def test_long_outage_backlog_delivered_within_seconds_in_order(server_process, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_MLTRACK_HTTP_REQUEST_MAX_RETRIES", "2")
    monkeypatch.setenv("HF_MLTRACK_HTTP_REQUEST_BACKOFF_FACTOR", "0.05")
    server = server_process(_server_args(tmp_path))
    hf_mltrack.set_tracking_uri(server.url)
    run_id = hf_mltrack.start_run().info.run_id
    step = 0

    def log_for(seconds: float) -> None:
        nonlocal step
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            hf_mltrack.log_metric("loss", float(step), step=step)
            hf_mltrack.set_tag("last", str(step))
            step += 1
            time.sleep(0.005)

    log_for(0.5)
    server.kill()
    log_for(3.0)  # longer than the retries (2 x 0.05 s back-off): the job keeps logging
    before_return = step
    server_process(_server_args(tmp_path), port=server.port)
    returned = time.monotonic()
    # The job keeps logging (the old client pushed its probe back on every append and never sent).
    while time.monotonic() - returned < 10 and before_return not in set(
        _stored_steps(server.url, run_id, "loss")[-50:]
    ):
        log_for(0.2)
        if len(_stored_steps(server.url, run_id, "loss")) >= before_return:
            break
    elapsed = time.monotonic() - returned
    hf_mltrack.end_run()
    stored = _stored_steps(server.url, run_id, "loss")
    assert elapsed < 10, elapsed
    assert stored == list(range(step)), (len(stored), step)  # in order, no gaps, no duplicates
    assert MlTrackClient().get_run(run_id).data.tags["last"] == str(step - 1)  # the last tag won: in order


ALICE = ("alice", "alice-password-1")
ADMIN_PASSWORD = "admin-password-123"


def _script(tmp_path: Path, body: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    path = tmp_path / f"job{time.monotonic_ns()}.py"
    path.write_text(textwrap.dedent(body))
    return subprocess.run([sys.executable, str(path)], env=env, capture_output=True, text=True, timeout=timeout)


def test_rejected_replay_keeps_the_data_and_the_cli_sends_it(server_process, tmp_path):
    env_server = {"HF_MLTRACK_AUTH_ADMIN_PASSWORD": ADMIN_PASSWORD, "HF_MLTRACK_AUTH_DEFAULT_PERMISSION": "EDIT"}
    server = server_process(_server_args(tmp_path, "--app-name", "basic-auth"), env=env_server)
    r = httpx.post(
        f"{server.url}/api/2.0/mlflow/users/create",
        json={"username": ALICE[0], "password": ALICE[1]},
        auth=("admin", ADMIN_PASSWORD),
    )
    assert r.status_code == 200, r.text
    base = {k: v for k, v in os.environ.items() if not k.startswith("HF_MLTRACK_")}
    base["HF_MLTRACK_HOME"] = str(tmp_path / "home")
    base["PYTHONPATH"] = os.environ.get("PYTHONPATH", "")
    alice = {**base, "HF_MLTRACK_TRACKING_USERNAME": ALICE[0], "HF_MLTRACK_TRACKING_PASSWORD": ALICE[1]}
    server.kill()
    # Alice's job runs while the server is down: everything goes to her journal; the exit says so.
    job = _script(
        tmp_path,
        f"""
        import hf_mltrack
        hf_mltrack.set_tracking_uri({server.url!r})
        with hf_mltrack.start_run() as run:
            for i in range(200):
                hf_mltrack.log_metric("loss", i / 200, step=i)
            hf_mltrack.log_param("lr", "0.1")
        print(run.info.run_id)
        """,
        alice,
    )
    assert job.returncode == 0, job.stderr
    run_id = job.stdout.strip().splitlines()[-1]
    assert "NOT delivered" in job.stderr and ".jsonl" in job.stderr
    server = server_process(_server_args(tmp_path, "--app-name", "basic-auth"), port=server.port, env=env_server)

    # Alice's password changed in the job's environment: the server answers 401; nothing is deleted.
    wrong = {**alice, "HF_MLTRACK_TRACKING_PASSWORD": "wrong"}
    job = _script(
        tmp_path,
        f"""
        import hf_mltrack, time
        client = hf_mltrack.MlTrackClient({server.url!r})
        client.store.flush_journal()
        time.sleep(0.5)
        """,
        wrong,
    )
    assert job.returncode == 0, job.stderr
    assert job.stderr.count("refused the journaled data") == 1, job.stderr  # reported once, with the path
    journal_files = [p for p in (tmp_path / "home").rglob("*.jsonl") if p.stat().st_size]
    assert len(journal_files) == 1 and journal_files[0].name == f"{run_id}.jsonl"
    assert str(journal_files[0]) in job.stderr

    # Another user (the admin) never replays Alice's journal: it is keyed by user.
    admin = {**base, "HF_MLTRACK_TRACKING_USERNAME": "admin", "HF_MLTRACK_TRACKING_PASSWORD": ADMIN_PASSWORD}
    job = _script(tmp_path, f"import hf_mltrack; hf_mltrack.MlTrackClient({server.url!r}).search_experiments()", admin)
    assert job.returncode == 0, job.stderr
    assert journal_files[0].stat().st_size > 0

    cli = [sys.executable, "-c", "from hf_mltrack.cli import cli; cli()", "journal"]
    listed = subprocess.run([*cli, "list"], env=alice, capture_output=True, text=True, timeout=60)
    assert run_id in listed.stdout and "200" in listed.stdout, listed.stdout
    sent = subprocess.run(
        [*cli, "replay", "--server", server.url], env=alice, capture_output=True, text=True, timeout=60
    )
    assert sent.returncode == 0, sent.stdout + sent.stderr
    found = httpx.post(
        f"{server.url}/api/2.0/mlflow/runs/search",
        json={"experiment_ids": ["0"], "filter": f"tags.`hf_mltrack.clientRunId` = '{run_id}'"},
        auth=ALICE,
    ).json()["runs"]
    assert len(found) == 1 and found[0]["info"]["status"] == "FINISHED"
    server_id = found[0]["info"]["run_id"]
    assert _stored_steps(server.url, server_id, "loss", ALICE) == list(range(200))
    assert not [p for p in (tmp_path / "home").rglob("*.jsonl") if p.stat().st_size]


@pytest.mark.slow
def test_server_killed_with_16_clients_streaming_loses_nothing_acknowledged(server_process, tmp_path):
    server = server_process(_server_args(tmp_path))
    job = tmp_path / "stream.py"
    job.write_text(
        textwrap.dedent(
            f"""
            import sys, time, warnings
            warnings.simplefilter("ignore")
            import hf_mltrack
            client = hf_mltrack.MlTrackClient({server.url!r})
            run_id = client.create_run("0").info.run_id
            print("run", run_id, flush=True)
            import select
            sys.stdin.readline()
            acked = 0
            while not select.select([sys.stdin], [], [], 0)[0]:  # until told to stop: the jobs outlive the outage
                client.log_metric(run_id, "loss", acked * 0.001, step=acked)
                acked += 1  # acknowledged: log_metric returned
                if acked % 10 == 0:
                    time.sleep(0.06)
            print("acked", acked, flush=True)
            client.flush()
            """
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_MLTRACK_")}
    env.update(
        HF_MLTRACK_HOME=str(tmp_path / "home"),
        HF_MLTRACK_HTTP_REQUEST_MAX_RETRIES="1",
        HF_MLTRACK_HTTP_REQUEST_BACKOFF_FACTOR="0.05",
    )
    procs = [
        subprocess.Popen([sys.executable, str(job)], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for _ in range(16)
    ]
    try:
        run_ids = [p.stdout.readline().split()[1] for p in procs]  # type: ignore[union-attr]
        for p in procs:
            p.stdin.write("go\n")  # type: ignore[union-attr]
            p.stdin.flush()  # type: ignore[union-attr]
        time.sleep(1.0)
        server.kill()  # SIGKILL mid-stream, down for longer than the retries
        time.sleep(2.5)
        server = server_process(_server_args(tmp_path), port=server.port)
        time.sleep(1.0)  # the jobs keep logging after the server's return
        for p in procs:
            p.stdin.write("stop\n")  # type: ignore[union-attr]
            p.stdin.flush()  # type: ignore[union-attr]
        acked = 0
        for p in procs:
            out, _ = p.communicate(timeout=240)
            acked += sum(int(line.split()[1]) for line in out.splitlines() if line.startswith("acked"))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    stored = sum(len(_stored_steps(server.url, r, "loss")) for r in run_ids)
    assert acked > 16 * 50
    assert stored == acked  # delivered by the jobs themselves, before they exited (before: 1,264 of 48,000)
