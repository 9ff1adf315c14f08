"""``order_by`` of ``search_logged_models``: MLflow's structured clauses or text, parsed once for every store."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..exceptions import InvalidParameterError


@dataclass(frozen=True)
class ModelOrder:
    entity_type: str  # attribute, metric, param, tag
    key: str
    ascending: bool = True
    dataset_name: str | None = None
    dataset_digest: str | None = None


def parse_model_order_by(order_by: Sequence[Any] | None) -> list[ModelOrder]:
    """MLflow's dicts (``{"field_name": "metrics.eval_loss", "ascending": True, "dataset_name": ...}``) or
    text clauses (``"metrics.eval_loss ASC"``)."""
    from .search import parse_logged_model_order_by

    out: list[ModelOrder] = []
    if isinstance(order_by, (str, dict)):
        order_by = [order_by]
    for i, item in enumerate(order_by or ()):
        if isinstance(item, str):
            ob = parse_logged_model_order_by(item)
            out.append(ModelOrder(ob.entity_type, ob.key, ob.ascending))
            continue
        if not isinstance(item, dict) or not isinstance(item.get("field_name"), str) or not item["field_name"]:
            raise InvalidParameterError(
                f"Invalid order_by[{i}] {item!r}: give a clause such as 'metrics.eval_loss ASC' or "
                "{'field_name': 'metrics.eval_loss', 'ascending': True, 'dataset_name': 'eval'}"
            )
        ob = parse_logged_model_order_by(item["field_name"])
        ascending = item.get("ascending")
        out.append(
            ModelOrder(
                ob.entity_type,
                ob.key,
                True if ascending is None else bool(ascending),
                item.get("dataset_name") or None,
                item.get("dataset_digest") or None,
            )
        )
    return out


__all__ = ["ModelOrder", "parse_model_order_by"]
