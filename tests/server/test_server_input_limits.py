"""No 5xx from input (issue 18, item 3): each attack of the issue is a 400 that names the field.

Every case is one request a client can send; before the fix each was a 500 (or, for the limits, an
accepted megabyte). The server runs in process with ``raise_server_exceptions=False`` so a 500 shows
up as a status, exactly as a client would see it.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient

API = "/api/2.0/mlflow"
PROXY = "/api/2.0/mlflow-artifacts/artifacts"
ADMIN_PASSWORD = "admin-password-123"


@dataclass
class Attack:
    id: str
    method: str
    path: str
    json: Any = None
    raw: str | None = None  # a JSON text the json encoder cannot produce (lone surrogates, deep nesting)
    params: dict[str, Any] = field(default_factory=dict)
    content: bytes | None = None
    names: str = ""  # what the 400's message must mention


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


DEEP = '{"name": "deep", "tags": ' + "[" * 1000 + "]" * 1000 + "}"
ATTACKS = [
    # Unicode digits are not numbers, on all five search endpoints
    Attack("filter-runs", "POST", "/runs/search", {"experiment_ids": ["0"], "filter": "metrics.m > ³"}, names="³"),
    Attack("filter-experiments", "POST", "/experiments/search", {"filter": "creation_time > ³"}, names="³"),
    Attack("filter-models", "GET", "/registered-models/search", params={"filter": "name = '٣' and tags.a = ³"}),
    Attack("filter-versions", "GET", "/model-versions/search", params={"filter": "version_number > ³"}, names="³"),
    Attack("filter-traces", "GET", "/traces", params={"experiment_ids": "0", "filter": "timestamp_ms > ³"}),
    Attack("filter-id-digits", "POST", "/experiments/search", {"filter": "experiment_id = '١'"}, names="experiment id"),
    Attack(
        "filter-id-2^70", "POST", "/experiments/search", {"filter": f"experiment_id = '{2**70}'"}, names="experiment id"
    ),
    # integers past int64
    Attack(
        "step-2^63",
        "POST",
        "/runs/log-metric",
        {"run_id": "{run}", "key": "m", "value": 1, "timestamp": 1, "step": 2**63},
        names="step",
    ),
    Attack(
        "timestamp-2^70",
        "POST",
        "/runs/log-metric",
        {"run_id": "{run}", "key": "m", "value": 1, "timestamp": 2**70},
        names="timestamp",
    ),
    Attack(
        "batch-step-2^63",
        "POST",
        "/runs/log-batch",
        {"run_id": "{run}", "metrics": [{"key": "m", "value": 1, "timestamp": 1, "step": 2**63}]},
        names="metrics[0]",
    ),
    Attack(
        "batch-step-string",
        "POST",
        "/runs/log-batch",
        {"run_id": "{run}", "metrics": [{"key": "m", "value": 1, "timestamp": 1, "step": "٣"}]},
        names="metrics[0]",
    ),
    Attack("start_time-2^64", "POST", "/runs/create", {"experiment_id": "0", "start_time": 2**64}, names="start_time"),
    Attack("end_time-2^64", "POST", "/runs/update", {"run_id": "{run}", "end_time": 2**64}, names="end_time"),
    Attack(
        "max_traces-2^63",
        "POST",
        "/traces/delete-traces",
        {"experiment_id": "0", "max_traces": 2**63},
        names="max_traces",
    ),
    Attack(
        "page-token-2^70",
        "POST",
        "/runs/search",
        {"experiment_ids": ["0"], "page_token": _token(2**70)},
        names="page_token",
    ),
    Attack(
        "history-token-2^70",
        "GET",
        "/metrics/get-history",
        params={"run_id": "{run}", "metric_key": "m", "page_token": _token(2**70)},
    ),
    Attack(
        "bulk-step-2^63",
        "GET",
        "/metrics/get-history-bulk-interval",
        params={"run_ids": "{run}", "metric_key": "m", "start_step": 2**63, "end_step": 2**63},
        names="start_step",
    ),
    # lone surrogates
    Attack(
        "surrogate-tag-key",
        "POST",
        "/runs/set-tag",
        raw='{"run_id": "{run}", "key": "\\ud800", "value": "v"}',
        names="key",
    ),
    Attack("surrogate-exp-name", "POST", "/experiments/create", raw='{"name": "a\\udc00b"}', names="name"),
    Attack(
        "surrogate-batch",
        "POST",
        "/runs/log-batch",
        raw='{"run_id": "{run}", "params": [{"key": "p", "value": "\\ud83d"}]}',
        names="params[0].value",
    ),
    # artifact paths the file system cannot hold
    Attack("name-300-bytes", "PUT", PROXY + "/0/{run}/artifacts/" + "é" * 150, content=b"x", names="bytes"),
    Attack("file-as-folder", "PUT", PROXY + "/0/{run}/artifacts/file.txt/inner.txt", content=b"x", names="file"),
    # nesting and sizes
    Attack("json-1000-deep", "POST", "/experiments/create", raw=DEEP, names="64 levels"),
    Attack("run-name-1MB", "POST", "/runs/update", {"run_id": "{run}", "run_name": "x" * 1_000_000}, names="run_name"),
    Attack(
        "description-5MB",
        "POST",
        "/registered-models/create",
        {"name": "m", "description": "x" * 5_000_000},
        names="description",
    ),
    Attack(
        "exp-tag-empty-key",
        "POST",
        "/experiments/set-experiment-tag",
        {"experiment_id": "0", "key": "", "value": "v"},
        names="tag",
    ),
    Attack(
        "exp-tag-nul-key",
        "POST",
        "/experiments/set-experiment-tag",
        {"experiment_id": "0", "key": "a\x00b", "value": "v"},
        names="NUL",
    ),
    Attack(
        "exp-tag-rtl-key",
        "POST",
        "/experiments/set-experiment-tag",
        {"experiment_id": "0", "key": "a\u202eb", "value": "v"},
        names="U+202E",
    ),
    Attack(
        "exp-create-tag-rtl",
        "POST",
        "/experiments/create",
        {"name": "e", "tags": [{"key": "\u202ex", "value": "v"}]},
        names="U+202E",
    ),
]


def _fill(value: Any, run: str) -> Any:
    if isinstance(value, str):
        return value.replace("{run}", run)
    if isinstance(value, dict):
        return {k: _fill(v, run) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, run) for v in value]
    return value


def _send(client: TestClient, attack: Attack, run: str):  # type: ignore[no-untyped-def]
    path = attack.path if attack.path.startswith(PROXY) else API + attack.path
    kwargs: dict[str, Any] = {"params": _fill(attack.params, run)}
    if attack.raw is not None:
        kwargs["content"] = attack.raw.replace("{run}", run).encode()
        kwargs["headers"] = {"Content-Type": "application/json"}
    elif attack.content is not None:
        kwargs["content"] = attack.content
    elif attack.json is not None:
        kwargs["json"] = _fill(attack.json, run)
    return client.request(attack.method, _fill(path, run), **kwargs)


def _client(make_app, monkeypatch, auth: bool) -> TestClient:
    if auth:
        monkeypatch.setenv("HF_MLTRACK_AUTH_ADMIN_PASSWORD", ADMIN_PASSWORD)
        app = make_app(auth="basic-auth")
        token = base64.b64encode(f"admin:{ADMIN_PASSWORD}".encode()).decode()
        return TestClient(app, raise_server_exceptions=False, headers={"Authorization": f"Basic {token}"})
    return TestClient(make_app(), raise_server_exceptions=False)


@pytest.fixture
def target(make_app, monkeypatch):
    client = _client(make_app, monkeypatch, auth=False)
    run = client.post(f"{API}/runs/create", json={"experiment_id": "0"}).json()["run"]["info"]["run_id"]
    assert client.put(f"{PROXY}/0/{run}/artifacts/file.txt", content=b"x").status_code == 200
    return client, run


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda a: a.id)
def test_attack_is_a_400_naming_the_field(target, attack):
    client, run = target
    response = _send(client, attack, run)
    assert response.status_code == 400, (response.status_code, response.text[:300])
    body = response.json()
    assert body["error_code"] == "INVALID_PARAMETER_VALUE"
    # a refused artifact path says MLflow's 'Invalid path'; what and why is in the body's details
    explained = body["message"] + " " + body.get("details", "")
    assert attack.names in explained, explained[:300]


def test_deep_json_is_a_400_with_auth_on_too(make_app, monkeypatch):
    client = _client(make_app, monkeypatch, auth=True)
    response = client.post(
        f"{API}/experiments/create", content=DEEP.encode(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400 and "64 levels" in response.json()["message"]


def test_limits_are_not_stricter_than_mlflow(target):
    """What MLflow's own server accepts still goes through: 20,000-character experiment tag values,
    8,000-character run tag values, emoji (surrogate pairs when escaped), 64-level nesting."""
    client, run = target
    ok = [
        client.post(
            f"{API}/experiments/set-experiment-tag", json={"experiment_id": "0", "key": "note", "value": "x" * 20_000}
        ),
        client.post(f"{API}/runs/set-tag", json={"run_id": run, "key": "t", "value": "y" * 8000}),
        client.post(
            f"{API}/runs/set-tag",
            content=b'{"run_id": "%s", "key": "emoji \\ud83d\\ude00", "value": "\\u00e9"}' % run.encode(),
            headers={"Content-Type": "application/json"},
        ),
        client.post(
            f"{API}/runs/log-metric",
            json={"run_id": run, "key": "m", "value": 1.0, "step": 2**63 - 1, "timestamp": -(2**63)},
        ),
        client.post(
            f"{API}/runs/search", json={"experiment_ids": ["0"], "filter": "metrics.m > 99999999999999999999999"}
        ),
        client.post(
            f"{API}/experiments/create",
            content=('{"name": "nested", "tags": [], "x": ' + "[" * 63 + "]" * 63 + "}").encode(),
            headers={"Content-Type": "application/json"},
        ),
    ]
    assert [r.status_code for r in ok] == [200] * len(ok), [r.text[:200] for r in ok]
    tags = client.get(f"{API}/runs/get", params={"run_id": run}).json()["run"]["data"]["tags"]
    assert {"key": "emoji \U0001f600", "value": "é"} in tags


def test_ascii_digit_filters_still_work(target):
    client, run = target
    client.post(f"{API}/runs/log-metric", json={"run_id": run, "key": "m", "value": 5.0, "timestamp": 1})
    found = client.post(f"{API}/runs/search", json={"experiment_ids": ["0"], "filter": "metrics.m > 3"}).json()
    assert [r["info"]["run_id"] for r in found["runs"]] == [run]
    found = client.post(f"{API}/experiments/search", json={"filter": "experiment_id = '0'"}).json()
    assert [e["experiment_id"] for e in found["experiments"]] == ["0"]


_NUL = "a\x00b"


def _nul_cases(exp: str, run: str) -> list[tuple[str, str, dict]]:
    """Every name- or id-typed field that reaches the database, holding a NUL (PostgreSQL refuses it)."""
    return [
        ("GET", "experiments/get-by-name", {"params": {"experiment_name": _NUL}}),
        ("GET", "experiments/get", {"params": {"experiment_id": _NUL}}),
        ("POST", "experiments/create", {"json": {"name": _NUL}}),
        ("POST", "experiments/create", {"json": {"name": "a\x07b"}}),
        ("POST", "experiments/update", {"json": {"experiment_id": exp, "new_name": _NUL}}),
        ("POST", "experiments/set-experiment-tag", {"json": {"experiment_id": exp, "key": _NUL, "value": "v"}}),
        ("POST", "runs/create", {"json": {"experiment_id": exp, "run_name": _NUL}}),
        ("POST", "runs/update", {"json": {"run_id": run, "run_name": _NUL}}),
        ("GET", "runs/get", {"params": {"run_id": _NUL}}),
        ("POST", "runs/set-tag", {"json": {"run_id": run, "key": _NUL, "value": "v"}}),
        ("POST", "runs/delete-tag", {"json": {"run_id": run, "key": _NUL}}),
        ("POST", "runs/log-parameter", {"json": {"run_id": run, "key": _NUL, "value": "v"}}),
        ("POST", "runs/log-batch", {"json": {"run_id": run, "tags": [{"key": _NUL, "value": "v"}]}}),
        ("POST", "registered-models/create", {"json": {"name": _NUL}}),
        ("GET", "registered-models/get", {"params": {"name": _NUL}}),
        ("POST", "registered-models/rename", {"json": {"name": "rm", "new_name": _NUL}}),
        ("POST", "model-versions/create", {"json": {"name": _NUL, "source": "s3://b/x"}}),
        ("POST", "logged-models", {"json": {"experiment_id": exp, "name": _NUL}}),
    ]


@pytest.mark.parametrize("prefix", ["/api/2.0/mlflow", "/ajax-api/2.0/mlflow"])
@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_a_nul_or_control_character_in_a_name_or_id_is_a_400_naming_it(
    request, db_uri, tmp_path, monkeypatch, backend, prefix
):
    """A NUL (or, in a name, another control character) is refused before any lookup: a 400 naming the
    field and the character, for an admin (no permission lookup) and a user (the boundary resolves the
    name first: it must not see a value PostgreSQL refuses), never a 5xx nor a 403."""
    from hf_mltrack.server import create_app

    monkeypatch.setenv("HF_MLTRACK_AUTH_ADMIN_PASSWORD", "admin-password-123")
    uri = request.getfixturevalue("empty_pg_database") if backend == "postgresql" else db_uri
    app = create_app(uri, artifacts_destination=str(tmp_path / "art"), allowed_hosts=["testserver"], auth="basic-auth")

    def as_(user: str, password: str) -> TestClient:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        return TestClient(app, raise_server_exceptions=False, headers={"Authorization": f"Basic {token}"})

    admin = as_("admin", "admin-password-123")
    assert admin.post(f"{prefix}/users/create", json={"username": "bob", "password": "bob-password-1"}).is_success
    bob = as_("bob", "bob-password-1")
    exp = bob.post(f"{prefix}/experiments/create", json={"name": "e"}).json()["experiment_id"]
    run = bob.post(f"{prefix}/runs/create", json={"experiment_id": exp}).json()["run"]["info"]["run_id"]
    assert bob.post(f"{prefix}/registered-models/create", json={"name": "rm"}).is_success
    for method, route, kwargs in _nul_cases(exp, run):
        for who, client in (("admin", admin), ("bob", bob)):
            r = client.request(method, f"{prefix}/{route}", **kwargs)
            assert r.status_code == 400, (who, route, kwargs, r.text)
            message = r.json()["message"]
            assert "NUL" in message or "U+0000" in message or "U+0007" in message, (who, route, message)
    names = [
        e["name"] for e in admin.get(f"{prefix}/experiments/search", params={"max_results": 100}).json()["experiments"]
    ]
    assert all("\x00" not in n and "\x07" not in n for n in names)


@pytest.mark.postgres
@pytest.mark.parametrize("prefix", ["/api/2.0/mlflow", "/ajax-api/2.0/mlflow"])
def test_a_value_postgresql_refuses_is_a_400_and_stores_nothing(request, tmp_path, prefix):
    """A NUL in a tag/param value, a filter, a trace tag or a dataset name: PostgreSQL refuses it (SQLite
    stores it); the client gets a 400 saying so and what to do, never a 500, and nothing of the request is
    kept (its transaction rolled back)."""
    from hf_mltrack.server import create_app

    uri = request.getfixturevalue("empty_pg_database")
    app = create_app(uri, artifacts_destination=str(tmp_path / "art"), allowed_hosts=["testserver"])
    client = TestClient(app, raise_server_exceptions=False)
    exp = client.post(f"{prefix}/experiments/create", json={"name": "nul"}).json()["experiment_id"]
    run = client.post(f"{prefix}/runs/create", json={"experiment_id": exp}).json()["run"]["info"]["run_id"]
    assert client.post(f"{prefix}/registered-models/create", json={"name": "rm"}).is_success
    nul = "a\x00b"
    cases = [
        ("runs/set-tag", {"run_id": run, "key": "k", "value": nul}),
        ("runs/log-parameter", {"run_id": run, "key": "p", "value": nul}),
        (
            "runs/log-batch",
            {"run_id": run, "params": [{"key": "q", "value": "ok"}], "tags": [{"key": "t", "value": nul}]},
        ),
        ("experiments/set-experiment-tag", {"experiment_id": exp, "key": "k", "value": nul}),
        ("registered-models/set-tag", {"name": "rm", "key": "k", "value": nul}),
        ("runs/search", {"experiment_ids": [exp], "filter": f"tags.k = '{nul}'"}),
        ("experiments/search", {"filter": f"name = '{nul}'"}),
        (
            "runs/log-inputs",
            {"run_id": run, "datasets": [{"dataset": {"name": nul, "digest": "d", "source_type": "s", "source": "x"}}]},
        ),
        ("logged-models", {"experiment_id": exp, "name": "lm", "tags": [{"key": "t", "value": nul}]}),
    ]
    for route, body in cases:
        r = client.post(f"{prefix}/{route}", json=body)
        assert r.status_code == 400, (route, r.text)
        assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE" and "NUL" in r.json()["message"], (route, r.text)
        assert "INSERT" not in r.text and "SELECT" not in r.text  # no SQL echoed
    stored = client.get(f"{prefix}/runs/get", params={"run_id": run}).json()["run"]
    assert stored["data"].get("params", []) == [] and "t" not in {t["key"] for t in stored["data"].get("tags", [])}
    assert client.post(f"{prefix}/runs/set-tag", json={"run_id": run, "key": "k", "value": "fine"}).is_success
