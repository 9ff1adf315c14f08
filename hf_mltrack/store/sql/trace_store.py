"""The SQL trace store (SQLAlchemy 2 Core) for SQLite and PostgreSQL, on the tracking engine.

A batch of traces is one write transaction with three inserts (info, tags, span data);
a trace written again (an export retried after an unknown outcome) replaces its earlier copy.
Searches read ``trace_info`` (and ``trace_tags`` for tag filters) only; spans are read by id.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ...entities.paged_list import PagedList
from ...entities.trace import TRACE_NAME_TAG, Span, Trace, TraceData, TraceInfo
from ...exceptions import InvalidParameterError, ResourceNotFoundError
from ...tracing.base import AbstractTraceStore
from ...utils.fast_json import dumps, loads
from .bulk import insert_rows
from .search_sql import compare
from .tracing_schema import TRACE_NAME_MAX_LENGTH, trace_data, trace_info, trace_tags

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from ...tracking.search import Comparison, OrderBy

_IN_CHUNK = 400
MAX_RESULTS_LIMIT = 1000

_INFO_COLUMNS = (
    trace_info.c.request_id,
    trace_info.c.experiment_id,
    trace_info.c.run_id,
    trace_info.c.name,
    trace_info.c.timestamp_ms,
    trace_info.c.execution_time_ms,
    trace_info.c.status,
    trace_info.c.request_preview,
    trace_info.c.response_preview,
    trace_info.c.request_metadata,
)


def _not_found(request_id: str) -> ResourceNotFoundError:
    return ResourceNotFoundError(
        f"Trace {request_id!r} does not exist in this tracking store: check the id (search_traces "
        "lists them) and the tracking URI"
    )


def _experiment_key(experiment_id: Any) -> int:
    try:
        return int(experiment_id)
    except (TypeError, ValueError):
        raise InvalidParameterError(
            f"Invalid experiment id {experiment_id!r} for a trace: experiment ids of a SQL store are integers"
        ) from None


class SqlTraceStore(AbstractTraceStore):
    """Traces in the tracking database (the same engine as the tracking and registry stores).

    Args:
        db_uri (`str`): SQLAlchemy URI (``sqlite:///...``, ``postgresql://...``).
    """

    def __init__(self, db_uri: str) -> None:
        from .. import get_tracking_store
        from .engine import get_engine

        self.db_uri = db_uri
        self.engine = get_engine(db_uri)
        # The tracking store of the same database creates the "Default" experiment (id 0), where
        # traces recorded outside any experiment go.
        get_tracking_store(db_uri)

    def __repr__(self) -> str:
        from .engine import redact

        return f"SqlTraceStore({redact(self.db_uri)!r})"

    def _write(self):  # type: ignore[no-untyped-def]
        """A write transaction (``BEGIN IMMEDIATE`` on SQLite)."""
        return self.engine.execution_options(hf_write=True).begin()

    # ---- writes ------------------------------------------------------------------------------
    def log_traces(self, traces: Sequence[Trace]) -> None:
        if not traces:
            return
        rows: dict[str, tuple[tuple[Any, ...], list[tuple[str, str, str]], tuple[str, str]]] = {}
        for t in traces:  # the same trace twice in one batch: the last copy wins
            info = t.info
            rid = info.request_id
            name = info.name
            info_row = (
                rid,
                _experiment_key(info.experiment_id),
                info.run_id,
                name[:TRACE_NAME_MAX_LENGTH] if name else name,
                int(info.timestamp_ms),
                info.execution_time_ms,
                info.status,
                info.request_preview,
                info.response_preview,
                dumps(info.request_metadata),
            )
            # The trace-name tag is the name column (written again only when it says something else).
            tag_rows = [
                (rid, k[:250], v) for k, v in info.tags.items() if not (k == TRACE_NAME_TAG and v == (name or ""))
            ]
            rows[rid] = (info_row, tag_rows, (rid, dumps([s.to_dict(compact=True) for s in t.data.spans])))
        try:
            with self._write() as conn:
                self._insert(conn, rows)
        except sa.exc.IntegrityError as exc:
            missing = self._missing_experiments({r[0][1] for r in rows.values()})
            if missing:
                raise ResourceNotFoundError(
                    f"Cannot store traces of experiment(s) {', '.join(map(str, sorted(missing)))}: "
                    "no such experiment in this tracking store (set_experiment() creates one)"
                ) from exc
            # Traces written before (an export retried after an unknown outcome): replace them.
            with self._write() as conn:
                self._delete(conn, list(rows))
                self._insert(conn, rows)

    def _insert(self, conn: Connection, rows: dict[str, Any]) -> None:
        info_rows = [r[0] for r in rows.values()]
        tag_rows = [tag for r in rows.values() for tag in r[1]]
        data_rows = [r[2] for r in rows.values()]
        for table, values in ((trace_info, info_rows), (trace_tags, tag_rows), (trace_data, data_rows)):
            insert_rows(conn, table.name, [c.name for c in table.columns], values)

    @staticmethod
    def _delete(conn: Connection, ids: list[str]) -> None:
        for i in range(0, len(ids), _IN_CHUNK):
            chunk = ids[i : i + _IN_CHUNK]
            conn.execute(trace_tags.delete().where(trace_tags.c.request_id.in_(chunk)))
            conn.execute(trace_data.delete().where(trace_data.c.request_id.in_(chunk)))
            conn.execute(trace_info.delete().where(trace_info.c.request_id.in_(chunk)))

    def _missing_experiments(self, ids: set[int]) -> set[int]:
        from .schema import experiments

        with self.engine.connect() as conn:
            found = {
                r[0]
                for r in conn.execute(
                    sa.select(experiments.c.experiment_id).where(experiments.c.experiment_id.in_(list(ids)))
                )
            }
        return ids - found

    def set_trace_tag(self, request_id: str, key: str, value: str) -> None:
        with self._write() as conn:
            self._require(conn, request_id)
            conn.execute(trace_tags.delete().where(trace_tags.c.request_id == request_id, trace_tags.c.key == key))
            conn.execute(trace_tags.insert().values(request_id=request_id, key=key, value=value))

    def delete_trace_tag(self, request_id: str, key: str) -> None:
        with self._write() as conn:
            self._require(conn, request_id)
            deleted = conn.execute(
                trace_tags.delete().where(trace_tags.c.request_id == request_id, trace_tags.c.key == key)
            ).rowcount
        if not deleted:
            raise ResourceNotFoundError(f"Trace {request_id!r} has no tag {key!r}")

    def delete_traces(
        self,
        experiment_id: str,
        max_timestamp_millis: int | None = None,
        max_traces: int | None = None,
        request_ids: Sequence[str] | None = None,
    ) -> int:
        exp = _experiment_key(experiment_id)
        query = sa.select(trace_info.c.request_id).where(trace_info.c.experiment_id == exp)
        if request_ids is not None:
            query = query.where(trace_info.c.request_id.in_(list(request_ids)))
        if max_timestamp_millis is not None:
            query = query.where(trace_info.c.timestamp_ms <= int(max_timestamp_millis))
        if max_traces is not None:
            query = query.order_by(trace_info.c.timestamp_ms, trace_info.c.request_id).limit(int(max_traces))
        with self._write() as conn:
            ids = [r[0] for r in conn.execute(query)]
            self._delete(conn, ids)
        return len(ids)

    def _require(self, conn: Connection, request_id: str) -> None:
        row = conn.execute(sa.select(trace_info.c.request_id).where(trace_info.c.request_id == request_id)).first()
        if row is None:
            raise _not_found(request_id)

    # ---- reads -------------------------------------------------------------------------------
    def get_trace_info(self, request_id: str) -> TraceInfo:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(*_INFO_COLUMNS).where(trace_info.c.request_id == request_id)).first()
            if row is None:
                raise _not_found(request_id)
            return self._infos(conn, [row])[0]

    def get_trace(self, request_id: str) -> Trace:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(*_INFO_COLUMNS).where(trace_info.c.request_id == request_id)).first()
            if row is None:
                raise _not_found(request_id)
            info = self._infos(conn, [row])[0]
            spans = self._spans(conn, [request_id])
        return Trace(info, TraceData(spans.get(request_id, [])))

    def search_traces(
        self,
        experiment_ids: Sequence[str] | None,
        filter_string: str | None,
        max_results: int,
        order_by: Sequence[str] | None,
        page_token: str | None,
        include_spans: bool = True,
    ) -> PagedList[Trace]:
        from ...tracing.search import parse_trace_filter, parse_trace_order_by
        from ...tracking.search import decode_page_token, encode_page_token

        if (
            not isinstance(max_results, int)
            or isinstance(max_results, bool)
            or not 0 < max_results <= MAX_RESULTS_LIMIT
        ):
            raise InvalidParameterError(
                f"Invalid max_results={max_results!r}: give an integer between 1 and {MAX_RESULTS_LIMIT}"
            )
        comparisons = parse_trace_filter(filter_string)
        orders = parse_trace_order_by(order_by)
        offset = decode_page_token(page_token)
        query = sa.select(*_INFO_COLUMNS)
        if experiment_ids is not None:
            exp_ids = [_experiment_key(e) for e in experiment_ids]
            if not exp_ids:
                return PagedList([], None)
            query = query.where(trace_info.c.experiment_id.in_(exp_ids))
        for c in comparisons:
            query = query.where(self._condition(c))
        query = query.order_by(*(self._order(ob) for ob in orders)).limit(max_results + 1).offset(offset)
        with self.engine.connect() as conn:
            rows = list(conn.execute(query))
            more = len(rows) > max_results
            rows = rows[:max_results]
            infos = self._infos(conn, rows)
            spans = self._spans(conn, [i.request_id for i in infos]) if include_spans and infos else {}
        traces = [Trace(i, TraceData(spans.get(i.request_id, []))) for i in infos]
        return PagedList(traces, encode_page_token(offset + max_results) if more else None)

    @staticmethod
    def _condition(c: Comparison) -> Any:
        if c.entity_type == "attribute":
            return compare(trace_info.c[c.key], c.op, c.value)
        if c.key == TRACE_NAME_TAG:
            # The tag is the name column unless a tag row overrides it.
            row = sa.select(trace_tags.c.value).where(
                trace_tags.c.request_id == trace_info.c.request_id, trace_tags.c.key == c.key
            )
            value = sa.func.coalesce(row.scalar_subquery(), trace_info.c.name, "")
            if c.op in ("IS NULL", "IS NOT NULL"):
                return sa.true() if c.op == "IS NOT NULL" else sa.false()
            return compare(value, c.op, c.value)
        # tags.<key>: an EXISTS on trace_tags
        match = sa.select(trace_tags.c.request_id).where(
            trace_tags.c.request_id == trace_info.c.request_id, trace_tags.c.key == c.key
        )
        if c.op == "IS NULL":
            return ~match.exists()
        if c.op != "IS NOT NULL":
            match = match.where(compare(trace_tags.c.value, c.op, c.value))
        return match.exists()

    @staticmethod
    def _order(ob: OrderBy) -> Any:
        col = trace_info.c[ob.key]
        # Missing values (NULL) last in both directions, as in run searches.
        return (col.asc() if ob.ascending else col.desc()).nulls_last()

    def _infos(self, conn: Connection, rows: Sequence[Any]) -> list[TraceInfo]:
        ids = [r.request_id for r in rows]
        tags: dict[str, dict[str, str]] = {rid: {} for rid in ids}
        for i in range(0, len(ids), _IN_CHUNK):
            chunk = ids[i : i + _IN_CHUNK]
            for t in conn.execute(
                sa.select(trace_tags.c.request_id, trace_tags.c.key, trace_tags.c.value)
                .where(trace_tags.c.request_id.in_(chunk))
                .order_by(trace_tags.c.request_id, trace_tags.c.key)
            ):
                tags[t.request_id][t.key] = t.value
        return [
            TraceInfo(
                request_id=r.request_id,
                experiment_id=str(r.experiment_id),
                timestamp_ms=r.timestamp_ms,
                execution_time_ms=r.execution_time_ms,
                status=r.status,
                name=r.name,
                run_id=r.run_id,
                request_preview=r.request_preview,
                response_preview=r.response_preview,
                tags={TRACE_NAME_TAG: r.name or "", **tags[r.request_id]},
                request_metadata=loads(r.request_metadata) if r.request_metadata else {},
            )
            for r in rows
        ]

    def _spans(self, conn: Connection, ids: Sequence[str]) -> dict[str, list[Span]]:
        out: dict[str, list[Span]] = {}
        for i in range(0, len(ids), _IN_CHUNK):
            chunk = list(ids[i : i + _IN_CHUNK])
            for r in conn.execute(
                sa.select(trace_data.c.request_id, trace_data.c.spans).where(trace_data.c.request_id.in_(chunk))
            ):
                out[r.request_id] = [Span.from_dict(d) for d in loads(r.spans)]
        return out
