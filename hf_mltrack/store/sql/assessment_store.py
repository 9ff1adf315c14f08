"""Assessments of traces (MLflow 3's feedback and expectations) in the ``trace_assessments`` table.

An `Assessment` is a named judgement on a trace (or one of its spans): a *feedback* (a value, or an error
when the judge failed) or an *expectation* (the ground truth). Creating one that ``overrides`` another
marks the other invalid; deleting the overriding one makes it valid again. Deleting an assessment that
does not exist is not an error (as in MLflow).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ...exceptions import InvalidParameterError, ResourceNotFoundError
from ...utils.fast_json import dumps, loads
from .tracing_schema import trace_assessments, trace_info

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

KINDS = ("feedback", "expectation")
_IN_CHUNK = 400


@dataclass
class Assessment:
    """One assessment of a trace.

    Args:
        request_id (`str`): the trace.
        name (`str`): e.g. ``"relevance"``.
        kind (`str`): ``"feedback"`` or ``"expectation"``.
        value: any JSON-compatible value (`None` for a feedback that only carries an `error`).
        error (`dict`, *optional*): ``{"error_code", "error_message", "stack_trace"}`` of a failed judge.
        source_type (`str`, *optional*): ``HUMAN``, ``LLM_JUDGE`` or ``CODE``.
        source_id (`str`, *optional*): who or what judged.
    """

    request_id: str
    name: str
    kind: str
    value: Any = None
    error: dict[str, Any] | None = None
    rationale: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    source_type: str | None = None
    source_id: str | None = None
    span_id: str | None = None
    overrides: str | None = None
    valid: bool = True
    assessment_id: str = ""
    create_time_ms: int = 0
    last_update_time_ms: int = 0


def _row_values(a: Assessment) -> dict[str, Any]:
    return {
        "name": a.name,
        "kind": a.kind,
        "span_id": a.span_id,
        "source_type": a.source_type,
        "source_id": a.source_id,
        "value": dumps(a.value),
        "error": dumps(a.error) if a.error else None,
        "rationale": a.rationale,
        "metadata": dumps(a.metadata or {}),
        "overrides": a.overrides,
        "valid": bool(a.valid),
    }


def _from_row(r: Any) -> Assessment:
    return Assessment(
        request_id=r.request_id,
        name=r.name,
        kind=r.kind,
        value=loads(r.value) if r.value is not None else None,
        error=loads(r.error) if r.error else None,
        rationale=r.rationale,
        metadata=loads(r.metadata) if r.metadata else {},
        source_type=r.source_type,
        source_id=r.source_id,
        span_id=r.span_id,
        overrides=r.overrides,
        valid=bool(r.valid),
        assessment_id=r.assessment_id,
        create_time_ms=r.create_time_ms,
        last_update_time_ms=r.last_update_time_ms,
    )


class SqlAssessmentStore:
    """Assessments on the tracking database's engine.

    Args:
        engine (`sqlalchemy.engine.Engine`): the engine of the trace store.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _write(self):  # type: ignore[no-untyped-def]
        return self.engine.execution_options(hf_write=True).begin()

    @staticmethod
    def _require_trace(conn: Connection, request_id: str) -> None:
        if (
            conn.execute(sa.select(trace_info.c.request_id).where(trace_info.c.request_id == request_id)).first()
            is None
        ):
            raise ResourceNotFoundError(f"Trace {request_id!r} does not exist in this tracking store")

    @staticmethod
    def _get(conn: Connection, request_id: str, assessment_id: str) -> Assessment:
        row = conn.execute(
            sa.select(trace_assessments).where(
                trace_assessments.c.request_id == request_id, trace_assessments.c.assessment_id == assessment_id
            )
        ).first()
        if row is None:
            raise ResourceNotFoundError(f"Assessment {assessment_id!r} of trace {request_id!r} does not exist")
        return _from_row(row)

    def create(self, a: Assessment) -> Assessment:
        if a.kind not in KINDS:
            raise InvalidParameterError(f"Invalid assessment: give a feedback or an expectation, not {a.kind!r}")
        now = int(time.time() * 1000)
        a.assessment_id = "a-" + uuid.uuid4().hex
        a.create_time_ms = a.create_time_ms or now
        a.last_update_time_ms = now
        a.valid = True
        with self._write() as conn:
            self._require_trace(conn, a.request_id)
            if a.overrides:
                self._get(conn, a.request_id, a.overrides)  # 404 when it does not exist
                conn.execute(
                    trace_assessments.update()
                    .where(trace_assessments.c.assessment_id == a.overrides)
                    .values(valid=False)
                )
            conn.execute(
                trace_assessments.insert().values(
                    assessment_id=a.assessment_id,
                    request_id=a.request_id,
                    create_time_ms=a.create_time_ms,
                    last_update_time_ms=a.last_update_time_ms,
                    **_row_values(a),
                )
            )
        return a

    def get(self, request_id: str, assessment_id: str) -> Assessment:
        with self.engine.connect() as conn:
            return self._get(conn, request_id, assessment_id)

    def update(self, request_id: str, assessment_id: str, changes: dict[str, Any]) -> Assessment:
        """Apply ``changes`` (fields of `Assessment`: name, value, error, rationale, metadata, kind)."""
        with self._write() as conn:
            current = self._get(conn, request_id, assessment_id)
            for key, value in changes.items():
                setattr(current, key, value)
            current.last_update_time_ms = int(time.time() * 1000)
            conn.execute(
                trace_assessments.update()
                .where(trace_assessments.c.assessment_id == assessment_id)
                .values(last_update_time_ms=current.last_update_time_ms, **_row_values(current))
            )
        return current

    def delete(self, request_id: str, assessment_id: str) -> None:
        with self._write() as conn:
            self._require_trace(conn, request_id)
            row = conn.execute(
                sa.select(trace_assessments.c.overrides).where(
                    trace_assessments.c.request_id == request_id, trace_assessments.c.assessment_id == assessment_id
                )
            ).first()
            if row is None:
                return
            conn.execute(trace_assessments.delete().where(trace_assessments.c.assessment_id == assessment_id))
            if row.overrides:
                conn.execute(
                    trace_assessments.update()
                    .where(trace_assessments.c.assessment_id == row.overrides)
                    .values(valid=True)
                )

    def for_traces(self, request_ids: Sequence[str]) -> dict[str, list[Assessment]]:
        """The assessments of each trace, oldest first."""
        out: dict[str, list[Assessment]] = {}
        ids = list(request_ids)
        with self.engine.connect() as conn:
            for i in range(0, len(ids), _IN_CHUNK):
                rows = conn.execute(
                    sa.select(trace_assessments)
                    .where(trace_assessments.c.request_id.in_(ids[i : i + _IN_CHUNK]))
                    .order_by(trace_assessments.c.create_time_ms, trace_assessments.c.assessment_id)
                )
                for r in rows:
                    out.setdefault(r.request_id, []).append(_from_row(r))
        return out
