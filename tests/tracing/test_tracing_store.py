"""Traces in the tracking store: linking to runs and experiments, search filters, ordering, paging,
get/delete/tags, the fluent readers and the schema migration (SQLite, and PostgreSQL when reachable)."""

from __future__ import annotations

import time
from typing import Any

import pytest

import hf_mltrack
from hf_mltrack.entities.trace import Span, Trace, TraceData, TraceInfo
from hf_mltrack.exceptions import InvalidParameterError, ResourceNotFoundError, SearchFilterParseError
from hf_mltrack.tracing import export, fluent, start_span, trace
from hf_mltrack.tracing.stores import get_trace_store


def _client(uri: str) -> Any:
    from hf_mltrack.tracing.client_mixin import TracingClientMixin
    from hf_mltrack.tracking import MlTrackClient

    if issubclass(MlTrackClient, TracingClientMixin):
        return MlTrackClient(uri)
    return type("TracingClient", (TracingClientMixin, MlTrackClient), {})(uri)


def _make_trace(name: str, experiment_id: str, ts: int, ms: int, status: str = "OK", **kw: Any) -> Trace:
    tid = f"{abs(hash((name, ts))) % (1 << 64):032x}"
    span = Span(tid, "a" * 16, None, name, "CHAIN", ts * 1_000_000, (ts + ms) * 1_000_000, status, "", "in", "out")
    info = TraceInfo(
        request_id="tr-" + tid,
        experiment_id=experiment_id,
        timestamp_ms=ts,
        execution_time_ms=ms,
        status=status,
        name=name,
        run_id=kw.get("run_id"),
        request_preview='"in"',
        response_preview='"out"',
        tags=kw.get("tags", {}),
    )
    return Trace(info, TraceData([span]))


def test_traces_are_linked_to_the_active_run_and_experiment(store_uri: str) -> None:
    client = _client(store_uri)
    hf_mltrack.set_experiment("tracing-exp")

    @trace
    def step(x: int) -> int:
        return x + 1

    with hf_mltrack.start_run() as run:
        step(1)
        in_run = hf_mltrack.tracing.get_last_active_trace()
    step(2)  # no active run: the current experiment
    outside = hf_mltrack.tracing.get_last_active_trace()

    exp_id = run.info.experiment_id
    got = client.get_trace(in_run.info.request_id)
    assert got.info.run_id == run.info.run_id and got.info.experiment_id == exp_id
    assert got.info.request_metadata["hf_mltrack.sourceRun"] == run.info.run_id
    assert got.info.request_metadata["hf_mltrack.trace_schema.version"] == "1"
    assert got.to_dict() == in_run.to_dict()  # what was recorded is what is stored
    other = client.get_trace(outside.info.request_id)
    assert other.info.run_id is None and other.info.experiment_id == exp_id

    by_run = client.search_traces(run_id=run.info.run_id)
    assert [t.info.request_id for t in by_run] == [in_run.info.request_id]
    assert {t.info.request_id for t in client.search_traces([exp_id])} == {
        in_run.info.request_id,
        outside.info.request_id,
    }
    assert client.search_traces(["0"]) == []


def test_environment_experiment_is_resolved_by_the_exporter(tracking_uri: str, monkeypatch) -> None:
    monkeypatch.setenv("HF_MLTRACK_EXPERIMENT_NAME", "from-env")
    with start_span("env-trace"):
        pass
    t = hf_mltrack.tracing.get_last_active_trace()
    experiment = hf_mltrack.get_experiment_by_name("from-env")
    assert experiment is not None and t.info.experiment_id == experiment.experiment_id
    assert _client(tracking_uri).get_trace(t.info.request_id).info.experiment_id == experiment.experiment_id


def test_search_filters_and_order(store_uri: str) -> None:
    client = _client(store_uri)
    exp = client.create_experiment("search")
    other = client.create_experiment("other")
    base = 1_700_000_000_000
    traces = [
        _make_trace("retrieve", exp, base + 1, 5, tags={"env": "prod", "team": "nlp"}),
        _make_trace("generate", exp, base + 2, 120, status="ERROR", tags={"env": "dev"}),
        _make_trace("generate", exp, base + 3, 80, run_id="r" * 32, tags={"env": "prod"}),
        _make_trace("Generate_v2", exp, base + 4, 300),
        _make_trace("generate", other, base + 5, 1),
    ]
    get_trace_store(store_uri).log_traces(traces)
    ids = [t.info.request_id for t in traces]

    def search(flt: str | None = None, order_by: Any = None, **kw: Any) -> list[str]:
        return [t.info.request_id for t in client.search_traces([exp], filter_string=flt, order_by=order_by, **kw)]

    assert search() == [ids[3], ids[2], ids[1], ids[0]]  # newest first
    assert search("status = 'ERROR'") == [ids[1]]
    assert search("attributes.status != 'ERROR'") == [ids[3], ids[2], ids[0]]
    assert search("name = 'generate'") == [ids[2], ids[1]]
    assert search("trace_name LIKE 'generate%'") == [ids[2], ids[1]]  # LIKE is case-sensitive
    assert search("name ILIKE 'generate%'") == [ids[3], ids[2], ids[1]]
    assert search("name IN ('retrieve', 'Generate_v2')") == [ids[3], ids[0]]
    assert search("execution_time_ms > 80") == [ids[3], ids[1]]
    assert search("execution_time_ms >= 80 AND execution_time_ms <= 120") == [ids[2], ids[1]]
    assert search(f"timestamp_ms <= {base + 2}") == [ids[1], ids[0]]
    assert search(f"timestamp = {base + 3}") == [ids[2]]
    assert search("tags.env = 'prod'") == [ids[2], ids[0]]
    assert search("tags.env = 'prod' AND name = 'retrieve'") == [ids[0]]
    assert search("tags.team IS NULL") == [ids[3], ids[2], ids[1]]
    assert search("tags.team IS NOT NULL") == [ids[0]]
    assert search("tags.`hf_mltrack.traceName` = 'Generate_v2'") == [ids[3]]
    assert search(f"run_id = '{'r' * 32}'") == [ids[2]]
    assert search(f"request_id = '{ids[1]}'") == [ids[1]]
    assert search(order_by=["execution_time_ms DESC"]) == [ids[3], ids[1], ids[2], ids[0]]
    assert search(order_by=["name", "timestamp_ms ASC"]) == [ids[3], ids[1], ids[2], ids[0]]
    # all experiments
    assert len(client.search_traces(filter_string="name = 'generate'")) == 3

    # paging
    page1 = client.search_traces([exp], max_results=3)
    assert [t.info.request_id for t in page1] == [ids[3], ids[2], ids[1]] and page1.token
    page2 = client.search_traces([exp], max_results=3, page_token=page1.token)
    assert [t.info.request_id for t in page2] == [ids[0]] and page2.token is None

    # infos only
    light = client.search_traces([exp], filter_string="name = 'retrieve'", include_spans=False)
    assert light[0].data.spans == [] and light[0].info.tags["team"] == "nlp"
    assert light[0].info.tags["hf_mltrack.traceName"] == "retrieve"


@pytest.mark.parametrize(
    ("flt", "message"),
    [
        ("status = ERROR", "quoted string"),
        ("duration > 5", "unknown attribute 'duration'"),
        ("metrics.loss < 1", "unknown key type 'metrics'"),
        ("execution_time_ms > 'a'", "a number"),
        ("name = 'a' OR name = 'b'", "only AND"),
    ],
    ids=["unquoted", "unknown-attribute", "metrics-prefix", "string-for-number", "or"],
)
def test_search_filter_errors_name_the_problem(tracking_uri: str, flt: str, message: str) -> None:
    with pytest.raises(SearchFilterParseError, match=message):
        _client(tracking_uri).search_traces(["0"], filter_string=flt)


def test_search_argument_errors(tracking_uri: str) -> None:
    client = _client(tracking_uri)
    with pytest.raises(InvalidParameterError, match="between 1 and 1000"):
        client.search_traces(["0"], max_results=0)
    with pytest.raises(SearchFilterParseError, match="can only be ordered by"):
        client.search_traces(["0"], order_by=["tags.env"])
    with pytest.raises(InvalidParameterError, match="page_token"):
        client.search_traces(["0"], page_token="nope")
    with pytest.raises(SearchFilterParseError, match="position 0"):
        # the run clause the client adds does not shift positions in the user's filter
        with hf_mltrack.start_run() as run:
            pass
        client.search_traces(run_id=run.info.run_id, filter_string="!x")


def test_get_delete_and_tags(store_uri: str) -> None:
    client = _client(store_uri)
    exp = client.create_experiment("crud")
    base = 1_700_000_000_000
    traces = [_make_trace(f"t{i}", exp, base + i, i) for i in range(5)]
    get_trace_store(store_uri).log_traces(traces)
    ids = [t.info.request_id for t in traces]

    with pytest.raises(ResourceNotFoundError, match="does not exist"):
        client.get_trace("tr-" + "0" * 32)
    assert fluent.get_trace("tr-" + "0" * 32) is None

    client.set_trace_tag(ids[0], "reviewed", True)
    client.set_trace_tag(ids[0], "reviewed", "twice")
    assert client.get_trace_info(ids[0]).tags["reviewed"] == "twice"
    client.delete_trace_tag(ids[0], "reviewed")
    assert "reviewed" not in client.get_trace(ids[0]).info.tags
    with pytest.raises(ResourceNotFoundError, match="no tag"):
        client.delete_trace_tag(ids[0], "reviewed")
    with pytest.raises(ResourceNotFoundError):
        client.set_trace_tag("tr-" + "0" * 32, "k", "v")

    assert client.delete_traces(exp, request_ids=[ids[4]]) == 1
    assert client.delete_traces(exp, max_timestamp_millis=base + 3, max_traces=2) == 2  # the two oldest
    assert [t.info.request_id for t in client.search_traces([exp])] == [ids[3], ids[2]]
    assert client.delete_traces(exp, max_timestamp_millis=base + 10) == 2
    assert client.search_traces([exp]) == []
    with pytest.raises(InvalidParameterError, match="exactly one"):
        client.delete_traces(exp)


def test_a_large_batch_spans_several_insert_statements(store_uri: str) -> None:
    """One batch larger than a single statement's parameter limit (SQLite writes it as several
    multi-row statements): every trace, tag and span comes back."""
    client = _client(store_uri)
    exp = client.create_experiment("large-batch")
    base = 1_700_000_000_000
    traces = [_make_trace(f"b{i}", exp, base + i, i % 7, tags={"i": str(i), "k": "v"}) for i in range(260)]
    get_trace_store(store_uri).log_traces(traces)
    found = client.search_traces([exp], max_results=1000)
    assert sorted(t.info.request_id for t in found) == sorted(t.info.request_id for t in traces)
    got = client.get_trace(traces[211].info.request_id)
    assert got.info.tags["i"] == "211" and got.info.name == "b211"
    assert got.data.spans[0].inputs == "in" and got.data.spans[0].outputs == "out"


def test_writing_a_trace_twice_replaces_it(tracking_uri: str) -> None:
    store = get_trace_store(tracking_uri)
    t = _make_trace("dup", "0", 1_700_000_000_000, 3, tags={"v": "1"})
    store.log_traces([t])
    t.info.tags = {"v": "2"}
    t.info.status = "ERROR"
    store.log_traces([t])
    got = store.get_trace(t.info.request_id)
    assert got.info.tags["v"] == "2" and got.info.status == "ERROR"
    assert len(store.search_traces(["0"], None, 10, None, None)) == 1


def test_unknown_experiment_is_reported(tracking_uri: str) -> None:
    store = get_trace_store(tracking_uri)
    with pytest.raises(ResourceNotFoundError, match="experiment"):
        store.log_traces([_make_trace("x", "424242", 1, 1)])


def test_fluent_search_traces_dataframe_and_list(tracking_uri: str) -> None:
    pytest.importorskip("pandas")

    @trace
    def predict(text: str) -> str:
        return text[::-1]

    with hf_mltrack.start_run() as run:
        predict("abc")
        time.sleep(0.003)  # traces are ordered by their start millisecond
        predict("xyz")
    time.sleep(0.003)
    predict("other")
    df = hf_mltrack.tracing.search_traces()
    assert list(df.columns[:6]) == [
        "request_id",
        "trace",
        "name",
        "timestamp_ms",
        "status",
        "execution_time_ms",
    ]
    assert list(df["request"]) == [{"text": "other"}, {"text": "xyz"}, {"text": "abc"}]
    assert list(df["response"]) == ["rehto", "zyx", "cba"]
    run_df = hf_mltrack.tracing.search_traces(run_id=run.info.run_id)
    assert len(run_df) == 2 and set(run_df["run_id"]) == {run.info.run_id}
    listed = hf_mltrack.tracing.search_traces(filter_string="status = 'OK'", max_results=2, return_type="list")
    assert [t.data.root_span.inputs for t in listed] == [{"text": "other"}, {"text": "xyz"}]
    with pytest.raises(InvalidParameterError, match="return_type"):
        hf_mltrack.tracing.search_traces(return_type="json")


def test_export_is_asynchronous_and_flush_writes(tracking_uri: str, monkeypatch) -> None:
    monkeypatch.setenv("HF_MLTRACK_TRACE_EXPORT_INTERVAL", "60")
    store = get_trace_store(tracking_uri)
    export.flush()
    with start_span("queued"):
        pass
    assert export.pending() == 1
    assert store.search_traces(None, None, 10, None, None) == []  # not written yet
    export.flush()
    assert export.pending() == 0
    assert [t.info.name for t in store.search_traces(None, None, 10, None, None)] == ["queued"]


def test_exporter_thread_writes_without_flush(tracking_uri: str, monkeypatch) -> None:
    monkeypatch.setenv("HF_MLTRACK_TRACE_EXPORT_INTERVAL", "0.05")
    export._EXPORTER._wake.set()  # let a sleeping exporter pick up the short interval
    store = get_trace_store(tracking_uri)
    with start_span("background"):
        pass
    deadline = time.time() + 20
    while time.time() < deadline and not store.search_traces(None, None, 10, None, None):
        time.sleep(0.05)
    assert [t.info.name for t in store.search_traces(None, None, 10, None, None)] == ["background"]


def test_store_failure_is_one_warning_not_an_error(tmp_path, caplog) -> None:
    hf_mltrack.set_tracking_uri(f"sqlite:///{tmp_path / 'db.db'}")
    hf_mltrack.set_experiment("gone")
    exp_id = hf_mltrack.get_experiment_by_name("gone").experiment_id
    from hf_mltrack.store.sql.engine import get_engine

    with get_engine(f"sqlite:///{tmp_path / 'db.db'}").begin() as conn:
        conn.exec_driver_sql(f"DELETE FROM experiments WHERE experiment_id = {exp_id}")
    with caplog.at_level("WARNING", logger="hf_mltrack.tracing"):
        for _ in range(2):
            with start_span("orphan"):
                pass
            export.flush()
    messages = [r.getMessage() for r in caplog.records if "could not store" in r.getMessage()]
    assert len(messages) == 1 and "no such experiment" in messages[0]


def test_migration_from_registry_revision_adds_trace_tables(tmp_path) -> None:
    import sqlalchemy as sa

    from hf_mltrack.store.sql.engine import _create_engine, current_revision, head_revision, migrate, upgrade
    from hf_mltrack.store.sql.tracing_schema import ASSESSMENT_TABLES, TRACING_TABLES
    from hf_mltrack.store.sql.webhook_schema import WEBHOOK_TABLES

    uri = f"sqlite:///{tmp_path / 'old.db'}"
    migrate(uri, "0002_registry")  # a database made by the previous release
    engine = _create_engine(uri)
    assert not sa.inspect(engine).has_table("trace_info")
    engine.dispose()
    assert upgrade(uri) == head_revision() == "0007_metric_series"
    engine = _create_engine(uri)
    assert current_revision(engine) == head_revision()
    assert all(sa.inspect(engine).has_table(name) for name in (*TRACING_TABLES, *ASSESSMENT_TABLES, *WEBHOOK_TABLES))
    engine.dispose()
    store = get_trace_store(uri)
    store.log_traces([_make_trace("after-upgrade", "0", 1, 1)])
    assert store.search_traces(["0"], None, 5, None, None)[0].info.name == "after-upgrade"
