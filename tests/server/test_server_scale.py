"""Scale: several workers on PostgreSQL with an S3-compatible artifact store, 32 concurrent clients."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

API = "/api/2.0/mlflow"


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """An S3-compatible server (moto) on a free loopback port."""
    pytest.importorskip("boto3")
    server_mod = pytest.importorskip("moto.server")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def _load(url: str, clients: int, batches: int, size: int) -> tuple[list[str], float, list[str]]:
    """``clients`` threads, each with its own connection and run: log-batches plus one artifact upload."""
    errors: list[str] = []
    run_ids: list[str] = [""] * clients
    barrier = threading.Barrier(clients + 1)

    def work(i: int) -> None:
        with httpx.Client(base_url=url, timeout=120) as http:
            run = http.post(f"{API}/runs/create", json={"experiment_id": "0"}).json()["run"]
            run_ids[i] = run["info"]["run_id"]
            barrier.wait()
            for b in range(batches):
                metrics = [
                    {"key": "loss", "value": 1.0 / (j + 1), "timestamp": 1, "step": b * size + j} for j in range(size)
                ]
                r = http.post(f"{API}/runs/log-batch", json={"run_id": run_ids[i], "metrics": metrics})
                if r.status_code != 200:
                    errors.append(f"log-batch {r.status_code}: {r.text[:200]}")
            path = run["info"]["artifact_uri"].split(":/", 1)[1]
            r = http.put(f"/api/2.0/mlflow-artifacts/artifacts/{path}/weights.bin", content=bytes([i]) * 4096)
            if r.status_code != 200:
                errors.append(f"upload {r.status_code}: {r.text[:200]}")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join(300)
    return run_ids, clients * batches * size / (time.perf_counter() - start), errors


@pytest.mark.slow
@pytest.mark.postgres
def test_workers_on_postgres_and_s3_with_32_clients(server_process, empty_pg_database, moto_endpoint, capsys):
    import boto3

    bucket = f"bkt-{uuid.uuid4().hex[:12]}"
    creds = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, **{k.lower(): v for k, v in creds.items() if "KEY" in k})
    s3.create_bucket(Bucket=bucket)
    server = server_process(
        [
            "--backend-store-uri",
            empty_pg_database,
            "--artifacts-destination",
            f"s3://{bucket}/art",
            "--workers",
            "2",
        ],
        env={**creds, "HF_MLTRACK_S3_ENDPOINT_URL": moto_endpoint},
    )
    clients, batches, size = 32, 5, 500
    run_ids, rate, errors = _load(server.url, clients, batches, size)
    assert errors == []
    with httpx.Client(base_url=server.url, timeout=60) as http:
        for run_id in run_ids:
            history = http.get(f"{API}/metrics/get-history", params={"run_id": run_id, "metric_key": "loss"}).json()
            assert len(history["metrics"]) == batches * size, run_id
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="art/")["Contents"]}
    assert {f"art/0/{run_id}/artifacts/weights.bin" for run_id in run_ids} <= keys
    with capsys.disabled():
        print(
            f"\n[scale] 2 workers, PostgreSQL + S3, {clients} clients: {rate:,.0f} points/s, no errors, no lost points"
        )
