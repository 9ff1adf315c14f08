"""One regression test per vulnerability class the tracking server defends against."""

from __future__ import annotations

import http.client
import os
import socket

import httpx
import pytest
from fastapi.testclient import TestClient

API = "/api/2.0/mlflow"
PROXY = "/api/2.0/mlflow-artifacts/artifacts"


def _experiments(api) -> list[str]:
    return [e["name"] for e in api.post(f"{API}/experiments/search", json={}).json()["experiments"]]


# ---- CSRF: a cross-origin simple POST (text/plain, form) changes nothing ----------------------
@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None],
    ids=["text-plain", "form-urlencoded", "multipart", "no-content-type"],
)
def test_non_json_post_gets_415_and_changes_nothing(api, content_type):
    headers = {"Origin": "http://evil.example"} if content_type == "text/plain" else {}
    if content_type:
        headers["Content-Type"] = content_type
    r = api.post(f"{API}/experiments/create", content=b'{"name": "csrf"}', headers=headers)
    assert r.status_code in (403, 415)
    plain = api.post(
        f"{API}/experiments/create", content=b'{"name": "csrf"}', headers={"Content-Type": content_type or ""}
    )
    assert plain.status_code == 415
    assert plain.json()["error_code"] == "BAD_REQUEST"
    assert "csrf" not in _experiments(api)


def test_cross_origin_write_refused_same_origin_allowed(api):
    evil = api.post(f"{API}/experiments/create", json={"name": "x1"}, headers={"Origin": "http://evil.example"})
    assert evil.status_code == 403 and evil.json()["error_code"] == "PERMISSION_DENIED"
    null = api.post(f"{API}/experiments/create", json={"name": "x2"}, headers={"Origin": "null"})
    assert null.status_code == 403
    same = api.post(f"{API}/experiments/create", json={"name": "x3"}, headers={"Origin": "http://testserver"})
    assert same.status_code == 200
    # reads are not state-changing
    assert api.get(f"{API}/experiments/search", headers={"Origin": "http://evil.example"}).status_code == 200
    assert _experiments(api).count("x1") == 0 and "x3" in _experiments(api)


def test_cors_off_by_default_and_opt_in(make_app):
    closed = TestClient(make_app())
    pre = closed.options(
        f"{API}/experiments/create",
        headers={"Origin": "http://ui.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in pre.headers

    opened = TestClient(make_app(cors_allowed_origins=["http://ui.example"]))
    pre = opened.options(
        f"{API}/experiments/create",
        headers={"Origin": "http://ui.example", "Access-Control-Request-Method": "POST"},
    )
    assert pre.headers["access-control-allow-origin"] == "http://ui.example"
    ok = opened.post(f"{API}/experiments/create", json={"name": "cors"}, headers={"Origin": "http://ui.example"})
    assert ok.status_code == 200
    other = opened.post(f"{API}/experiments/create", json={"name": "cors2"}, headers={"Origin": "http://other.example"})
    assert other.status_code == 403


# ---- DNS rebinding: the Host header must be an allowed name ------------------------------------
@pytest.mark.parametrize(
    ("allowed", "host", "accepted"),
    [
        ((), "localhost:5000", True),
        ((), "127.0.0.1:5000", True),
        ((), "[::1]:5000", True),
        ((), "attacker.example", False),
        ((), "localhost.attacker.example", False),
        (("tracking.corp",), "tracking.corp:443", True),
        (("*.corp",), "a.b.corp", True),
        (("*.corp",), "corp.evil", False),
        (("*",), "anything.example", True),
    ],
    ids=lambda v: str(v),
)
def test_host_allow_list(make_app, allowed, host, accepted):
    client = TestClient(make_app(allowed_hosts=list(allowed)))
    r = client.get(f"{API}/experiments/search", headers={"Host": host})
    assert (r.status_code == 200) is accepted, r.text
    if not accepted:
        assert r.status_code == 400 and "--allowed-hosts" in r.json()["message"]


# ---- security headers, body size caps -----------------------------------------------------------
def test_security_headers_everywhere(api):
    for r in (
        api.get("/health"),
        api.get(f"{API}/nope"),
        api.post(f"{API}/experiments/create", json={"name": "h"}),
    ):
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "SAMEORIGIN"
        assert r.headers["referrer-policy"] == "same-origin"


def test_request_size_limits(make_app):
    client = TestClient(make_app(max_request_bytes=10_000, max_artifact_bytes=1000))
    big = client.post(f"{API}/experiments/create", json={"name": "x" * 20_000})
    assert big.status_code == 413 and big.json()["error_code"] == "INVALID_PARAMETER_VALUE"

    def chunks(n: int):
        for _ in range(n):
            yield b"x" * 500

    run = client.post(f"{API}/runs/create", json={"experiment_id": "0"}).json()["run"]
    path = run["info"]["artifact_uri"].split(":/", 1)[1]
    assert client.put(f"{PROXY}/{path}/small.bin", content=b"x" * 900).status_code == 200
    assert client.put(f"{PROXY}/{path}/big.bin", content=b"x" * 2000).status_code == 413
    streamed = client.put(f"{PROXY}/{path}/chunked.bin", content=chunks(5))  # no Content-Length
    assert streamed.status_code == 413
    names = [f["path"] for f in client.get(f"{PROXY}", params={"path": path}).json()["files"]]
    assert names == ["small.bin"]


# ---- path traversal and file disclosure through the artifact proxy ------------------------------
def _raw(server, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
    """Send the path exactly as written (HTTP clients would normalize '..' segments away)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    headers = {"Host": "localhost"}
    if body is not None:
        headers["Content-Length"] = str(len(body))
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    out = response.status, response.read()
    conn.close()
    return out


@pytest.mark.parametrize(
    "path",
    [
        "../../etc/passwd",
        "0/%2e%2e/%2e%2e/etc/passwd",
        "0/%252e%252e/%252e%252e/etc/passwd",
        "0/..%2f..%2fetc/passwd",
        "0/..%5c..%5cetc%5cpasswd",
        "0/a%00b",
        "0/a%23/../../x",
        "0/a#/../../x",
        "0/..;/..;/etc/passwd",
        "0/a;b",
        "%2fetc/passwd",
        "C:%5cwindows",
    ],
)
def test_artifact_proxy_rejects_unsafe_paths(live_server, tmp_path, path):
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    (tmp_path / "mlartifacts" / "0").mkdir(parents=True)
    for method in ("GET", "PUT", "DELETE"):
        status, body = _raw(live_server, method, f"{PROXY}/{path}", b"x" if method == "PUT" else None)
        assert status == 400, (method, path, status, body)
        assert b"top secret" not in body
    status, body = _raw(live_server, "GET", f"{PROXY}?path={path}")
    assert status == 400, (path, status, body)
    assert secret.read_text() == "top secret"
    assert os.listdir(tmp_path / "mlartifacts" / "0") == []


def test_artifact_proxy_refuses_symlink_escape(api, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("top secret")
    dest = tmp_path / "mlartifacts" / "0"
    dest.mkdir(parents=True)
    os.symlink(outside, dest / "link")
    r = api.get(f"{PROXY}/0/link/secret.txt")
    assert r.status_code == 400 and b"top secret" not in r.content
    assert api.put(f"{PROXY}/0/link/new.txt", content=b"x").status_code == 400
    assert not (outside / "new.txt").exists()
    assert api.get(PROXY, params={"path": "0/link"}).status_code == 400


# ---- experiment artifact locations are limited to the configured roots --------------------------
@pytest.mark.parametrize(
    "location",
    [
        "file:///etc",
        "/etc",
        "http://169.254.169.254/latest/meta-data",
        "https://example.com/x",
        "mlflow-artifacts:/../../etc",
        "s3://someone-elses-bucket/x",
        "file:///tmp/../etc",
    ],
)
def test_experiment_artifact_location_outside_roots_refused(api, location):
    r = api.post(f"{API}/experiments/create", json={"name": "loc", "artifact_location": location})
    assert r.status_code == 403, r.text
    assert r.json()["error_code"] == "PERMISSION_DENIED"
    assert "loc" not in _experiments(api)


def test_experiment_artifact_location_inside_roots_allowed(make_app, tmp_path):
    client = TestClient(make_app(allowed_artifact_roots=["s3://team-bucket/mlflow"]))
    ok = client.post(f"{API}/experiments/create", json={"name": "a", "artifact_location": "s3://team-bucket/mlflow/a"})
    assert ok.status_code == 200
    proxied = client.post(
        f"{API}/experiments/create", json={"name": "b", "artifact_location": "mlflow-artifacts:/team/b"}
    )
    assert proxied.status_code == 200
    prefix_trick = client.post(
        f"{API}/experiments/create", json={"name": "c", "artifact_location": "s3://team-bucket/mlflow-evil/c"}
    )
    assert prefix_trick.status_code == 403


def test_relative_artifact_location_resolves_against_the_server_directory(make_app, tmp_path, monkeypatch):
    """As MLflow's server: a relative location is the server's working directory joined with it, stored
    absolute; the root rule applies to where it resolves ('.', '..' and 'x/../..' included)."""
    workdir = tmp_path / "served-from"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    refused = TestClient(make_app())
    for location in ("my_location", ".", "../x", "a/../../.."):
        r = refused.post(f"{API}/experiments/create", json={"name": f"r{location}", "artifact_location": location})
        assert r.status_code == 403, (location, r.text)
        assert f"'{location}' (resolved to '{os.path.abspath(location)}')" in r.json()["message"]
    allowed = TestClient(make_app(allowed_artifact_roots=[str(workdir)]))
    ok = allowed.post(f"{API}/experiments/create", json={"name": "rel", "artifact_location": "my_location"})
    assert ok.status_code == 200, ok.text
    exp = allowed.get(f"{API}/experiments/get", params={"experiment_id": ok.json()["experiment_id"]}).json()
    assert exp["experiment"]["artifact_location"] == (workdir / "my_location").as_uri()  # local paths: file URIs
    escape = allowed.post(f"{API}/experiments/create", json={"name": "up", "artifact_location": "../outside"})
    assert escape.status_code == 403


def test_run_artifacts_outside_roots_are_not_listed(api, tmp_path, db_uri):
    """A run whose stored artifact URI points elsewhere (e.g. written directly to the DB) is not read."""
    from hf_mltrack.store.sql.tracking_store import SqlTrackingStore

    store = SqlTrackingStore(db_uri)
    exp_id = store.create_experiment("direct", artifact_location=str(tmp_path / "elsewhere"))
    run = store.create_run(exp_id, "u", 1, [], None)
    r = api.get(f"{API}/artifacts/list", params={"run_id": run.info.run_id})
    assert r.status_code == 403


def test_server_errors_do_not_leak_internals(make_app, monkeypatch):
    client = TestClient(make_app(), raise_server_exceptions=False)
    state = client.app.state.server

    def boom(*args, **kwargs):
        raise RuntimeError("/secret/path/db.sqlite password=hunter2")

    monkeypatch.setattr(state.store, "get_experiment", boom)
    r = client.get(f"{API}/experiments/get", params={"experiment_id": "0"})
    assert r.status_code == 500
    assert r.json()["error_code"] == "INTERNAL_ERROR"
    assert "hunter2" not in r.text and "/secret" not in r.text


@pytest.mark.parametrize(
    ("sent", "location"),
    [
        (
            "//model-versions/get-artifact?name=m&version=1&path=x",
            "/model-versions/get-artifact?name=m&version=1&path=x",
        ),
        ("/api/2.0//mlflow///experiments/get?experiment_id=0", "/api/2.0/mlflow/experiments/get?experiment_id=0"),
        ("//evil.example.com/%0d%0aSet-Cookie:%20x=1", "/evil.example.com/%0d%0aSet-Cookie:%20x=1"),
    ],
)
def test_repeated_slashes_redirect_to_the_merged_path(live_server, sent, location):
    """As MLflow's server (werkzeug): a 308 to the same target with single slashes, never an off-site
    ('//host') or header-splitting Location; the redirected request then goes through every check."""
    conn = http.client.HTTPConnection("127.0.0.1", live_server.port, timeout=10)
    conn.request("GET", sent, headers={"Host": "localhost"})
    response = conn.getresponse()
    response.read()
    conn.close()
    assert response.status == 308
    assert response.getheader("Location") == location
    assert response.getheader("Set-Cookie") is None
    followed = httpx.get(
        f"{live_server.url}/api/2.0//mlflow/experiments/get", params={"experiment_id": "0"}, follow_redirects=True
    )
    assert followed.status_code == 200 and followed.json()["experiment"]["experiment_id"] == "0"


def _raw_get(port: int, target: bytes) -> tuple[int, bytes | None]:
    """The status and Location of a GET sent byte for byte (http.client would normalise the target)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    location = [h.split(b":", 1)[1].strip() for h in head[1:] if h.lower().startswith(b"location:")]
    return int(head[0].split()[1]), (location[0] if location else None)


@pytest.mark.parametrize("prefix", [b"/api/2.0/mlflow", b"/ajax-api/2.0/mlflow"])
def test_repeated_slashes_never_redirect_off_site_nor_to_themselves(live_server, prefix):
    """The 308 that merges slashes: never to a target a browser reads as another site (``//host``,
    ``/\\host``), never to the request itself; a backslash (raw or %5C) is a 400."""
    port = live_server.port
    for target in (b"//\\evil.com/", b"/\\/evil.com", b"/%5C/evil.com", b"//%5cevil.com", prefix + b"\\experiments"):
        status, location = _raw_get(port, target)
        assert (status, location) == (400, None), target
    for target in (b"/%2F%2Fevil.com", b"/%2f/evil.com", prefix + b"/experiments/get%2F%2F?experiment_id=0"):
        status, location = _raw_get(port, target)
        assert status != 308 and location != target, (target, status, location)
        assert location is None or location.startswith(b"http://localhost/"), (target, location)
    for target in (b"///evil.com/", b"//" + prefix[1:] + b"/experiments/get?experiment_id=0", prefix + b"//x//y"):
        status, location = _raw_get(port, target)
        assert status == 308 and location is not None and location != target, target
        assert location.startswith(b"/") and location[1:2] not in (b"/", b"\\"), (target, location)
    status, location = _raw_get(port, b"/" + prefix + b"/experiments/get?experiment_id=0")
    assert (status, location) == (308, prefix + b"/experiments/get?experiment_id=0")
    assert _raw_get(port, location)[0] == 200
