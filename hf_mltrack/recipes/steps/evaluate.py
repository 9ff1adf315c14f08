"""``evaluate``: compute the template's metrics on the three sets and check the validation criteria.

The criteria (``steps.evaluate.validation_criteria``) are checked on the test set; scores (accuracy, r2,
...) must reach the threshold, errors (rmse, log_loss, ...) must stay at or below it. The metrics are logged
to the training run as ``train_<metric>``, ``validation_<metric>`` and ``test_<metric>``.
"""

from __future__ import annotations

from typing import Any

from hf_mltrack.recipes.steps.base import RecipeContext, StepRun, load_frame, load_json, save_json

VERSION = 1
METRICS_FILE = "metrics.json"
VALIDATION_FILE = "validation.json"
STATUS_TAG = "hf_mltrack.recipe.model_validation_status"
PREFIXES = {"train": "train", "validation": "validation", "test": "test"}


def fingerprint_config(ctx: RecipeContext) -> dict[str, Any]:
    from hf_mltrack.recipes.metrics import normalize_criteria

    return {
        "primary_metric": ctx.config["primary_metric"],
        "positive_class": ctx.config.get("positive_class"),
        "criteria": normalize_criteria(ctx.template, ctx.step_config("evaluate").get("validation_criteria")),
        "target": ctx.target,
    }


def run(sr: StepRun) -> None:
    import hf_mltrack.sklearn
    from hf_mltrack.entities import Metric, RunTag
    from hf_mltrack.recipes import _tracking
    from hf_mltrack.recipes.metrics import check_criteria, compute
    from hf_mltrack.tracking.fluent import _client

    ctx = sr.ctx
    conf = fingerprint_config(ctx)
    model = hf_mltrack.sklearn.load_model(ctx.upstream("train", "model"))
    run_info = load_json(ctx.upstream("train", "run.json"))
    columns = _feature_columns(ctx)
    results: dict[str, dict[str, float]] = {}
    frames = {}
    for name in PREFIXES:
        frame = load_frame(ctx.upstream("split", f"{name}.parquet"))
        frames[name] = frame
        results[name] = compute(ctx.template, model, frame[columns], frame[ctx.target], conf["positive_class"])
    passed, criteria = check_criteria(ctx.template, conf["criteria"], results["test"])
    status = "VALIDATED" if passed else "REJECTED"
    save_json(sr.output(METRICS_FILE), results)
    save_json(
        sr.output(VALIDATION_FILE),
        {"status": status, "criteria": criteria, "primary_metric": conf["primary_metric"]},
    )
    with _tracking.using(ctx.config):
        import time

        now = int(time.time() * 1000)
        points = [
            Metric(f"{PREFIXES[name]}_{key}", value, now, 0)
            for name, values in results.items()
            for key, value in values.items()
        ]
        _client().log_batch(run_info["run_id"], metrics=points, tags=[RunTag(STATUS_TAG, status)], synchronous=True)
    primary = conf["primary_metric"]
    sr.summary.update(
        status=status,
        primary_metric=primary,
        **{f"{name}_{primary}": results[name].get(primary) for name in ("validation", "test")},
    )

    sr.card.kv(
        "Summary",
        [
            ("primary metric", primary),
            (f"test {primary}", results["test"].get(primary)),
            (f"validation {primary}", results["validation"].get(primary)),
            ("model validation", status),
            ("run id", run_info["run_id"]),
        ],
    )
    names = sorted(set().union(*(r.keys() for r in results.values())))
    sr.card.table(
        "Metrics",
        ["metric", "train", "validation", "test"],
        [[n, *(results[s].get(n) for s in PREFIXES)] for n in names],
    )
    if criteria:
        sr.card.table(
            "Validation criteria (test set)",
            ["metric", "rule", "value", "passed"],
            [[c["metric"], c["rule"], c["value"], "yes" if c["passed"] else "NO"] for c in criteria],
        )
    else:
        sr.card.text(
            "Validation criteria",
            "None configured (steps.evaluate.validation_criteria): the model is considered validated.",
        )
    test = frames["test"]
    if len(test):
        _error_section(sr, model, test, columns)


def _feature_columns(ctx: RecipeContext) -> list[str]:
    features = load_json(ctx.upstream("transform", "features.json"))
    return list(features["numeric"]) + list(features["categorical"])


def _error_section(sr: StepRun, model: Any, test: Any, columns: list[str]) -> None:
    import numpy as np

    ctx = sr.ctx
    y = test[ctx.target].to_numpy()
    y_pred = np.asarray(model.predict(test[columns]))
    if ctx.is_classification:
        from sklearn.metrics import confusion_matrix

        labels = list(getattr(model, "classes_", np.unique(np.concatenate([y, y_pred]))))
        if len(labels) <= 20:
            matrix = confusion_matrix(y, y_pred, labels=labels)
            sr.card.table(
                "Confusion matrix (test set; rows: actual, columns: predicted)",
                ["actual \\ predicted", *[str(label) for label in labels]],
                [[str(label), *map(int, row)] for label, row in zip(labels, matrix, strict=True)],
            )
    else:
        errors = np.abs(y.astype(float) - y_pred.astype(float))
        worst = np.argsort(-errors)[:10]
        frame = test.iloc[worst][columns].copy()
        frame.insert(0, "absolute_error", errors[worst])
        frame.insert(0, "prediction", y_pred[worst])
        frame.insert(0, "actual", y[worst])
        sr.card.frame("Largest test errors", frame, max_rows=10)
