"""The SQL trace store (SQLAlchemy 2 Core) for SQLite and PostgreSQL, on the tracking engine.

A batch of traces is one write transaction with three inserts (info, tags, span data);
a trace written again (an export retried after an unknown outcome) replaces its earlier copy.
Searches read ``trace_info`` (and ``trace_tags`` for tag filters) only; spans are read by id.
"""

from __future__ import annotations

import time
from collections.abc import Sequence, Set
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ...entities.paged_list import PagedList
from ...entities.trace import TRACE_NAME_TAG, Span, SpanStatusCode, Trace, TraceData, TraceInfo
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
            # Traces written before (an export retried after an unknown outcome, a trace logged again):
            # replace their info, tags and spans in place. The info row is updated, not deleted, so what
            # hangs off the trace and is not part of the copy (its assessments) stays.
            with self._write() as conn:
                self._replace(conn, rows)

    def _insert(self, conn: Connection, rows: dict[str, Any], info_stored: Set[str] = frozenset()) -> None:
        """Insert ``rows``' infos (but those in ``info_stored``), tags and spans."""
        info_rows = [r[0] for rid, r in rows.items() if rid not in info_stored]
        tag_rows = [tag for r in rows.values() for tag in r[1]]
        data_rows = [r[2] for r in rows.values()]
        for table, values in ((trace_info, info_rows), (trace_tags, tag_rows), (trace_data, data_rows)):
            insert_rows(conn, table.name, [c.name for c in table.columns], values)

    def _replace(self, conn: Connection, rows: dict[str, Any]) -> None:
        """Write ``rows`` over the traces of the same ids: infos updated, tags and spans replaced."""
        ids = list(rows)
        stored: set[str] = set()
        for i in range(0, len(ids), _IN_CHUNK):
            chunk = ids[i : i + _IN_CHUNK]
            found = conn.execute(sa.select(trace_info.c.request_id).where(trace_info.c.request_id.in_(chunk)))
            stored.update(r[0] for r in found)
            conn.execute(trace_tags.delete().where(trace_tags.c.request_id.in_(chunk)))
            conn.execute(trace_data.delete().where(trace_data.c.request_id.in_(chunk)))
        columns = [c.name for c in trace_info.columns]
        for rid in stored:
            values = dict(zip(columns, rows[rid][0], strict=True))
            conn.execute(trace_info.update().where(trace_info.c.request_id == rid).values(**values))
        self._insert(conn, rows, info_stored=stored)

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

    # ---- MLflow 3: traces created by StartTraceV3 and spans received over OTLP ----------------------
    def start_trace(self, info: TraceInfo) -> TraceInfo:
        """Create or complete a trace from a client's trace info (MLflow's ``StartTraceV3``, sent when the
        trace ends). Spans may have arrived first (`log_spans`): they are kept, and the client's info
        wins for the fields it sets; tags and metadata are merged."""
        exp = _experiment_key(info.experiment_id)
        rid = info.request_id
        name = info.name or info.tags.get(TRACE_NAME_TAG) or None
        with self._write() as conn:
            if self._missing_experiments_conn(conn, {exp}):
                raise ResourceNotFoundError(
                    f"Cannot create trace {rid!r}: experiment {info.experiment_id!r} does not exist in this "
                    "tracking store (set_experiment() creates one)"
                )
            row = conn.execute(sa.select(trace_info.c.request_metadata).where(trace_info.c.request_id == rid)).first()
            values = {
                "experiment_id": exp,
                "run_id": info.run_id,
                "name": name[:TRACE_NAME_MAX_LENGTH] if name else None,
                "timestamp_ms": int(info.timestamp_ms),
                "execution_time_ms": info.execution_time_ms,
                "status": info.status,
                "request_preview": info.request_preview,
                "response_preview": info.response_preview,
            }
            if row is None:
                conn.execute(
                    trace_info.insert().values(
                        request_id=rid, request_metadata=dumps(dict(info.request_metadata)), **values
                    )
                )
                conn.execute(trace_data.insert().values(request_id=rid, spans="[]"))
            else:
                metadata = {**(loads(row[0]) if row[0] else {}), **info.request_metadata}
                updates = {k: v for k, v in values.items() if v is not None}
                conn.execute(
                    trace_info.update()
                    .where(trace_info.c.request_id == rid)
                    .values(request_metadata=dumps(metadata), **updates)
                )
            for key, value in info.tags.items():
                if key == TRACE_NAME_TAG:
                    continue
                self._put_tag(conn, rid, key[:250], value)
        return self.get_trace_info(rid)

    def log_spans(self, experiment_id: str, spans: Sequence[Span], tags: dict[str, str] | None = None) -> list[str]:
        """Add spans to their traces (one write transaction), creating each trace on its first span; a span
        sent again replaces its earlier copy. The trace's timing, status, name and previews follow its
        root span once that arrives. Returns the request ids of the traces touched."""
        from ...tracing._serialize import preview

        exp = _experiment_key(experiment_id)
        by_trace: dict[str, list[Span]] = {}
        for span in spans:
            by_trace.setdefault(span.request_id, []).append(span)
        if not by_trace:
            return []
        with self._write() as conn:
            if self._missing_experiments_conn(conn, {exp}):
                raise ResourceNotFoundError(
                    f"Cannot store spans: experiment {experiment_id!r} does not exist in this tracking store"
                )
            ids = list(by_trace)
            existing = {
                r.request_id: r
                for r in conn.execute(
                    sa.select(
                        trace_info.c.request_id,
                        trace_info.c.experiment_id,
                        trace_info.c.timestamp_ms,
                        trace_info.c.name,
                        trace_info.c.request_preview,
                        trace_info.c.response_preview,
                        trace_info.c.status,
                    ).where(trace_info.c.request_id.in_(ids))
                )
            }
            stored = self._spans(conn, [i for i in ids if i in existing])
            for rid, new in by_trace.items():
                merged = {s.span_id: s for s in stored.get(rid, [])}
                merged.update((s.span_id, s) for s in new)
                all_spans = sorted(merged.values(), key=lambda s: (s.parent_id is not None, s.start_time_ns))
                root = next((s for s in all_spans if s.parent_id is None), None)
                start_ms = min(s.start_time_ns for s in all_spans) // 1_000_000
                values: dict[str, Any] = {}
                old = existing.get(rid)
                if old is not None and old.experiment_id != exp and stored.get(rid):
                    raise InvalidParameterError(
                        f"Trace {rid!r} belongs to experiment {old.experiment_id}, not {experiment_id!r}"
                    )
                if root is not None:
                    values["status"] = "ERROR" if root.status_code == SpanStatusCode.ERROR else "OK"
                    if root.end_time_ns is not None:
                        values["execution_time_ms"] = int(round((root.end_time_ns - root.start_time_ns) / 1e6))
                    if old is None or not old.name:
                        values["name"] = root.name[:TRACE_NAME_MAX_LENGTH]
                    if old is None or old.request_preview is None:
                        values["request_preview"] = preview(root.inputs)
                    if old is None or old.response_preview is None:
                        values["response_preview"] = preview(root.outputs)
                data = dumps([s.to_dict(compact=True) for s in all_spans])
                if old is None:
                    conn.execute(
                        trace_info.insert().values(
                            request_id=rid,
                            experiment_id=exp,
                            timestamp_ms=start_ms,
                            status=values.pop("status", "IN_PROGRESS"),
                            request_metadata=dumps({}),
                            **values,
                        )
                    )
                    conn.execute(trace_data.insert().values(request_id=rid, spans=data))
                else:
                    values["experiment_id"] = exp
                    values["timestamp_ms"] = start_ms if not stored.get(rid) else min(start_ms, old.timestamp_ms)
                    conn.execute(trace_info.update().where(trace_info.c.request_id == rid).values(**values))
                    updated = conn.execute(
                        trace_data.update().where(trace_data.c.request_id == rid).values(spans=data)
                    ).rowcount
                    if not updated:
                        conn.execute(trace_data.insert().values(request_id=rid, spans=data))
                if root is not None:
                    for key, value in (tags or {}).items():
                        self._put_tag(conn, rid, key[:250], value)
        return list(by_trace)

    def link_traces_to_run(self, request_ids: Sequence[str], run_id: str, experiment_id: str | None = None) -> None:
        """Associate traces with a run (their ``run_id``; ``attribute.run_id`` filters find them).

        A trace not stored yet (its client exports asynchronously) is created IN_PROGRESS in
        ``experiment_id`` (the run's) and completed when its spans and info arrive.
        """
        ids = list(dict.fromkeys(request_ids))
        with self._write() as conn:
            found = {
                r[0] for r in conn.execute(sa.select(trace_info.c.request_id).where(trace_info.c.request_id.in_(ids)))
            }
            missing = [r for r in ids if r not in found]
            if missing and experiment_id is None:
                raise _not_found(missing[0])
            if found:
                conn.execute(trace_info.update().where(trace_info.c.request_id.in_(list(found))).values(run_id=run_id))
            now = int(time.time() * 1000)
            for rid in missing:
                conn.execute(
                    trace_info.insert().values(
                        request_id=rid,
                        experiment_id=_experiment_key(experiment_id),
                        run_id=run_id,
                        timestamp_ms=now,
                        status="IN_PROGRESS",
                        request_metadata=dumps({}),
                    )
                )
                conn.execute(trace_data.insert().values(request_id=rid, spans="[]"))

    @staticmethod
    def _put_tag(conn: Connection, request_id: str, key: str, value: str) -> None:
        conn.execute(trace_tags.delete().where(trace_tags.c.request_id == request_id, trace_tags.c.key == key))
        conn.execute(trace_tags.insert().values(request_id=request_id, key=key, value=value))

    @staticmethod
    def _missing_experiments_conn(conn: Connection, ids: set[int]) -> set[int]:
        from .schema import experiments

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

    def _condition(self, c: Comparison) -> Any:
        if c.entity_type == "attribute" and c.key == "text":
            # full text: the name, the previews and the span JSON (names, inputs, outputs, attributes)
            spans = sa.select(trace_data.c.request_id).where(
                trace_data.c.request_id == trace_info.c.request_id, compare(trace_data.c.spans, c.op, c.value)
            )
            return sa.or_(
                compare(sa.func.coalesce(trace_info.c.name, ""), c.op, c.value),
                compare(sa.func.coalesce(trace_info.c.request_preview, ""), c.op, c.value),
                compare(sa.func.coalesce(trace_info.c.response_preview, ""), c.op, c.value),
                spans.exists(),
            )
        if c.entity_type == "attribute":
            return compare(trace_info.c[c.key], c.op, c.value)
        if c.entity_type == "param":  # request_metadata.<key>: a key of the JSON object
            if c.key in ("mlflow.sourceRun", "hf_mltrack.sourceRun"):
                return compare(trace_info.c.run_id, c.op, c.value)
            value = self._metadata_value(c.key)
            if c.op == "IS NULL":
                return value.is_(None)
            if c.op == "IS NOT NULL":
                return value.is_not(None)
            return compare(value, c.op, c.value)
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

    def _metadata_value(self, key: str) -> Any:
        column = trace_info.c.request_metadata
        if self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import JSONB

            return sa.cast(column, JSONB).op("->>")(sa.literal(key))
        path = '$."' + key.replace('"', '\\"') + '"'
        return sa.func.json_extract(column, path)

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
