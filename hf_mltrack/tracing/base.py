"""`AbstractTraceStore`: where finished traces are written, searched and read."""

from __future__ import annotations

import abc
from collections.abc import Sequence

from ..entities.paged_list import PagedList
from ..entities.trace import Trace, TraceInfo


class AbstractTraceStore(abc.ABC):
    """A trace store for one tracking URI (SQL database, or an hf-mltrack server over REST)."""

    @abc.abstractmethod
    def log_traces(self, traces: Sequence[Trace]) -> None:
        """Write finished traces in one transaction (a trace written again replaces the earlier copy)."""

    @abc.abstractmethod
    def get_trace_info(self, request_id: str) -> TraceInfo:
        """Raises `ResourceNotFoundError` for an unknown id."""

    @abc.abstractmethod
    def get_trace(self, request_id: str) -> Trace:
        """The trace with its spans. Raises `ResourceNotFoundError` for an unknown id."""

    @abc.abstractmethod
    def search_traces(
        self,
        experiment_ids: Sequence[str] | None,
        filter_string: str | None,
        max_results: int,
        order_by: Sequence[str] | None,
        page_token: str | None,
        include_spans: bool = True,
    ) -> PagedList[Trace]:
        """A page of traces (without spans when `include_spans` is false); `None` experiments: all."""

    @abc.abstractmethod
    def delete_traces(
        self,
        experiment_id: str,
        max_timestamp_millis: int | None = None,
        max_traces: int | None = None,
        request_ids: Sequence[str] | None = None,
    ) -> int:
        """Delete traces of an experiment; returns how many were deleted."""

    @abc.abstractmethod
    def set_trace_tag(self, request_id: str, key: str, value: str) -> None: ...

    @abc.abstractmethod
    def delete_trace_tag(self, request_id: str, key: str) -> None: ...
