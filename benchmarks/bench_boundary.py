"""Cost of the server boundary (issue 18): one identity resolution before authorization, on every request.

    python benchmarks/bench_boundary.py            # ~1 minute
    python benchmarks/bench_boundary.py --quick    # a few seconds

In-process (Starlette's TestClient, no network), SQLite in a temporary folder. Side by side in one run:

1. auth off: the same app with and without the `Boundary` middleware (reading the run aliases, refusing
   empty or conflicting ones, rewriting to ``run_id``) for ``log-batch`` (1000 metrics), ``log-metric``
   and ``runs/get`` (µs per request, and the ratio);
2. the boundary alone, in front of an app that answers at once (no store, no network): µs it adds to
   each request, with run_id, with run_uuid (rewritten to run_id) and auth off;
3. auth on: SQL statements per logging call (counted on the store's engine) compared with auth off:
   the run -> experiment answer is cached, so a logging call adds the caller's permission lookup only;
4. auth on, a user who is not an admin (the resolvers run): log-batch (1000 metrics) µs per request and
   SQL statements, plain points vs every point naming one logged model (``metrics[].model_id``: the
   model's experiment is resolved and EDIT checked; plain points cost a scan of the batch, no query).
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

ADMIN_PASSWORD = "admin-password-123"
API = "/api/2.0/mlflow"


def make_client(tmp: str, name: str, *, boundary: bool = True, auth: bool = False):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from hf_mltrack.server import create_app

    os.environ["HF_MLTRACK_AUTH_ADMIN_PASSWORD"] = ADMIN_PASSWORD
    app = create_app(
        f"sqlite:///{tmp}/{name}.db",
        artifacts_destination=f"{tmp}/{name}-art",
        allowed_hosts=["testserver"],
        auth="basic-auth" if auth else None,
    )
    if not boundary:
        app.user_middleware = [m for m in app.user_middleware if m.cls.__name__ != "Boundary"]
    headers = {}
    if auth:
        headers["Authorization"] = "Basic " + base64.b64encode(f"admin:{ADMIN_PASSWORD}".encode()).decode()
    client = TestClient(app, headers=headers)
    exp = client.post(f"{API}/experiments/create", json={"name": "bench"}).json()["experiment_id"]
    run_id = client.post(f"{API}/runs/create", json={"experiment_id": exp}).json()["run"]["info"]["run_id"]
    return app, client, run_id


def requests_for(run_id: str) -> dict[str, tuple[str, str, dict]]:
    batch = {
        "run_id": run_id,
        "metrics": [{"key": f"m{i % 10}", "value": i * 0.5, "timestamp": i, "step": i} for i in range(1000)],
    }
    return {
        "log-batch (1000 metrics)": ("POST", f"{API}/runs/log-batch", {"json": batch}),
        "log-metric": (
            "POST",
            f"{API}/runs/log-metric",
            {"json": {"run_id": run_id, "key": "x", "value": 1.0, "timestamp": 1}},
        ),
        "runs/get": ("GET", f"{API}/runs/get", {"params": {"run_id": run_id}}),
    }


def per_request_us(sides: list[tuple], method: str, url: str, n: int, rounds: int) -> list[float]:
    """Median µs per request of each (client, kwargs) side, the sides interleaved round by round (the
    machine's load drifts; interleaving keeps the ratio fair)."""
    for client, kwargs in sides:
        for _ in range(3):
            assert client.request(method, url, **kwargs).status_code == 200
    samples: list[list[float]] = [[] for _ in sides]
    for _ in range(rounds):
        for i, (client, kwargs) in enumerate(sides):
            t0 = time.perf_counter()
            for _ in range(n):
                client.request(method, url, **kwargs)
            samples[i].append((time.perf_counter() - t0) / n * 1e6)
    return [statistics.median(s) for s in samples]


def boundary_alone_us(n: int) -> dict[str, float]:
    """µs the `Boundary` adds per request in front of an app that answers at once (auth off)."""
    import asyncio
    import json

    from hf_mltrack.server.boundary import Boundary
    from hf_mltrack.server.routes import RouteTable

    table = RouteTable()
    for prefix in ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow"):
        for path, methods in (
            ("/runs/log-batch", {"POST"}),
            ("/runs/log-metric", {"POST"}),
            ("/runs/get", {"GET"}),
        ):
            table.add(prefix + path, methods)
        for i in range(40):  # about as many routes as the app has
            table.add(f"{prefix}/other-{i}/{{x}}", {"GET"})

    async def inner(scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["method"] == "POST":
            await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    boundary = Boundary(inner, routes=table, manager=None)
    batch = {
        "run_id": "a" * 32,
        "metrics": [{"key": "m", "value": 0.5, "timestamp": i, "step": i} for i in range(1000)],
    }
    cases = {
        "log-batch (1000 metrics)": (
            "POST",
            "/api/2.0/mlflow/runs/log-batch",
            b"",
            json.dumps(batch).encode(),
        ),
        "log-metric, run_uuid": (
            "POST",
            "/api/2.0/mlflow/runs/log-metric",
            b"",
            json.dumps({"run_uuid": "a" * 32, "key": "x", "value": 1.0}).encode(),
        ),
        "runs/get": ("GET", "/api/2.0/mlflow/runs/get", b"run_id=" + b"a" * 32, b""),
        "runs/get, run_uuid": ("GET", "/api/2.0/mlflow/runs/get", b"run_uuid=" + b"a" * 32, b""),
    }

    async def one(app, method: str, path: str, query: bytes, body: bytes) -> None:  # type: ignore[no-untyped-def]
        scope = {"type": "http", "method": method, "path": path, "query_string": query, "headers": []}
        sent = False

        async def receive():  # type: ignore[no-untyped-def]
            nonlocal sent
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message):  # type: ignore[no-untyped-def]
            return None

        await app(scope, receive, send)

    async def run() -> dict[str, float]:
        out = {}
        for name, case in cases.items():
            samples = []
            for _ in range(5):
                t0 = time.perf_counter()
                for _ in range(n):
                    await one(boundary, *case)
                t1 = time.perf_counter()
                for _ in range(n):
                    await one(inner, *case)
                t2 = time.perf_counter()
                samples.append(((t1 - t0) - (t2 - t1)) / n * 1e6)
            out[name] = statistics.median(samples)
        return out

    return asyncio.run(run())


def statements_per_call(app, client, method: str, url: str, kwargs: dict, n: int = 20) -> float:  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    engine = app.state.server.store.engine
    count = 0

    def on_execute(*_args: object) -> None:
        nonlocal count
        count += 1

    client.request(method, url, **kwargs)  # warm the caches
    sa.event.listen(engine, "before_cursor_execute", on_execute)
    try:
        for _ in range(n):
            assert client.request(method, url, **kwargs).status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", on_execute)
    return count / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer requests (a few seconds)")
    args = parser.parse_args()
    n = {"log-batch (1000 metrics)": 5, "log-metric": 20, "runs/get": 20}
    rounds = 7 if args.quick else 31
    with tempfile.TemporaryDirectory() as tmp:
        _, with_b, run_a = make_client(tmp, "with", boundary=True)
        _, without_b, run_b = make_client(tmp, "without", boundary=False)
        print("auth off: µs per request (in-process), with and without the boundary")
        print(f"{'request':26} {'boundary':>10} {'none':>10} {'ratio':>7}")
        for (name, (method, url, kw_a)), (_, (_, _, kw_b)) in zip(
            requests_for(run_a).items(), requests_for(run_b).items(), strict=True
        ):
            a, b = per_request_us([(with_b, kw_a), (without_b, kw_b)], method, url, n[name], rounds)
            print(f"{name:26} {a:10.0f} {b:10.0f} {a / b:7.2f}")

        print("\nthe boundary alone (auth off): µs added per request (log-batch: its JSON parse, which the")
        print("handler then reuses instead of parsing the body again)")
        for name, us in boundary_alone_us(100 if args.quick else 1000).items():
            print(f"{name:26} {us:10.1f}")

        app_off, off, run_off = make_client(tmp, "stmts-off")
        app_on, on, run_on = make_client(tmp, "stmts-on", auth=True)
        print("\nSQL statements per call (after the first), auth off vs basic-auth")
        for (name, (method, url, kw_off)), (_, (_, _, kw_on)) in zip(
            requests_for(run_off).items(), requests_for(run_on).items(), strict=True
        ):
            s_off = statements_per_call(app_off, off, method, url, kw_off)
            s_on = statements_per_call(app_on, on, method, url, kw_on)
            print(f"{name:26} {s_off:6.1f} {s_on:6.1f}  (+{s_on - s_off:.1f} with auth)")

        print("\nbasic-auth, a user who is not an admin: log-batch (1000 metrics), plain vs naming a logged model")
        app_u, user, run_u, model_id = user_client(tmp)
        plain = requests_for(run_u)["log-batch (1000 metrics)"][2]
        linked = {"json": {**plain["json"], "metrics": [{**m, "model_id": model_id} for m in plain["json"]["metrics"]]}}
        url = f"{API}/runs/log-batch"
        a, b = per_request_us([(user, plain), (user, linked)], "POST", url, n["log-batch (1000 metrics)"], rounds)
        s_a = statements_per_call(app_u, user, "POST", url, plain)
        s_b = statements_per_call(app_u, user, "POST", url, linked)
        print(f"{'plain points':26} {a:10.0f} µs {s_a:6.1f} statements")
        print(f"{'points with model_id':26} {b:10.0f} µs {s_b:6.1f} statements")


def user_client(tmp: str):  # type: ignore[no-untyped-def]
    """A basic-auth app and a client signed in as a user (not an admin) who owns a run and a logged model."""
    from fastapi.testclient import TestClient

    app, admin, _ = make_client(tmp, "user", auth=True)
    admin.post(f"{API}/users/create", json={"username": "bench", "password": "bench-password-1"})
    token = base64.b64encode(b"bench:bench-password-1").decode()
    client = TestClient(app, headers={"Authorization": f"Basic {token}"})
    exp = client.post(f"{API}/experiments/create", json={"name": "bench-user"}).json()["experiment_id"]
    run_id = client.post(f"{API}/runs/create", json={"experiment_id": exp}).json()["run"]["info"]["run_id"]
    model = client.post(f"{API}/logged-models", json={"experiment_id": exp, "name": "lm"}).json()
    return app, client, run_id, model["model"]["info"]["model_id"]


if __name__ == "__main__":
    main()
