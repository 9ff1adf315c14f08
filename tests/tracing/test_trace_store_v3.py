"""The SQL trace store's MLflow 3 operations on SQLite and PostgreSQL: traces built from spans that arrive
before their info (OTLP), completed by the info; links to runs made before a trace arrives; request
metadata and full-text filters; assessments with overrides."""

from __future__ import annotations

import pytest

from hf_mltrack.entities.trace import Span, TraceInfo
from hf_mltrack.exceptions import InvalidParameterError, ResourceNotFoundError

HEX = "ab" * 16
RID = "tr-" + HEX


def _span(span_id: str, parent: str | None, name: str, start: int, end: int, **kw) -> Span:
    return Span(HEX, span_id, parent, name, kw.pop("span_type", "UNKNOWN"), start, end, kw.pop("status", "OK"), **kw)


@pytest.fixture
def stores(store_uri):
    from hf_mltrack.store.sql.assessment_store import SqlAssessmentStore
    from hf_mltrack.tracing.stores import _clear_cache, get_trace_store

    _clear_cache()
    traces = get_trace_store(store_uri)
    yield traces, SqlAssessmentStore(traces.engine)
    _clear_cache()


def test_spans_first_then_info(stores) -> None:
    traces, _ = stores
    child = _span("00000000000000b2", "00000000000000b1", "lookup", 2_000_000, 3_000_000, inputs={"q": "x"})
    traces.log_spans("0", [child])  # a child alone: the trace exists, in progress
    assert traces.get_trace_info(RID).status == "IN_PROGRESS"
    root = _span(
        "00000000000000b1",
        None,
        "answer",
        1_000_000,
        9_000_000,
        inputs={"question": "hi"},
        outputs="yes",
        attributes={"fruit": "apple"},
    )
    traces.log_spans("0", [root, child], {"service.name": "svc"})  # the child again: replaced, not doubled
    info = traces.get_trace_info(RID)
    assert (info.name, info.status, info.timestamp_ms, info.execution_time_ms) == ("answer", "OK", 1, 8)
    assert info.tags["service.name"] == "svc" and "hi" in info.request_preview
    assert len(traces.get_trace(RID).data.spans) == 2

    final = TraceInfo(RID, "0", 1, 8, "ERROR", request_metadata={"team": "nlp"}, tags={"env": "prod"})
    traces.start_trace(final)
    info = traces.get_trace_info(RID)
    assert info.status == "ERROR" and info.name == "answer"  # the client's info wins, the name is kept
    assert info.tags["env"] == "prod" and info.request_metadata == {"team": "nlp"}
    assert [s.name for s in traces.get_trace(RID).data.spans] == ["answer", "lookup"]
    with pytest.raises(ResourceNotFoundError):
        traces.start_trace(TraceInfo("tr-" + "cd" * 16, "4242", 1))

    search = lambda f: [t.info.request_id for t in traces.search_traces(["0"], f, 10, None, None)]  # noqa: E731
    assert search("request_metadata.team = 'nlp'") == [RID]
    assert search("metadata.team != 'nlp'") == []
    assert search("trace.text LIKE '%apple%'") == [RID]
    assert search("trace.text LIKE '%banana%'") == []
    assert search("tags.env = 'prod' AND trace.status = 'ERROR'") == [RID]


def test_links_before_the_trace_arrives(stores) -> None:
    traces, _ = stores
    traces.link_traces_to_run([RID], "run-1", experiment_id="0")
    assert traces.get_trace_info(RID).run_id == "run-1"
    traces.log_spans("0", [_span("00000000000000c1", None, "late", 5_000_000, 6_000_000)])
    info = traces.get_trace_info(RID)
    assert (info.run_id, info.name, info.timestamp_ms) == ("run-1", "late", 5)
    assert [t.info.request_id for t in traces.search_traces(["0"], "attribute.run_id = 'run-1'", 10, None, None)] == [
        RID
    ]
    with pytest.raises(ResourceNotFoundError):
        traces.link_traces_to_run(["tr-" + "ef" * 16], "run-1")  # without an experiment: must exist


def test_spans_cannot_move_a_trace_between_experiments(stores, store_uri) -> None:
    import hf_mltrack

    traces, _ = stores
    other = hf_mltrack.MlTrackClient(store_uri).create_experiment("other")
    traces.log_spans("0", [_span("00000000000000d1", None, "r", 1, 2)])
    with pytest.raises(InvalidParameterError, match="belongs to experiment"):
        traces.log_spans(other, [_span("00000000000000d2", "00000000000000d1", "c", 1, 2)])


def test_assessments_override_and_restore(stores) -> None:
    from hf_mltrack.store.sql.assessment_store import Assessment

    traces, assessments = stores
    traces.start_trace(TraceInfo(RID, "0", 1, 2, "OK"))
    first = assessments.create(Assessment(RID, "quality", "feedback", value={"rating": 4}, source_type="HUMAN"))
    second = assessments.create(Assessment(RID, "quality", "feedback", value=3, overrides=first.assessment_id))
    assert assessments.get(RID, first.assessment_id).valid is False
    updated = assessments.update(RID, second.assessment_id, {"rationale": "checked"})
    assert updated.rationale == "checked" and updated.value == 3
    assessments.delete(RID, second.assessment_id)
    assert assessments.get(RID, first.assessment_id).valid is True
    assessments.delete(RID, second.assessment_id)  # again: nothing to do
    assert [a.name for a in assessments.for_traces([RID])[RID]] == ["quality"]
    with pytest.raises(ResourceNotFoundError):
        assessments.create(Assessment("tr-nope", "q", "feedback", value=1))
    with pytest.raises(ResourceNotFoundError):
        assessments.create(Assessment(RID, "q", "feedback", value=1, overrides="a-missing"))
    traces.delete_traces("0", request_ids=[RID])
    assert assessments.for_traces([RID]) == {}  # removed with their trace


def test_a_trace_logged_again_keeps_its_assessments(stores) -> None:
    """An export retried after an unknown outcome (or a trace re-logged with new tags) replaces the
    trace's info, tags and spans; the assessments made on it since are not part of the copy and stay."""
    from hf_mltrack.entities.trace import Trace, TraceData
    from hf_mltrack.store.sql.assessment_store import Assessment

    traces, assessments = stores
    root = _span("00000000000000c1", None, "answer", 1_000_000, 4_000_000)
    info = TraceInfo(RID, "0", 1, 3, "OK", tags={"round": "1"})
    traces.log_traces([Trace(info, TraceData([root]))])
    made = assessments.create(Assessment(RID, "quality", "feedback", value=5, source_type="HUMAN"))
    again = TraceInfo(RID, "0", 1, 7, "ERROR", tags={"round": "2"})
    other = TraceInfo("tr-" + "cd" * 16, "0", 2, 1, "OK")
    traces.log_traces(
        [
            Trace(again, TraceData([root, _span("00000000000000c2", "00000000000000c1", "x", 2, 3)])),
            Trace(other, TraceData([])),
        ]
    )
    stored = traces.get_trace(RID)
    assert (stored.info.status, stored.info.execution_time_ms, stored.info.tags.get("round")) == ("ERROR", 7, "2")
    assert len(stored.data.spans) == 2
    assert [a.assessment_id for a in assessments.for_traces([RID])[RID]] == [made.assessment_id]
    assert traces.get_trace_info(other.request_id).status == "OK"
