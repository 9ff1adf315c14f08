"""Spans: the decorator and the context manager, nesting across threads and asyncio tasks,
generators, exceptions, attributes and events (the trace is read back from memory here)."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

import hf_mltrack.tracing as tracing
from hf_mltrack.entities.trace import SpanType, Trace
from hf_mltrack.tracing import get_last_active_trace, start_span, trace


def _tree(t: Trace) -> list[tuple[int, str]]:
    return [(depth, span.name) for depth, span in t.walk()]


def _collect() -> list[Trace]:
    """Every trace finished while the returned list is alive (from the exporter's queue)."""
    from hf_mltrack.tracing import span as span_mod

    found: list[Trace] = []
    original = span_mod._finish

    def spy(record: Any) -> None:
        original(record)
        found.append(record.to_trace())

    span_mod._finish = spy
    _SPIES.append((span_mod, original))
    return found


_SPIES: list[tuple[Any, Any]] = []


@pytest.fixture(autouse=True)
def _unspy():
    yield
    while _SPIES:
        module, original = _SPIES.pop()
        module._finish = original


def test_decorator_and_context_manager_nest(tracking_uri: str) -> None:
    @trace(span_type=SpanType.TOOL, attributes={"version": 2})
    def add(a: int, b: int = 10) -> int:
        return a + b

    @trace(name="outer-fn")
    def outer(x: int) -> int:
        return add(x) + add(x, b=1)

    with start_span("root", span_type=SpanType.CHAIN, attributes={"k": "v"}) as root:
        root.set_inputs({"question": "q"})
        result = outer(1)
        root.set_outputs(result)

    t = get_last_active_trace()
    assert _tree(t) == [(0, "root"), (1, "outer-fn"), (2, "add"), (2, "add")]
    root_span, outer_span, add1, add2 = (s for _, s in t.walk())
    assert root_span.parent_id is None and root_span.span_type == "CHAIN"
    assert root_span.inputs == {"question": "q"} and root_span.outputs == 13
    assert root_span.attributes == {"k": "v"}
    assert outer_span.parent_id == root_span.span_id and outer_span.inputs == {"x": 1}
    assert add1.parent_id == add2.parent_id == outer_span.span_id
    assert add1.inputs == {"a": 1, "b": 10} and add1.outputs == 11
    assert add2.inputs == {"a": 1, "b": 1} and add2.outputs == 2
    assert add1.span_type == "TOOL" and add1.attributes == {"version": 2}
    assert {s.trace_id for s in t.data.spans} == {root_span.trace_id}
    assert len(root_span.trace_id) == 32 and len(root_span.span_id) == 16
    assert t.info.request_id == "tr-" + root_span.trace_id
    assert t.info.status == "OK" and t.info.name == "root"
    assert all(s.status_code == "OK" for s in t.data.spans)
    assert all(s.start_time_ns <= s.end_time_ns for s in t.data.spans)
    assert root_span.start_time_ns <= add1.start_time_ns and add2.end_time_ns <= root_span.end_time_ns
    # the decorator keeps the function's identity
    assert add.__name__ == "add" and add.__wrapped__(1) == 11  # type: ignore[attr-defined]


def test_bare_decorator_methods_and_defaults(tracking_uri: str) -> None:
    class Model:
        @trace
        def predict(self, text: str, *, upper: bool = False) -> str:
            return text.upper() if upper else text

    assert Model().predict("hi", upper=True) == "HI"
    span = get_last_active_trace().data.spans[0]
    assert span.name == "predict" and span.span_type == "UNKNOWN"
    assert span.inputs == {"text": "hi", "upper": True}  # self is not recorded
    assert span.outputs == "HI"


def test_exception_is_recorded_and_reraised_unchanged(tracking_uri: str) -> None:
    class Boom(RuntimeError):
        pass

    error = Boom("bad input 42")

    @trace
    def inner() -> None:
        raise error

    with pytest.raises(Boom) as caught:
        with start_span("outer"):
            inner()
    assert caught.value is error
    t = get_last_active_trace()
    assert t.info.status == "ERROR"
    outer, inner_span = (s for _, s in t.walk())
    for span in (outer, inner_span):
        assert span.status_code == "ERROR"
        assert "bad input 42" in span.status_message
        (event,) = span.events
        assert event.name == "exception"
        assert event.attributes["exception.type"].endswith("Boom")
        assert event.attributes["exception.message"] == "bad input 42"
        assert "raise error" in event.attributes["exception.stacktrace"]


def test_record_exception_without_raising_and_events(tracking_uri: str) -> None:
    with start_span("handled") as span:
        span.add_event("retrieved", {"docs": 3})
        try:
            int("x")
        except ValueError as exc:
            span.record_exception(exc)
        span.set_attributes({"a": 1, "b": [1, 2]})
        span.set_attribute("nan", float("nan"))
    t = get_last_active_trace()
    (s,) = t.data.spans
    assert [e.name for e in s.events] == ["retrieved", "exception"]
    assert s.events[0].attributes == {"docs": 3}
    assert s.events[1].attributes["exception.type"] == "ValueError"
    assert s.status_code == "ERROR" and t.info.status == "ERROR"
    assert s.attributes == {"a": 1, "b": [1, 2], "nan": "nan"}


def test_set_status_validates(tracking_uri: str) -> None:
    from hf_mltrack.exceptions import InvalidParameterError

    with start_span("s") as span:
        with pytest.raises(InvalidParameterError, match="OK, ERROR"):
            span.set_status("DONE")
        span.set_status("error", "custom failure")
    s = get_last_active_trace().data.spans[0]
    assert s.status_code == "ERROR" and s.status_message == "custom failure"


def test_values_are_snapshotted_when_recorded(tracking_uri: str) -> None:
    @trace
    def f(items: list[int]) -> dict[str, list[int]]:
        out = {"items": list(items)}
        items.append(99)  # mutating the input after the span recorded it
        return out

    data = [1, 2]
    result = f(data)
    result["items"].append(7)  # and the output after return
    s = get_last_active_trace().data.spans[0]
    assert s.inputs == {"items": [1, 2]}
    assert s.outputs == {"items": [1, 2]}


def test_unserializable_values_do_not_break_the_call(tracking_uri: str) -> None:
    class Weird:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    @trace
    def f(x: Any) -> Any:
        return x

    w = Weird()
    assert f(w) is w
    s = get_last_active_trace().data.spans[0]
    assert s.inputs["x"].endswith(".Weird>") and s.outputs == s.inputs["x"]


def test_threads_with_copied_context_nest_and_without_start_new_traces(tracking_uri: str) -> None:
    @trace
    def work(i: int) -> int:
        return i * 2

    traces = _collect()
    with start_span("parent") as parent:
        with ThreadPoolExecutor(max_workers=4) as pool:
            ctx_results = [pool.submit(contextvars.copy_context().run, work, i) for i in range(4)]
            plain = pool.submit(work, 100)  # no context: a trace of its own
            assert [f.result() for f in ctx_results] == [0, 2, 4, 6]
            assert plain.result() == 200
    by_name = {t.info.name: t for t in traces}
    assert set(by_name) == {"parent", "work"}
    t = by_name["parent"]
    children = [s for s in t.data.spans if s.parent_id == parent.span_id]
    assert sorted(s.inputs["i"] for s in children) == [0, 1, 2, 3]
    assert by_name["work"].data.spans[0].inputs == {"i": 100}
    assert by_name["work"].data.spans[0].parent_id is None


def test_concurrent_traces_in_threads_do_not_mix(tracking_uri: str) -> None:
    @trace
    def leaf(tag: str) -> str:
        return tag

    @trace
    def root(tag: str) -> list[str]:
        barrier.wait()
        return [leaf(tag) for _ in range(3)]

    barrier = threading.Barrier(4)
    traces = _collect()
    threads = [threading.Thread(target=root, args=(f"t{i}",)) for i in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(traces) == 4
    for t in traces:
        tag = t.data.root_span.inputs["tag"]
        assert [s.inputs["tag"] for s in t.data.spans] == [tag] * 4
        assert _tree(t) == [(0, "root"), (1, "leaf"), (1, "leaf"), (1, "leaf")]


def test_asyncio_tasks_nest_under_their_creator(tracking_uri: str) -> None:
    @trace(span_type=SpanType.RETRIEVER)
    async def fetch(i: int) -> int:
        await asyncio.sleep(0.001 * (3 - i))
        return i

    @trace
    async def pipeline(n: int) -> list[int]:
        return list(await asyncio.gather(*(fetch(i) for i in range(n))))

    async def main() -> list[list[int]]:
        # two independent traces running concurrently in one event loop
        return list(await asyncio.gather(pipeline(3), pipeline(2)))

    traces = _collect()
    assert asyncio.run(main()) == [[0, 1, 2], [0, 1]]
    assert len(traces) == 2
    sizes = sorted(len(t.data.spans) for t in traces)
    assert sizes == [3, 4]
    for t in traces:
        root = t.data.root_span
        kids = [s for s in t.data.spans if s is not root]
        assert all(k.parent_id == root.span_id and k.span_type == "RETRIEVER" for k in kids)
        assert sorted(k.outputs for k in kids) == list(range(root.inputs["n"]))


def test_sync_generator_span_covers_iteration(tracking_uri: str) -> None:
    @trace
    def child(i: int) -> int:
        return i

    @trace(name="stream")
    def stream(n: int):
        for i in range(n):
            yield child(i)
        return "done"

    with start_span("consumer"):
        gen = stream(3)
        assert hf_mltrack_current_name() == "consumer"
        first = next(gen)
        assert hf_mltrack_current_name() == "consumer"  # between items the caller's span is current
        rest = list(gen)
    assert [first, *rest] == [0, 1, 2]
    t = get_last_active_trace()
    assert _tree(t) == [(0, "consumer"), (1, "stream"), (2, "child"), (2, "child"), (2, "child")]
    s = t.search_spans(name="stream")[0]
    assert s.outputs == [0, 1, 2] and s.status_code == "OK"


def hf_mltrack_current_name() -> str | None:
    span = tracing.get_current_active_span()
    return None if span is None else span.name


def test_generator_closed_early_and_failing(tracking_uri: str) -> None:
    @trace
    def numbers():
        yield 1
        yield 2
        raise KeyError("gone")

    gen = numbers()
    assert next(gen) == 1
    gen.close()
    s = get_last_active_trace().data.spans[0]
    assert s.outputs == [1] and s.status_code == "OK"

    with pytest.raises(KeyError, match="gone"):
        list(numbers())
    s = get_last_active_trace().data.spans[0]
    assert s.outputs == [1, 2] and s.status_code == "ERROR"


def test_generator_send_and_throw_are_forwarded(tracking_uri: str) -> None:
    @trace
    def echo():
        received = []
        while True:
            try:
                value = yield len(received)
            except ValueError:
                received.append("thrown")
                continue
            if value is None:
                return received
            received.append(value)

    gen = echo()
    assert next(gen) == 0
    assert gen.send("a") == 1
    assert gen.throw(ValueError("x")) == 2
    with pytest.raises(StopIteration) as stop:
        gen.send(None)
    assert stop.value.value == ["a", "thrown"]
    assert get_last_active_trace().data.spans[0].outputs == [0, 1, 2]


def test_async_generator(tracking_uri: str) -> None:
    @trace
    async def tokens(n: int):
        for i in range(n):
            await asyncio.sleep(0)
            yield f"tok{i}"

    async def main() -> list[str]:
        return [t async for t in tokens(3)]

    assert asyncio.run(main()) == ["tok0", "tok1", "tok2"]
    s = get_last_active_trace().data.spans[0]
    assert s.name == "tokens" and s.outputs == ["tok0", "tok1", "tok2"] and s.inputs == {"n": 3}


def test_disable_makes_spans_no_ops(tracking_uri: str) -> None:
    calls = []

    @trace
    def f() -> int:
        calls.append(1)
        return 1

    tracing.disable()
    try:
        with start_span("x") as span:
            span.set_inputs("ignored")
            assert f() == 1
        assert repr(span) == "NoOpSpan()"
        assert get_last_active_trace() is None
    finally:
        tracing.enable()
    assert calls == [1]
    f()
    assert get_last_active_trace().info.name == "f"


def test_env_var_disables_tracing(tracking_uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from hf_mltrack.tracing import fluent

    monkeypatch.setenv("HF_MLTRACK_TRACING_ENABLED", "false")
    fluent._enabled_from_env = None
    assert not tracing.is_enabled()
    with start_span("x"):
        pass
    assert get_last_active_trace() is None


def test_update_current_trace_tags(tracking_uri: str) -> None:
    with start_span("tagged"):
        tracing.update_current_trace(tags={"env": "prod", "n": 3})
    assert get_last_active_trace().info.tags["env"] == "prod"
    assert get_last_active_trace().info.tags["n"] == "3"
    tracing.update_current_trace(tags={"ignored": "outside a trace"})


def test_trace_rejects_positional_non_callable() -> None:
    from hf_mltrack.exceptions import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="keyword arguments"):
        trace("my-name")  # type: ignore[arg-type]


def test_argument_capture_follows_the_signature(tracking_uri: str) -> None:
    @trace
    def f(a: int, b: int = 2, *, c: int = 3) -> int:
        return a + b + c

    def inputs() -> Any:
        return get_last_active_trace().data.spans[0].inputs

    f(1)
    assert inputs() == {"a": 1, "b": 2, "c": 3}
    f(1, 5, c=6)
    assert inputs() == {"a": 1, "b": 5, "c": 6}
    f(c=0, a=4)
    assert inputs() == {"a": 4, "b": 2, "c": 0}
    with pytest.raises(TypeError):
        f()  # the function's own TypeError, unchanged
    assert get_last_active_trace().data.spans[0].status_code == "ERROR"
    with pytest.raises(TypeError):
        f(1, d=2)
    assert inputs() == {"args": [1], "kwargs": {"d": 2}}

    @trace
    def variadic(x: int, *rest: int, **options: Any) -> int:
        return x

    variadic(1, 2, 3, flag=True)
    assert inputs() == {"x": 1, "rest": [2, 3], "options": {"flag": True}}


def test_trace_ids_are_unique_and_ordered_by_time(tracking_uri: str) -> None:
    """Ids are 32 hex digits, the start time in milliseconds first (so the store appends to its id
    indexes), then random bits."""
    import time

    ids = []
    for _ in range(3):
        with start_span("t"):
            pass
        ids.append(get_last_active_trace().info.request_id)
        time.sleep(0.002)
    ids += [tracing.span.new_trace_id() for _ in range(1000)]
    assert len(set(ids)) == len(ids)
    assert all(i.startswith("tr-") and len(i) == 35 and int(i[3:], 16) for i in ids[:3])
    assert ids[:3] == sorted(ids[:3])
    t = get_last_active_trace()
    assert abs(int(t.info.request_id[3:15], 16) - t.info.timestamp_ms) <= 1
