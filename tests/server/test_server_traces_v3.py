"""MLflow 3's trace API on the server (``/api/3.0/mlflow/traces*``, the v2 fallbacks, OTLP ingest at
``/v1/traces``), in MLflow's protobuf-JSON shapes, stored in our trace tables and readable by our own
tracing API."""

from __future__ import annotations

import gzip
import json
import zlib

import pytest

API2 = "/api/2.0/mlflow"
API3 = "/api/3.0/mlflow"
TRACE_HEX = "0123456789abcdef0123456789abcdef"
TID = "tr-" + TRACE_HEX


def _experiment(api, name: str = "traces") -> str:
    return api.post(f"{API2}/experiments/create", json={"name": name}).json()["experiment_id"]


def _start(api, exp: str, trace_id: str = TID, **extra) -> dict:
    info = {
        "trace_id": trace_id,
        "trace_location": {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": exp}},
        "request_time": "2026-01-02T03:04:05.250Z",
        "execution_duration": "1.500s",
        "state": "OK",
        "trace_metadata": {"mlflow.trace_schema.version": "3", "team": "nlp"},
        "tags": {"mlflow.traceName": "answer", "env": "prod"},
        "request_preview": '{"q": "hi"}',
        **extra,
    }
    r = api.post(f"{API3}/traces", json={"trace": {"trace_info": info}})
    assert r.status_code == 200, r.text
    return r.json()["trace"]["trace_info"]


def _otlp_request(spans: list[dict], service: str | None = None):
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
    from opentelemetry.proto.trace.v1.trace_pb2 import Span

    request = ExportTraceServiceRequest()
    rs = request.resource_spans.add()
    if service:
        rs.resource.attributes.append(KeyValue(key="service.name", value=AnyValue(string_value=service)))
    ss = rs.scope_spans.add()
    for s in spans:
        span = Span(
            trace_id=bytes.fromhex(s.get("trace", TRACE_HEX)),
            span_id=bytes.fromhex(s["id"]),
            name=s["name"],
            start_time_unix_nano=s.get("start", 1_700_000_000_000_000_000),
            end_time_unix_nano=s.get("end", 1_700_000_000_500_000_000),
        )
        if s.get("parent"):
            span.parent_span_id = bytes.fromhex(s["parent"])
        for key, value in (s.get("attrs") or {}).items():
            kv = span.attributes.add()
            kv.key = key
            if isinstance(value, dict):
                for k, v in value.items():
                    kv.value.kvlist_value.values.add(key=k, value=AnyValue(int_value=v))
            else:
                kv.value.string_value = value
        ss.spans.append(span)
    return request


def test_start_get_search_and_tags_in_mlflow_shapes(api) -> None:
    exp = _experiment(api)
    info = _start(api, exp)
    assert info["trace_id"] == TID and info["state"] == "OK"
    assert info["request_time"] == "2026-01-02T03:04:05.250Z" and info["execution_duration"] == "1.500s"
    assert info["trace_location"]["mlflow_experiment"]["experiment_id"] == exp
    assert info["tags"] == {"mlflow.traceName": "answer", "env": "prod", "mlflow.trace.spansLocation": "TRACKING_STORE"}
    assert info["trace_metadata"]["team"] == "nlp"

    assert api.get(f"{API3}/traces/{TID}").json()["trace"]["trace_info"]["tags"]["env"] == "prod"
    assert api.patch(f"{API3}/traces/{TID}/tags", json={"key": "k", "value": "v"}).status_code == 200
    found = api.post(
        f"{API3}/traces/search",
        json={
            "locations": [{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": exp}}],
            "filter": "tags.k = 'v' AND trace.status = 'OK' AND request_metadata.team = 'nlp'",
        },
    ).json()["traces"]
    assert [t["trace_id"] for t in found] == [TID]
    assert api.request("DELETE", f"{API3}/traces/{TID}/tags", params={"key": "k"}).status_code == 200
    assert "k" not in api.get(f"{API3}/traces/{TID}").json()["trace"]["trace_info"]["tags"]
    missing = api.get(f"{API3}/traces/tr-{'0' * 32}")
    assert missing.status_code == 404 and missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    # bad input names the field
    r = api.post(f"{API3}/traces", json={"trace": {"trace_info": {"trace_id": TID}}})
    assert r.status_code == 400 and "trace_location" in r.json()["message"]
    r = api.post(f"{API3}/traces/search", json={"locations": [{"type": "UC_SCHEMA"}]})
    assert r.status_code == 400 and "locations" in r.json()["message"]


def test_otlp_spans_then_trace_info_make_one_trace(api) -> None:
    pytest.importorskip("opentelemetry.proto")
    exp = _experiment(api)
    spans = [
        {"id": "00000000000000a1", "name": "answer", "attrs": {"mlflow.spanType": "LLM", "fruit": "apple"}},
        {"id": "00000000000000a2", "parent": "00000000000000a1", "name": "lookup", "attrs": {"cfg": {"k": 1}}},
    ]
    body = _otlp_request(spans, service="gemini-cli").SerializeToString()
    for encoding, data in [("gzip", gzip.compress(body)), ("deflate", zlib.compress(body)), (None, body)]:
        headers = {"Content-Type": "application/x-protobuf", "X-MLflow-Experiment-Id": exp}
        if encoding:
            headers["Content-Encoding"] = encoding
        r = api.post("/v1/traces", content=data, headers=headers)
        assert r.status_code == 200 and r.headers["content-type"] == "application/x-protobuf", r.text
    _start(api, exp)  # the client's StartTraceV3 after its spans: completes the same trace
    trace = api.get(f"{API3}/traces/get", params={"trace_id": TID}).json()["trace"]
    names = {s["name"]: s for s in trace["spans"]}
    assert set(names) == {"answer", "lookup"}
    root = {a["key"]: a["value"] for a in names["answer"]["attributes"]}
    assert root["fruit"] == {"string_value": "apple"} and root["mlflow.spanType"] == {"string_value": "LLM"}
    assert root["service.name"] == {"string_value": "gemini-cli"}  # the resource's service, on the root only
    assert "service.name" not in {a["key"] for a in names["lookup"]["attributes"]}
    assert trace["trace_info"]["tags"]["service.name"] == "gemini-cli"
    batch = api.get(f"{API3}/traces/batchGet", params={"trace_ids": [TID, "tr-missing"]}).json()["traces"]
    assert [len(t["spans"]) for t in batch] == [2]

    # our own tracing API reads what the MLflow wire wrote
    from hf_mltrack.tracing.stores import get_trace_store

    ours = get_trace_store(api.app.state.server.backend_store_uri).get_trace(TID)
    by_name = {s.name: s for s in ours.data.spans}
    assert by_name["answer"].span_type == "LLM" and by_name["lookup"].parent_id == by_name["answer"].span_id
    assert by_name["lookup"].attributes["cfg"] == {"k": 1}
    assert ours.info.name == "answer" and ours.info.status == "OK"


def test_otlp_json_and_mlflow_status_codes(api) -> None:
    pytest.importorskip("opentelemetry.proto")
    exp = _experiment(api)
    payload = {
        "resourceSpans": [
            {
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": TRACE_HEX,
                                "spanId": "508755a859b294e3",
                                "name": "user_prompt",
                                "startTimeUnixNano": "1700000000000000000",
                                "endTimeUnixNano": "1700000001000000000",
                            }
                        ]
                    }
                ]
            }
        ]
    }
    headers = {"X-MLflow-Experiment-Id": exp}
    ok = api.post("/v1/traces", content=json.dumps(payload), headers={**headers, "Content-Type": "application/json"})
    assert ok.status_code == 200
    assert api.get(f"{API3}/traces/{TID}").json()["trace"]["trace_info"]["tags"]["mlflow.traceName"] == "user_prompt"
    proto = {**headers, "Content-Type": "application/x-protobuf"}
    no_span_id = _otlp_request([{"id": "0000000000000001", "name": "x"}])
    no_span_id.resource_spans[0].scope_spans[0].spans[0].span_id = b""
    cases = [
        (
            {"Content-Type": "application/x-protobuf"},
            _otlp_request([{"id": "00000000000000b1", "name": "x"}]).SerializeToString(),
            422,
        ),
        ({**headers, "Content-Type": "text/plain"}, b"x", 400),
        (proto, b"this is not valid protobuf data at all", 400),
        (proto, b"", 400),  # no resource spans
        (proto, no_span_id.SerializeToString(), 422),
        ({**proto, "Content-Encoding": "gzip"}, b"not gzip", 400),
        ({**proto, "Content-Encoding": "br"}, b"x", 400),
        (
            {**proto, "X-MLflow-Experiment-Id": "424242"},
            _otlp_request([{"id": "00000000000000b2", "name": "x"}]).SerializeToString(),
            404,
        ),
    ]
    for hdrs, body, status in cases:
        r = api.post("/v1/traces", content=body, headers=hdrs)
        assert r.status_code == status, (hdrs, body[:20], r.status_code, r.text)
    bomb = gzip.compress(b"\0" * (17 * 1024 * 1024))
    r = api.post("/v1/traces", content=bomb, headers={**proto, "Content-Encoding": "gzip"})
    assert r.status_code == 413  # decompressed beyond the server's request limit


def test_v2_fallbacks_link_to_run_and_delete(api) -> None:
    exp = _experiment(api)
    started = api.post(
        f"{API2}/traces",
        json={
            "experiment_id": exp,
            "timestamp_ms": 1000,
            "request_metadata": [{"key": "m1", "value": "a"}],
            "tags": [{"key": "t1", "value": "x"}],
        },
    ).json()["trace_info"]
    rid = started["request_id"]
    assert started["status"] == "IN_PROGRESS" and started["execution_time_ms"] == 0
    ended = api.patch(
        f"{API2}/traces/{rid}",
        json={"timestamp_ms": 3000, "status": "OK", "request_metadata": [{"key": "m2", "value": "b"}]},
    ).json()["trace_info"]
    assert ended["execution_time_ms"] == 2000 and ended["status"] == "OK"
    assert {m["key"] for m in ended["request_metadata"]} == {"m1", "m2"}

    run_id = api.post(f"{API2}/runs/create", json={"experiment_id": exp}).json()["run"]["info"]["run_id"]
    later = "tr-" + "f" * 32  # linked before its client exported it
    assert api.post(f"{API2}/traces/link-to-run", json={"trace_ids": [rid, later], "run_id": run_id}).status_code == 200
    _start(api, exp, trace_id=later)
    loc = [{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": exp}}]
    linked = api.post(f"{API3}/traces/search", json={"locations": loc, "filter": f"attribute.run_id = '{run_id}'"})
    assert sorted(t["trace_id"] for t in linked.json()["traces"]) == sorted([rid, later])
    assert api.post(f"{API2}/traces/link-to-run", json={"trace_ids": [rid], "run_id": "nope"}).status_code == 404

    corr = api.post(
        f"{API3}/traces/calculate-filter-correlation",
        json={"experiment_ids": [exp], "filter_string1": "status = 'OK'", "filter_string2": "tags.t1 = 'x'"},
    ).json()
    assert (corr["total_count"], corr["filter1_count"], corr["filter2_count"], corr["joint_count"]) == (2, 2, 1, 1)
    counts = api.post(
        f"{API3}/traces/metrics",
        json={
            "experiment_ids": [exp],
            "view_type": "TRACES",
            "metric_name": "trace_count",
            "aggregations": [{"aggregation_type": "COUNT"}],
            "dimensions": ["trace_status"],
        },
    ).json()["data_points"]
    assert counts == [{"metric_name": "trace_count", "dimensions": {"trace_status": "OK"}, "values": {"COUNT": 2.0}}]

    deleted = api.post(f"{API3}/traces/delete-traces", json={"experiment_id": exp, "request_ids": [rid]}).json()
    assert deleted == {"traces_deleted": 1}
    assert api.get(f"{API3}/traces/{rid}").status_code == 404


def test_assessments_feedback_expectation_override(api) -> None:
    exp = _experiment(api)
    _start(api, exp)
    url = f"{API3}/traces/{TID}/assessments"
    fb = api.post(
        url,
        json={
            "assessment": {
                "assessment_name": "quality",
                "feedback": {"value": {"rating": 4}},
                "source": {"source_type": "HUMAN", "source_id": "me"},
                "rationale": "good",
            }
        },
    ).json()["assessment"]
    assert fb["valid"] is True and fb["feedback"]["value"] == {"rating": 4} and fb["source"]["source_type"] == "HUMAN"
    aid = fb["assessment_id"]
    upd = api.patch(
        f"{url}/{aid}",
        json={
            "assessment": {"assessment_name": "q2", "rationale": "better", "feedback": {"value": 5}},
            "update_mask": "assessmentName,rationale",
        },
    ).json()["assessment"]
    assert (upd["assessment_name"], upd["rationale"], upd["feedback"]["value"]) == ("q2", "better", {"rating": 4})
    over = api.post(
        url,
        json={
            "assessment": {
                "assessment_name": "q3",
                "feedback": {"value": 3},
                "overrides": aid,
                "source": {"source_type": "HUMAN", "source_id": "lead"},
            }
        },
    ).json()["assessment"]
    assert api.get(f"{url}/{aid}").json()["assessment"]["valid"] is False
    ex = api.post(
        url,
        json={
            "assessment": {
                "assessment_name": "expected",
                "expectation": {"value": {"answer": 42}},
                "source": {"source_type": "CODE", "source_id": "t"},
            }
        },
    ).json()["assessment"]
    assert json.loads(ex["expectation"]["serialized_value"]["value"]) == {"answer": 42}
    info = api.get(f"{API3}/traces/{TID}").json()["trace"]["trace_info"]
    assert [a["assessment_name"] for a in info["assessments"]] == ["q2", "q3", "expected"]
    assert api.delete(f"{url}/{over['assessment_id']}").status_code == 200
    assert api.get(f"{url}/{over['assessment_id']}").status_code == 404
    assert api.get(f"{url}/{aid}").json()["assessment"]["valid"] is True  # restored
    assert api.delete(f"{url}/{over['assessment_id']}").status_code == 200  # idempotent, as MLflow
    r = api.post(url, json={"assessment": {"assessment_name": "x"}})
    assert r.status_code == 400 and "feedback or an expectation" in r.json()["message"]
    assert (
        api.post(
            f"{API3}/traces/tr-nope/assessments",
            json={"assessment": {"assessment_name": "x", "feedback": {"value": 1}}},
        ).status_code
        == 404
    )


def test_version_and_server_info(api) -> None:
    from hf_mltrack import __version__

    r = api.get("/version")
    assert r.text == "3.17.2" and r.headers["x-hf-mltrack-version"] == __version__
    info = api.get(f"{API3}/server-info").json()
    assert info["store_type"] == "SqlStore" and info["hf_mltrack_version"] == __version__
    assert api.get("/ajax-api/3.0/mlflow/server-info").status_code == 200
