"""Registry endpoints: MLflow's paths and shapes, safe sources, permissions, and the client over HTTP."""

from __future__ import annotations

import base64

import pytest
from fastapi.testclient import TestClient

API = "/api/2.0/mlflow"
PROXY = "/api/2.0/mlflow-artifacts/artifacts"


def _logged_model(api) -> tuple[str, str]:
    """A run with a model folder (an MLmodel file) uploaded through the proxy: (run_id, artifact_uri)."""
    run = api.post(f"{API}/runs/create", json={"experiment_id": "0"}).json()["run"]
    uri = run["info"]["artifact_uri"]
    api.put(f"{PROXY}/{uri.split(':/', 1)[1]}/model/MLmodel", content=b"flavors: {}\n")
    return run["info"]["run_id"], uri


def test_registry_rest_flow(api):
    created = api.post(
        f"{API}/registered-models/create", json={"name": "llm", "tags": [{"key": "task", "value": "sft"}]}
    )
    assert created.json()["registered_model"]["name"] == "llm"
    run_id, uri = _logged_model(api)
    v1 = api.post(f"{API}/model-versions/create", json={"name": "llm", "source": f"runs:/{run_id}/model"}).json()
    assert v1["model_version"]["version"] == "1"
    assert v1["model_version"]["source"] == f"{uri}/model" and v1["model_version"]["run_id"] == run_id
    v2 = api.post(
        f"{API}/model-versions/create", json={"name": "llm", "source": f"{uri}/model", "run_id": run_id}
    ).json()
    assert v2["model_version"]["version"] == "2"

    moved = api.post(f"{API}/model-versions/transition-stage", json={"name": "llm", "version": "1", "stage": "staging"})
    assert moved.json()["model_version"]["current_stage"] == "Staging"
    api.post(
        f"{API}/model-versions/transition-stage",
        json={"name": "llm", "version": 2, "stage": "Production", "archive_existing_versions": False},
    )
    latest = api.post(f"{API}/registered-models/get-latest-versions", json={"name": "llm", "stages": ["Production"]})
    assert [v["version"] for v in latest.json()["model_versions"]] == ["2"]
    assert (
        api.post(f"{API}/registered-models/alias", json={"name": "llm", "alias": "champion", "version": "2"}).json()
        == {}
    )
    by_alias = api.get(f"{API}/registered-models/alias", params={"name": "llm", "alias": "champion"}).json()
    assert by_alias["model_version"]["version"] == "2"

    api.post(
        f"{API}/model-versions/set-tag",
        json={"name": "llm", "version": "2", "key": "approved", "value": "yes"},
    )
    api.patch(f"{API}/model-versions/update", json={"name": "llm", "version": "2", "description": "best"})
    got = api.get(f"{API}/model-versions/get", params={"name": "llm", "version": "2"}).json()["model_version"]
    assert got["description"] == "best" and got["tags"] == [{"key": "approved", "value": "yes"}]
    assert got["aliases"] == ["champion"]
    found = api.get(f"{API}/model-versions/search", params={"filter": "name='llm'"}).json()["model_versions"]
    assert sorted(v["version"] for v in found) == ["1", "2"]
    models = api.get(f"{API}/registered-models/search", params={"filter": "name LIKE 'll%'"}).json()
    assert [m["name"] for m in models["registered_models"]] == ["llm"]
    assert api.get(f"{API}/model-versions/get-download-uri", params={"name": "llm", "version": "1"}).json() == {
        "artifact_uri": f"{uri}/model"
    }

    refused = api.request("DELETE", f"{API}/model-versions/delete", json={"name": "llm", "version": "2"})
    assert refused.status_code == 400 and "Production" in refused.json()["message"]
    missing = api.get(f"{API}/model-versions/get", params={"name": "llm", "version": "0"})
    assert missing.status_code in (400, 404)
    history = api.get(f"{API}/model-versions/history", params={"name": "llm"}).json()["events"]
    assert [(e["event"], e["to"]) for e in history] == [
        ("stage_transition", "Staging"),
        ("stage_transition", "Production"),
        ("alias_set", "2"),
    ]
    renamed = api.post(f"{API}/registered-models/rename", json={"name": "llm", "new_name": "llm-v2"}).json()
    assert renamed["registered_model"]["name"] == "llm-v2"


@pytest.mark.parametrize(
    "source",
    [
        "/etc",
        "file:///etc/passwd",
        "http://169.254.169.254/latest",
        "mlflow-artifacts:/../../etc",
        "mlflow-artifacts:/0/%2e%2e/%2e%2e/x",
        "s3://other-bucket/model",
        "runs:/RUN/../../../etc",
        "models:/../x/1",
    ],
)
def test_model_version_sources_are_validated(api, source):
    api.post(f"{API}/registered-models/create", json={"name": "m"})
    run_id, _ = _logged_model(api)
    r = api.post(f"{API}/model-versions/create", json={"name": "m", "source": source.replace("RUN", run_id)})
    assert r.status_code in (400, 404), r.text
    assert api.get(f"{API}/model-versions/search", params={"filter": "name='m'"}).json()["model_versions"] == []


# ---- permissions ------------------------------------------------------------------------------------
def _client(app, user: str, password: str) -> TestClient:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return TestClient(app, headers={"Authorization": f"Basic {token}"})


@pytest.fixture
def auth_app(make_app, monkeypatch):
    monkeypatch.setenv("HF_MLTRACK_AUTH_ADMIN_PASSWORD", "admin-password-123")
    app = make_app(auth="basic-auth", auth_default_permission="NO_PERMISSIONS")
    admin = _client(app, "admin", "admin-password-123")
    for name in ("alice", "bob"):
        assert (
            admin.post(f"{API}/users/create", json={"username": name, "password": f"{name}-password-12"}).status_code
            == 200
        )
    return app


def test_registry_permissions(auth_app):
    alice = _client(auth_app, "alice", "alice-password-12")
    bob = _client(auth_app, "bob", "bob-password-12")
    exp = alice.post(f"{API}/experiments/create", json={"name": "alice-exp"}).json()["experiment_id"]
    run = alice.post(f"{API}/runs/create", json={"experiment_id": exp}).json()["run"]
    alice.put(f"{PROXY}/{run['info']['artifact_uri'].split(':/', 1)[1]}/model/MLmodel", content=b"flavors: {}\n")
    source = f"runs:/{run['info']['run_id']}/model"

    assert alice.post(f"{API}/registered-models/create", json={"name": "private"}).status_code == 200
    assert alice.post(f"{API}/model-versions/create", json={"name": "private", "source": source}).status_code == 200
    assert bob.get(f"{API}/registered-models/get", params={"name": "private"}).status_code == 403
    assert (
        bob.get(f"{API}/model-versions/get-download-uri", params={"name": "private", "version": "1"}).status_code == 403
    )
    assert bob.get(f"{API}/registered-models/search").json()["registered_models"] == []
    assert bob.get(f"{API}/model-versions/search", params={"filter": "name='private'"}).json()["model_versions"] == []
    assert bob.request("DELETE", f"{API}/registered-models/delete", json={"name": "private"}).status_code == 403

    # bob may create his own model, but not register alice's run in it: he cannot read that run
    assert bob.post(f"{API}/registered-models/create", json={"name": "bobs"}).status_code == 200
    stolen = bob.post(f"{API}/model-versions/create", json={"name": "bobs", "source": source})
    assert stolen.status_code == 403

    alice.post(
        f"{API}/registered-models/permissions/create",
        json={"name": "private", "username": "bob", "permission": "READ"},
    )
    assert bob.get(f"{API}/registered-models/get", params={"name": "private"}).status_code == 200
    assert (
        bob.post(
            f"{API}/model-versions/transition-stage",
            json={"name": "private", "version": "1", "stage": "Production"},
        ).status_code
        == 403
    )
    assert [m["name"] for m in bob.get(f"{API}/registered-models/search").json()["registered_models"]] == [
        "bobs",
        "private",
    ]

    # permissions follow a rename
    alice.post(f"{API}/registered-models/rename", json={"name": "private", "new_name": "private2"})
    assert bob.get(f"{API}/registered-models/get", params={"name": "private2"}).status_code == 200
    assert (
        alice.get(f"{API}/registered-models/permissions/get", params={"name": "private2", "username": "alice"}).json()[
            "registered_model_permission"
        ]["permission"]
        == "MANAGE"
    )


# ---- the hf_mltrack client over HTTP ---------------------------------------------------------------
def test_registry_client_over_http(remote, tmp_path):
    import hf_mltrack
    from hf_mltrack.artifacts import get_artifact_repository
    from hf_mltrack.store.rest_registry import RestRegistryStore
    from hf_mltrack.tracking import MlTrackClient

    client = MlTrackClient()
    with hf_mltrack.start_run() as run:
        pass
    get_artifact_repository(run.info.artifact_uri).write_text("flavors: {}\n", "model/MLmodel")
    assert isinstance(client._registry_store, RestRegistryStore)
    mv = hf_mltrack.register_model(f"runs:/{run.info.run_id}/model", "remote-model", tags={"k": "v"})
    assert mv.version == "1" and mv.tags == {"k": "v"}
    client.transition_model_version_stage("remote-model", 1, "Production")
    client.set_registered_model_alias("remote-model", "prod", 1)
    assert client.get_model_version_by_alias("remote-model", "prod").current_stage == "Production"
    assert [m.name for m in client.search_registered_models()] == ["remote-model"]
    assert client.get_latest_versions("remote-model", ["Production"])[0].version == "1"
    events = client.get_registered_model_history("remote-model")
    assert [e.event for e in events] == ["stage_transition", "alias_set"]
    with pytest.raises(hf_mltrack.MlTrackException, match="Production"):
        client.delete_model_version("remote-model", 1)


def test_versions_created_with_a_model_id_are_listed_on_the_logged_model(api, remote):
    """The server tags the logged model (``mlflow.modelVersions``) as MLflow's does, for the official
    client's requests and for our client over HTTP alike."""
    from hf_mltrack.tracking import MlTrackClient

    model = api.post(f"{API}/logged-models", json={"experiment_id": "0"}).json()["model"]["info"]
    api.post(f"{API}/registered-models/create", json={"name": "lm"})
    created = api.post(
        f"{API}/model-versions/create",
        json={"name": "lm", "source": model["artifact_uri"], "model_id": model["model_id"]},
    )
    assert created.status_code == 200, created.text
    got = api.get(f"{API}/logged-models/{model['model_id']}").json()["model"]["info"]
    assert {"key": "mlflow.modelVersions", "value": '[{"name": "lm", "version": 1}]'} in got["tags"]

    client = MlTrackClient()
    remote_model = client.create_logged_model("0")
    client.create_registered_model("remote-lm")
    client.create_model_version("remote-lm", remote_model.artifact_location, model_id=remote_model.model_id)
    client.create_model_version("remote-lm", remote_model.artifact_location, model_id=remote_model.model_id)
    assert client.get_logged_model(remote_model.model_id).tags["mlflow.modelVersions"] == (
        '[{"name": "remote-lm", "version": 1}, {"name": "remote-lm", "version": 2}]'
    )
