"""Search grammars of the model registry, on the tracking search parser (`hf_mltrack.tracking.search`).

Registered models: ``name = 'x'``, ``name LIKE 'llama%'``, ``name ILIKE '%LoRA%'``, ``tags.k = 'v'``;
ordered by ``name``, ``creation_timestamp``, ``last_updated_timestamp`` (``timestamp``).

Model versions: ``name = 'x'``, ``run_id = '...'``, ``source``, ``current_stage``, ``user_id``,
``version_number`` (``version``) with numeric comparisons, ``tags.k = 'v'``; ordered by the same
keys plus ``version_number``.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..tracking.search import Comparison, OrderBy, _Grammar, _Parser, _Source

_PREFIXES = {
    "tags": "tag",
    "tag": "tag",
    "attributes": "attribute",
    "attribute": "attribute",
    "attr": "attribute",
}
_TIMES = {"creation_timestamp": "number", "last_updated_timestamp": "number"}
_TIME_ALIASES = {"timestamp": "last_updated_timestamp", "creation_time": "creation_timestamp"}

REGISTERED_MODEL_GRAMMAR = _Grammar(
    what="registered models",
    prefixes=_PREFIXES,
    attributes={"name": "string", **_TIMES},
    aliases=dict(_TIME_ALIASES),
    order_attributes=("name", "creation_timestamp", "last_updated_timestamp"),
)

MODEL_VERSION_GRAMMAR = _Grammar(
    what="model versions",
    prefixes=_PREFIXES,
    attributes={
        "name": "string",
        "run_id": "string",
        "source": "string",
        "current_stage": "string",
        "user_id": "string",
        "version_number": "number",
        **_TIMES,
    },
    aliases={"version": "version_number", "run_uuid": "run_id", "stage": "current_stage", **_TIME_ALIASES},
    order_attributes=(
        "name",
        "version_number",
        "run_id",
        "current_stage",
        "creation_timestamp",
        "last_updated_timestamp",
    ),
)


def parse_filter(filter_string: str | None, grammar: _Grammar) -> list[Comparison]:
    """Parse a registry filter (comparisons joined by AND) with one of the grammars above.

    Raises:
        `SearchFilterParseError`: naming the position and the token that could not be read.
    """
    from ..exceptions import InvalidParameterError

    if filter_string is None:
        return []
    if not isinstance(filter_string, str):
        raise InvalidParameterError(f"Invalid filter {filter_string!r}: give a string, e.g. \"name = 'my-model'\"")
    if not filter_string.strip():
        return []
    return _Parser(_Source(filter_string, "filter"), grammar).filter()


def parse_order_by(order_by: Sequence[str] | str | None, grammar: _Grammar) -> list[OrderBy]:
    """Parse order_by clauses (``"name ASC"``, ``"version_number DESC"``) over attributes only."""
    if not order_by:
        return []
    if isinstance(order_by, str):
        order_by = [order_by]
    out: list[OrderBy] = []
    for clause in order_by:
        src = _Source(str(clause), "order_by clause")
        parser = _Parser(src, grammar)
        if parser.peek().kind == "end":
            raise src.error(
                0, f"empty clause; give one of {', '.join(grammar.order_attributes)}, optionally ASC or DESC"
            )
        ob = parser.order_by()
        if ob.entity_type != "attribute":
            raise src.error(0, f"{grammar.what} can only be ordered by {', '.join(grammar.order_attributes)}")
        out.append(ob)
    return out
