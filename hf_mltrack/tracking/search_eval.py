"""Evaluation of parsed search filters and order_by clauses in pure Python.

Used where runs are already in memory (remote results, tests) with exactly the semantics of the
SQL store (`hf_mltrack.store.sql.search_sql`): a missing key never matches (except ``IS NULL``), a
NaN metric only matches ``!=``, NaN sorts after every number and missing values sort last.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .search import Comparison, OrderBy, is_ascii_int

if TYPE_CHECKING:
    from ..entities import Experiment, Run

__all__ = ["matches_experiment", "matches_run", "sort_experiments", "sort_runs"]


def _like_regex(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    """Translate a SQL LIKE pattern (`%`, `_`, backslash escape) into an anchored regex."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    return re.compile("".join(out), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


_PY_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "LIKE": lambda actual, pattern: _like_regex(pattern, False).fullmatch(actual) is not None,
    "ILIKE": lambda actual, pattern: _like_regex(pattern, True).fullmatch(actual) is not None,
    "IN": lambda actual, values: actual in values,
    "NOT IN": lambda actual, values: actual not in values,
}


def _compare(actual: Any, op: str, expected: Any) -> bool:
    """`actual <op> expected`; a missing (None) value never matches, as NULL in SQL."""
    return actual is not None and _PY_OPS[op](actual, expected)


def _run_attribute(run: Run, key: str) -> Any:
    info = run.info
    if key == "run_id":
        return info.run_id
    if key == "experiment_id":
        return int(info.experiment_id) if is_ascii_int(str(info.experiment_id)) else info.experiment_id
    return getattr(info, key)


def _matches(lookup: Callable[[str, str], tuple[bool, Any]], comparisons: Iterable[Comparison]) -> bool:
    for c in comparisons:
        present, actual = lookup(c.entity_type, c.key)
        if c.op == "IS NULL":
            if present:
                return False
            continue
        if c.op == "IS NOT NULL":
            if not present:
                return False
            continue
        if not present:
            return False
        if c.entity_type == "metric":
            actual = float(actual)
            if math.isnan(actual):
                if c.op != "!=":
                    return False
                continue
        if not _compare(actual, c.op, c.value):
            return False
    return True


def matches_run(run: Run, comparisons: Iterable[Comparison]) -> bool:
    """Whether `run` satisfies every comparison, with the SQL store's semantics.

    Args:
        run (`Run`): the run, with `data.metrics` holding the latest value of each metric.
        comparisons (`list[Comparison]`): from `parse_search_filter`.
    """

    def lookup(entity_type: str, key: str) -> tuple[bool, Any]:
        if entity_type == "attribute":
            return True, _run_attribute(run, key)
        data = run.data
        values: Mapping[str, Any] = (
            data.metrics if entity_type == "metric" else data.params if entity_type == "param" else data.tags
        )
        return key in values, values.get(key)

    comparisons = list(comparisons)
    for c in comparisons:
        if c.entity_type == "dataset":  # some dataset the run read matches
            inputs = getattr(getattr(run, "inputs", None), "dataset_inputs", ())
            found = [getattr(d.dataset, c.key, None) if c.key != "context" else d.context for d in inputs]
            if not any(v is not None and _compare(v, c.op, c.value) for v in found):
                return False
    return _matches(lookup, [c for c in comparisons if c.entity_type != "dataset"])


def _experiment_attribute(experiment: Experiment, key: str) -> Any:
    if key == "experiment_id":
        return str(experiment.experiment_id)
    return getattr(experiment, key)


def matches_experiment(experiment: Experiment, comparisons: Iterable[Comparison]) -> bool:
    """Whether `experiment` satisfies every comparison from `parse_experiment_filter`."""

    def lookup(entity_type: str, key: str) -> tuple[bool, Any]:
        if entity_type == "attribute":
            return True, _experiment_attribute(experiment, key)
        return key in experiment.tags, experiment.tags.get(key)

    return _matches(lookup, comparisons)


def _stable_sort(items: list, value: Callable[[Any], Any], ascending: bool) -> list:
    """Sort by one key: present values in the given direction, then NaN, then missing (stable)."""
    present, nans, missing = [], [], []
    for item in items:
        v = value(item)
        if v is None:
            missing.append(item)
        elif isinstance(v, float) and math.isnan(v):
            nans.append(item)
        else:
            present.append(item)
    present.sort(key=value, reverse=not ascending)
    return present + nans + missing


def sort_runs(runs: Iterable[Run], order_by: Sequence[OrderBy]) -> list[Run]:
    """Sort runs as the SQL store does: by each clause in turn (missing values last), then
    `start_time DESC`, then `run_id`.

    Args:
        runs (`Iterable[Run]`): the runs.
        order_by (`list[OrderBy]`): from `parse_order_by`.
    """

    def getter(ob: OrderBy) -> Callable[[Run], Any]:
        if ob.entity_type == "attribute":
            return lambda r: _run_attribute(r, ob.key)
        if ob.entity_type == "metric":
            return lambda r: None if r.data.metrics.get(ob.key) is None else float(r.data.metrics[ob.key])
        attr = "params" if ob.entity_type == "param" else "tags"
        return lambda r: getattr(r.data, attr).get(ob.key)

    items = sorted(runs, key=lambda r: r.info.run_id)
    items = _stable_sort(items, lambda r: r.info.start_time, ascending=False)
    for ob in reversed(order_by):
        items = _stable_sort(items, getter(ob), ob.ascending)
    return items


def sort_experiments(experiments: Iterable[Experiment], order_by: Sequence[OrderBy]) -> list[Experiment]:
    """Sort experiments as the SQL store does (default `creation_time DESC, experiment_id ASC`; with
    an explicit order_by and no `experiment_id` clause, ties go by `experiment_id DESC`, as MLflow)."""

    def eid(e: Experiment) -> Any:
        return int(e.experiment_id) if is_ascii_int(str(e.experiment_id)) else e.experiment_id

    clauses = list(order_by) or [
        OrderBy("attribute", "creation_time", False),
        OrderBy("attribute", "experiment_id", True),
    ]
    if not any(ob.entity_type == "attribute" and ob.key == "experiment_id" for ob in clauses):
        clauses.append(OrderBy("attribute", "experiment_id", False))
    items = list(experiments)
    for ob in reversed(clauses):
        get = eid if ob.key == "experiment_id" else (lambda e, k=ob.key: getattr(e, k))
        items = _stable_sort(items, get, ob.ascending)
    return items


# ---- page tokens ------------------------------------------------------------------------------
