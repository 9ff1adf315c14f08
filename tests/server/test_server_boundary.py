"""The server boundary (issue 18, items 1 and 2): one identity per request, resolved before authorization.

`test_no_route_lets_a_stranger_touch_a_victim` is the enumerating attack: every route of the app's own
route table (both prefixes), each alias form of the identifiers (``run_id``/``run_uuid``,
``request_id``/``trace_id``: one, both, one empty, conflicting), sent by a user with NO_PERMISSIONS on
the victim's experiment and model. Each answer must be a refusal (400/403/404) or a 200 that shows
nothing of the victim's, and the victim's data must be exactly as before (read back by the admin after
each writing route; a deleted run or experiment is restored so that it does not mask later attacks;
`attack_table.py` beside this file counts the run-alias attack request by request on fresh data).
Run with ``-s`` to print the tallies the closing note of issue 18 quotes.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from fastapi import Request
from fastapi.testclient import TestClient

ADMIN_PASSWORD = "admin-password-123"
API = "/api/2.0/mlflow"
PROXY = "/api/2.0/mlflow-artifacts/artifacts"
ADMIN = ("admin", ADMIN_PASSWORD)
ALICE = ("alice", "alice-password-1")
BOB = ("bob", "bob-password-123")

# Values only the victim's data holds: a stranger never sends them, so they must never come back.
SECRETS = (
    "SECRET-run-name",
    "SECRET-param",
    "SECRET-tag",
    "SECRET-exp-tag",
    "SECRET-model-desc",
    "SECRET-version-desc",
    "SECRET-trace-tag",
    "SECRET-artifact-bytes",
    "SECRET-lm-tag",
    "secret_metric",
)


def as_user(app: Any, creds: tuple[str, str]) -> TestClient:
    token = base64.b64encode(f"{creds[0]}:{creds[1]}".encode()).decode()
    return TestClient(app, headers={"Authorization": f"Basic {token}"})


def _ok(r: Any) -> dict:
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture
def world(make_app, monkeypatch):
    """alice (the victim) owns an experiment, a run with data and a model, a model version and a trace;
    bob (NO_PERMISSIONS on them) owns an experiment with a run and a model of his own."""
    monkeypatch.setenv("HF_MLTRACK_AUTH_ADMIN_PASSWORD", ADMIN_PASSWORD)
    return build_world(make_app(auth="basic-auth", auth_default_permission="NO_PERMISSIONS"))


def build_world(app: Any) -> dict:
    admin = as_user(app, ADMIN)
    for name, password in (ALICE, BOB):
        _ok(admin.post(f"{API}/users/create", json={"username": name, "password": password}))
    alice, bob = as_user(app, ALICE), as_user(app, BOB)

    exp = _ok(alice.post(f"{API}/experiments/create", json={"name": "victim-exp"}))["experiment_id"]
    _ok(
        alice.post(
            f"{API}/experiments/set-experiment-tag",
            json={"experiment_id": exp, "key": "t", "value": "SECRET-exp-tag"},
        )
    )
    run = _ok(alice.post(f"{API}/runs/create", json={"experiment_id": exp, "run_name": "SECRET-run-name"}))
    run_id = run["run"]["info"]["run_id"]
    _ok(
        alice.post(
            f"{API}/runs/log-batch",
            json={
                "run_id": run_id,
                "metrics": [{"key": "secret_metric", "value": 0.5, "timestamp": 1, "step": 0}],
                "params": [{"key": "p", "value": "SECRET-param"}],
                "tags": [{"key": "t", "value": "SECRET-tag"}],
            },
        )
    )
    art = f"{exp}/{run_id}/artifacts"
    _ok(alice.put(f"{PROXY}/{art}/model/MLmodel", content=b"SECRET-artifact-bytes"))
    _ok(
        alice.post(
            f"{API}/registered-models/create",
            json={"name": "victim-model", "description": "SECRET-model-desc"},
        )
    )
    _ok(
        alice.post(
            f"{API}/model-versions/create",
            json={
                "name": "victim-model",
                "source": f"runs:/{run_id}/model",
                "run_id": run_id,
                "description": "SECRET-version-desc",
            },
        )
    )
    trace_id = "tr-victim-0001"
    trace = {
        "info": {
            "request_id": trace_id,
            "experiment_id": exp,
            "timestamp_ms": 1,
            "execution_time_ms": 1,
            "status": "OK",
            "tags": [{"key": "t", "value": "SECRET-trace-tag"}],
        },
        "data": {"spans": []},
    }
    _ok(alice.post(f"{API}/traces/log-batch", json={"traces": [trace]}))

    logged = _ok(
        alice.post(
            f"{API}/logged-models",
            json={
                "experiment_id": exp,
                "name": "victim-lm",
                "source_run_id": run_id,
                "tags": [{"key": "t", "value": "SECRET-lm-tag"}],
            },
        )
    )["model"]
    logged_id = logged["info"]["model_id"] if "info" in logged else logged["model_id"]

    bob_exp = _ok(bob.post(f"{API}/experiments/create", json={"name": "bob-exp"}))["experiment_id"]
    bob_run = _ok(bob.post(f"{API}/runs/create", json={"experiment_id": bob_exp}))["run"]["info"]["run_id"]
    _ok(bob.post(f"{API}/registered-models/create", json={"name": "bob-model"}))
    return {
        "app": app,
        "admin": admin,
        "alice": alice,
        "bob": bob,
        "exp": exp,
        "run": run_id,
        "art": art,
        "trace": trace_id,
        "trace_doc": trace,
        "bob_exp": bob_exp,
        "bob_run": bob_run,
        "logged_model": logged_id,
    }


def snapshot(w: dict) -> str:
    """Everything of the victim's, read by the admin (and whether anyone became admin)."""
    admin, exp, run = w["admin"], w["exp"], w["run"]
    out: dict[str, Any] = {
        "experiment": admin.get(f"{API}/experiments/get", params={"experiment_id": exp}).json(),
        "default_experiment": admin.get(f"{API}/experiments/get", params={"experiment_id": "0"}).json(),
        "runs": admin.post(f"{API}/runs/search", json={"experiment_ids": [exp, "0"], "run_view_type": "ALL"}).json(),
        "history": admin.get(
            f"{API}/metrics/get-history", params={"run_id": run, "metric_key": "secret_metric"}
        ).json(),
        "artifacts": admin.get(PROXY, params={"path": f"{w['art']}/model"}).json(),
        "artifact": admin.get(f"{PROXY}/{w['art']}/model/MLmodel").text,
        "model": admin.get(f"{API}/registered-models/get", params={"name": "victim-model"}).json(),
        "versions": admin.get(f"{API}/model-versions/search", params={"filter": "name='victim-model'"}).json(),
        "trace": admin.get(f"{API}/traces/{w['trace']}/info").json(),
        "logged_model": admin.get(f"{API}/logged-models/{w['logged_model']}").json(),
        "traces": admin.get(f"{API}/traces", params={"experiment_ids": exp}).json(),
        "alice": admin.get(f"{API}/users/get", params={"username": "alice"}).json(),
        # bob's own grants grow when he creates things of his own; whether he became admin must not change
        "bob_is_admin": admin.get(f"{API}/users/get", params={"username": "bob"}).json()["user"]["is_admin"],
    }
    return json.dumps(out, sort_keys=True)


# Each alias form: (name, run fields, trace fields). "mine" is bob's own run, "v" the victim's.
def _alias_forms(w: dict) -> list[tuple[str, dict, dict]]:
    v, mine, tr = w["run"], w["bob_run"], w["trace"]
    return [
        ("run_id", {"run_id": v}, {"request_id": tr}),
        ("run_uuid", {"run_uuid": v}, {"trace_id": tr}),
        ("both", {"run_id": v, "run_uuid": v}, {"request_id": tr, "trace_id": tr}),
        ("empty_run_id", {"run_id": "", "run_uuid": v}, {"request_id": "", "trace_id": tr}),
        ("empty_run_uuid", {"run_id": v, "run_uuid": ""}, {"request_id": tr, "trace_id": ""}),
        ("conflict_own_first", {"run_id": mine, "run_uuid": v}, {"request_id": "tr-nope", "trace_id": tr}),
        ("conflict_victim_first", {"run_id": v, "run_uuid": mine}, {"request_id": tr, "trace_id": "tr-nope"}),
        ("repeated", {"run_id": [mine, v]}, {"request_id": ["tr-nope", tr]}),  # ?run_id=a&run_id=b
    ]


def _payload(w: dict, run_fields: dict, trace_fields: dict, n: int) -> dict:
    exp, art = w["exp"], w["art"]
    stolen = {**w["trace_doc"], "info": {**w["trace_doc"]["info"], "experiment_id": w["bob_exp"]}}
    return {
        **run_fields,
        **trace_fields,
        "experiment_id": exp,
        "experiment_ids": [exp],
        "experiment_name": "victim-exp",
        "name": "victim-model",
        "new_name": f"hijacked-{n}",
        "version": "1",
        "key": "t",
        "value": f"hijacked-{n}",
        "metric_key": "secret_metric",
        "run_ids": [w["bob_run"], w["run"]],
        "request_ids": [w["trace"]],
        "path": f"{art}/model",
        "username": "alice",
        "permission": "MANAGE",
        "alias": "champion",
        "stage": "Archived",
        "stages": ["None"],
        "status": "KILLED",
        "run_name": f"hijacked-{n}",
        "description": f"hijacked-{n}",
        "source": f"mlflow-artifacts:/{art}/model",
        "artifact_location": f"mlflow-artifacts:/{art}",
        "is_admin": True,
        "password": "a-new-password-for-you-1",
        "max_timestamp_millis": 2**62,
        "metrics": [{"key": "hijack_metric", "value": float(n), "timestamp": n, "step": 1}],
        "params": [{"key": f"p{n}", "value": "x"}],
        "tags": [{"key": "t", "value": f"hijacked-{n}"}],
        "traces": [stolen],
        "num_parts": 1,
        "upload_id": "x",
        "model_id": w["logged_model"],
        "parts": [],
    }


def _fill_path(template: str, w: dict) -> str:
    return (
        template.replace("{request_id}", w["trace"])
        .replace("{trace_id}", w["trace"])
        .replace("{artifact_path:path}", f"{w['art']}/model/MLmodel")
        .replace("{asset_path:path}", "index.js")
        .replace("{model_id}", w["logged_model"])
        .replace("{tag_key:path}", "t")
    )


def _query(payload: dict) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for k, val in payload.items():
        if isinstance(val, list):
            pairs += [(k, x) for x in val if isinstance(x, str)]
        elif isinstance(val, str):
            pairs.append((k, val))
    return pairs


REFUSED = {400, 403, 404}


def test_no_route_lets_a_stranger_touch_a_victim(world):
    attack_every_route(world)


@pytest.mark.postgres
def test_no_route_lets_a_stranger_touch_a_victim_on_postgresql(empty_pg_database, tmp_path, monkeypatch):
    """The same on PostgreSQL (ids, lookups and the permission rows on another dialect)."""
    from hf_mltrack.server import create_app

    monkeypatch.setenv("HF_MLTRACK_AUTH_ADMIN_PASSWORD", ADMIN_PASSWORD)
    app = create_app(
        empty_pg_database,
        artifacts_destination=str(tmp_path / "mlartifacts"),
        allowed_hosts=["testserver"],
        auth="basic-auth",
        auth_default_permission="NO_PERMISSIONS",
    )
    attack_every_route(build_world(app))


def attack_every_route(w: dict) -> None:
    bob = w["bob"]
    before = snapshot(w)
    routes = sorted({(m, e.path) for e in w["app"].state.routes for m in e.methods if m != "HEAD"})
    assert len(routes) > 100
    prefixes = {p.split("/mlflow")[0] for _, p in routes if "/mlflow" in p}
    assert {"/api/2.0", "/ajax-api/2.0"} <= prefixes
    failures: list[str] = []
    n = 0
    counts = {"tried": 0, "refused": 0, "answered_harmlessly": 0, "failed_open": 0, "5xx": 0}
    open_by_form: dict[str, int] = {}
    for method, template in routes:
        url = _fill_path(template, w)
        for form, run_fields, trace_fields in _alias_forms(w):
            n += 1
            payload = _payload(w, run_fields, trace_fields, n)
            kwargs: dict[str, Any] = {"params": _query(payload)}
            if method in ("POST", "PUT", "PATCH", "DELETE"):
                kwargs["content"] = json.dumps(payload)
                kwargs["headers"] = {"Content-Type": "application/json"}
            r = bob.request(method, url, **kwargs)
            where = f"{method} {template} [{form}] -> {r.status_code}"
            counts["tried"] += 1
            if r.status_code >= 500:
                counts["5xx"] += 1
                failures.append(f"{where}: server error {r.text[:200]}")
            elif r.status_code in REFUSED:
                counts["refused"] += 1
            else:
                leaked = [s for s in SECRETS if s in r.text]
                if leaked:
                    failures.append(f"{where}: leaked {leaked}: {r.text[:200]}")
                    counts["failed_open"] += 1
                    open_by_form[form] = open_by_form.get(form, 0) + 1
                elif template.endswith("/experiments/create"):
                    failures.append(f"{where}: artifact_location inside the victim's run accepted")
                    counts["failed_open"] += 1
                    open_by_form[form] = open_by_form.get(form, 0) + 1
                else:
                    counts["answered_harmlessly"] += 1
        if method != "GET":
            after = snapshot(w)
            if after != before:
                failures.append(f"{method} {template}: changed the victim's data")
                counts["failed_open"] += 1
                # bring a deleted experiment or run back, so the attack does not mask later ones
                w["admin"].post(f"{API}/experiments/restore", json={"experiment_id": w["exp"]})
                w["admin"].post(f"{API}/runs/restore", json={"run_id": w["run"]})
                before = snapshot(w)
    # the closing note's table (pytest -s); a write that changed the victim's data counts once per route
    print(f"\nboundary attack: {counts}; failed open by alias form: {open_by_form}")
    assert failures == [], "\n".join(failures)


@pytest.mark.parametrize("prefix", ["/api/2.0/mlflow", "/ajax-api/2.0/mlflow"])
def test_empty_or_conflicting_aliases_are_400_with_auth_on(world, prefix):
    w = world
    bob, alice, v, mine = w["bob"], w["alice"], w["run"], w["bob_run"]
    for who in (bob, alice):  # the owner too: the request is malformed, whoever sends it
        for query in (
            {"run_id": "", "run_uuid": v},
            {"run_id": mine, "run_uuid": v},
            {"run_id": v, "run_uuid": ""},
        ):
            assert who.head(f"{prefix}/runs/get", params=query).status_code == 400  # HEAD: GET's rule
            r = who.get(f"{prefix}/runs/get", params=query)
            assert r.status_code == 400, (query, r.text)
            assert "run_id" in r.json()["message"] and "run_uuid" in r.json()["message"]
        r = who.post(f"{prefix}/runs/set-tag", json={"run_id": mine, "run_uuid": v, "key": "k", "value": "x"})
        assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    # one alias alone, or both the same, still work (old clients send run_uuid; mlflow sends both)
    assert _ok(alice.get(f"{prefix}/runs/get", params={"run_uuid": v}))["run"]["info"]["run_id"] == v
    _ok(alice.post(f"{prefix}/runs/set-tag", json={"run_id": v, "run_uuid": v, "key": "k2", "value": "y"}))
    assert bob.get(f"{prefix}/runs/get", params={"run_uuid": v}).status_code == 403


ALIAS_CASES = [
    ("GET", "runs/get", {"run_id": "", "run_uuid": "{v}"}),
    ("GET", "runs/get", {"run_id": "{mine}", "run_uuid": "{v}"}),
    ("GET", "metrics/get-history", {"run_id": "", "run_uuid": "{v}", "metric_key": "m"}),
    ("GET", "artifacts/list", {"run_id": "{v}", "run_uuid": "{mine}"}),
    ("POST", "runs/log-batch", {"run_id": "", "run_uuid": "{v}", "metrics": []}),
    ("POST", "runs/log-metric", {"run_id": "{mine}", "run_uuid": "{v}", "key": "m", "value": 1, "timestamp": 1}),
    ("POST", "runs/update", {"run_id": "{v}", "run_uuid": "", "status": "KILLED"}),
    ("POST", "runs/delete", {"run_id": "{mine}", "run_uuid": "{v}"}),
    ("POST", "runs/set-tag", {"run_id": 5, "key": "k", "value": "v"}),
    ("GET", "metrics/get-history-bulk-interval", {"run_ids": "", "metric_key": "m"}),
]


@pytest.mark.parametrize(("method", "route", "fields"), ALIAS_CASES, ids=lambda x: str(x)[:40])
def test_empty_or_conflicting_aliases_are_400_with_auth_off(make_app, method, route, fields):
    api = TestClient(make_app())
    exp = _ok(api.post(f"{API}/experiments/create", json={"name": "e"}))["experiment_id"]
    runs = [_ok(api.post(f"{API}/runs/create", json={"experiment_id": exp}))["run"]["info"]["run_id"] for _ in "ab"]
    body = {k: (x.format(v=runs[0], mine=runs[1]) if isinstance(x, str) else x) for k, x in fields.items()}
    for prefix in ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow"):
        if method == "GET":
            r = api.get(f"{prefix}/{route}", params=body)
        else:
            r = api.post(f"{prefix}/{route}", json=body)
        assert r.status_code == 400, r.text
        assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
        named = [k for k in ("run_id", "run_uuid", "run_ids") if k in fields]
        assert any(k in r.json()["message"] for k in named), r.text
    for run_id in runs:  # nothing was written
        run = _ok(api.get(f"{API}/runs/get", params={"run_id": run_id}))["run"]
        assert run["info"]["status"] == "RUNNING" and run["info"]["lifecycle_stage"] == "active"
        assert run["data"].get("metrics", []) == []
        user_tags = [t for t in run["data"].get("tags", []) if not t["key"].startswith(("mlflow.", "hf_mltrack."))]
        assert user_tags == []


def test_duplicate_json_keys_are_read_as_the_handler_reads_them(world):
    """``{"run_id": mine, "run_id": victim}``: the boundary and the handler see the same (last) value."""
    w = world
    bob = w["bob"]
    for first, last in ((w["bob_run"], w["run"]), (w["run"], w["bob_run"])):
        body = f'{{"run_id": "{first}", "run_id": "{last}", "key": "dup", "value": "x"}}'
        r = bob.post(f"{API}/runs/set-tag", content=body, headers={"Content-Type": "application/json"})
        assert r.status_code == (403 if last == w["run"] else 200), r.text
    victim = _ok(w["admin"].get(f"{API}/runs/get", params={"run_id": w["run"]}))["run"]["data"]["tags"]
    assert "dup" not in {t["key"] for t in victim}
    mine = _ok(bob.get(f"{API}/runs/get", params={"run_id": w["bob_run"]}))["run"]["data"]["tags"]
    assert "dup" in {t["key"] for t in mine}


def test_canonical_aliases_still_work_with_auth_off(api):
    exp = _ok(api.post(f"{API}/experiments/create", json={"name": "e"}))["experiment_id"]
    run_id = _ok(api.post(f"{API}/runs/create", json={"experiment_id": exp}))["run"]["info"]["run_id"]
    _ok(api.post(f"{API}/runs/log-metric", json={"run_uuid": run_id, "key": "m", "value": 1.0, "timestamp": 1}))
    _ok(
        api.post(
            f"{API}/runs/log-batch",
            json={"run_id": run_id, "run_uuid": run_id, "params": [{"key": "p", "value": "1"}]},
        )
    )
    hist = _ok(api.get(f"{API}/metrics/get-history", params={"run_uuid": run_id, "metric_key": "m"}))
    assert [m["value"] for m in hist["metrics"]] == [1.0]
    assert _ok(api.get(f"{API}/runs/get", params={"run_uuid": run_id}))["run"]["data"]["params"] == [
        {"key": "p", "value": "1"}
    ]
    missing = api.get(f"{API}/runs/get")
    assert missing.status_code == 400 and "run_id" in missing.json()["message"]


# ---- item 2: sources and locations ----------------------------------------------------------------


def _tally(name: str, results: list[tuple[str, int]], refused: set[int]) -> list[str]:
    """Print the attack counts (pytest -s) and return the cases that were not refused."""
    counts = {
        "tried": len(results),
        "refused": sum(c in refused for _, c in results),
        "failed_open": sum(c < 500 and c not in refused for _, c in results),
        "5xx": sum(c >= 500 for _, c in results),
    }
    print(f"\n{name}: {counts}")
    return [f"{case} -> {code}" for case, code in results if code not in refused]


def test_model_sources_need_read_on_what_they_point_at(world):
    w = world
    bob, alice, art, v = w["bob"], w["alice"], w["art"], w["run"]
    root = w["app"].state.server.artifacts_destination
    attacks = [
        {"source": f"runs:/{v}/model"},
        {"source": f"runs:/{v}/model", "run_id": v},
        {"source": f"runs:/{w['bob_run']}/model", "run_id": v},
        {"source": f"mlflow-artifacts:/{art}/model"},
        {"source": f"mlflow-artifacts://host/{art}/model"},
        {"source": f"mlflow-artifacts:/{art}/model", "run_id": w["bob_run"]},
        {"source": f"{root}/{art}/model"},  # the proxy's own folder, as a local URI
        {"source": "models:/victim-model/1"},
        {"source": f"models:/{w['logged_model']}"},
        {"source": f"runs:/{w['bob_run']}/m", "model_id": w["logged_model"]},
        {"source": "models:/victim-model@nope"},
        {"source": f"runs:/{v}/../../{w['bob_exp']}"},
    ]
    results = []
    for attack in attacks:
        r = bob.post(f"{API}/model-versions/create", json={"name": "bob-model", **attack})
        results.append((json.dumps(attack), r.status_code))
        assert "SECRET" not in r.text
    open_cases = _tally("model-version sources of unreadable runs/experiments/models", results, REFUSED)
    assert open_cases == []
    versions = w["admin"].get(f"{API}/model-versions/search", params={"filter": "name='bob-model'"}).json()
    assert versions.get("model_versions", []) == []

    # once alice lets bob read the run's experiment, he may register its model; her model needs its own grant
    grant = {"experiment_id": w["exp"], "username": "bob", "permission": "READ"}
    _ok(alice.post(f"{API}/experiments/permissions/create", json=grant))
    mv = _ok(bob.post(f"{API}/model-versions/create", json={"name": "bob-model", "source": f"runs:/{v}/model"}))
    assert mv["model_version"]["version"] == "1"
    _ok(
        bob.post(
            f"{API}/model-versions/create",
            json={"name": "bob-model", "source": f"mlflow-artifacts:/{art}/model"},
        )
    )
    r = bob.post(f"{API}/model-versions/create", json={"name": "bob-model", "source": "models:/victim-model/1"})
    assert r.status_code == 403 and "source" in r.json()["message"]
    grant = {"name": "victim-model", "username": "bob", "permission": "READ"}
    _ok(alice.post(f"{API}/registered-models/permissions/create", json=grant))
    _ok(bob.post(f"{API}/model-versions/create", json={"name": "bob-model", "source": "models:/victim-model/1"}))


def test_download_uri_needs_read_on_the_source(world):
    w = world
    bob, alice = w["bob"], w["alice"]
    # bob may read alice's model, but not the experiment its version's files are in
    _ok(
        alice.post(
            f"{API}/registered-models/permissions/create",
            json={"name": "victim-model", "username": "bob", "permission": "READ"},
        )
    )
    assert _ok(bob.get(f"{API}/registered-models/get", params={"name": "victim-model"}))
    r = bob.get(f"{API}/model-versions/get-download-uri", params={"name": "victim-model", "version": "1"})
    assert r.status_code == 403, r.text
    _ok(
        alice.post(
            f"{API}/experiments/permissions/create",
            json={"experiment_id": w["exp"], "username": "bob", "permission": "READ"},
        )
    )
    uri = _ok(bob.get(f"{API}/model-versions/get-download-uri", params={"name": "victim-model", "version": "1"}))
    assert w["run"] in uri["artifact_uri"]


@pytest.mark.parametrize("auth", [True, False], ids=["auth-on", "auth-off"])
def test_artifact_location_inside_another_experiments_folder_is_refused(world, make_app, auth):
    w = world
    client = w["bob"] if auth else TestClient(make_app())
    exp = w["exp"] if auth else _ok(client.post(f"{API}/experiments/create", json={"name": "other"}))["experiment_id"]
    root = w["app"].state.server.artifacts_destination
    bad = [
        f"mlflow-artifacts:/{exp}",
        f"mlflow-artifacts:/{exp}/some-run/artifacts",
        f"mlflow-artifacts:/{exp}/{w['run']}/artifacts",
        f"mlflow-artifacts://host/{exp}/x",
        f"mlflow-artifacts:/{exp}%2Fx",  # an encoded separator
        f"mlflow-artifacts:///{exp}/x",
        f"{root}/{exp}/x",  # the same folder by its local path
        "mlflow-artifacts:/99999/future",  # the folder a later experiment will get
    ]
    results = []
    for i, location in enumerate(bad):
        r = client.post(f"{API}/experiments/create", json={"name": f"sneaky-{i}", "artifact_location": location})
        results.append((location, r.status_code))
        if r.status_code in (400, 403):
            assert "artifact_location" in r.json()["message"]
    assert (
        _tally(
            f"artifact_location inside another experiment's folder ({'auth on' if auth else 'auth off'})",
            results,
            {400, 403},
        )
        == []
    )
    fine = client.post(
        f"{API}/experiments/create",
        json={"name": "own-folder", "artifact_location": "mlflow-artifacts:/team-a/x"},
    )
    assert _ok(fine)["experiment_id"]
    # and a folder inside that custom location is that experiment's
    r = client.post(
        f"{API}/experiments/create",
        json={"name": "inside", "artifact_location": "mlflow-artifacts:/team-a/x/y"},
    )
    assert r.status_code == 400 and "artifact_location" in r.json()["message"]


def test_resolution_uses_the_run_cache(world):
    """Logging to a run checks its experiment once; later calls reuse the cached answer."""
    w = world
    manager = w["app"].state.server.auth
    manager._run_experiments.clear()
    _ok(
        w["alice"].post(f"{API}/runs/log-metric", json={"run_uuid": w["run"], "key": "x", "value": 1.0, "timestamp": 1})
    )
    assert manager._run_experiments == {w["run"]: w["exp"]}


def test_every_declaration_can_be_resolved(world):
    """Each object a route declares has a resolver, and a path field is a parameter of that route's path
    (a declaration naming the wrong field would leave the real one unchecked)."""
    from hf_mltrack.server.auth.policy import rule_for
    from hf_mltrack.server.boundary import RESOLVERS

    problems = []
    for entry in world["app"].state.routes:
        for method in entry.methods:
            rule = rule_for(method, entry.path)
            for t in rule.targets if rule is not None else ():
                if t.kind != "self" and t.kind not in RESOLVERS:
                    problems.append(f"{method} {entry.path}: no resolver for kind {t.kind!r}")
                if t.where == "path" and f"{{{t.field}" not in entry.path:
                    problems.append(f"{method} {entry.path}: {t.field!r} is not a path parameter")
                if t.where == "body" and method == "GET":
                    problems.append(f"{method} {entry.path}: a GET has no body to read {t.field!r} from")
    assert problems == []


def test_a_new_route_is_one_declaration_and_one_resolver(world, monkeypatch):
    """What another router does to add a route acting on a new kind of object (see boundary's docstring):
    the handler receives only the canonical field, strangers are refused, aliases are checked."""
    from hf_mltrack.server import boundary
    from hf_mltrack.server.auth import policy

    w = world
    app = w["app"]
    seen: list[dict] = []

    def handler(request: Request) -> dict:
        seen.append(dict(request.query_params))
        return {"ok": True}

    path = f"{API}/widgets/get"
    app.router.add_api_route(path, handler, methods=["GET"])
    app.state.routes.add(path, {"GET"})
    rule = policy.Rule("widget", "READ", "widget_id", "query", aliases=("widget_uuid",))
    monkeypatch.setitem(policy.POLICIES, ("GET", "/mlflow/widgets/get"), rule)

    def resolve_widget(ctx: Any, value: Any, values: Any) -> Any:  # a widget here is a run
        exp = ctx.scalar("SELECT experiment_id FROM runs WHERE run_uuid = :v", v=value)
        return [] if exp is None else [("experiment", str(exp))]

    monkeypatch.setitem(boundary.RESOLVERS, "widget", resolve_widget)

    assert _ok(w["alice"].get(path, params={"widget_uuid": w["run"]})) == {"ok": True}
    assert seen == [{"widget_id": w["run"]}]  # the alias was rewritten to the canonical field
    assert w["bob"].get(path, params={"widget_id": w["run"]}).status_code == 403
    assert w["bob"].get(path, params={"widget_id": "", "widget_uuid": w["run"]}).status_code == 400
    assert _ok(w["bob"].get(path, params={"widget_id": w["bob_run"]})) == {"ok": True}
    assert len(seen) == 2


def test_local_artifact_location_inside_another_experiments_folder_is_refused(make_app, tmp_path):
    root = tmp_path / "artroot"
    api = TestClient(make_app(serve_artifacts=False, default_artifact_root=str(root)))
    exp = _ok(api.post(f"{API}/experiments/create", json={"name": "first"}))["experiment_id"]
    location = _ok(api.get(f"{API}/experiments/get", params={"experiment_id": exp}))["experiment"]
    assert location["artifact_location"].rstrip("/").endswith(f"/{exp}")
    for i, bad in enumerate([f"{root}/{exp}/x", (root / exp).as_uri() + "/y", f"{root}/424242"]):
        r = api.post(f"{API}/experiments/create", json={"name": f"bad-{i}", "artifact_location": bad})
        assert r.status_code == 400 and "artifact_location" in r.json()["message"], (bad, r.text)
    ok = _ok(api.post(f"{API}/experiments/create", json={"name": "team", "artifact_location": f"{root}/team-a"}))
    r = api.post(f"{API}/experiments/create", json={"name": "nested", "artifact_location": f"{root}/team-a/sub"})
    assert r.status_code == 400 and f"experiment {ok['experiment_id']}" in r.json()["message"]


@pytest.mark.parametrize("prefix", ["/api/2.0/mlflow", "/ajax-api/2.0/mlflow"])
@pytest.mark.parametrize("route", ["runs/outputs", "runs/log-inputs"])
def test_a_run_may_only_name_logged_models_its_user_can_read(world, prefix, route):
    """Linking the victim's logged model to one's own run (as output or input) needs READ on that model."""
    bob, admin = world["bob"], world["admin"]
    own = _ok(bob.post(f"{prefix}/logged-models", json={"experiment_id": world["bob_exp"], "name": "bobs-lm"}))
    own_id = own["model"]["info"]["model_id"]
    victim = {"model_id": world["logged_model"]}
    for models in ([victim], [{"model_id": own_id}, victim]):
        r = bob.post(f"{prefix}/{route}", json={"run_id": world["bob_run"], "models": models})
        assert r.status_code == 403, r.text
        assert "logged model" in r.json()["message"]
    _ok(bob.post(f"{prefix}/{route}", json={"run_id": world["bob_run"], "models": [{"model_id": own_id}]}))
    run = _ok(admin.get(f"{prefix}/runs/get", params={"run_id": world["bob_run"]}))["run"]
    linked = run.get("outputs" if route == "runs/outputs" else "inputs", {}).get(
        "model_outputs" if route == "runs/outputs" else "model_inputs", []
    )
    assert [m["model_id"] for m in linked] == [own_id]
    # a malformed entry is the request model's 400, not a refusal nor a 5xx
    assert bob.post(f"{prefix}/{route}", json={"run_id": world["bob_run"], "models": ["x"]}).status_code == 400


@pytest.mark.parametrize("prefix", ["/api/2.0/mlflow", "/ajax-api/2.0/mlflow"])
def test_get_by_name_is_authorized_at_the_boundary(world, prefix):
    """The name is resolved to its experiment before any handler runs: 403 without READ (as MLflow), the
    handler's 404 for a name nobody holds, and nothing of the victim's in either answer."""
    bob, alice = world["bob"], world["alice"]
    refused = bob.get(f"{prefix}/experiments/get-by-name", params={"experiment_name": "victim-exp"})
    assert refused.status_code == 403 and refused.json()["error_code"] == "PERMISSION_DENIED"
    assert "SECRET" not in refused.text and world["exp"] not in refused.json()["message"]
    missing = bob.get(f"{prefix}/experiments/get-by-name", params={"experiment_name": "no-such-exp"})
    assert missing.status_code == 404 and missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    got = _ok(alice.get(f"{prefix}/experiments/get-by-name", params={"experiment_name": "victim-exp"}))
    assert got["experiment"]["experiment_id"] == world["exp"]
    assert _ok(bob.get(f"{prefix}/experiments/get-by-name", params={"experiment_name": "bob-exp"}))
    assert bob.get(f"{prefix}/experiments/get-by-name").status_code == 400


@pytest.mark.parametrize("prefix", ["/api/2.0/mlflow", "/ajax-api/2.0/mlflow"])
@pytest.mark.parametrize("route", ["runs/log-metric", "runs/log-batch"])
def test_a_metric_may_only_be_written_to_logged_models_its_user_can_edit(world, prefix, route):
    """A metric point naming a logged model (MLflow 3 ``model_id``) writes to that model: EDIT on its
    experiment, like the model's own routes; READ is not enough; a missing model is the handler's 404."""
    bob, alice, admin = world["bob"], world["alice"], world["admin"]
    victim = world["logged_model"]
    own = _ok(bob.post(f"{prefix}/logged-models", json={"experiment_id": world["bob_exp"], "name": "bobs-lm"}))
    own_id = own["model"]["info"]["model_id"]

    def send(*model_ids: str) -> Any:
        points = [{"key": "acc", "value": 0.01, "timestamp": 1, "step": 0, "model_id": m} for m in model_ids]
        if route == "runs/log-metric":
            return bob.post(f"{prefix}/{route}", json={"run_id": world["bob_run"], **points[0]})
        plain = {"key": "plain", "value": 1.0, "timestamp": 1, "step": 0}
        return bob.post(f"{prefix}/{route}", json={"run_id": world["bob_run"], "metrics": [plain, *points]})

    def victim_metrics() -> list:
        got = _ok(admin.get(f"{prefix}/logged-models/{victim}"))["model"]
        return got.get("data", {}).get("metrics", [])

    for ids in ((victim,), (own_id, victim))[: 1 if route == "runs/log-metric" else 2]:
        r = send(*ids)
        assert r.status_code == 403, r.text
        assert "logged model" in r.json()["message"] and "EDIT" in r.json()["message"]
    assert victim_metrics() == []
    # READ on the victim's experiment is not enough to write to its model
    _ok(
        alice.post(
            f"{prefix}/experiments/permissions/create",
            json={"experiment_id": world["exp"], "username": "bob", "permission": "READ"},
        )
    )
    assert send(victim).status_code == 403
    assert victim_metrics() == []
    # a model id that does not exist: the handler's 404, the same for everyone (nothing to probe)
    missing = send("m-00000000000000000000000000000000")
    assert missing.status_code == 404 and missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST", missing.text
    # one's own model, and with EDIT the victim's
    _ok(send(own_id))
    _ok(
        alice.patch(
            f"{prefix}/experiments/permissions/update",
            json={"experiment_id": world["exp"], "username": "bob", "permission": "EDIT"},
        )
    )
    _ok(send(victim))
    assert [m["value"] for m in victim_metrics()] == [0.01]
