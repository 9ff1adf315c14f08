"""basic-auth: users, per-resource permissions, deny by default, and the route-policy completeness check."""

from __future__ import annotations

import base64

import pytest
from fastapi.testclient import TestClient

from hf_mltrack.exceptions import InvalidParameterError, MlTrackException

ADMIN_PASSWORD = "admin-password-123"

API = "/api/2.0/mlflow"
PROXY = "/api/2.0/mlflow-artifacts/artifacts"
ADMIN = ("admin", ADMIN_PASSWORD)
ALICE = ("alice", "alice-password-1")
BOB = ("bob", "bob-password-123")


@pytest.fixture
def auth_app(make_app, monkeypatch):
    def factory(**kwargs):
        monkeypatch.setenv("HF_MLTRACK_AUTH_ADMIN_PASSWORD", ADMIN_PASSWORD)
        app = make_app(auth="basic-auth", **kwargs)
        admin = as_user(app, ADMIN)
        for name, password in (ALICE, BOB):
            r = admin.post(f"{API}/users/create", json={"username": name, "password": password})
            assert r.status_code == 200, r.text
        return app

    return factory


@pytest.fixture
def app(auth_app):
    return auth_app()


def as_user(app, creds):
    token = base64.b64encode(f"{creds[0]}:{creds[1]}".encode()).decode()
    return TestClient(app, headers={"Authorization": f"Basic {token}"})


def test_refuses_to_start_without_admin_password(make_app):
    with pytest.raises(MlTrackException, match="HF_MLTRACK_AUTH_ADMIN_PASSWORD"):
        make_app(auth="basic-auth")


def test_refuses_short_admin_password(make_app, monkeypatch):
    monkeypatch.setenv("HF_MLTRACK_AUTH_ADMIN_PASSWORD", "short")
    with pytest.raises(InvalidParameterError, match="at least 12"):
        make_app(auth="basic-auth")


def test_unknown_app_name(make_app):
    with pytest.raises(InvalidParameterError, match="basic-auth"):
        make_app(auth="ldap")


def test_authentication_required(app):
    anon = TestClient(app)
    assert anon.get("/health").status_code == 200  # liveness probes stay public
    r = anon.get(f"{API}/experiments/get", params={"experiment_id": "0"})
    assert r.status_code == 401
    assert r.json()["error_code"] == "UNAUTHENTICATED"
    assert r.headers["www-authenticate"].startswith("Basic")
    assert anon.get("/openapi.json").status_code == 401
    for creds in (("alice", "wrong-password-1"), ("nobody", "whatever-password"), ("", "")):
        assert as_user(app, creds).get(f"{API}/experiments/search").status_code == 401
    bad_header = anon.get(f"{API}/experiments/search", headers={"Authorization": "Basic !!!notbase64"})
    assert bad_header.status_code == 401
    assert as_user(app, ALICE).get(f"{API}/experiments/get", params={"experiment_id": "0"}).status_code == 200


def test_user_management_is_admin_only(app):
    alice = as_user(app, ALICE)
    admin = as_user(app, ADMIN)
    r = alice.post(f"{API}/users/create", json={"username": "carol", "password": "carol-password-1"})
    assert r.status_code == 403
    assert alice.patch(f"{API}/users/update-admin", json={"username": "alice", "is_admin": True}).status_code == 403
    assert alice.request("DELETE", f"{API}/users/delete", json={"username": "bob"}).status_code == 403
    user = admin.get(f"{API}/users/get", params={"username": "alice"}).json()["user"]
    assert user["username"] == "alice" and user["is_admin"] is False
    assert "password" not in str(user)
    assert alice.get(f"{API}/users/get", params={"username": "alice"}).status_code == 200
    assert alice.get(f"{API}/users/get", params={"username": "bob"}).status_code == 403
    assert alice.get(f"{API}/users/current").json()["user"]["username"] == "alice"

    assert admin.patch(f"{API}/users/update-admin", json={"username": "alice", "is_admin": True}).status_code == 200
    assert (
        alice.post(f"{API}/users/create", json={"username": "carol", "password": "carol-password-1"}).status_code == 200
    )
    assert admin.request("DELETE", f"{API}/users/delete", json={"username": "carol"}).status_code == 200
    assert as_user(app, ("carol", "carol-password-1")).get(f"{API}/experiments/search").status_code == 401


@pytest.mark.parametrize(
    "password", ["", "short", "bob", "aaaaaaaaaaaaaaaa"], ids=["empty", "short", "name", "repetitive"]
)
def test_weak_passwords_refused(app, password):
    admin = as_user(app, ADMIN)
    r = admin.post(f"{API}/users/create", json={"username": "dave", "password": password})
    assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    r = admin.patch(f"{API}/users/update-password", json={"username": "bob", "password": password})
    assert r.status_code == 400
    assert as_user(app, BOB).get(f"{API}/users/current").status_code == 200  # unchanged


def test_users_change_only_their_own_password(app):
    alice, bob = as_user(app, ALICE), as_user(app, BOB)
    hijack = bob.patch(f"{API}/users/update-password", json={"username": "alice", "password": "bob-owns-alice-now"})
    assert hijack.status_code == 403
    assert alice.get(f"{API}/users/current").status_code == 200
    mine = bob.patch(f"{API}/users/update-password", json={"username": "bob", "password": "bob-new-password-9"})
    assert mine.status_code == 200
    assert as_user(app, BOB).get(f"{API}/users/current").status_code == 401  # the cache does not keep old creds
    assert as_user(app, ("bob", "bob-new-password-9")).get(f"{API}/users/current").status_code == 200


def _experiment_with_run(client, name: str) -> tuple[str, str]:
    exp_id = client.post(f"{API}/experiments/create", json={"name": name}).json()["experiment_id"]
    run = client.post(f"{API}/runs/create", json={"experiment_id": exp_id}).json()["run"]
    return exp_id, run["info"]["run_id"]


def test_permission_matrix_default_read(app):
    alice, bob, admin = as_user(app, ALICE), as_user(app, BOB), as_user(app, ADMIN)
    exp_id, run_id = _experiment_with_run(alice, "alice-exp")

    # creator has MANAGE; bob has the default READ
    perm = alice.get(f"{API}/experiments/permissions/get", params={"experiment_id": exp_id, "username": "alice"})
    assert perm.json()["experiment_permission"]["permission"] == "MANAGE"
    assert bob.get(f"{API}/runs/get", params={"run_id": run_id}).status_code == 200
    assert bob.get(f"{API}/metrics/get-history", params={"run_id": run_id, "metric_key": "m"}).status_code == 200
    metric = {"run_id": run_id, "key": "m", "value": 1, "timestamp": 1}
    assert bob.post(f"{API}/runs/log-metric", json=metric).status_code == 403
    assert bob.post(f"{API}/runs/log-batch", json={"run_id": run_id, "metrics": [metric]}).status_code == 403
    assert bob.post(f"{API}/runs/create", json={"experiment_id": exp_id}).status_code == 403
    assert bob.post(f"{API}/experiments/update", json={"experiment_id": exp_id, "new_name": "x"}).status_code == 403
    assert (
        bob.post(
            f"{API}/experiments/permissions/create",
            json={"experiment_id": exp_id, "username": "bob", "permission": "MANAGE"},
        ).status_code
        == 403
    )

    # EDIT lets bob log, not delete or manage
    grant = alice.post(
        f"{API}/experiments/permissions/create",
        json={"experiment_id": exp_id, "username": "bob", "permission": "EDIT"},
    )
    assert grant.status_code == 200
    assert bob.post(f"{API}/runs/log-metric", json=metric).status_code == 200
    assert bob.post(f"{API}/runs/log-batch", json={"run_uuid": run_id, "metrics": [metric]}).status_code == 200
    assert bob.post(f"{API}/runs/delete", json={"run_id": run_id}).status_code == 403
    assert bob.post(f"{API}/experiments/delete", json={"experiment_id": exp_id}).status_code == 403

    # MANAGE lets bob delete; the admin can do anything
    alice.patch(
        f"{API}/experiments/permissions/update",
        json={"experiment_id": exp_id, "username": "bob", "permission": "MANAGE"},
    )
    assert bob.post(f"{API}/runs/delete", json={"run_id": run_id}).status_code == 200
    assert admin.post(f"{API}/runs/restore", json={"run_id": run_id}).status_code == 200

    # revoking falls back to the default
    alice.request("DELETE", f"{API}/experiments/permissions/delete", json={"experiment_id": exp_id, "username": "bob"})
    assert bob.post(f"{API}/runs/log-metric", json=metric).status_code == 403


def test_invalid_permission_name_refused(app):
    alice = as_user(app, ALICE)
    exp_id, _ = _experiment_with_run(alice, "e")
    r = alice.post(
        f"{API}/experiments/permissions/create",
        json={"experiment_id": exp_id, "username": "bob", "permission": "OWNER"},
    )
    assert r.status_code == 400


def test_default_no_permissions_denies_and_filters(auth_app):
    app = auth_app(auth_default_permission="NO_PERMISSIONS")
    alice, bob = as_user(app, ALICE), as_user(app, BOB)
    exp_id, run_id = _experiment_with_run(alice, "private")
    bob_exp, _ = _experiment_with_run(bob, "bobs")  # bob may create his own experiments

    assert bob.get(f"{API}/experiments/get", params={"experiment_id": exp_id}).status_code == 403
    assert bob.get(f"{API}/runs/get", params={"run_id": run_id}).status_code == 403
    assert bob.get(f"{API}/experiments/get-by-name", params={"experiment_name": "private"}).status_code == 403
    names = {e["name"] for e in bob.post(f"{API}/experiments/search", json={}).json()["experiments"]}
    assert names == {"bobs"}
    runs = bob.post(f"{API}/runs/search", json={"experiment_ids": [exp_id, bob_exp]}).json()["runs"]
    assert {r["info"]["experiment_id"] for r in runs} == {bob_exp}
    assert bob.post(f"{API}/runs/search", json={"experiment_ids": [exp_id]}).json()["runs"] == []
    bulk = bob.get(f"{API}/metrics/get-history-bulk-interval", params={"run_ids": [run_id], "metric_key": "m"})
    assert bulk.status_code == 403
    assert bob.get(f"{API}/artifacts/list", params={"run_id": run_id}).status_code == 403

    alice.post(
        f"{API}/experiments/permissions/create",
        json={"experiment_id": exp_id, "username": "bob", "permission": "READ"},
    )
    assert bob.get(f"{API}/runs/get", params={"run_id": run_id}).status_code == 200
    names = {e["name"] for e in bob.post(f"{API}/experiments/search", json={}).json()["experiments"]}
    assert names == {"bobs", "private"}


def test_artifact_proxy_guarded_by_experiment(auth_app):
    app = auth_app(auth_default_permission="NO_PERMISSIONS")
    alice, bob = as_user(app, ALICE), as_user(app, BOB)
    exp_id, run_id = _experiment_with_run(alice, "arts")
    path = f"{exp_id}/{run_id}/artifacts/model.bin"
    assert alice.put(f"{PROXY}/{path}", content=b"weights").status_code == 200
    assert alice.get(f"{PROXY}/{path}").content == b"weights"
    assert bob.get(f"{PROXY}/{path}").status_code == 403
    assert bob.get(PROXY, params={"path": f"{exp_id}/{run_id}/artifacts"}).status_code == 403
    assert bob.put(f"{PROXY}/{path}", content=b"evil").status_code == 403
    assert bob.delete(f"{PROXY}/{path}").status_code == 403
    # folders that are not an experiment's are admin-only
    assert alice.put(f"{PROXY}/shared/x.bin", content=b"x").status_code == 403
    assert as_user(app, ADMIN).put(f"{PROXY}/shared/x.bin", content=b"x").status_code == 200
    assert alice.get(f"{PROXY}/{path}").content == b"weights"


def test_run_creator_is_the_authenticated_user(app):
    alice = as_user(app, ALICE)
    exp_id = alice.post(f"{API}/experiments/create", json={"name": "mine"}).json()["experiment_id"]
    run = alice.post(f"{API}/runs/create", json={"experiment_id": exp_id, "user_id": "mallory"}).json()["run"]
    assert run["info"]["user_id"] == "alice"
    # the Default experiment is READ for users unless an admin grants more, as in MLflow
    assert alice.post(f"{API}/runs/create", json={"experiment_id": "0"}).status_code == 403


def test_every_route_has_a_policy(app):
    """Deny by default: a new route without a policy entry fails this test (and is refused at runtime)."""
    from hf_mltrack.server.auth.policy import rule_for

    table = list(app.state.routes)
    assert len(table) > 60
    missing = [f"{m} {e.path}" for e in table for m in e.methods if rule_for(m, e.path) is None]
    assert missing == []
    # the table covers everything the app documents
    documented = {(m.upper(), p) for p, ops in app.openapi()["paths"].items() for m in ops}
    registered = {(m, e.path.replace(":path}", "}")) for e in table for m in e.methods}
    assert documented <= registered


def test_route_without_policy_is_refused(app):
    def unguarded() -> dict:
        return {"secret": "data"}

    app.router.add_api_route(f"{API}/unguarded", unguarded, methods=["GET"])
    r = as_user(app, ALICE).get(f"{API}/unguarded")
    assert r.status_code == 403 and "No access policy" in r.json()["message"]
    assert as_user(app, ADMIN).get(f"{API}/unguarded").status_code == 403  # even for admins: fix the policy table


def test_permission_check_body_must_be_json(app):
    r = as_user(app, BOB).post(
        f"{API}/runs/log-batch", content=b"{broken", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400


def test_ajax_prefix_is_guarded_too(auth_app):
    app = auth_app(auth_default_permission="NO_PERMISSIONS")
    alice, bob = as_user(app, ALICE), as_user(app, BOB)
    exp_id, run_id = _experiment_with_run(alice, "ajax")
    assert bob.get("/ajax-api/2.0/mlflow/runs/get", params={"run_id": run_id}).status_code == 403
    assert alice.get("/ajax-api/2.0/mlflow/runs/get", params={"run_id": run_id}).status_code == 200
