"""Pipeline tracing on tiny locally-built models: spans, attributes, token counts, nesting, safety
(user errors propagate, internal errors warn once) and exact unpatching."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("transformers")
pytest.importorskip("tokenizers")

import hf_mltrack  # noqa: E402
from hf_mltrack.tracing import get_last_active_trace, start_span  # noqa: E402
from hf_mltrack.tracing import transformers as pt  # noqa: E402

PATCHED = ("__call__", "preprocess", "forward", "postprocess")


@pytest.fixture
def traced() -> Iterator[None]:
    pt.enable_pipeline_tracing(silent=True)
    yield
    pt.disable_pipeline_tracing()


def _names(trace: Any) -> list[tuple[int, str, str]]:
    return [(depth, s.name, s.span_type) for depth, s in trace.walk()]


def test_text_classification_call_is_traced(tracking_uri: str, text_classifier: Any, traced: None) -> None:
    with hf_mltrack.start_run() as run:
        result = text_classifier("hello world")
    t = get_last_active_trace()
    assert _names(t) == [
        (0, "TextClassificationPipeline", "CHAIN"),
        (1, "preprocess", "PARSER"),
        (1, "forward", "UNKNOWN"),
        (1, "postprocess", "PARSER"),
    ]
    root, pre, fwd, post = (s for _, s in t.walk())
    assert root.inputs == "hello world" and root.outputs == result
    assert root.attributes["task"] == "text-classification"
    assert root.attributes["model"] == "tiny-bert-cls" and root.attributes["device"] == "cpu"
    assert root.attributes["latency_ms"] == pytest.approx((root.end_time_ns - root.start_time_ns) / 1e6, abs=1e-3)
    n_tokens = len(text_classifier.tokenizer("hello world")["input_ids"])
    assert root.attributes["token_usage"] == {
        "input_tokens": n_tokens,
        "output_tokens": 0,
        "total_tokens": n_tokens,
    }
    assert pre.inputs == "hello world" and pre.attributes["input_tokens"] == n_tokens
    assert pre.outputs is None and fwd.outputs is None and post.outputs is None  # record_model_io=True
    assert root.start_time_ns <= pre.start_time_ns <= pre.end_time_ns <= fwd.start_time_ns
    assert fwd.end_time_ns <= post.start_time_ns <= post.end_time_ns <= root.end_time_ns
    stored = hf_mltrack.tracing.search_traces(run_id=run.info.run_id, return_type="list")
    assert [s.info.request_id for s in stored] == [t.info.request_id]
    assert stored[0].to_dict() == t.to_dict()
    assert stored[0].info.request_preview == '"hello world"'


def test_record_model_io_keeps_the_tensors_between_stages(tracking_uri: str, text_classifier: Any) -> None:
    pt.enable_pipeline_tracing(silent=True, record_model_io=True)
    try:
        text_classifier("hello world")
    finally:
        pt.disable_pipeline_tracing()
    t = get_last_active_trace()
    pre, fwd = t.search_spans(name="preprocess")[0], t.search_spans(name="forward")[0]
    ids = text_classifier.tokenizer("hello world")["input_ids"]
    assert pre.outputs["input_ids"] == [ids] and pre.outputs["attention_mask"] == [[1] * len(ids)]
    assert len(fwd.outputs["logits"][0]) == 2 and all(isinstance(x, float) for x in fwd.outputs["logits"][0])
    assert t.search_spans(name="postprocess")[0].outputs == t.data.root_span.outputs[0]
    stored = hf_mltrack.tracing.get_trace(t.info.request_id)
    assert stored.search_spans(name="preprocess")[0].outputs["input_ids"] == [ids]


def test_text_generation_records_generation_params_and_tokens(
    tracking_uri: str, text_generator: Any, traced: None
) -> None:
    out = text_generator("once upon a time", max_new_tokens=4, min_new_tokens=4, do_sample=False)
    t = get_last_active_trace()
    assert _names(t) == [
        (0, "TextGenerationPipeline", "LLM"),
        (1, "preprocess", "PARSER"),
        (1, "generate", "LLM"),
        (1, "postprocess", "PARSER"),
    ]
    root, _, gen, _ = (s for _, s in t.walk())
    assert root.outputs == out and root.attributes["task"] == "text-generation"
    assert root.attributes["call_params"] == {"max_new_tokens": 4, "min_new_tokens": 4, "do_sample": False}
    params = gen.attributes["generation_params"]
    assert params["max_new_tokens"] == 4 and params["min_new_tokens"] == 4 and params["do_sample"] is False
    assert root.attributes["generation_params"] == params
    prompt = len(text_generator.tokenizer("once upon a time")["input_ids"])
    assert gen.attributes["output_tokens"] == 4
    assert root.attributes["token_usage"] == {
        "input_tokens": prompt,
        "output_tokens": 4,
        "total_tokens": prompt + 4,
    }


def test_list_input_is_one_trace_with_stages_per_item(tracking_uri: str, text_classifier: Any, traced: None) -> None:
    results = text_classifier(["hello world", "machine learning is fun"])
    t = get_last_active_trace()
    names = [name for _, name, _ in _names(t)]
    assert names == ["TextClassificationPipeline"] + ["preprocess", "forward", "postprocess"] * 2
    assert t.data.root_span.inputs == ["hello world", "machine learning is fun"]
    assert t.data.root_span.outputs == results
    pres = t.search_spans(name="preprocess")
    assert [p.inputs for p in pres] == ["hello world", "machine learning is fun"]


def test_pipeline_nests_under_user_span_and_run(tracking_uri: str, text_classifier: Any, traced: None) -> None:
    @hf_mltrack.tracing.trace(span_type="AGENT")
    def classify_all(texts: list[str]) -> list[str]:
        return [text_classifier(x)[0]["label"] for x in texts]

    with start_span("app"):
        classify_all(["a", "b"])
    t = get_last_active_trace()
    depth_names = [(d, n) for d, n, _ in _names(t)]
    assert depth_names[:3] == [(0, "app"), (1, "classify_all"), (2, "TextClassificationPipeline")]
    assert sum(1 for _, n in depth_names if n == "TextClassificationPipeline") == 2
    assert {d for d, n in depth_names if n == "forward"} == {3}


def test_lazy_generator_input_gives_one_trace(
    tracking_uri: str, text_classifier: Any, traced: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hf_mltrack.tracing import export

    finished: list[Any] = []
    monkeypatch.setattr(export._EXPORTER, "enqueue", finished.append)
    outputs = list(text_classifier(x for x in ["hello", "world"]))
    assert len(outputs) == 2 and len(finished) == 1
    root = finished[0].root
    assert root.inputs == "<generator>" and root.outputs.startswith("<")


def test_user_errors_propagate_and_are_recorded(tracking_uri: str, text_classifier: Any, traced: None) -> None:
    from transformers import Pipeline

    class Broken(Pipeline):
        def _sanitize_parameters(self, **kwargs: Any) -> tuple[dict, dict, dict]:
            return {}, {}, {}

        def preprocess(self, inputs: Any) -> dict[str, Any]:
            return {"x": inputs}

        def _forward(self, model_inputs: dict[str, Any]) -> Any:
            raise self.error

        def postprocess(self, outputs: Any) -> Any:
            return outputs

    pipe = Broken(model=text_classifier.model, tokenizer=text_classifier.tokenizer, device="cpu")
    pipe.error = ZeroDivisionError("model blew up")
    with pytest.raises(ZeroDivisionError) as caught:
        pipe("input")
    assert caught.value is pipe.error
    t = get_last_active_trace()
    assert t.info.status == "ERROR"
    assert [s.name for _, s in t.walk()] == ["Broken", "preprocess", "forward"]
    fwd = t.search_spans(name="forward")[0]
    assert fwd.status_code == "ERROR" and fwd.events[0].attributes["exception.message"] == "model blew up"
    assert t.search_spans(name="preprocess")[0].status_code == "OK"


def test_spans_started_inside_a_stage_are_its_children(tracking_uri: str, text_classifier: Any, traced: None) -> None:
    """Stages are recorded without a live span unless something needs one: a span started inside a
    stage, or the current span asked for there, is the stage's."""
    from transformers import Pipeline

    seen: list[str] = []

    @hf_mltrack.trace(span_type="TOOL")
    def lookup(x: str) -> str:
        return x.upper()

    class Custom(Pipeline):
        def _sanitize_parameters(self, **kwargs: Any) -> tuple[dict, dict, dict]:
            return {}, {}, {}

        def preprocess(self, inputs: Any) -> dict[str, Any]:
            return {"x": inputs}

        def _forward(self, model_inputs: dict[str, Any]) -> Any:
            seen.append(hf_mltrack.get_current_active_span().name)
            with start_span("inner") as inner:
                inner.set_attribute("k", 1)
                return {"y": lookup(model_inputs["x"])}

        def postprocess(self, outputs: Any) -> Any:
            seen.append(hf_mltrack.get_current_active_span().name)
            return outputs["y"]

    pipe = Custom(model=text_classifier.model, tokenizer=text_classifier.tokenizer, device="cpu")
    assert pipe("abc") == "ABC"
    assert seen == ["forward", "postprocess"]
    t = get_last_active_trace()
    assert [(depth, s.name) for depth, s in t.walk()] == [
        (0, "Custom"),
        (1, "preprocess"),
        (1, "forward"),
        (2, "inner"),
        (3, "lookup"),
        (1, "postprocess"),
    ]
    assert all(s.status_code == "OK" and s.end_time_ns is not None for s in t.data.spans)
    fwd, inner = t.search_spans(name="forward")[0], t.search_spans(name="inner")[0]
    assert fwd.start_time_ns <= inner.start_time_ns <= inner.end_time_ns <= fwd.end_time_ns
    assert len({s.span_id for s in t.data.spans}) == 6
    stored = hf_mltrack.tracing.get_trace(t.info.request_id)
    assert stored.to_dict() == t.to_dict()


def test_stages_under_a_user_span_opened_in_call(tracking_uri: str, text_classifier: Any, traced: None) -> None:
    """A pipeline whose own ``__call__`` opens a span: the stages are that span's children."""

    class Wrapped(type(text_classifier)):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with start_span("user-step"):
                return super().__call__(*args, **kwargs)

    pipe = Wrapped(model=text_classifier.model, tokenizer=text_classifier.tokenizer, device="cpu")
    pipe("hello world")
    t = get_last_active_trace()
    assert [(depth, s.name) for depth, s in t.walk()] == [
        (0, "Wrapped"),
        (1, "user-step"),
        (2, "preprocess"),
        (2, "forward"),
        (2, "postprocess"),
    ]


def test_internal_errors_warn_once_and_never_break_the_call(
    tracking_uri: str, text_classifier: Any, traced: None, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    from hf_mltrack.tracing import span as span_mod

    expected = text_classifier("hello world")

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("bug in hf_mltrack")

    monkeypatch.setattr(pt, "_CallState", broken)
    span_mod._warned.clear()
    with caplog.at_level("WARNING", logger="hf_mltrack.tracing"):
        assert text_classifier("hello world") == expected
        assert text_classifier("hello world") == expected
    warnings = [r for r in caplog.records if "bug in hf_mltrack" in r.getMessage()]
    assert len(warnings) == 1 and "runs untraced" in warnings[0].getMessage()

    monkeypatch.undo()
    monkeypatch.setattr(pt, "_count_tokens", broken)  # a failure after the stage ran
    span_mod._warned.clear()
    with caplog.at_level("WARNING", logger="hf_mltrack.tracing"):
        assert text_classifier("hello world") == expected
    t = get_last_active_trace()
    assert [s.name for _, s in t.walk()] == [
        "TextClassificationPipeline",
        "preprocess",
        "forward",
        "postprocess",
    ]


def test_disable_restores_the_original_attributes_exactly(text_classifier: Any) -> None:
    from transformers import Pipeline

    classes = [c for c in pt._all_subclasses(Pipeline)]
    before = {(c, name): c.__dict__.get(name) for c in classes for name in (*PATCHED, "_forward", "__init_subclass__")}
    pt.enable_pipeline_tracing(silent=True)
    pt.enable_pipeline_tracing(silent=True)  # idempotent
    assert type(text_classifier).__dict__["__call__"].__wrapped__ is before[(type(text_classifier), "__call__")]
    assert Pipeline.__dict__["forward"].__wrapped__ is before[(Pipeline, "forward")]
    assert Pipeline.__dict__["forward"].__name__ == "forward"

    class DefinedWhileEnabled(Pipeline):
        def preprocess(self, inputs: Any) -> Any:
            return inputs

    original_preprocess = DefinedWhileEnabled.__dict__["preprocess"].__wrapped__
    pt.disable_pipeline_tracing()
    after = {(c, name): c.__dict__.get(name) for c in classes for name in (*PATCHED, "_forward", "__init_subclass__")}
    assert all(after[k] is v for k, v in before.items())
    assert "__init_subclass__" not in Pipeline.__dict__
    assert DefinedWhileEnabled.__dict__["preprocess"] is original_preprocess
    assert not pt.is_pipeline_tracing_enabled()


def test_autolog_hook(tracking_uri: str, text_classifier: Any) -> None:
    pt.autolog(silent=True)
    try:
        assert pt.is_pipeline_tracing_enabled()
        text_classifier("hello")
        assert get_last_active_trace().info.name == "TextClassificationPipeline"
    finally:
        pt.autolog(disable=True)
    assert not pt.is_pipeline_tracing_enabled()


def test_transformers_flavor_autolog_switches_tracing(tracking_uri: str, text_classifier: Any) -> None:
    flavor = pytest.importorskip("hf_mltrack.transformers")
    flavor.autolog(log_traces=True, log_models=False, silent=True)
    try:
        assert pt.is_pipeline_tracing_enabled()
        text_classifier("machine learning is fun")
        assert get_last_active_trace().data.root_span.inputs == "machine learning is fun"
    finally:
        flavor.autolog(disable=True, silent=True)
    assert not pt.is_pipeline_tracing_enabled()


def test_tracing_disabled_leaves_pipelines_untraced(tracking_uri: str, text_classifier: Any, traced: None) -> None:
    hf_mltrack.tracing.disable()
    try:
        text_classifier("hello")
    finally:
        hf_mltrack.tracing.enable()
    assert get_last_active_trace() is None
