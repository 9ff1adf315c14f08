"""Cost of the server's JSON body guard (depth and lone-surrogate scan) on the hot log-batch body.

Side by side in one run: the guard's scan of a log-batch body (1000 metrics, MLflow's maximum), the
parse of the same body (the server parses every body anyway), and one whole log-batch request through
the in-process app. Prints medians and the guard's share.

    python benchmarks/bench_json_guard.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time


def _median_us(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1e6)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repeats (well under a minute)")
    args = parser.parse_args()
    repeat = 50 if args.quick else 300

    from fastapi.testclient import TestClient

    from hf_mltrack.server import create_app
    from hf_mltrack.server.json_guard import describe_problem
    from hf_mltrack.utils.fast_json import loads

    tmp = tempfile.mkdtemp()
    client = TestClient(
        create_app(f"sqlite:///{tmp}/b.db", artifacts_destination=f"{tmp}/a", allowed_hosts=["testserver"])
    )
    run = client.post("/api/2.0/mlflow/runs/create", json={"experiment_id": "0"}).json()["run"]["info"]["run_id"]
    step = iter(range(10**9))

    def body() -> bytes:
        base = next(step) * 1000
        metrics = [
            {"key": f"m{i % 10}", "value": 0.5, "timestamp": 1_700_000_000_000, "step": base + i} for i in range(1000)
        ]
        return json.dumps({"run_id": run, "metrics": metrics}).encode()

    sample = body()
    guard = _median_us(lambda: describe_problem(sample), repeat)
    parse = _median_us(lambda: loads(sample), repeat)
    headers = {"Content-Type": "application/json"}
    request = _median_us(
        lambda: client.post("/api/2.0/mlflow/runs/log-batch", content=body(), headers=headers), max(10, repeat // 5)
    )
    print(f"log-batch body: {len(sample)} bytes, 1000 metrics")
    print("| step | median |")
    print("|---|---|")
    print(f"| guard scan (depth + surrogates) | {guard:.0f} µs |")
    print(f"| JSON parse of the same body | {parse:.0f} µs |")
    print(f"| whole log-batch request, in process | {request:.0f} µs |")
    print(f"guard / request = {guard / request:.1%}; guard / parse = {guard / parse:.2f}x")


if __name__ == "__main__":
    main()
