"""`RestTraceStore`: the traces of an ``hf-mltrack server`` (tracking URI ``http(s)://host:port``).

It speaks the endpoints documented in `hf_mltrack.tracing.rest_handlers`, over the tracking store's
HTTP client (connection pool, credentials, retries). A search with spans is one request
(``include_spans=true``), not one per trace.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from ..entities.paged_list import PagedList
from ..entities.trace import Trace, TraceData, TraceInfo
from .base import AbstractTraceStore

API = "/api/2.0/mlflow"
LOG_BATCH_SIZE = 500


class RestTraceStore(AbstractTraceStore):
    """Traces on a tracking server.

    Args:
        host (`str`): the server's ``http(s)://host:port`` (the tracking URI).
    """

    def __init__(self, host: str) -> None:
        from ..store.rest import HttpClient

        self.host = host.rstrip("/")
        self._http = HttpClient(self.host)

    def __repr__(self) -> str:
        return f"RestTraceStore({self.host!r})"

    @staticmethod
    def _path(request_id: str) -> str:
        return f"/traces/{quote(request_id, safe='')}"

    def log_traces(self, traces: Sequence[Trace]) -> None:
        for i in range(0, len(traces), LOG_BATCH_SIZE):
            chunk = traces[i : i + LOG_BATCH_SIZE]
            self._http.call("POST", "/traces/log-batch", {"traces": [t.to_dict() for t in chunk]})

    def get_trace_info(self, request_id: str) -> TraceInfo:
        payload = self._http.call("GET", self._path(request_id) + "/info")
        return TraceInfo.from_dict(payload["trace_info"])

    def get_trace(self, request_id: str) -> Trace:
        info = self.get_trace_info(request_id)
        data = self._http.call("GET", "/get-trace-artifact", params={"request_id": request_id})
        return Trace(info, TraceData.from_dict(data))

    def search_traces(
        self,
        experiment_ids: Sequence[str] | None,
        filter_string: str | None,
        max_results: int,
        order_by: Sequence[str] | None,
        page_token: str | None,
        include_spans: bool = True,
    ) -> PagedList[Trace]:
        params: list[tuple[str, Any]] = [("max_results", max_results)]
        params += [("experiment_ids", str(e)) for e in experiment_ids or ()]
        params += [("order_by", o) for o in order_by or ()]
        if filter_string:
            params.append(("filter", filter_string))
        if page_token:
            params.append(("page_token", page_token))
        if include_spans:
            params.append(("include_spans", "true"))
        if experiment_ids is not None and not experiment_ids:
            return PagedList([], None)
        payload = self._http.call("GET", "/traces", params=params)
        traces = [
            Trace(TraceInfo.from_dict(item), TraceData.from_dict(item.get("data") or {}))
            for item in payload.get("traces") or ()
        ]
        return PagedList(traces, payload.get("next_page_token") or None)

    def delete_traces(
        self,
        experiment_id: str,
        max_timestamp_millis: int | None = None,
        max_traces: int | None = None,
        request_ids: Sequence[str] | None = None,
    ) -> int:
        body: dict[str, Any] = {"experiment_id": str(experiment_id)}
        if max_timestamp_millis is not None:
            body["max_timestamp_millis"] = int(max_timestamp_millis)
        if max_traces is not None:
            body["max_traces"] = int(max_traces)
        if request_ids is not None:
            body["request_ids"] = list(request_ids)
        return int(self._http.call("POST", "/traces/delete-traces", body).get("traces_deleted", 0))

    def set_trace_tag(self, request_id: str, key: str, value: str) -> None:
        self._http.call("PATCH", self._path(request_id) + "/tags", {"key": key, "value": value})

    def delete_trace_tag(self, request_id: str, key: str) -> None:
        self._http.request("DELETE", API + self._path(request_id) + "/tags", params={"key": key})
