"""The tracing half of `MlTrackClient` (mixed in; uses ``self._tracking_uri``).

Names and signatures are MLflow's ``MlflowClient`` trace methods. Every read first writes the traces
this process still has queued for export, so a process always reads its own traces.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from hf_mltrack._client_host import TracingHostBase

from ..exceptions import InvalidParameterError

if TYPE_CHECKING:
    from ..entities.paged_list import PagedList
    from ..entities.trace import Trace, TraceInfo
    from .base import AbstractTraceStore


def _check_request_id(request_id: Any) -> str:
    if not isinstance(request_id, str) or not request_id:
        raise InvalidParameterError(
            f"Invalid trace request_id {request_id!r}: give the id of a trace, e.g. 'tr-5b8a...' "
            "(Trace.info.request_id)"
        )
    return request_id


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class TracingClientMixin(TracingHostBase):
    """Trace methods of `MlTrackClient`. The host class provides ``_tracking_uri`` and ``get_run``."""

    _tracking_uri: str

    @property
    def _trace_store(self) -> AbstractTraceStore:
        from .stores import get_trace_store

        return get_trace_store(self._tracking_uri)

    @staticmethod
    def _flush_traces() -> None:
        from .export import flush

        flush()

    def search_traces(
        self,
        experiment_ids: Sequence[str] | None = None,
        run_id: str | None = None,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
        include_spans: bool = True,
    ) -> PagedList[Trace]:
        """A page of traces, newest first unless `order_by` says otherwise.

        Args:
            experiment_ids (`list[str]`, *optional*): the experiments to search; `None` searches all
                (or, with `run_id`, the run's experiment).
            run_id (`str`, *optional*): only traces recorded while this run was active.
            filter_string (`str`, *optional*): comparisons joined by AND over ``request_id``, ``name``,
                ``status``, ``run_id``, ``timestamp_ms``, ``execution_time_ms`` (unprefixed or
                ``attributes.``) and ``tags.<key>``, e.g. ``"status = 'ERROR' AND execution_time_ms > 50"``.
            max_results (`int`, *optional*, defaults to `100`): page size (at most 1000).
            order_by (`list[str]`, *optional*): e.g. ``["execution_time_ms DESC"]``; ties go by
                ``timestamp_ms DESC`` then ``request_id``.
            page_token (`str`, *optional*): the ``token`` of the previous page.
            include_spans (`bool`, *optional*, defaults to `True`): also read the spans.

        Returns:
            `PagedList[Trace]`: with ``.token`` for the next page (None on the last).
        """
        if experiment_ids is not None:
            if isinstance(experiment_ids, (str, int)):
                experiment_ids = [str(experiment_ids)]
            experiment_ids = [str(e) for e in experiment_ids]
        if run_id is not None:
            if not isinstance(run_id, str) or not run_id:
                raise InvalidParameterError(f"Invalid run_id {run_id!r}: give a run id or None")
            if experiment_ids is None:
                experiment_ids = [self.get_run(run_id).info.experiment_id]
            from .search import parse_trace_filter

            parse_trace_filter(filter_string)  # errors point into the user's own text
            clause = f"attributes.run_id = {_quote(run_id)}"
            # The grammar is AND-only, so the run clause can simply be prepended.
            filter_string = f"{clause} AND {filter_string}" if filter_string and filter_string.strip() else clause
        self._flush_traces()
        return self._trace_store.search_traces(
            experiment_ids, filter_string, max_results, order_by, page_token, include_spans
        )

    def get_trace(self, request_id: str) -> Trace:
        """The trace with its spans.

        Raises:
            `ResourceNotFoundError`: when there is no such trace in this tracking store.
        """
        self._flush_traces()
        return self._trace_store.get_trace(_check_request_id(request_id))

    def get_trace_info(self, request_id: str) -> TraceInfo:
        """The trace's info (no spans)."""
        self._flush_traces()
        return self._trace_store.get_trace_info(_check_request_id(request_id))

    def delete_traces(
        self,
        experiment_id: str,
        max_timestamp_millis: int | None = None,
        max_traces: int | None = None,
        request_ids: Sequence[str] | None = None,
    ) -> int:
        """Delete traces of an experiment: those listed in `request_ids`, or those started at or before
        `max_timestamp_millis` (the oldest `max_traces` of them when given). Returns how many.

        Raises:
            `InvalidParameterError`: unless exactly one of `request_ids` and `max_timestamp_millis` is given.
        """
        if (request_ids is None) == (max_timestamp_millis is None):
            raise InvalidParameterError(
                "delete_traces needs exactly one of request_ids=[...] and max_timestamp_millis=<ms> "
                f"(got request_ids={request_ids!r}, max_timestamp_millis={max_timestamp_millis!r})"
            )
        if max_traces is not None and (not isinstance(max_traces, int) or max_traces < 1):
            raise InvalidParameterError(f"Invalid max_traces={max_traces!r}: give a positive integer")
        if request_ids is not None:
            if isinstance(request_ids, str):
                request_ids = [request_ids]
            request_ids = [_check_request_id(r) for r in request_ids]
        self._flush_traces()
        return self._trace_store.delete_traces(str(experiment_id), max_timestamp_millis, max_traces, request_ids)

    def set_trace_tag(self, request_id: str, key: str, value: Any) -> None:
        """Set a tag on a stored trace (replacing the tag's earlier value)."""
        if not isinstance(key, str) or not key or len(key) > 250:
            raise InvalidParameterError(
                f"Invalid trace tag key {key!r}: give a non-empty string of at most 250 characters"
            )
        self._flush_traces()
        self._trace_store.set_trace_tag(_check_request_id(request_id), key, str(value))

    def delete_trace_tag(self, request_id: str, key: str) -> None:
        """Remove a tag from a stored trace.

        Raises:
            `ResourceNotFoundError`: when the trace or the tag does not exist.
        """
        self._flush_traces()
        self._trace_store.delete_trace_tag(_check_request_id(request_id), key)
