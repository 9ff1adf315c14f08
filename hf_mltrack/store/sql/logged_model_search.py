"""``search_logged_models`` as one SQL statement: filter grammar and ``order_by`` over metrics, params,
tags and attributes, a metric optionally taken on one dataset.

A model's value of a metric is its linked point at the highest step for that key (and dataset, when
the order or the ``datasets`` argument names one): a checkpoint evaluated once per save has one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from ...entities import LifecycleStage, LoggedModelStatus
from ...exceptions import InvalidParameterError
from ...tracking.logged_model_order import ModelOrder
from .logged_model_schema import logged_model_metrics, logged_model_params, logged_model_tags, logged_models
from .search_sql import _ordered, compare

_COLUMNS = {
    "model_id": logged_models.c.model_id,
    "name": logged_models.c.name,
    "model_type": logged_models.c.model_type,
    "status": logged_models.c.status,
    "source_run_id": logged_models.c.source_run_id,
    "creation_timestamp": logged_models.c.creation_timestamp_ms,
    "last_updated_timestamp": logged_models.c.last_updated_timestamp_ms,
}


def _metric_values(key: str, datasets: Sequence[tuple[str, str | None]]) -> Any:
    """Per model: (model_id, value, is_nan) of its point for ``key`` at the highest step."""
    m = logged_model_metrics.c
    where = [m.key == key]
    if datasets:
        where.append(
            sa.or_(
                *(
                    sa.and_(m.dataset_name == name, *([m.dataset_digest == digest] if digest else []))
                    for name, digest in datasets
                )
            )
        )
    rank = sa.func.row_number().over(partition_by=m.model_id, order_by=(m.step.desc(), m.timestamp.desc()))
    ranked = sa.select(m.model_id, m.value, m.is_nan, rank.label("rn")).where(*where).subquery()
    return sa.select(ranked.c.model_id, ranked.c.value, ranked.c.is_nan).where(ranked.c.rn == 1).subquery()


def _dataset_pairs(datasets: Sequence[dict] | None) -> list[tuple[str, str | None]]:
    out = []
    for i, d in enumerate(datasets or ()):
        name = d.get("dataset_name") if isinstance(d, dict) else None
        if not isinstance(name, str) or not name:
            raise InvalidParameterError(
                f"Invalid datasets[{i}] {d!r}: give {{'dataset_name': ..., 'dataset_digest': ...}}"
            )
        out.append((name, d.get("dataset_digest") or None))
    return out


def _condition(c: Any, datasets: list[tuple[str, str | None]]) -> Any:
    model_id = logged_models.c.model_id
    if c.entity_type == "attribute":
        value = c.value
        if c.key == "status" and isinstance(value, str):
            value = LoggedModelStatus.parse(value)
        return compare(_COLUMNS[c.key], c.op, value)
    if c.entity_type == "metric":
        values = _metric_values(c.key, datasets)
        if c.op == "IS NULL":
            return model_id.not_in(sa.select(values.c.model_id))
        if c.op == "IS NOT NULL":
            return model_id.in_(sa.select(values.c.model_id))
        value = float(c.value)
        cond = sa.and_(compare(values.c.value, c.op, value), sa.not_(values.c.is_nan))
        return model_id.in_(sa.select(values.c.model_id).where(cond))
    table = logged_model_params if c.entity_type == "param" else logged_model_tags
    if c.op == "IS NULL":
        return model_id.not_in(sa.select(table.c.model_id).where(table.c.key == c.key))
    if c.op == "IS NOT NULL":
        return model_id.in_(sa.select(table.c.model_id).where(table.c.key == c.key))
    return model_id.in_(sa.select(table.c.model_id).where(table.c.key == c.key, compare(table.c.value, c.op, c.value)))


def logged_models_select(
    experiment_ids: Sequence[int],
    filter_string: str | None,
    datasets: Sequence[dict] | None,
    order_by: Sequence[ModelOrder],
    limit: int,
    offset: int = 0,
) -> sa.Select:
    """The ids of the active logged models matching a search, in their final order."""
    from ...tracking.search import parse_logged_model_filter

    pairs = _dataset_pairs(datasets)
    lm = logged_models.c
    where: list[Any] = [lm.experiment_id.in_(list(experiment_ids)), lm.lifecycle_stage == LifecycleStage.ACTIVE]
    where += [_condition(c, pairs) for c in parse_logged_model_filter(filter_string)]
    if pairs:  # as MLflow: only models with metrics on one of these datasets
        m = logged_model_metrics.c
        where.append(
            lm.model_id.in_(
                sa.select(m.model_id).where(
                    sa.or_(
                        *(
                            sa.and_(m.dataset_name == name, *([m.dataset_digest == digest] if digest else []))
                            for name, digest in pairs
                        )
                    )
                )
            )
        )
    source: Any = logged_models
    order: list[Any] = []
    for i, ob in enumerate(order_by):
        if ob.entity_type == "attribute":
            order.append(_ordered(_COLUMNS[ob.key], ob.ascending))
            continue
        if ob.entity_type == "metric":
            scope = [(ob.dataset_name, ob.dataset_digest)] if ob.dataset_name else pairs
            values = _metric_values(ob.key, scope).alias(f"order_{i}")
            source = source.outerjoin(values, values.c.model_id == lm.model_id)
            # models without the metric last, NaN just before them, in both directions
            order.append(sa.case((values.c.model_id.is_(None), 2), (values.c.is_nan, 1), else_=0))
            order.append(_ordered(values.c.value, ob.ascending))
            continue
        table = (logged_model_params if ob.entity_type == "param" else logged_model_tags).alias(f"order_{i}")
        source = source.outerjoin(table, sa.and_(table.c.model_id == lm.model_id, table.c.key == ob.key))
        order.append(_ordered(table.c.value, ob.ascending))
    order += [lm.creation_timestamp_ms.desc(), lm.model_id.asc()]
    stmt = sa.select(lm.model_id).select_from(source).where(*where).order_by(*order).limit(limit)
    return stmt.offset(offset) if offset else stmt
