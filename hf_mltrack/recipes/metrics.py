"""The metrics of the evaluate step, and validation criteria."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from hf_mltrack.exceptions import InvalidParameterError
from hf_mltrack.recipes.templates import Template


def _positive_label(classes: list[Any], positive_class: Any) -> Any:
    if len(classes) != 2:
        return None
    if positive_class is not None:
        for c in classes:
            if c == positive_class or str(c) == str(positive_class):
                return c
        raise InvalidParameterError(
            f"positive_class {positive_class!r} is not one of the classes {[_plain(c) for c in classes]}"
        )
    for candidate in (1, True, "1", "yes", "true", "positive"):
        for c in classes:
            if type(c) is not str and type(candidate) is not str and c == candidate:
                return c
            if isinstance(c, str) and isinstance(candidate, str) and c.lower() == candidate:
                return c
    return None


def _all_labels(classes: list[Any], y: Any) -> list[Any]:
    out = list(classes)
    known = set(out)
    out.extend(v for v in dict.fromkeys(y.tolist()) if v not in known)
    return out


def _plain(value: Any) -> Any:
    item = getattr(value, "item", None)
    return item() if callable(item) else value


def classification_metrics(model: Any, x: Any, y: Any, positive_class: Any = None) -> dict[str, float]:
    import numpy as np
    from sklearn import metrics as skm

    if len(y) == 0:
        return {}
    y = np.asarray(y)
    y_pred = np.asarray(model.predict(x))
    classes = list(getattr(model, "classes_", np.unique(np.concatenate([y, y_pred]))))
    out: dict[str, float] = {
        "accuracy": skm.accuracy_score(y, y_pred),
        "balanced_accuracy": skm.balanced_accuracy_score(y, y_pred) if len(np.unique(y)) > 1 else math.nan,
    }
    pos = _positive_label(classes, positive_class)
    kwargs: dict[str, Any] = (
        {"average": "binary", "pos_label": pos}
        if pos is not None
        # every label seen, so a class the model never predicts (or never saw) still counts
        else {"average": "weighted", "labels": _all_labels(classes, y)}
    )
    out["precision_score"] = skm.precision_score(y, y_pred, zero_division=0, **kwargs)
    out["recall_score"] = skm.recall_score(y, y_pred, zero_division=0, **kwargs)
    out["f1_score"] = skm.f1_score(y, y_pred, zero_division=0, **kwargs)
    if hasattr(model, "predict_proba"):
        try:
            proba = np.asarray(model.predict_proba(x))
        except (AttributeError, NotImplementedError, ValueError):
            proba = None
        if proba is not None and proba.ndim == 2 and proba.shape[1] == len(classes):
            try:
                out["log_loss"] = skm.log_loss(y, proba, labels=classes)
            except ValueError:
                pass
            try:
                if len(classes) == 2:
                    column = classes.index(pos) if pos is not None else 1
                    out["roc_auc"] = skm.roc_auc_score(y == classes[column], proba[:, column])
                else:
                    out["roc_auc"] = skm.roc_auc_score(y, proba, multi_class="ovr", average="weighted", labels=classes)
            except ValueError:  # a single class in y, or classes missing from y
                pass
    return {k: float(v) for k, v in out.items() if v is not None and not math.isnan(float(v))}


def regression_metrics(model: Any, x: Any, y: Any) -> dict[str, float]:
    import numpy as np
    from sklearn import metrics as skm

    if len(y) == 0:
        return {}
    y = np.asarray(y, dtype=float)
    y_pred = np.asarray(model.predict(x), dtype=float)
    mse = skm.mean_squared_error(y, y_pred)
    out = {
        "mean_squared_error": mse,
        "root_mean_squared_error": math.sqrt(mse),
        "mean_absolute_error": skm.mean_absolute_error(y, y_pred),
        "max_error": skm.max_error(y, y_pred),
        "mean_absolute_percentage_error": skm.mean_absolute_percentage_error(y, y_pred),
    }
    if len(y) > 1:
        out["r2_score"] = skm.r2_score(y, y_pred)
        out["explained_variance_score"] = skm.explained_variance_score(y, y_pred)
    return {k: float(v) for k, v in out.items() if not math.isnan(float(v))}


def compute(template: Template, model: Any, x: Any, y: Any, positive_class: Any = None) -> dict[str, float]:
    if template.task == "classification":
        return classification_metrics(model, x, y, positive_class)
    return regression_metrics(model, x, y)


def normalize_criteria(template: Template, criteria: Any) -> list[dict[str, Any]]:
    """``steps.evaluate.validation_criteria`` as ``[{"metric": canonical name, "threshold": float}]``."""
    if criteria is None:
        return []
    if isinstance(criteria, Mapping):  # also accept {metric: threshold}
        criteria = [{"metric": k, "threshold": v} for k, v in criteria.items()]
    if not isinstance(criteria, list):
        raise InvalidParameterError(
            "steps.evaluate.validation_criteria must be a list of {metric: <name>, threshold: <number>}"
        )
    out = []
    for item in criteria:
        if not isinstance(item, Mapping) or "metric" not in item or "threshold" not in item:
            raise InvalidParameterError(f"Each validation criterion needs 'metric' and 'threshold', got {item!r}")
        metric = template.metric(item["metric"], "steps.evaluate.validation_criteria")
        threshold = item["threshold"]
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
            raise InvalidParameterError(
                f"The threshold of validation criterion {metric.name!r} must be a number, got {threshold!r}"
            )
        out.append({"metric": metric.name, "threshold": float(threshold)})
    return out


def check_criteria(
    template: Template, criteria: list[dict[str, Any]], metrics: Mapping[str, float]
) -> tuple[bool, list[dict[str, Any]]]:
    """Check each criterion against ``metrics`` (the test set's): ``>=`` for scores, ``<=`` for errors."""
    results = []
    for crit in criteria:
        metric = template.metrics[crit["metric"]]
        value = metrics.get(crit["metric"])
        if value is None:
            passed = False
            reason = "not computed on the test set"
        else:
            passed = value >= crit["threshold"] if metric.greater_is_better else value <= crit["threshold"]
            reason = (">=" if metric.greater_is_better else "<=") + f" {crit['threshold']:g}"
        results.append({**crit, "value": value, "passed": passed, "rule": reason})
    return all(r["passed"] for r in results), results
