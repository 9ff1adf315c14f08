"""Webhooks: MLflow 3's routes, registry events delivered to a real loopback receiver with HMAC-SHA256
signatures, retries with backoff, delivery off the request thread, and non-public destinations refused
unless the server allows them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient

API = "/api/2.0/mlflow"


class Receiver:
    """A loopback HTTP server recording each POST; ``statuses`` are answered in order (then 200)."""

    def __init__(self, statuses: list[int] | None = None, delay: float = 0.0) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.statuses = list(statuses or [])
        self.delay = delay
        self.got = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.requests.append((dict(self.headers.items()), body))
                if receiver.delay:
                    time.sleep(receiver.delay)
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok" if status < 400 else b"try again")
                if status < 400:
                    receiver.got.set()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def app_allowing_loopback(make_app):
    return make_app(webhooks_allow_private_urls=True)


def _hook(client: TestClient, url: str, events: list[dict[str, str]], secret: str | None = "s3cret") -> dict:
    body = {"name": "ci", "url": url, "events": events}
    if secret:
        body["secret"] = secret
    r = client.post(f"{API}/webhooks", json=body)
    assert r.status_code == 200, r.text
    return r.json()["webhook"]


def _wait(pred, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def test_crud_shapes_and_errors(api) -> None:
    hook = _hook(api, "https://hooks.example.com/x", [{"entity": "MODEL_VERSION", "action": "CREATED"}])
    assert hook["events"] == [{"entity": "MODEL_VERSION", "action": "CREATED"}]
    assert hook["status"] == "ACTIVE" and "secret" not in hook
    wid = hook["webhook_id"]
    assert api.get(f"{API}/webhooks/{wid}").json()["webhook"]["url"] == "https://hooks.example.com/x"
    updated = api.patch(f"{API}/webhooks/{wid}", json={"name": "renamed", "status": "DISABLED"}).json()["webhook"]
    assert (updated["name"], updated["status"]) == ("renamed", "DISABLED")
    assert [w["webhook_id"] for w in api.get(f"{API}/webhooks").json()["webhooks"]] == [wid]
    assert api.delete(f"{API}/webhooks/{wid}").status_code == 200
    for method, path in [("GET", wid), ("PATCH", wid), ("DELETE", wid), ("GET", "nonexistent")]:
        r = api.request(method, f"{API}/webhooks/{path}", json={"name": "x"} if method == "PATCH" else None)
        assert r.status_code == 404 and f"Webhook with ID {path} not found" in r.json()["message"]
    # bad input: 400 naming what is wrong
    bad = [
        ({"name": "x", "url": "   ", "events": [{"entity": "MODEL_VERSION", "action": "CREATED"}]}, "empty"),
        ({"name": "x", "url": "ftp://h/x", "events": [{"entity": "MODEL_VERSION", "action": "CREATED"}]}, "scheme"),
        ({"name": "x", "url": "https://h/x", "events": [{"entity": "MODEL_VERSION", "action": "SET"}]}, "event"),
        ({"name": "x", "url": "https://h/x", "events": []}, "events"),
        ({"url": "https://h/x", "events": [{"entity": "MODEL_VERSION", "action": "CREATED"}]}, "name"),
    ]
    for body, word in bad:
        r = api.post(f"{API}/webhooks", json=body)
        assert r.status_code == 400 and word in r.json()["message"], (body, r.text)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/x",
        "http://localhost/x",
        "http://10.1.2.3/x",
        "http://169.254.169.254/latest",
        "http://[::1]/x",
    ],
)
def test_private_destinations_are_refused_by_default(api, url) -> None:
    r = api.post(
        f"{API}/webhooks",
        json={"name": "x", "url": url, "events": [{"entity": "REGISTERED_MODEL", "action": "CREATED"}]},
    )
    assert r.status_code == 400 and "--webhooks-allow-private-urls" in r.json()["message"]


def test_delivery_checks_the_connected_address(db_uri, receiver) -> None:
    """A name that resolves to a private address passes the creation check but not the socket check."""
    from hf_mltrack.server.webhooks import Webhook, WebhookDispatcher, WebhookStore
    from hf_mltrack.store.sql.engine import get_engine
    from hf_mltrack.store.sql.tracking_store import SqlTrackingStore

    SqlTrackingStore(db_uri, default_artifact_root="/tmp")
    dispatcher = WebhookDispatcher(WebhookStore(get_engine(db_uri)), allow_private=False, backoff=0.0)
    hook = Webhook("w", "n", receiver.url.replace("127.0.0.1", "localhost"), [("registered_model", "created")])
    result = dispatcher.deliver(hook, "registered_model", "created", {"name": "m"})
    assert not result.success and "not a public address" in result.error_message
    assert receiver.requests == []  # nothing was sent, and no retry was made


def test_registry_events_are_signed_and_delivered(app_allowing_loopback, receiver) -> None:
    with TestClient(app_allowing_loopback) as client:
        events = [
            {"entity": e, "action": a}
            for e, a in [
                ("REGISTERED_MODEL", "CREATED"),
                ("MODEL_VERSION", "CREATED"),
                ("MODEL_VERSION_TAG", "SET"),
                ("MODEL_VERSION_TAG", "DELETED"),
                ("MODEL_VERSION_ALIAS", "CREATED"),
                ("MODEL_VERSION_ALIAS", "DELETED"),
            ]
        ]
        _hook(client, receiver.url, events)
        assert (
            client.post(
                f"{API}/registered-models/create", json={"name": "m", "tags": [{"key": "a", "value": "b"}]}
            ).status_code
            == 200
        )
        run = client.post(f"{API}/runs/create", json={"experiment_id": "0"}).json()["run"]
        r = client.post(
            f"{API}/model-versions/create",
            json={"name": "m", "source": f"runs:/{run['info']['run_id']}/model", "run_id": run["info"]["run_id"]},
        )
        assert r.status_code == 200, r.text
        client.post(f"{API}/model-versions/set-tag", json={"name": "m", "version": "1", "key": "k", "value": "v"})
        client.request("DELETE", f"{API}/model-versions/delete-tag", json={"name": "m", "version": "1", "key": "k"})
        client.post(f"{API}/registered-models/alias", json={"name": "m", "alias": "prod", "version": "1"})
        client.request("DELETE", f"{API}/registered-models/alias", json={"name": "m", "alias": "prod"})
        _wait(lambda: len(receiver.requests) >= 6)
    got = {}
    for headers, body in receiver.requests:
        payload = json.loads(body)
        got[(payload["entity"], payload["action"])] = payload["data"]
        delivery, ts = headers["X-MLflow-Delivery-Id"], headers["X-MLflow-Timestamp"]
        expected = hmac.new(b"s3cret", f"{delivery}.{ts}.{body.decode()}".encode(), hashlib.sha256).digest()
        assert headers["X-MLflow-Signature"] == "v1," + base64.b64encode(expected).decode()
        assert abs(int(ts) - time.time()) < 60
    assert got[("registered_model", "created")] == {"name": "m", "tags": {"a": "b"}, "description": None}
    assert got[("model_version", "created")]["version"] == "1"
    assert got[("model_version", "created")]["run_id"] == run["info"]["run_id"]
    assert got[("model_version_tag", "set")] == {"name": "m", "version": "1", "key": "k", "value": "v"}
    assert got[("model_version_tag", "deleted")] == {"name": "m", "version": "1", "key": "k"}
    assert got[("model_version_alias", "created")] == {"name": "m", "alias": "prod", "version": "1"}
    assert got[("model_version_alias", "deleted")] == {"name": "m", "alias": "prod"}


def test_failed_deliveries_are_retried_with_backoff(app_allowing_loopback) -> None:
    flaky = Receiver(statuses=[503, 500])
    try:
        with TestClient(app_allowing_loopback) as client:
            app_allowing_loopback.state.server.webhooks().backoff = 0.05
            _hook(client, flaky.url, [{"entity": "REGISTERED_MODEL", "action": "CREATED"}], secret=None)
            client.post(f"{API}/registered-models/create", json={"name": "m"})
            assert flaky.got.wait(10)
        assert len(flaky.requests) == 3  # two failures, then the delivery that succeeded
        assert "X-MLflow-Signature" not in flaky.requests[0][0]  # no secret, no signature
        assert len({h["X-MLflow-Delivery-Id"] for h, _ in flaky.requests}) == 3
    finally:
        flaky.close()


def test_delivery_never_blocks_the_request(app_allowing_loopback) -> None:
    slow = Receiver(delay=2.0)
    try:
        with TestClient(app_allowing_loopback) as client:
            _hook(client, slow.url, [{"entity": "REGISTERED_MODEL", "action": "CREATED"}])
            start = time.monotonic()
            assert client.post(f"{API}/registered-models/create", json={"name": "m"}).status_code == 200
            assert time.monotonic() - start < 1.5
            assert slow.got.wait(10)
    finally:
        slow.close()


def test_test_delivery_reports_the_outcome(app_allowing_loopback, receiver) -> None:
    with TestClient(app_allowing_loopback) as client:
        wid = _hook(client, receiver.url, [{"entity": "MODEL_VERSION_ALIAS", "action": "CREATED"}])["webhook_id"]
        result = client.post(f"{API}/webhooks/{wid}/test", json={}).json()["result"]
        assert result == {"success": True, "response_status": 200, "response_body": "ok"}
        payload = json.loads(receiver.requests[-1][1])
        assert (payload["entity"], payload["action"]) == ("model_version_alias", "created")
        other = {"event": {"entity": "REGISTERED_MODEL", "action": "CREATED"}}
        assert client.post(f"{API}/webhooks/{wid}/test", json=other).json()["result"]["success"]
        assert json.loads(receiver.requests[-1][1])["entity"] == "registered_model"


def test_webhooks_are_admin_only_with_basic_auth(make_app, monkeypatch) -> None:
    monkeypatch.setenv("HF_MLTRACK_AUTH_ADMIN_PASSWORD", "admin-password-123")
    app = make_app(auth="basic-auth")
    auth = lambda u, p: {"Authorization": "Basic " + base64.b64encode(f"{u}:{p}".encode()).decode()}  # noqa: E731
    with TestClient(app) as client:
        admin = auth("admin", "admin-password-123")
        client.post(f"{API}/users/create", json={"username": "bob", "password": "bob-password-123"}, headers=admin)
        body = {
            "name": "x",
            "url": "https://h.example.com/x",
            "events": [{"entity": "MODEL_VERSION", "action": "CREATED"}],
        }
        assert client.post(f"{API}/webhooks", json=body, headers=auth("bob", "bob-password-123")).status_code == 403
        assert client.get(f"{API}/webhooks", headers=auth("bob", "bob-password-123")).status_code == 403
        assert client.post(f"{API}/webhooks", json=body, headers=admin).status_code == 200
