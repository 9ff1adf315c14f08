"""The trace endpoints of the server: traces recorded with ``hf_mltrack.trace``/``start_span`` against a
live server (the REST trace store posts ``/traces/log-batch``) are searchable in MLflow's shapes, their
spans readable, tags settable, deletable; with basic-auth they follow the experiment's permissions."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

import hf_mltrack
from hf_mltrack.entities.trace import TraceData

API = "/api/2.0/mlflow"
ADMIN_PASSWORD = "admin-password-123"
ALICE = ("alice", "alice-password-1")
BOB = ("bob", "bob-password-123")


@pytest.fixture(autouse=True)
def _tracing_state() -> Iterator[None]:
    """Nothing queued and no cached experiment or trace store from an earlier test's server."""
    from hf_mltrack.tracing import export, span, stores

    export.flush()
    span._last_record = None
    span._experiment_cache.clear()
    yield
    export.flush()
    stores._clear_cache()


@hf_mltrack.trace(span_type="LLM")
def answer(question: str) -> str:
    with hf_mltrack.start_span("lookup", span_type="RETRIEVER") as s:
        s.set_inputs({"q": question})
        s.set_outputs(["doc-1"])
    return f"answer to {question}"


def _record_traces(experiment: str, n: int = 2) -> str:
    """Record ``n`` traces in a new experiment of the current (server) tracking URI; its id."""
    exp_id = hf_mltrack.set_experiment(experiment).experiment_id
    for i in range(n):
        answer(f"question {i}")
    hf_mltrack.flush_trace_async_logging()
    return exp_id


def test_traces_logged_through_server_are_searchable(remote):
    exp_id = _record_traces("traced", n=2)
    with hf_mltrack.start_span("manual") as s:
        s.set_inputs({"x": 1})
    hf_mltrack.flush_trace_async_logging()

    # what the UI's traces page asks for
    r = httpx.get(
        f"{remote}{API}/traces",
        params={"experiment_ids": [exp_id], "max_results": 100, "order_by": ["timestamp_ms DESC"]},
    )
    assert r.status_code == 200, r.text
    traces = r.json()["traces"]
    assert len(traces) == 3
    assert [t["timestamp_ms"] for t in traces] == sorted((t["timestamp_ms"] for t in traces), reverse=True)
    by_name = {t["name"]: t for t in traces}
    assert set(by_name) == {"answer", "manual"}
    info = by_name["answer"]
    assert info["experiment_id"] == exp_id
    assert info["status"] == "OK"
    assert isinstance(info["execution_time_ms"], int)
    assert "question" in info["request_preview"]
    # MLflow's shapes: tags and request metadata as key/value lists
    tags = {t["key"]: t["value"] for t in info["tags"]}
    assert tags["hf_mltrack.traceName"] in ("answer", "manual")
    assert isinstance(info["request_metadata"], list)
    assert "data" not in info  # spans only on request

    # the spans of one trace, as the UI's span tree reads them
    rid = info["request_id"]
    response = httpx.get(f"{remote}{API}/get-trace-artifact", params={"request_id": rid})
    assert response.headers["content-disposition"] == "attachment; filename=traces.json"
    data = response.json()
    # MLflow's span dicts: base64 ids, times in *_unix_nano, JSON-text attributes
    raw = {s["name"]: s for s in data["spans"]}
    assert set(raw) == {"answer", "lookup"}
    assert raw["lookup"]["parent_span_id"] == raw["answer"]["span_id"]
    assert raw["answer"]["parent_span_id"] is None
    assert json.loads(raw["lookup"]["attributes"]["mlflow.spanType"]) == "RETRIEVER"
    assert json.loads(raw["answer"]["attributes"]["mlflow.traceRequestId"]) == rid
    assert raw["answer"]["status"]["code"] == "STATUS_CODE_OK"
    # ... which read back losslessly as hf_mltrack spans
    spans = {s.name: s for s in TraceData.from_dict(data).spans}
    assert spans["lookup"].parent_id == spans["answer"].span_id
    assert spans["answer"].parent_id is None and len(spans["answer"].trace_id) == 32
    assert spans["lookup"].span_type == "RETRIEVER"
    assert spans["lookup"].inputs in ({"q": "question 0"}, {"q": "question 1"})
    assert spans["lookup"].outputs == ["doc-1"]
    assert spans["answer"].start_time_ns <= spans["lookup"].start_time_ns
    assert data["response"] is not None

    one = httpx.get(f"{remote}{API}/traces/{rid}/info").json()["trace_info"]
    assert one["request_id"] == rid and one["experiment_id"] == exp_id

    with_spans = httpx.get(
        f"{remote}/ajax-api/2.0/mlflow/traces", params={"experiment_ids": exp_id, "include_spans": "true"}
    ).json()["traces"]
    assert len(with_spans) == 3 and all(t["data"]["spans"] for t in with_spans)

    # the fluent reader goes through the same endpoints
    found = hf_mltrack.search_traces(experiment_ids=[exp_id], return_type="list")
    assert sorted(t.info.name for t in found) == ["answer", "answer", "manual"]
    assert len(hf_mltrack.get_trace(rid).data.spans) == 2


def test_search_filters_and_pages(remote):
    exp_id = _record_traces("paged", n=3)
    url = f"{remote}{API}/traces"
    first = httpx.get(url, params={"experiment_ids": exp_id, "max_results": 2}).json()
    assert len(first["traces"]) == 2 and first["next_page_token"]
    rest = httpx.get(
        url, params={"experiment_ids": exp_id, "max_results": 2, "page_token": first["next_page_token"]}
    ).json()
    assert len(rest["traces"]) == 1 and "next_page_token" not in rest
    ok = httpx.get(url, params={"experiment_ids": exp_id, "filter": "attributes.status = 'OK'"}).json()
    assert len(ok["traces"]) == 3
    bad = httpx.get(url, params={"experiment_ids": exp_id, "filter": "nonsense ==="})
    assert bad.status_code == 400 and bad.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert httpx.get(url, params={"max_results": 0}).status_code == 400


def test_tags_and_delete(remote):
    exp_id = _record_traces("tagged", n=3)
    url = f"{remote}{API}/traces"
    rids = [t["request_id"] for t in httpx.get(url, params={"experiment_ids": exp_id}).json()["traces"]]
    rid = rids[0]

    r = httpx.patch(f"{url}/{rid}/tags", json={"key": "reviewed", "value": "yes"})
    assert r.status_code == 200 and r.json() == {}
    tags = {t["key"]: t["value"] for t in httpx.get(f"{url}/{rid}/info").json()["trace_info"]["tags"]}
    assert tags["reviewed"] == "yes"
    tagged = httpx.get(url, params={"experiment_ids": exp_id, "filter": "tags.reviewed = 'yes'"}).json()
    assert [t["request_id"] for t in tagged["traces"]] == [rid]

    assert httpx.delete(f"{url}/{rid}/tags", params={"key": "reviewed"}).status_code == 200
    tags = {t["key"] for t in httpx.get(f"{url}/{rid}/info").json()["trace_info"]["tags"]}
    assert "reviewed" not in tags
    missing = httpx.delete(f"{url}/{rid}/tags", params={"key": "reviewed"})
    assert missing.status_code == 404 and missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"

    r = httpx.post(f"{url}/delete-traces", json={"experiment_id": exp_id, "request_ids": [rid]})
    assert r.json() == {"traces_deleted": 1}
    gone = httpx.get(f"{url}/{rid}/info")
    assert gone.status_code == 404 and gone.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert httpx.get(f"{remote}{API}/get-trace-artifact", params={"request_id": rid}).status_code == 404
    r = httpx.post(f"{url}/delete-traces", json={"experiment_id": exp_id, "max_timestamp_millis": 2**62})
    assert r.json() == {"traces_deleted": 2}
    assert httpx.get(url, params={"experiment_ids": exp_id}).json()["traces"] == []


def test_bad_requests_are_400(api):
    assert api.get(f"{API}/get-trace-artifact").status_code == 400
    for body in (b"{broken", b"[]", b'{"traces": "x"}', b'{"traces": [{"info": {}}]}'):
        r = api.post(f"{API}/traces/log-batch", content=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 400, body
        assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    both = api.post(
        f"{API}/traces/delete-traces",
        json={"experiment_id": "0", "request_ids": ["tr-1"], "max_timestamp_millis": 1},
    )
    assert both.status_code == 400 and "exactly one" in both.json()["message"]
    assert api.patch(f"{API}/traces/tr-x/tags", json={"value": "v"}).status_code == 400
    assert api.patch(f"{API}/traces/tr-x/tags", json={"key": "k", "value": "v"}).status_code == 404
    assert api.delete(f"{API}/traces/tr-x/tags").status_code == 400
    documented = api.get("/openapi.json").json()["paths"]
    assert {f"{API}/traces", f"{API}/get-trace-artifact", f"{API}/traces/log-batch"} <= set(documented)


# ---- basic-auth ---------------------------------------------------------------------------------------


def _as_user(app: object, creds: tuple[str, str]) -> TestClient:
    token = base64.b64encode(f"{creds[0]}:{creds[1]}".encode()).decode()
    return TestClient(app, headers={"Authorization": f"Basic {token}"})  # type: ignore[arg-type]


def test_traces_follow_experiment_permissions(make_app, server_thread, monkeypatch):
    monkeypatch.setenv("HF_MLTRACK_AUTH_ADMIN_PASSWORD", ADMIN_PASSWORD)
    app = make_app(auth="basic-auth", auth_default_permission="NO_PERMISSIONS")
    admin = _as_user(app, ("admin", ADMIN_PASSWORD))
    for name, password in (ALICE, BOB):
        assert admin.post(f"{API}/users/create", json={"username": name, "password": password}).status_code == 200
    server = server_thread(app)

    # alice records traces with her credentials, through the REST trace store
    monkeypatch.setenv("HF_MLTRACK_TRACKING_USERNAME", ALICE[0])
    monkeypatch.setenv("HF_MLTRACK_TRACKING_PASSWORD", ALICE[1])
    hf_mltrack.set_tracking_uri(server.url)
    exp_id = _record_traces("alice-private", n=2)
    alice, bob = _as_user(app, ALICE), _as_user(app, BOB)
    bob_exp = bob.post(f"{API}/experiments/create", json={"name": "bobs"}).json()["experiment_id"]

    mine = alice.get(f"{API}/traces", params={"experiment_ids": exp_id}).json()["traces"]
    assert len(mine) == 2
    rid = mine[0]["request_id"]
    assert len(admin.get(f"{API}/traces").json()["traces"]) == 2

    # bob has no permission on alice's experiment: nothing to see, nothing to change
    assert bob.get(f"{API}/traces", params={"experiment_ids": exp_id}).json()["traces"] == []
    assert bob.get(f"{API}/traces").json()["traces"] == []  # no ids: only readable experiments
    assert bob.get(f"{API}/traces", params={"experiment_ids": [exp_id, bob_exp]}).json()["traces"] == []
    assert bob.get(f"{API}/traces/{rid}/info").status_code == 403
    assert bob.get(f"{API}/get-trace-artifact", params={"request_id": rid}).status_code == 403
    assert bob.get("/ajax-api/2.0/mlflow/get-trace-artifact", params={"request_id": rid}).status_code == 403
    assert bob.patch(f"{API}/traces/{rid}/tags", json={"key": "k", "value": "v"}).status_code == 403
    assert bob.delete(f"{API}/traces/{rid}/tags", params={"key": "k"}).status_code == 403
    r = bob.post(f"{API}/traces/delete-traces", json={"experiment_id": exp_id, "request_ids": [rid]})
    assert r.status_code == 403
    # nor overwrite her trace by logging it again into his own experiment
    full = alice.get(f"{API}/traces", params={"experiment_ids": exp_id, "include_spans": "true"})
    stolen = full.json()["traces"][0]
    payload = {"info": {**stolen, "experiment_id": bob_exp}, "data": stolen["data"]}
    r = bob.post(f"{API}/traces/log-batch", json={"traces": [payload]})
    assert r.status_code == 403
    assert bob.post(f"{API}/traces/log-batch", json={"no": "traces"}).status_code == 400  # names "traces"
    # a trace of his own, in his own experiment, he may log
    own = {"info": {**payload["info"], "request_id": "tr-bobs-own"}, "data": payload["data"]}
    assert bob.post(f"{API}/traces/log-batch", json={"traces": [own]}).status_code == 200
    assert [t["request_id"] for t in bob.get(f"{API}/traces").json()["traces"]] == ["tr-bobs-own"]
    assert alice.get(f"{API}/traces/{stolen['request_id']}/info").json()["trace_info"]["experiment_id"] == exp_id

    # READ lets bob see the traces but not tag them; EDIT lets him tag
    grant = {"experiment_id": exp_id, "username": "bob", "permission": "READ"}
    assert alice.post(f"{API}/experiments/permissions/create", json=grant).status_code == 200
    assert len(bob.get(f"{API}/traces", params={"experiment_ids": exp_id}).json()["traces"]) == 2
    assert len(bob.get(f"{API}/traces").json()["traces"]) == 3
    assert bob.get(f"{API}/get-trace-artifact", params={"request_id": rid}).json()["spans"]
    assert bob.patch(f"{API}/traces/{rid}/tags", json={"key": "k", "value": "v"}).status_code == 403
    grant["permission"] = "EDIT"
    assert alice.patch(f"{API}/experiments/permissions/update", json=grant).status_code == 200
    assert bob.patch(f"{API}/traces/{rid}/tags", json={"key": "k", "value": "v"}).status_code == 200
    # an unknown trace reveals nothing but 404
    assert bob.get(f"{API}/traces/tr-unknown/info").status_code == 404
    assert _as_user(app, ("bob", "wrong-password")).get(f"{API}/traces").status_code == 401
