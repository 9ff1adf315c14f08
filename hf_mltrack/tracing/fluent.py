"""The tracing API: ``@hf_mltrack.trace``, ``hf_mltrack.start_span`` and trace search/get.

    >>> import hf_mltrack
    >>> @hf_mltrack.trace(span_type="TOOL")
    ... def add(a, b):
    ...     return a + b
    >>> with hf_mltrack.start_span("pipeline", span_type="CHAIN") as span:
    ...     span.set_inputs({"x": 1})
    ...     span.set_outputs(add(1, 2))
    >>> hf_mltrack.get_last_active_trace().data.spans[1].name
    'add'

Exceptions raised inside a span are recorded (status ERROR, an ``exception`` event with type,
message and stack trace) and re-raised unchanged. Errors inside hf_mltrack's own tracing code never
reach the traced function: they become one logged warning and the function runs untraced.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from .._env import TRACING_ENABLED
from ..entities.trace import SpanType
from ._serialize import MAX_ITEMS, to_jsonable
from .span import (
    _CURRENT,
    NO_OP_SPAN,
    LiveSpan,
    NoOpSpan,
    child_span,
    effective_parent,
    last_record,
    new_span,
    warn_once,
)

if TYPE_CHECKING:
    import pandas as pd

    from ..entities.trace import Trace

F = TypeVar("F", bound=Callable[..., Any])

_enabled_override: bool | None = None
_enabled_from_env: bool | None = None  # HF_MLTRACK_TRACING_ENABLED, read once per process


def enable() -> None:
    """Record traces again after `disable` (overrides ``HF_MLTRACK_TRACING_ENABLED``)."""
    global _enabled_override
    _enabled_override = True


def disable() -> None:
    """Stop recording traces: ``@trace`` and ``start_span`` become near-free no-ops."""
    global _enabled_override
    _enabled_override = False


def is_enabled() -> bool:
    """Whether traces are recorded: `enable`/`disable`, else ``HF_MLTRACK_TRACING_ENABLED`` (read at the
    first traced call of the process; it is on the path of every traced call)."""
    global _enabled_from_env
    if _enabled_override is not None:
        return _enabled_override
    if _enabled_from_env is None:
        try:
            _enabled_from_env = TRACING_ENABLED.get()
        except ValueError:
            _enabled_from_env = True
    return _enabled_from_env


def _internal_error(where: str, exc: BaseException) -> None:
    warn_once(
        f"{where}:{type(exc).__name__}",
        f"hf_mltrack tracing failed in {where} ({type(exc).__name__}: {exc}); the call runs untraced. "
        "Please report this bug.",
    )


# ---- start_span -------------------------------------------------------------------------------
class start_span:  # noqa: N801 - used as a function: `with hf_mltrack.start_span(...) as span`
    """Trace a block of code as a span, child of the current span (or the root of a new trace).

    Args:
        name (`str`, *optional*, defaults to `"span"`): the span's name.
        span_type (`str`, *optional*, defaults to `"UNKNOWN"`): a `SpanType` (``LLM``, ``CHAIN``,
            ``TOOL``, ``RETRIEVER``, ``EMBEDDING``, ``PARSER``, ``RERANKER``, ``AGENT``, ...).
        attributes (`dict`, *optional*): initial attributes.

    Yields:
        `LiveSpan`: with ``set_inputs``, ``set_outputs``, ``set_attribute(s)``, ``add_event`` and
        ``record_exception`` (a no-op span while tracing is disabled).

    An exception leaving the block is recorded on the span (status ERROR) and propagates unchanged.
    """

    __slots__ = ("_name", "_span_type", "_attributes", "_span", "_token", "_parent")

    def __init__(
        self, name: str = "span", span_type: str = SpanType.UNKNOWN, attributes: dict[str, Any] | None = None
    ) -> None:
        self._name = name
        self._span_type = span_type
        self._attributes = attributes
        self._span: LiveSpan | None = None

    def __enter__(self) -> LiveSpan | NoOpSpan:
        if not is_enabled():
            return NO_OP_SPAN
        try:
            parent = _CURRENT.get()
            span = new_span(str(self._name), self._span_type, self._attributes, parent)
            self._parent = parent
            self._token = _CURRENT.set(span)
            self._span = span
            return span
        except Exception as exc:
            _internal_error("start_span", exc)
            return NO_OP_SPAN

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> Literal[False]:
        span = self._span
        if span is None:
            return False
        self._span = None
        try:
            _restore(self._token, self._parent)
            if exc is not None:
                span.record_exception(exc)
            span.end()
        except Exception as internal:
            _internal_error("start_span", internal)
        return False


def _restore(token: Any, parent: LiveSpan | None) -> None:
    try:
        _CURRENT.reset(token)
    except ValueError:  # exited in another context than entered (e.g. an async generator moved tasks)
        _CURRENT.set(parent)


def get_current_active_span() -> LiveSpan | None:
    """The span of the innermost ``start_span`` block or traced function running in this context."""
    span = _CURRENT.get()
    return span if span is None or span._steps is None else effective_parent(span)


def update_current_trace(tags: dict[str, Any] | None = None) -> None:
    """Add tags to the trace being recorded in this context (no-op outside a trace)."""
    span = _CURRENT.get()
    if span is None or not tags:
        return
    span._record.tags.update({str(k): str(v) for k, v in tags.items()})


def get_last_active_trace() -> Trace | None:
    """The most recently finished trace of this process (from memory: no store access), or None."""
    record = last_record()
    return None if record is None else record.to_trace()


# ---- @trace -----------------------------------------------------------------------------------
def trace(
    func: F | None = None,
    name: str | None = None,
    span_type: str = SpanType.UNKNOWN,
    attributes: dict[str, Any] | None = None,
) -> Any:
    """Decorator: trace every call of a function as a span, with its arguments and return value.

    Works on plain functions, methods, ``async def`` functions, generators and async generators
    (a generator's span covers its whole iteration; its outputs are the list of yielded items).

    Args:
        func (`Callable`, *optional*): the function (when used as ``@trace`` without parentheses).
        name (`str`, *optional*): span name; defaults to the function's ``__name__``.
        span_type (`str`, *optional*, defaults to `"UNKNOWN"`): a `SpanType`.
        attributes (`dict`, *optional*): attributes set on every span of this function.

    Example:

        >>> @hf_mltrack.trace(name="retrieve", span_type=hf_mltrack.SpanType.RETRIEVER)
        ... def retrieve(query: str, k: int = 3) -> list[str]:
        ...     ...
    """

    def decorator(fn: F) -> F:
        return _wrap(fn, name, span_type, attributes)

    if func is not None:
        if not callable(func):
            from ..exceptions import InvalidParameterError

            raise InvalidParameterError(
                f"@trace got {func!r} as its first argument: use @hf_mltrack.trace or "
                "@hf_mltrack.trace(name=..., span_type=...), with keyword arguments"
            )
        return decorator(func)
    return decorator


def _wrap(fn: Any, name: str | None, span_type: str, attributes: dict[str, Any] | None) -> Any:
    span_name = name or getattr(fn, "__name__", None) or type(fn).__name__
    try:
        sig: inspect.Signature | None = inspect.signature(fn)
    except (TypeError, ValueError):
        sig = None
    skip_first = bool(sig and next(iter(sig.parameters), None) in ("self", "cls"))
    fast = _fast_binder(sig, skip_first) if sig is not None else None
    static_attributes = {str(k): to_jsonable(v) for k, v in (attributes or {}).items()}

    def capture(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if fast is not None:
            arguments = fast(args, kwargs)
            if arguments is not None:
                return to_jsonable(arguments)
        if sig is not None:
            try:
                bound = sig.bind(*args, **kwargs)
            except TypeError:
                pass
            else:
                bound.apply_defaults()
                arguments = bound.arguments
                if skip_first:
                    arguments = dict(arguments)
                    arguments.pop(next(iter(sig.parameters)), None)
                return to_jsonable(arguments)
        return to_jsonable({"args": list(args), "kwargs": kwargs})

    def enter(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[LiveSpan, Any, LiveSpan | None] | None:
        try:
            parent = _CURRENT.get()
            span = child_span(parent, span_name, span_type)
            if static_attributes:
                span.attributes = dict(static_attributes)
            span.inputs = capture(args, kwargs)
            return span, _CURRENT.set(span), parent
        except Exception as exc:
            _internal_error(f"@trace({span_name})", exc)
            return None

    def leave(state: tuple[LiveSpan, Any, LiveSpan | None], result: Any, exc: BaseException | None) -> None:
        span, token, parent = state
        try:
            _restore(token, parent)
            if exc is not None:
                span.record_exception(exc)
            else:
                span.outputs = to_jsonable(result)
            span.end()
        except Exception as internal:
            _internal_error(f"@trace({span_name})", internal)

    if inspect.isasyncgenfunction(fn):
        wrapper = _async_gen_wrapper(fn, span_name, span_type, attributes, capture)
    elif inspect.isgeneratorfunction(fn):
        wrapper = _gen_wrapper(fn, span_name, span_type, attributes, capture)
    elif inspect.iscoroutinefunction(fn):

        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            state = enter(args, kwargs) if is_enabled() else None
            if state is None:
                return await fn(*args, **kwargs)
            try:
                result = await fn(*args, **kwargs)
            except BaseException as exc:
                leave(state, None, exc)
                raise
            leave(state, result, None)
            return result

    else:

        def wrapper(*args: Any, **kwargs: Any) -> Any:  # type: ignore[misc]
            state = enter(args, kwargs) if is_enabled() else None
            if state is None:
                return fn(*args, **kwargs)
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:
                leave(state, None, exc)
                raise
            leave(state, result, None)
            return result

    functools.update_wrapper(wrapper, fn)
    wrapper.__hf_mltrack_traced__ = True  # type: ignore[attr-defined]
    return wrapper


def _fast_binder(sig: inspect.Signature, skip_first: bool) -> Callable[..., dict[str, Any] | None] | None:
    """`sig.bind(...).apply_defaults()` for plain signatures (no ``*args``, ``**kwargs`` or
    positional-only parameters), several times faster; returns None where binding would fail."""
    params = list(sig.parameters.values())
    plain = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    if any(p.kind not in plain for p in params):
        return None
    names = tuple(p.name for p in params)
    index = {name: i for i, name in enumerate(names)}
    n_positional = sum(1 for p in params if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD)
    defaults = {p.name: p.default for p in params if p.default is not inspect.Parameter.empty}
    first = names[0] if skip_first and names else None

    def bind(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any] | None:
        n_args = len(args)
        if n_args > n_positional:
            return None
        for key in kwargs:
            i = index.get(key)
            if i is None or i < n_args:
                return None
        out: dict[str, Any] = {}
        for i, name in enumerate(names):
            if i < n_args:
                out[name] = args[i]
            elif name in kwargs:
                out[name] = kwargs[name]
            elif name in defaults:
                out[name] = defaults[name]
            else:
                return None
        if first is not None:
            del out[first]
        return out

    return bind


def _gen_wrapper(fn: Any, span_name: str, span_type: str, attributes: Any, capture: Callable[..., Any]) -> Any:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        gen = fn(*args, **kwargs)
        if not is_enabled():
            return (yield from gen)
        try:
            parent = _CURRENT.get()
            span = new_span(span_name, span_type, attributes, parent)
            span.inputs = capture(args, kwargs)
        except Exception as exc:
            _internal_error(f"@trace({span_name})", exc)
            return (yield from gen)
        outputs: list[Any] = []
        send_value: Any = None
        throw_value: BaseException | None = None
        while True:
            token = _CURRENT.set(span)
            try:
                if throw_value is not None:
                    exc_in, throw_value = throw_value, None
                    item = gen.throw(exc_in)
                else:
                    item = gen.send(send_value)
            except StopIteration as stop:
                _end_stream(span, outputs, None)
                return stop.value
            except BaseException as exc:
                _end_stream(span, outputs, exc)
                raise
            finally:
                _restore(token, parent)
            if len(outputs) < MAX_ITEMS:
                outputs.append(_safe_jsonable(item))
            try:
                send_value = yield item
            except GeneratorExit:
                token = _CURRENT.set(span)
                try:
                    gen.close()
                finally:
                    _restore(token, parent)
                _end_stream(span, outputs, None)
                raise
            except BaseException as exc:
                throw_value = exc

    return wrapper


def _async_gen_wrapper(fn: Any, span_name: str, span_type: str, attributes: Any, capture: Callable[..., Any]) -> Any:
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        agen = fn(*args, **kwargs)
        span: LiveSpan | None = None
        parent = _CURRENT.get()
        if is_enabled():
            try:
                span = new_span(span_name, span_type, attributes, parent)
                span.inputs = capture(args, kwargs)
            except Exception as exc:
                _internal_error(f"@trace({span_name})", exc)
                span = None
        outputs: list[Any] = []
        send_value: Any = None
        throw_value: BaseException | None = None
        while True:
            token = _CURRENT.set(span) if span is not None else None
            try:
                if throw_value is not None:
                    exc_in, throw_value = throw_value, None
                    item = await agen.athrow(exc_in)
                else:
                    item = await agen.asend(send_value)
            except StopAsyncIteration:
                if span is not None:
                    _end_stream(span, outputs, None)
                return
            except BaseException as exc:
                if span is not None:
                    _end_stream(span, outputs, exc)
                raise
            finally:
                if token is not None:
                    _restore(token, parent)
            if span is not None and len(outputs) < MAX_ITEMS:
                outputs.append(_safe_jsonable(item))
            try:
                send_value = yield item
            except GeneratorExit:
                await agen.aclose()
                if span is not None:
                    _end_stream(span, outputs, None)
                raise
            except BaseException as exc:
                throw_value = exc

    return wrapper


def _safe_jsonable(value: Any) -> Any:
    try:
        return to_jsonable(value)
    except Exception:
        return "<unserializable>"


def _end_stream(span: LiveSpan, outputs: list[Any], exc: BaseException | None) -> None:
    try:
        span.outputs = outputs
        if exc is not None:
            span.record_exception(exc)
        span.end()
    except Exception as internal:
        _internal_error(f"@trace({span.name})", internal)


# ---- reading traces ---------------------------------------------------------------------------
def _client() -> Any:
    """The fluent MlTrackClient (it mixes in `TracingClientMixin`), or a trace-only client on its URI."""
    from ..tracking import fluent
    from .client_mixin import TracingClientMixin

    client = fluent._client()
    if isinstance(client, TracingClientMixin):
        return client
    return _TraceClient(client)


class _TraceClient:
    """`TracingClientMixin` on top of an MlTrackClient that does not mix it in (yet)."""

    def __init__(self, client: Any) -> None:
        from .client_mixin import TracingClientMixin

        self._mixin = type("TraceClient", (TracingClientMixin,), {"get_run": staticmethod(client.get_run)})()
        self._mixin._tracking_uri = client.tracking_uri

    def __getattr__(self, name: str) -> Any:
        return getattr(self._mixin, name)


def search_traces(
    experiment_ids: Sequence[str] | None = None,
    filter_string: str | None = None,
    max_results: int | None = None,
    order_by: Sequence[str] | None = None,
    run_id: str | None = None,
    return_type: str = "pandas",
) -> pd.DataFrame | list[Trace]:
    """Traces of the current tracking store, newest first.

    Args:
        experiment_ids (`list[str]`, *optional*): defaults to the active run's experiment, else the
            current experiment (or, with `run_id`, that run's experiment).
        filter_string (`str`, *optional*): e.g. ``"status = 'ERROR' AND execution_time_ms > 100"``,
            ``"name = 'generate' AND tags.env = 'prod'"``, ``"timestamp_ms > 1700000000000"``.
        max_results (`int`, *optional*): at most this many (default: all).
        order_by (`list[str]`, *optional*): e.g. ``["execution_time_ms DESC"]``.
        run_id (`str`, *optional*): only traces recorded while this run was active.
        return_type (`str`, *optional*, defaults to `"pandas"`): ``"pandas"`` for a DataFrame (columns
            ``request_id``, ``trace``, ``name``, ``timestamp_ms``, ``status``, ``execution_time_ms``,
            ``request``, ``response``, ``request_metadata``, ``spans``, ``tags``, ``run_id``,
            ``experiment_id``), or ``"list"`` for `Trace` objects.
    """
    from ..exceptions import InvalidParameterError

    if return_type not in ("pandas", "list"):
        raise InvalidParameterError(f"Invalid return_type {return_type!r}: use 'pandas' or 'list'")
    client = _client()
    if experiment_ids is None and run_id is None:
        from ..tracking import fluent

        active = fluent.active_run()
        experiment_ids = [active.info.experiment_id if active else fluent._current_experiment_id()]
    traces: list[Trace] = []
    token: str | None = None
    while True:
        page_size = 1000 if max_results is None else min(1000, max_results - len(traces))
        page = client.search_traces(
            experiment_ids=experiment_ids,
            run_id=run_id,
            filter_string=filter_string,
            max_results=page_size,
            order_by=order_by,
            page_token=token,
        )
        traces.extend(page)
        token = page.token
        if not token or (max_results is not None and len(traces) >= max_results):
            break
    if return_type == "list":
        return traces
    return traces_to_dataframe(traces)


def traces_to_dataframe(traces: Sequence[Trace]) -> pd.DataFrame:
    """One row per trace, with the columns of MLflow's ``search_traces`` DataFrame."""
    import pandas as pd

    columns = [
        "request_id",
        "trace",
        "name",
        "timestamp_ms",
        "status",
        "execution_time_ms",
        "request",
        "response",
        "request_metadata",
        "spans",
        "tags",
        "run_id",
        "experiment_id",
    ]
    rows = []
    for t in traces:
        root = t.data.root_span
        rows.append(
            {
                "request_id": t.info.request_id,
                "trace": t,
                "name": t.info.name,
                "timestamp_ms": t.info.timestamp_ms,
                "status": t.info.status,
                "execution_time_ms": t.info.execution_time_ms,
                "request": None if root is None else root.inputs,
                "response": None if root is None else root.outputs,
                "request_metadata": dict(t.info.request_metadata),
                "spans": list(t.data.spans),
                "tags": dict(t.info.tags),
                "run_id": t.info.run_id,
                "experiment_id": t.info.experiment_id,
            }
        )
    return pd.DataFrame(rows, columns=columns)


def get_trace(request_id: str) -> Trace | None:
    """The trace with this id from the current tracking store, or None if there is none."""
    from ..exceptions import ResourceNotFoundError

    try:
        return _client().get_trace(request_id)  # type: ignore[no-any-return]
    except ResourceNotFoundError:
        return None
