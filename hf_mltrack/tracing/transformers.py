"""Tracing of transformers pipelines: one trace (or one child span) per pipeline call.

    >>> from hf_mltrack.tracing.transformers import enable_pipeline_tracing
    >>> enable_pipeline_tracing()
    >>> pipe("Explain quantum computing")  # TextGenerationPipeline > preprocess, generate, postprocess

``hf_mltrack.transformers.autolog(log_traces=True)`` calls `autolog` here. Each pipeline call becomes a
root span (or a child of the current span) named after the pipeline class, with the call's inputs and
outputs, and attributes ``task``, ``model``, ``device``, ``call_params``, ``latency_ms``,
``token_usage`` (``input_tokens``, ``output_tokens``, ``total_tokens``) and, for generating pipelines,
``generation_params``. Its children are ``preprocess`` (PARSER; inputs, ``input_tokens``), ``forward``
or ``generate`` (LLM for generating pipelines; ``generation_params``, ``output_tokens``) and
``postprocess`` (PARSER). ``record_model_io=True`` also records what each stage returns (token ids,
logits, the postprocessed item), for debugging.

Safety (the autolog contract): exceptions raised by the pipeline propagate unchanged (recorded on the
span first); an exception inside hf_mltrack's tracing code becomes one logged warning and the call
proceeds untraced. `disable_pipeline_tracing` puts back exactly the original class attributes.

Pipeline classes are patched where they define ``__call__``, ``preprocess``, ``forward``/``_forward``
or ``postprocess`` themselves: the classes loaded when tracing is enabled, and classes defined later
(transformers imports task pipelines lazily) through a ``Pipeline.__init_subclass__`` hook.
"""

from __future__ import annotations

import contextvars
import threading
import weakref
from typing import Any

from ..entities.trace import SpanStatusCode, SpanType
from ._serialize import Deferred, to_jsonable
from .fluent import is_enabled
from .span import _CURRENT, LiveSpan, StepRecorder, _finish, _time_ns, add_span, child_span, warn_once

__all__ = ["autolog", "disable_pipeline_tracing", "enable_pipeline_tracing", "is_pipeline_tracing_enabled"]

# ``forward`` (Pipeline's: device placement, no_grad, then ``_forward``) is patched rather than each
# task's ``_forward``: one wrapper per stage instead of two.
_STAGES = ("preprocess", "forward", "postprocess")
_GENERATION_KEYS = (
    "max_new_tokens",
    "max_length",
    "min_new_tokens",
    "do_sample",
    "temperature",
    "top_k",
    "top_p",
    "num_beams",
    "num_return_sequences",
    "repetition_penalty",
    "no_repeat_ngram_size",
    "early_stopping",
)
_TASK_SPAN_TYPES = {
    "feature-extraction": SpanType.EMBEDDING,
    "sentence-similarity": SpanType.EMBEDDING,
    "text-ranking": SpanType.RERANKER,
}


class _CallState(StepRecorder):
    """The pipeline call being traced in this context, and the stage running now (None between).

    A stage that runs while the call's root span is current is recorded as a tuple in the trace's
    ``steps`` (no live span, no context change); its live span is created only if something asks for
    it while it runs (a span started inside the stage, ``get_current_active_span``, an exception)."""

    __slots__ = (
        "pipe",
        "root",
        "generative",
        "stage",
        "stage_type",
        "stage_start",
        "stage_span",
        "input_tokens",
        "output_tokens",
        "counted",
    )

    stage_type: str  # set (with `stage_start`) just before `stage`
    stage_start: int

    def __init__(self, pipe: Any, root: LiveSpan, generative: bool) -> None:
        self.pipe = pipe
        self.root = root
        self.generative = generative
        self.stage: str | None = None  # the running stage's span name (`stage_type` and
        # `stage_start` are set before it)
        self.stage_span: LiveSpan | None = None  # the running stage's live span, once created
        # tokens counted in the call's preprocess and forward stages (a chunked pipeline runs several)
        self.input_tokens = 0
        self.output_tokens = 0
        self.counted = False

    def running_span(self) -> LiveSpan | None:
        if self.stage is None:
            return None
        span = self.stage_span
        if span is None:
            root = self.root
            span = self.stage_span = add_span(root._record, root.span_id, self.stage, self.stage_type, self.stage_start)
        return span


_CALL: contextvars.ContextVar[_CallState | None] = contextvars.ContextVar("hf_mltrack_pipeline_call", default=None)

_ABSENT = object()
_patches: list[tuple[type, str, Any]] = []
_patched: set[type] = set()
_lock = threading.RLock()
_enabled = False
_options: dict[str, Any] = {"record_model_io": False}


def _warn(where: str, exc: BaseException) -> None:
    warn_once(
        f"pipeline:{where}:{type(exc).__name__}",
        f"hf_mltrack pipeline tracing failed in {where} ({type(exc).__name__}: {exc}); the pipeline call "
        "runs untraced. Please report this bug.",
    )


# ---- what we record -----------------------------------------------------------------------
def _model_name(pipe: Any) -> str | None:
    model = getattr(pipe, "model", None)
    config = getattr(model, "config", None)
    return getattr(config, "_name_or_path", None) or getattr(model, "name_or_path", None) or None


def _is_generative(pipe: Any) -> bool:
    return bool(getattr(pipe, "_pipeline_calls_generate", False))


def _generation_params(pipe: Any, forward_kwargs: dict[str, Any]) -> dict[str, Any]:
    config = getattr(pipe, "generation_config", None) or getattr(
        getattr(pipe, "model", None), "generation_config", None
    )
    params: dict[str, Any] = {}
    if config is not None:
        for key in _GENERATION_KEYS:
            value = getattr(config, key, None)
            if value is not None:
                params[key] = value
    nested = forward_kwargs.get("generate_kwargs")
    if isinstance(nested, dict):
        params.update(nested)
    params.update({k: v for k, v in forward_kwargs.items() if k != "generate_kwargs"})
    for key in [k for k, v in params.items() if _is_tensor(v)]:
        params.pop(key)
    return to_jsonable(params)


def _is_tensor(value: Any) -> bool:
    return hasattr(value, "shape") and hasattr(value, "dtype")


def _count_tokens(mask: Any, ids: Any) -> int:
    """Prompt tokens of a preprocess result: non-padding tokens when there is an attention mask.
    (A small mask is summed in Python: well under a microsecond, where a torch reduction costs several.)"""
    if mask is not None and hasattr(mask, "tolist"):
        if getattr(mask, "numel", None) is not None and mask.numel() > 1024:
            return int(mask.sum())
        return _nested_sum(mask.tolist())
    if ids is not None and hasattr(ids, "numel"):
        return int(ids.numel())
    return 0


def _nested_sum(values: Any) -> int:
    if type(values) is not list:
        return int(values)
    if not values or type(values[0]) is not list:
        return int(sum(values))
    if not values[0] or type(values[0][0]) is not list:
        return int(sum(map(sum, values)))  # the usual (batch, sequence) mask
    return sum(_nested_sum(v) for v in values)


def _count_generated(pipe: Any, model_outputs: Any) -> int:
    """Tokens produced by generate() in a forward result (prompt tokens excluded for decoder-only models)."""
    if not hasattr(model_outputs, "get"):
        return 0
    for key in ("generated_sequence", "output_ids", "sequences"):
        seq = model_outputs.get(key)
        if seq is not None and hasattr(seq, "shape") and len(seq.shape) >= 1:
            total = int(seq.numel())
            prompt = model_outputs.get("input_ids")
            config = getattr(getattr(pipe, "model", None), "config", None)
            if key == "generated_sequence" and prompt is not None and hasattr(prompt, "shape"):
                if not getattr(config, "is_encoder_decoder", False) and len(seq.shape) >= 2:
                    sequences = total // int(seq.shape[-1]) if seq.shape[-1] else 0
                    prompt_len = int(prompt.shape[-1]) if len(prompt.shape) else 0
                    total -= sequences * prompt_len
            return max(0, total)
    return 0


# id(pipeline) -> (span name, span type, generative, attributes); an entry leaves with its pipeline
_STATIC: dict[int, tuple[str, str, bool, dict[str, Any]]] = {}


def _static_attributes(pipe: Any) -> tuple[str, str, bool, dict[str, Any]]:
    """What does not change between calls of one pipeline (computed on its first traced call)."""
    static = _STATIC.get(id(pipe))
    if static is None:
        generative = _is_generative(pipe)
        task = getattr(pipe, "task", None) or ""
        span_type = SpanType.LLM if generative else _TASK_SPAN_TYPES.get(task, SpanType.CHAIN)
        attributes = {"task": task, "model": _model_name(pipe), "device": str(getattr(pipe, "device", ""))}
        static = (type(pipe).__name__, span_type, generative, attributes)
        try:
            weakref.finalize(pipe, _STATIC.pop, id(pipe), None)
        except TypeError:  # not weak-referenceable: recomputed on each call
            return static
        _STATIC[id(pipe)] = static
    return static


# ---- the wrappers -----------------------------------------------------------------------------
# These run inside every pipeline call, between torch and tokenizer work that evicts them from the
# CPU caches: they do as little as possible, and keep few objects alive until the export (see
# `span.NO_EVENTS`). With ``record_model_io``, the stages' tensors are converted on the exporter's
# thread (`Deferred`).


def _wrap_call(original: Any) -> Any:
    def __call__(self: Any, *args: Any, **kwargs: Any) -> Any:
        state = _CALL.get()
        if (state is not None and state.pipe is self and state.stage is None) or not is_enabled():
            return original(self, *args, **kwargs)  # e.g. a subclass's __call__ calling super().__call__
        try:
            name, span_type, generative, static = _STATIC.get(id(self)) or _static_attributes(self)
            root = child_span(_CURRENT.get(), name, span_type)
            value = args[0] if len(args) == 1 else list(args)
            root.inputs = value if type(value) is str else _inputs_of_call(value)
            attributes = root.attributes = dict(static)
            if kwargs:
                attributes["call_params"] = to_jsonable({k: v for k, v in kwargs.items() if not _is_tensor(v)})
            new_state = root._steps = _CallState(self, root, generative)
            call_token = _CALL.set(new_state)
            span_token = _CURRENT.set(root)
        except Exception as exc:
            _warn("__call__", exc)
            return original(self, *args, **kwargs)
        try:
            result = original(self, *args, **kwargs)
        except BaseException as exc:
            _finish_call(new_state, call_token, span_token, None, exc)
            raise
        _finish_call(new_state, call_token, span_token, result, None)
        return result

    return __call__


def _inputs_of_call(value: Any) -> Any:
    if hasattr(value, "__next__") or type(value).__name__ in ("Dataset", "KeyDataset", "IterableDataset"):
        return f"<{type(value).__name__}>"  # never consume a lazy input
    return to_jsonable(value)


def _finish_call(state: _CallState, call_token: Any, span_token: Any, result: Any, exc: BaseException | None) -> None:
    root = state.root
    root._steps = None  # the state refers to the pipeline: the trace must not keep it alive
    try:
        _CURRENT.reset(span_token)
        _CALL.reset(call_token)
    except ValueError:  # reset in another context: leave the variables alone
        pass
    try:
        if exc is not None:
            root.record_exception(exc)
        elif hasattr(result, "__next__"):
            root.outputs = f"<{type(result).__name__}>"  # a lazy iterator: its items are produced later
        else:
            root.outputs = to_jsonable(result)
        if state.counted:
            n_in, n_out = state.input_tokens, state.output_tokens
            root.attributes["token_usage"] = {
                "input_tokens": n_in,
                "output_tokens": n_out,
                "total_tokens": n_in + n_out,
            }
        end = root.end_time_ns = _time_ns()
        root.attributes["latency_ms"] = (end - root.start_time_ns) // 1000 / 1000  # ms, to the microsecond
        if root.status_code == SpanStatusCode.UNSET:
            root.status_code = SpanStatusCode.OK
        record = root._record
        if record.root is root:  # the call is the trace's root (not inside a user's span)
            _finish(record)
    except Exception as internal:
        _warn("__call__", internal)


def _shallow(value: Any) -> Any:
    """A copy of a stage's dict-like result that later mutation of the dict cannot change (text
    generation's ``_forward`` pops keys of its input, for instance); the tensors are shared."""
    if isinstance(value, dict):
        return dict(value)
    data = getattr(value, "data", None)  # BatchEncoding / UserDict
    if isinstance(data, dict):
        return dict(data)
    return value


def _wrap_stage(original: Any, stage: str) -> Any:
    is_pre, is_forward = stage == "preprocess", stage == "forward"

    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        state = _CALL.get()
        if state is None or state.stage is not None or state.pipe is not self:
            return original(self, *args, **kwargs)  # outside a traced call, or inside another stage
        try:
            if is_forward:
                if state.generative:
                    name, span_type = "generate", SpanType.LLM
                else:
                    root_type = state.root.span_type
                    name, span_type = (
                        "forward",
                        SpanType.UNKNOWN if root_type == SpanType.CHAIN else root_type,
                    )
            else:
                name, span_type = stage, SpanType.PARSER
            inputs = None
            attributes: dict[str, Any] = {}
            if is_pre and args:
                value = args[0]
                inputs = value if type(value) is str else to_jsonable(value)
            elif is_forward and state.generative:
                params = attributes["generation_params"] = _generation_params(self, kwargs)
                state.root.attributes["generation_params"] = params
            current = _CURRENT.get()
            token = None
            state.stage, state.stage_type = name, span_type
            if current is state.root:  # the usual case: recorded as a step (see `_CallState`)
                state.stage_start = _time_ns()
            else:  # inside the user's own span (a __call__ override): a live span, made current
                state.stage_span = span = child_span(current, name, span_type)
                token = _CURRENT.set(span)
        except Exception as exc:
            state.stage = None
            _warn(stage, exc)
            return original(self, *args, **kwargs)
        try:
            result = original(self, *args, **kwargs)
        except BaseException as exc:
            _finish_stage_error(state, token, inputs, attributes, exc)
            raise
        end = _time_ns()
        finished: LiveSpan | None = state.stage_span
        state.stage = state.stage_span = None
        if token is not None:
            _reset(token)
        outputs = None
        try:
            if is_pre:
                data = getattr(result, "data", result)  # a BatchEncoding's dict (a plain dict's `get`)
                get = getattr(data if type(data) is dict else result, "get", None)
                if get is not None:
                    mask, ids = get("attention_mask"), get("input_ids")
                    if mask is not None or ids is not None:
                        count = _count_tokens(mask, ids)
                        state.input_tokens += count
                        state.counted = True
                        attributes["input_tokens"] = count
            elif is_forward and state.generative:
                count = _count_generated(self, result)
                state.output_tokens += count
                state.counted = True
                attributes["output_tokens"] = count
            if _options["record_model_io"]:
                # stage tensors are converted on the exporter's thread; postprocess's result is (in)
                # the call's outputs
                outputs = Deferred(to_jsonable, _shallow(result)) if is_pre or is_forward else to_jsonable(result)
        except Exception as internal:
            _warn(stage, internal)
        try:  # the stage is recorded, with what could be computed
            if finished is None:
                record = state.root._record
                step = (state.root.span_id, name, span_type, state.stage_start, end, inputs, outputs, attributes)
                if record.steps is None:
                    record.steps = [step]
                else:
                    record.steps.append(step)
            else:
                _end_stage_span(finished, inputs, outputs, attributes, end)
        except Exception as internal:
            _warn(stage, internal)
        return result

    return wrapper


def _reset(token: Any) -> None:
    try:
        _CURRENT.reset(token)
    except ValueError:  # reset in another context than set: leave the variable alone
        pass


def _end_stage_span(span: LiveSpan, inputs: Any, outputs: Any, attributes: dict[str, Any], end: int) -> None:
    if inputs is not None:
        span.inputs = inputs
    if outputs is not None:
        span.outputs = outputs
        if type(outputs) is Deferred:
            record = span._record
            if record.deferred is None:
                record.deferred = []
            record.deferred.append(span)
    span.attributes.update(attributes)
    if span.status_code == SpanStatusCode.UNSET:
        span.status_code = SpanStatusCode.OK
    span.end_time_ns = end


def _finish_stage_error(
    state: _CallState, token: Any, inputs: Any, attributes: dict[str, Any], exc: BaseException
) -> None:
    try:
        span = state.running_span()
        state.stage = state.stage_span = None
        if token is not None:
            _reset(token)
        if span is not None:
            if inputs is not None:
                span.inputs = inputs
            span.attributes.update(attributes)
            span.record_exception(exc)
            span.end()
    except Exception as internal:
        state.stage = state.stage_span = None
        _warn("stage", internal)


# ---- patching ---------------------------------------------------------------------------------
def _patch_class(cls: type) -> None:
    with _lock:
        if cls in _patched:
            return
        _patched.add(cls)
        own = cls.__dict__
        if "__call__" in own:
            _set(cls, "__call__", _wrap_call(own["__call__"]))
        for stage in _STAGES:
            if stage in own and callable(own[stage]):
                _set(cls, stage, _wrap_stage(own[stage], stage))


def _set(cls: type, name: str, wrapper: Any) -> None:
    original = cls.__dict__.get(name, _ABSENT)
    if original is not _ABSENT:
        for attr in ("__name__", "__qualname__", "__doc__", "__module__"):
            try:
                setattr(wrapper, attr, getattr(original, attr))
            except (AttributeError, TypeError):
                pass
        wrapper.__wrapped__ = original
    _patches.append((cls, name, original))
    setattr(cls, name, wrapper)


def _all_subclasses(cls: type) -> list[type]:
    out, todo = [], [cls]
    while todo:
        c = todo.pop()
        out.append(c)
        todo.extend(c.__subclasses__())
    return out


def enable_pipeline_tracing(silent: bool = False, record_model_io: bool = False) -> None:
    """Trace every transformers pipeline call from now on (idempotent).

    Args:
        silent (`bool`, *optional*, defaults to `False`): no log message.
        record_model_io (`bool`, *optional*, defaults to `False`): also record what each stage returns
            as its span's outputs: ``preprocess`` (token ids, attention masks), ``forward`` (logits,
            generated ids; small tensors as lists, larger ones as a shape summary) and ``postprocess``.
            Off by default: it is for debugging, and it costs more than the rest of the trace.

    Raises:
        `MissingDependencyError`: when transformers is not installed.
    """
    global _enabled
    _options["record_model_io"] = bool(record_model_io)
    try:
        from transformers import Pipeline
    except ImportError as exc:
        from ..exceptions import missing_extra

        raise missing_extra("Pipeline tracing", "transformers", "hf") from exc
    with _lock:
        if _enabled:
            return
        for cls in _all_subclasses(Pipeline):
            _patch_class(cls)
        original_hook = Pipeline.__dict__.get("__init_subclass__", _ABSENT)

        def __init_subclass__(cls: Any, **kwargs: Any) -> None:
            if original_hook is not _ABSENT:
                original_hook.__get__(None, cls)(**kwargs)
            else:
                super(Pipeline, cls).__init_subclass__(**kwargs)
            try:
                _patch_class(cls)
            except Exception as exc:
                _warn("__init_subclass__", exc)

        _patches.append((Pipeline, "__init_subclass__", original_hook))
        Pipeline.__init_subclass__ = classmethod(__init_subclass__)  # type: ignore[assignment]
        _enabled = True
    if not silent:
        from .span import _logger

        _logger.info("hf_mltrack: tracing transformers pipeline calls")


def disable_pipeline_tracing() -> None:
    """Stop tracing pipeline calls: every patched class attribute is restored to the original object."""
    global _enabled
    with _lock:
        while _patches:
            cls, name, original = _patches.pop()
            if original is _ABSENT:
                try:
                    delattr(cls, name)
                except AttributeError:
                    pass
            else:
                setattr(cls, name, original)
        _patched.clear()
        _enabled = False


def is_pipeline_tracing_enabled() -> bool:
    return _enabled


def autolog(disable: bool = False, silent: bool = False, log_traces: bool = True) -> None:
    """The hook of ``hf_mltrack.transformers.autolog(log_traces=...)``: enable or disable pipeline tracing.

    Args:
        disable (`bool`, *optional*, defaults to `False`): restore the original pipeline methods.
        silent (`bool`, *optional*, defaults to `False`): no log messages.
        log_traces (`bool`, *optional*, defaults to `True`): `False` disables, as ``disable=True``.
    """
    if disable or not log_traces:
        disable_pipeline_tracing()
    else:
        enable_pipeline_tracing(silent=silent)
