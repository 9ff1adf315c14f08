"""The REST trace store against the trace endpoints (`rest_handlers`) served on loopback by a minimal
stdlib HTTP server over a real SQL trace store: the same contract the hf-mltrack server implements."""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

pytest.importorskip("httpx")

from hf_mltrack.entities.trace import Span, Trace, TraceData, TraceInfo  # noqa: E402
from hf_mltrack.exceptions import InvalidParameterError, MlTrackException, ResourceNotFoundError  # noqa: E402
from hf_mltrack.tracing import rest_handlers  # noqa: E402
from hf_mltrack.tracing.rest_store import RestTraceStore  # noqa: E402
from hf_mltrack.tracing.stores import get_trace_store  # noqa: E402


def _routes() -> list[tuple[str, re.Pattern[str], str]]:
    out = []
    for method, path, name in rest_handlers.ROUTES:
        pattern = re.escape(path).replace(re.escape("{request_id}"), "(?P<request_id>[^/]+)")
        out.append((method, re.compile(f"^{pattern}$"), name))
    return out


def _serve(store: Any) -> ThreadingHTTPServer:
    routes = _routes()

    class Handler(BaseHTTPRequestHandler):
        def _dispatch(self, method: str) -> None:
            url = urlsplit(self.path)
            params = parse_qs(url.query)
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else {}
            for m, pattern, name in routes:
                match = pattern.match(url.path)
                if m != method or not match:
                    continue
                handler = getattr(rest_handlers, name)
                try:
                    if "request_id" in match.groupdict():
                        rid = unquote(match["request_id"])
                        arg = params if method in ("GET", "DELETE") else body
                        payload = handler(store, rid) if name == "get_trace_info" else handler(store, rid, arg)
                    else:
                        payload = handler(store, params if method == "GET" else body)
                    status = 200
                except MlTrackException as exc:
                    status, payload = exc.get_http_status_code(), exc.serialize_as_json()
                self._send(status, payload)
                return
            self._send(404, {"error_code": "ENDPOINT_NOT_FOUND", "message": url.path})

        def _send(self, status: int, payload: Any) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802
            self._dispatch("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._dispatch("POST")

        def do_PATCH(self) -> None:  # noqa: N802
            self._dispatch("PATCH")

        def do_DELETE(self) -> None:  # noqa: N802
            self._dispatch("DELETE")

        def log_message(self, *args: Any) -> None:
            pass

    return ThreadingHTTPServer(("127.0.0.1", 0), Handler)


@pytest.fixture
def server(tracking_uri: str) -> Iterator[str]:
    httpd = _serve(get_trace_store(tracking_uri))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _trace(i: int, status: str = "OK", tags: dict[str, str] | None = None) -> Trace:
    tid = f"{i + 1:032x}"
    ts = 1_700_000_000_000 + i
    root = Span(
        tid,
        f"{i + 1:016x}",
        None,
        f"root-{i}",
        "CHAIN",
        ts * 10**6,
        (ts + 5) * 10**6,
        status,
        "",
        {"q": i},
        [i],
    )
    child = Span(tid, f"{i + 100:016x}", root.span_id, "tool", "TOOL", ts * 10**6 + 1, ts * 10**6 + 2, "OK")
    info = TraceInfo("tr-" + tid, "0", ts, 5, status, f"root-{i}", None, json.dumps({"q": i}), f"[{i}]", tags or {})
    return Trace(info, TraceData([root, child]))


def test_rest_store_roundtrip(server: str, tracking_uri: str) -> None:
    store = RestTraceStore(server)
    traces = [_trace(i, "ERROR" if i == 1 else "OK", {"env": "prod"} if i < 2 else {}) for i in range(4)]
    store.log_traces(traces)

    got = store.get_trace(traces[0].info.request_id)
    assert got.data.to_dict() == traces[0].data.to_dict()
    assert got.info.name == "root-0" and got.info.tags["env"] == "prod"
    assert store.get_trace_info(traces[2].info.request_id).execution_time_ms == 5

    page = store.search_traces(["0"], "tags.env = 'prod'", 10, ["timestamp_ms ASC"], None)
    assert [t.info.request_id for t in page] == [traces[0].info.request_id, traces[1].info.request_id]
    assert [len(t.data.spans) for t in page] == [2, 2]  # spans in the same response
    page1 = store.search_traces(["0"], None, 3, None, None, include_spans=False)
    assert len(page1) == 3 and page1.token and page1[0].data.spans == []
    page2 = store.search_traces(["0"], None, 3, None, page1.token)
    assert [t.info.request_id for t in page2] == [traces[0].info.request_id]

    store.set_trace_tag(traces[3].info.request_id, "reviewed", "yes")
    assert store.get_trace_info(traces[3].info.request_id).tags["reviewed"] == "yes"
    store.delete_trace_tag(traces[3].info.request_id, "reviewed")
    assert "reviewed" not in store.get_trace_info(traces[3].info.request_id).tags

    assert store.delete_traces("0", request_ids=[traces[3].info.request_id]) == 1
    assert store.delete_traces("0", max_timestamp_millis=1_700_000_000_000 + 1, max_traces=1) == 1
    remaining = store.search_traces(["0"], None, 10, None, None)
    assert [t.info.request_id for t in remaining] == [traces[2].info.request_id, traces[1].info.request_id]
    # what the server stored is what the SQL store reads
    stored = get_trace_store(tracking_uri).get_trace(traces[2].info.request_id)
    assert stored.data.to_dict() == traces[2].data.to_dict()
    assert stored.info.tags == {"hf_mltrack.traceName": "root-2"}  # the name, readable as a tag
    stored.info.tags = {}
    assert stored.info.to_dict() == traces[2].info.to_dict()


def test_rest_errors_are_mapped(server: str) -> None:
    store = RestTraceStore(server)
    with pytest.raises(ResourceNotFoundError, match="does not exist"):
        store.get_trace("tr-" + "f" * 32)
    with pytest.raises(InvalidParameterError, match="unknown attribute .bogus."):
        store.search_traces(["0"], "bogus = 1", 10, None, None)


def test_rest_shapes_are_mlflow_compatible(tracking_uri: str) -> None:
    store = get_trace_store(tracking_uri)
    t = _trace(7, tags={"k": "v"})
    store.log_traces([t])
    listed = rest_handlers.search_traces(store, {"experiment_ids": ["0"], "max_results": ["10"]})
    (info,) = listed["traces"]
    assert info["request_id"] == t.info.request_id and info["experiment_id"] == "0"
    assert {"key": "k", "value": "v"} in info["tags"]
    assert {"key": "hf_mltrack.traceName", "value": "root-7"} in info["tags"]  # the UI's trace name
    assert isinstance(info["request_metadata"], list) and "data" not in info
    data = rest_handlers.get_trace_data(store, {"request_id": [t.info.request_id]})
    # MLflow's trace data artifact: base64 span ids, read back losslessly as our spans
    assert [base64.b64decode(s["span_id"]).hex() for s in data["spans"]] == [s.span_id for s in t.data.spans]
    assert TraceData.from_dict(data).to_dict() == t.data.to_dict()
    assert json.loads(data["request"]) == {"q": 7}
