"""``/api/2.0/hf-mltrack/workspaces/*``: the UI's saved panel layouts per experiment, validated, and
under the experiment's permissions."""

from __future__ import annotations

import base64

import pytest

API = "/api/2.0/hf-mltrack/workspaces"
SPEC = {
    "panels": [
        {"kind": "line", "title": "Loss", "metrics": ["loss", "eval_loss"], "smoothing": 0.6, "group_by": "param:lr"},
        {"kind": "scatter", "x": "param:lr", "y": "metric:eval_loss", "color": "param:seed"},
        {"kind": "markdown", "text": "## Notes\n\nlr 3e-4 wins.", "width": 2},
    ],
    "filter": "params.seed = '1'",
}


def test_save_list_get_replace_delete(api):
    exp = api.post("/api/2.0/mlflow/experiments/create", json={"name": "ws"}).json()["experiment_id"]
    saved = api.post(f"{API}/save", json={"experiment_id": exp, "name": "sweep", "spec": SPEC})
    assert saved.status_code == 200, saved.text
    ws = saved.json()["workspace"]
    assert ws["name"] == "sweep" and ws["experiment_id"] == exp
    assert [p["kind"] for p in ws["spec"]["panels"]] == ["line", "scatter", "markdown"]
    assert ws["spec"]["panels"][0]["band"] == "minmax"  # defaults filled in
    got = api.get(f"{API}/get", params={"experiment_id": exp, "name": "sweep"}).json()["workspace"]
    assert got["spec"] == ws["spec"]
    # saving the same name replaces the spec
    api.post(f"{API}/save", json={"experiment_id": exp, "name": "sweep", "spec": {"panels": []}})
    api.post(f"{API}/save", json={"experiment_id": exp, "name": "another", "spec": SPEC})
    listed = api.get(f"{API}/list", params={"experiment_id": exp}).json()["workspaces"]
    assert [(w["name"], len(w["spec"]["panels"])) for w in listed] == [("another", 3), ("sweep", 0)]
    assert api.request("DELETE", f"{API}/delete", json={"experiment_id": exp, "name": "sweep"}).json() == {}
    missing = api.get(f"{API}/get", params={"experiment_id": exp, "name": "sweep"})
    assert missing.status_code == 404 and "sweep" in missing.json()["message"]
    # another experiment's workspaces are its own
    assert api.get(f"{API}/list", params={"experiment_id": "0"}).json()["workspaces"] == []


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"panels": [{"kind": "pie"}]}, "kind"),
        ({"panels": [{"kind": "line", "smoothing": 2}]}, "smoothing"),
        ({"panels": [{"kind": "line", "script": "x"}]}, "script"),
        ({"panels": [{"kind": "markdown"}] * 49}, "panels"),
    ],
    ids=["unknown-kind", "smoothing-range", "unknown-field", "too-many-panels"],
)
def test_bad_specs_are_400s_naming_the_field(api, spec, field):
    r = api.post(f"{API}/save", json={"experiment_id": "0", "name": "bad", "spec": spec})
    assert r.status_code == 400, r.text
    assert field in r.text


def test_unknown_experiment_is_404(api):
    r = api.post(f"{API}/save", json={"experiment_id": "424242", "name": "x", "spec": {}})
    assert r.status_code == 404


def test_workspaces_follow_the_experiment_permissions(make_app, monkeypatch):
    from fastapi.testclient import TestClient

    monkeypatch.setenv("HF_MLTRACK_AUTH_ADMIN_PASSWORD", "admin-password-123")
    monkeypatch.setenv("HF_MLTRACK_AUTH_ADMIN_USERNAME", "admin")
    app = make_app(auth="basic-auth", auth_default_permission="NO_PERMISSIONS")

    def h(user: str, pw: str) -> dict:
        return {"Authorization": "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()}

    with TestClient(app) as c:
        admin = h("admin", "admin-password-123")
        exp = c.post("/api/2.0/mlflow/experiments/create", json={"name": "p"}, headers=admin).json()["experiment_id"]
        assert (
            c.post(
                "/api/2.0/mlflow/users/create", json={"username": "r", "password": "reader-pass-123"}, headers=admin
            ).status_code
            == 200
        )
        c.post(
            "/api/2.0/mlflow/experiments/permissions/create",
            json={"experiment_id": exp, "username": "r", "permission": "READ"},
            headers=admin,
        )
        assert (
            c.post(f"{API}/save", json={"experiment_id": exp, "name": "w", "spec": SPEC}, headers=admin).status_code
            == 200
        )
        reader = h("r", "reader-pass-123")
        assert c.get(f"{API}/list", params={"experiment_id": exp}, headers=reader).status_code == 200
        denied = c.post(f"{API}/save", json={"experiment_id": exp, "name": "w2", "spec": SPEC}, headers=reader)
        assert denied.status_code == 403
        assert c.get(f"{API}/list", params={"experiment_id": "0"}, headers=reader).status_code == 403
