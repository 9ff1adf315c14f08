"""SQL for run and experiment searches (SQLAlchemy 2 Core), built from parsed filters and order_by.

The statements select ids only, in their final order, with LIMIT/OFFSET applied; the store loads
the rows it needs afterwards. They keep exactly the semantics of `hf_mltrack.tracking.search`
(`matches_run`, `sort_runs`) on SQLite and PostgreSQL:

- every metric/param/tag comparison is ``run_uuid IN (SELECT run_uuid ... WHERE key = ? AND value
  <op> ?)``, one range scan of the (key, value) index (``IS NULL`` is a ``NOT EXISTS``);
- metrics compare `latest_metrics.value`; a NaN (stored as `is_nan`) only matches ``!=``;
- ``LIKE`` is case-sensitive with a backslash escape on both backends (SQLite needs
  ``PRAGMA case_sensitive_like = ON`` on the connection, which the engine sets); ``ILIKE`` is
  ``ILIKE`` on PostgreSQL and ``lower(x) LIKE lower(y)`` on SQLite;
- ordering by a metric/param/tag LEFT OUTER JOINs that key; NaN sorts after every number and
  missing values last, in both directions; strings sort by code point on both backends
  (``COLLATE "C"`` on PostgreSQL); ties go by ``start_time DESC, run_uuid``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

from ...exceptions import InvalidParameterError
from .schema import experiment_tags, experiments, latest_metrics, params, runs, tags

if TYPE_CHECKING:
    from ...tracking.search import Comparison, OrderBy

__all__ = ["experiments_select", "runs_select"]


class _CodePointOrder(ColumnElement[Any]):
    """A string expression ordered by code point: as is on SQLite, ``COLLATE "C"`` on PostgreSQL.

    Without it PostgreSQL would sort by the database's locale ("a" < "B"), unlike SQLite and Python.
    """

    inherit_cache = True
    _traverse_internals = [("element", InternalTraversal.dp_clauseelement)]

    def __init__(self, element: ColumnElement[Any]) -> None:
        self.element = element
        self.type = element.type


@compiles(_CodePointOrder)
def _compile_code_point_order(element: _CodePointOrder, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.element, **kw)


@compiles(_CodePointOrder, "postgresql")
def _compile_code_point_order_pg(element: _CodePointOrder, compiler: Any, **kw: Any) -> str:
    return f'{compiler.process(element.element, **kw)} COLLATE "C"'


_RUN_COLUMNS = {
    "run_id": runs.c.run_uuid,
    "run_name": runs.c.name,
    "status": runs.c.status,
    "start_time": runs.c.start_time,
    "end_time": runs.c.end_time,
    "user_id": runs.c.user_id,
    "artifact_uri": runs.c.artifact_uri,
    "lifecycle_stage": runs.c.lifecycle_stage,
    "experiment_id": runs.c.experiment_id,
}

_EXPERIMENT_COLUMNS = {
    "name": experiments.c.name,
    "experiment_id": experiments.c.experiment_id,
    "creation_time": experiments.c.creation_time,
    "last_update_time": experiments.c.last_update_time,
    "lifecycle_stage": experiments.c.lifecycle_stage,
}

_STRING_COLUMN_TYPES = (sa.String, sa.Text)


SQL_OPERATORS: dict[str, Any] = {
    "=": lambda col, v: col == v,
    "!=": lambda col, v: col != v,
    "<": lambda col, v: col < v,
    "<=": lambda col, v: col <= v,
    ">": lambda col, v: col > v,
    ">=": lambda col, v: col >= v,
    # LIKE is case-sensitive on both backends (the engine turns on SQLite's case_sensitive_like);
    # ILIKE is lower() LIKE lower() on SQLite.
    "LIKE": lambda col, v: col.like(v, escape="\\"),
    "ILIKE": lambda col, v: col.ilike(v, escape="\\"),
    "IN": lambda col, v: col.in_(list(v)),
    "NOT IN": lambda col, v: col.not_in(list(v)),
}


def compare(column: Any, op: str, value: Any) -> ColumnElement[bool]:
    """One parsed comparison as SQL; shared by the run, experiment, registry and trace searches."""
    build = SQL_OPERATORS.get(op)
    if build is None:
        raise InvalidParameterError(f"Unsupported search operator {op!r}: use one of {', '.join(SQL_OPERATORS)}")
    return build(column, value)


def _having_key(table: sa.Table, owner: Any, owner_column: Any, key: str, *conditions: Any) -> Any:
    """`owner IN (ids having a row of `table` for `key` that meets `conditions`)`.

    An IN subquery rather than a correlated EXISTS: SQLite then runs it once, as a range scan of the
    (key, value, ...) index, instead of probing once per run; PostgreSQL plans both as a semi-join.
    """
    return owner.in_(sa.select(owner_column).where(table.c.key == key, *conditions))


def _lacking_key(table: sa.Table, owner: Any, owner_column: Any, key: str) -> Any:
    """NOT EXISTS (a row of `table` for this owner and `key`): an anti-join on both backends."""
    return ~sa.select(sa.literal(1)).where(owner_column == owner, table.c.key == key).correlate(owner.table).exists()


def _keyed_condition(c: Comparison, table: sa.Table, owner: Any, owner_column: Any) -> Any:
    if c.op == "IS NULL":
        return _lacking_key(table, owner, owner_column, c.key)
    if c.op == "IS NOT NULL":
        return _having_key(table, owner, owner_column, c.key)
    if table is latest_metrics:
        value = float(c.value)  # type: ignore[arg-type]
        if c.op == "!=":
            cond = sa.or_(table.c.value != value, table.c.is_nan)
        else:
            cond = sa.and_(compare(table.c.value, c.op, value), sa.not_(table.c.is_nan))
        return _having_key(table, owner, owner_column, c.key, cond)
    return _having_key(table, owner, owner_column, c.key, compare(table.c.value, c.op, c.value))


def _dataset_condition(c: Comparison) -> Any:
    """The run read some dataset whose name, digest or context (input tag) matches."""
    from .logged_model_schema import datasets, input_tags, run_inputs

    source: Any = run_inputs.join(
        datasets, sa.and_(run_inputs.c.source_type == "DATASET", datasets.c.dataset_uuid == run_inputs.c.source_id)
    )
    if c.key == "context":
        tag = input_tags.c
        source = source.join(
            input_tags, sa.and_(tag.input_uuid == run_inputs.c.input_uuid, tag.key == "mlflow.data.context")
        )
        column = input_tags.c.value
    else:
        column = datasets.c[c.key]
    matching = sa.select(run_inputs.c.run_uuid).select_from(source).where(compare(column, c.op, c.value))
    return runs.c.run_uuid.in_(matching)


def _run_condition(c: Comparison) -> Any:
    if c.entity_type == "attribute":
        return compare(_RUN_COLUMNS[c.key], c.op, c.value)
    if c.entity_type == "dataset":
        return _dataset_condition(c)
    table = {"metric": latest_metrics, "param": params, "tag": tags}[c.entity_type]
    return _keyed_condition(c, table, runs.c.run_uuid, table.c.run_uuid)


def _ordered(column: Any, ascending: bool) -> Any:
    """ORDER BY term with NULLs (missing values) last in both directions, on both backends."""
    if isinstance(column.type, _STRING_COLUMN_TYPES):
        column = _CodePointOrder(column)
    return (column.asc() if ascending else column.desc()).nulls_last()


def _apply_limit(stmt: sa.Select, limit: int | None, offset: int) -> sa.Select:
    if limit is not None:
        stmt = stmt.limit(limit)
    if offset:
        stmt = stmt.offset(offset)
    return stmt


def runs_select(
    experiment_ids: Sequence[int] | None,
    comparisons: Sequence[Comparison],
    order_by: Sequence[OrderBy],
    stages: Sequence[str] | None,
    limit: int | None,
    offset: int = 0,
) -> sa.Select:
    """The ids of the runs matching a search, in their final order.

    Args:
        experiment_ids (`list[int]`): experiments to search (`None`: all of them).
        comparisons (`list[Comparison]`): from `parse_search_filter`, AND-ed.
        order_by (`list[OrderBy]`): from `parse_order_by`, most significant first.
        stages (`tuple[str, ...]`): lifecycle stages to include (`None` or empty: any).
        limit (`int`): the most ids to return (`None`: no limit).
        offset (`int`, *optional*, defaults to `0`): ids to skip (from the page token).

    Returns:
        `sqlalchemy.Select`: selecting `runs.run_uuid` only.
    """
    stmt = sa.select(runs.c.run_uuid)
    source: Any = runs
    where: list[Any] = []
    if experiment_ids is not None:
        where.append(runs.c.experiment_id.in_([int(e) for e in experiment_ids]))
    if stages:
        where.append(runs.c.lifecycle_stage.in_(list(stages)))
    where.extend(_run_condition(c) for c in comparisons)

    order: list[Any] = []
    for i, ob in enumerate(order_by):
        if ob.entity_type == "attribute":
            column = _RUN_COLUMNS[ob.key]
            order.append(_ordered(column, ob.ascending))
            continue
        table = {"metric": latest_metrics, "param": params, "tag": tags}[ob.entity_type]
        joined = table.alias(f"order_{i}")
        source = source.outerjoin(joined, sa.and_(joined.c.run_uuid == runs.c.run_uuid, joined.c.key == ob.key))
        if ob.entity_type == "metric":
            # missing last, NaN (stored as is_nan) just before them, in both directions
            order.append(sa.case((joined.c.run_uuid.is_(None), 2), (joined.c.is_nan, 1), else_=0))
        order.append(_ordered(joined.c.value, ob.ascending))
    # ties: newest first, then by id; this tail alone walks ix_runs_experiment_start without a full sort
    order += [runs.c.start_time.desc().nulls_last(), runs.c.run_uuid.asc()]

    stmt = stmt.select_from(source).where(*where).order_by(*order)
    return _apply_limit(stmt, limit, offset)


def _experiment_condition(c: Comparison) -> Any:
    if c.entity_type == "tag":
        return _keyed_condition(c, experiment_tags, experiments.c.experiment_id, experiment_tags.c.experiment_id)
    value: Any = c.value
    if c.key == "experiment_id":
        value = tuple(int(v) for v in value) if isinstance(value, tuple) else int(value)  # type: ignore[arg-type]
    return compare(_EXPERIMENT_COLUMNS[c.key], c.op, value)


def experiments_select(
    comparisons: Sequence[Comparison],
    order_by: Sequence[OrderBy],
    stages: Sequence[str] | None,
    limit: int | None,
    offset: int = 0,
) -> sa.Select:
    """The ids of the experiments matching a search, in their final order.

    The default order is MLflow's, `creation_time DESC, experiment_id ASC`; an explicit order_by
    without `experiment_id` is tie-broken by `experiment_id DESC`, as MLflow does. Missing values
    sort last.

    Args:
        comparisons (`list[Comparison]`): from `parse_experiment_filter`, AND-ed.
        order_by (`list[OrderBy]`): from `parse_experiment_order_by`.
        stages (`tuple[str, ...]`): lifecycle stages to include (`None` or empty: any).
        limit (`int`): the most ids to return (`None`: no limit).
        offset (`int`, *optional*, defaults to `0`): ids to skip.

    Returns:
        `sqlalchemy.Select`: selecting `experiments.experiment_id` only.
    """
    where: list[Any] = []
    if stages:
        where.append(experiments.c.lifecycle_stage.in_(list(stages)))
    where.extend(_experiment_condition(c) for c in comparisons)

    clauses = [(ob.key, ob.ascending) for ob in order_by] or [
        ("creation_time", False),
        ("experiment_id", True),
    ]
    if not any(key == "experiment_id" for key, _ in clauses):
        clauses.append(("experiment_id", False))
    order = [_ordered(_EXPERIMENT_COLUMNS[key], ascending) for key, ascending in clauses]

    stmt = sa.select(experiments.c.experiment_id).where(*where).order_by(*order)
    return _apply_limit(stmt, limit, offset)
