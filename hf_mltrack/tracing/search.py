"""The trace search grammar, on the tracking search parser (`hf_mltrack.tracking.search`).

Filters are comparisons joined by ``AND``:

- attributes (unprefixed or ``attributes.``): ``request_id``, ``name``, ``status``, ``run_id`` (strings:
  ``=``, ``!=``, ``LIKE``, ``ILIKE``, ``IN``, ``NOT IN``) and ``timestamp_ms``, ``execution_time_ms``
  (numbers: ``=``, ``!=``, ``<``, ``<=``, ``>``, ``>=``); ``trace_name`` is ``name``, ``timestamp`` is
  ``timestamp_ms``, ``request_id``'s alias is ``trace_id``;
- ``tags.<key>`` (strings, plus ``IS NULL``/``IS NOT NULL``);
- ``request_metadata.<key>`` (or ``metadata.``; strings): a key of the request metadata;
- ``trace.text`` (``LIKE``/``ILIKE``): the name, previews and span contents (MLflow's full-text search);
  ``trace.`` is also a prefix for the attributes (``trace.status``, ``trace.timestamp_ms``).

Order by the attributes (``timestamp_ms DESC``, ``execution_time_ms``, ``name``, ``status``,
``request_id``); ties and the default go by ``timestamp_ms DESC`` then ``request_id``.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..tracking.search import Comparison, OrderBy, _Grammar, _Parser, _Source

TRACE_GRAMMAR = _Grammar(
    what="traces",
    prefixes={
        "tags": "tag",
        "tag": "tag",
        "attributes": "attribute",
        "attribute": "attribute",
        "attr": "attribute",
        "trace": "attribute",
        # request metadata keys (MLflow's ``request_metadata.`mlflow.sourceRun```)
        "request_metadata": "param",
        "metadata": "param",
    },
    attributes={
        "request_id": "string",
        "name": "string",
        "status": "string",
        "run_id": "string",
        "timestamp_ms": "number",
        "execution_time_ms": "number",
        "text": "string",  # full text: name, previews and spans (use LIKE / ILIKE)
    },
    aliases={
        "trace_id": "request_id",
        "trace_name": "name",
        "timestamp": "timestamp_ms",
        "execution_time": "execution_time_ms",
        "run_uuid": "run_id",
        "state": "status",
        "execution_duration": "execution_time_ms",
        "request_time": "timestamp_ms",
    },
    order_attributes=("request_id", "name", "status", "run_id", "timestamp_ms", "execution_time_ms"),
)

DEFAULT_ORDER = (OrderBy("attribute", "timestamp_ms", False), OrderBy("attribute", "request_id", True))


def parse_trace_filter(filter_string: str | None) -> list[Comparison]:
    """Parse a trace filter into AND-ed comparisons.

    Raises:
        `SearchFilterParseError`: naming the position and the token that could not be read.
    """
    from ..exceptions import InvalidParameterError

    if filter_string is None:
        return []
    if not isinstance(filter_string, str):
        raise InvalidParameterError(
            f"Invalid filter {filter_string!r}: give a string, e.g. \"status = 'OK' AND execution_time_ms > 100\""
        )
    if not filter_string.strip():
        return []
    return _Parser(_Source(filter_string, "filter"), TRACE_GRAMMAR).filter()


def parse_trace_order_by(order_by: Sequence[str] | str | None) -> list[OrderBy]:
    """Parse order_by clauses (``"timestamp_ms DESC"``), then append the default tie-breakers."""
    if isinstance(order_by, str):
        order_by = [order_by]
    out: list[OrderBy] = []
    for clause in order_by or ():
        src = _Source(str(clause), "order_by clause")
        parser = _Parser(src, TRACE_GRAMMAR)
        if parser.peek().kind == "end":
            raise src.error(
                0,
                f"empty clause; give one of {', '.join(TRACE_GRAMMAR.order_attributes)}, optionally ASC or DESC",
            )
        ob = parser.order_by()
        if ob.entity_type != "attribute":
            raise src.error(0, f"traces can only be ordered by {', '.join(TRACE_GRAMMAR.order_attributes)}")
        out.append(ob)
    keys = {ob.key for ob in out}
    out.extend(ob for ob in DEFAULT_ORDER if ob.key not in keys)
    return out
