"""OpenTelemetry: the OTLP/JSON shape of a trace, and the exporter posting to a collector on loopback."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

import hf_mltrack
from hf_mltrack.tracing import export, export_otlp_json, start_span


def _attrs(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {item["key"]: item["value"] for item in items}


def _recorded_trace() -> Any:
    with hf_mltrack.start_run() as run:
        with start_span("agent", span_type="AGENT", attributes={"model": "tiny", "temperature": 0.5}) as root:
            root.set_inputs({"q": "hi"})
            with pytest.raises(ValueError):
                with start_span("tool", span_type="TOOL") as tool:
                    tool.set_attribute("tags", ["a", "b"])
                    tool.set_attribute("config", {"k": 1, "on": True})
                    raise ValueError("tool failed")
            root.set_outputs("answer")
    return hf_mltrack.tracing.get_last_active_trace(), run


def test_otlp_json_shape(tracking_uri: str) -> None:
    trace, run = _recorded_trace()
    body = export_otlp_json(trace)
    json.dumps(body)  # plain JSON
    (resource_spans,) = body["resourceSpans"]
    resource = _attrs(resource_spans["resource"]["attributes"])
    assert resource["service.name"] == {"stringValue": "hf_mltrack"}
    (scope_spans,) = resource_spans["scopeSpans"]
    assert scope_spans["scope"]["name"] == "hf_mltrack.tracing"
    root, tool = scope_spans["spans"]
    rs, ts = trace.data.spans

    assert root["traceId"] == tool["traceId"] == rs.trace_id and len(root["traceId"]) == 32
    assert root["spanId"] == rs.span_id and len(root["spanId"]) == 16
    assert "parentSpanId" not in root and tool["parentSpanId"] == rs.span_id
    assert root["startTimeUnixNano"] == str(rs.start_time_ns) and root["endTimeUnixNano"] == str(rs.end_time_ns)
    assert int(root["startTimeUnixNano"]) <= int(tool["startTimeUnixNano"]) <= int(tool["endTimeUnixNano"])
    assert root["kind"] == 1 and root["name"] == "agent"
    assert root["status"] == {"code": 1}
    assert tool["status"]["code"] == 2 and "tool failed" in tool["status"]["message"]

    ra = _attrs(root["attributes"])
    assert ra["hf_mltrack.spanType"] == {"stringValue": "AGENT"}
    assert json.loads(ra["hf_mltrack.spanInputs"]["stringValue"]) == {"q": "hi"}
    assert json.loads(ra["hf_mltrack.spanOutputs"]["stringValue"]) == "answer"
    assert ra["hf_mltrack.requestId"] == {"stringValue": trace.info.request_id}
    assert ra["hf_mltrack.runId"] == {"stringValue": run.info.run_id}
    assert ra["model"] == {"stringValue": "tiny"} and ra["temperature"] == {"doubleValue": 0.5}
    ta = _attrs(tool["attributes"])
    assert ta["tags"] == {"arrayValue": {"values": [{"stringValue": "a"}, {"stringValue": "b"}]}}
    assert ta["config"] == {
        "kvlistValue": {
            "values": [{"key": "k", "value": {"intValue": "1"}}, {"key": "on", "value": {"boolValue": True}}]
        }
    }
    (event,) = tool["events"]
    assert event["name"] == "exception" and int(event["timeUnixNano"]) >= int(tool["startTimeUnixNano"])
    assert _attrs(event["attributes"])["exception.type"] == {"stringValue": "ValueError"}

    # several traces in one request
    assert len(export_otlp_json([trace, trace])["resourceSpans"][0]["scopeSpans"][0]["spans"]) == 4


def _decode(raw: bytes, headers: dict[str, str]) -> Any:
    """An OTLP/HTTP body (protobuf, as the OpenTelemetry SDK's exporter sends it) as OTLP/JSON."""
    import gzip

    from google.protobuf.json_format import MessageToDict
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    if headers.get("content-encoding") == "gzip":
        raw = gzip.decompress(raw)
    message = ExportTraceServiceRequest()
    message.ParseFromString(raw)
    return MessageToDict(message)


class _Collector(BaseHTTPRequestHandler):
    received: list[tuple[str, dict[str, str], Any]] = []
    delay = 0.0

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers["Content-Length"])
        headers = {k.lower(): v for k, v in self.headers.items()}
        body = _decode(self.rfile.read(length), headers)
        if type(self).delay:
            time.sleep(type(self).delay)
        type(self).received.append((self.path, headers, body))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[str]:
    pytest.importorskip("opentelemetry.exporter.otlp.proto.http", reason="needs the otel extra")
    _Collector.received = []
    _Collector.delay = 0.0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_exporter_posts_to_otlp_endpoint(tracking_uri: str, collector: str, monkeypatch) -> None:
    monkeypatch.setenv("HF_MLTRACK_OTLP_ENDPOINT", collector)
    monkeypatch.setenv("HF_MLTRACK_OTLP_HEADERS", "x-api-key=secret, x-team = nlp")
    export.flush()
    for i in range(3):
        with start_span(f"call-{i}"):
            pass
    assert _Collector.received == []  # asynchronous: nothing sent by the traced code itself
    export.flush()
    assert len(_Collector.received) == 1  # one request for the batch
    path, headers, body = _Collector.received[0]
    assert path == "/v1/traces"
    assert headers["x-api-key"] == "secret" and headers["x-team"] == "nlp"
    assert headers["content-type"] == "application/x-protobuf"  # the OpenTelemetry SDK's exporter
    spans = body["resourceSpans"][0]["scopeSpans"][0]["spans"]
    assert sorted(s["name"] for s in spans) == ["call-0", "call-1", "call-2"]
    attrs = _attrs(body["resourceSpans"][0]["resource"]["attributes"])
    assert attrs["service.name"] == {"stringValue": "hf_mltrack"}
    # the traces are also in the tracking store
    names = {t.info.name for t in hf_mltrack.tracing.search_traces(return_type="list")}
    assert names == {"call-0", "call-1", "call-2"}


def test_exporter_thread_sends_without_flush(tracking_uri: str, collector: str, monkeypatch) -> None:
    monkeypatch.setenv("HF_MLTRACK_OTLP_ENDPOINT", collector + "/custom/path")
    monkeypatch.setenv("HF_MLTRACK_TRACE_EXPORT_INTERVAL", "0.05")
    export._EXPORTER._wake.set()
    with start_span("bg"):
        pass
    deadline = time.time() + 20
    while time.time() < deadline and not _Collector.received:
        time.sleep(0.05)
    assert [r[0] for r in _Collector.received] == ["/custom/path"]


def test_slow_collector_never_delays_store_writes_and_retries_post_once(
    tracking_uri: str, collector: str, monkeypatch
) -> None:
    """The store write happens on the exporter thread while the collector takes its time; a trace whose
    store write is retried is handed to the collector once."""
    from hf_mltrack.tracing import stores

    monkeypatch.setenv("HF_MLTRACK_OTLP_ENDPOINT", collector)
    _Collector.delay = 1.5
    store = stores.get_trace_store(tracking_uri)
    original = type(store).log_traces
    calls = {"n": 0}

    def flaky(self, traces):  # the first write fails as a locked database does, then succeeds
        calls["n"] += 1
        if calls["n"] == 1:
            raise TimeoutError("database is locked")
        return original(self, traces)

    monkeypatch.setattr(type(store), "log_traces", flaky)
    with start_span("once"):
        pass
    started = time.monotonic()
    export._EXPORTER._export_pending()  # the store write, with its retry queued
    export._EXPORTER._export_pending()
    assert time.monotonic() - started < 1.0  # not waiting for the 1.5 s collector
    assert calls["n"] == 2
    assert [t.info.name for t in hf_mltrack.tracing.search_traces(return_type="list")] == ["once"]
    export.flush()  # now wait for the collector
    names = [
        s["name"] for _, _, body in _Collector.received for s in body["resourceSpans"][0]["scopeSpans"][0]["spans"]
    ]
    assert names == ["once"]


def test_unreachable_collector_is_a_warning(tracking_uri: str, monkeypatch, caplog) -> None:
    pytest.importorskip("opentelemetry.exporter.otlp.proto.http", reason="needs the otel extra")
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("HF_MLTRACK_OTLP_ENDPOINT", f"http://127.0.0.1:{port}")
    with caplog.at_level("WARNING", logger="hf_mltrack.tracing"):
        with start_span("lost"):
            pass
        export.flush()
    assert any("OTLP endpoint" in r.getMessage() for r in caplog.records)
    assert [t.info.name for t in hf_mltrack.tracing.search_traces(return_type="list")] == ["lost"]


def test_invalid_endpoint_message() -> None:
    from hf_mltrack.exceptions import InvalidParameterError
    from hf_mltrack.tracing.otlp import traces_url

    assert traces_url("http://collector:4318/") == "http://collector:4318/v1/traces"
    with pytest.raises(InvalidParameterError, match="HF_MLTRACK_OTLP_ENDPOINT=http://localhost:4318"):
        traces_url("collector:4318")
