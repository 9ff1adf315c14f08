"""``train``: fit ``model.algorithm`` on the transformed training set and log the model to a run.

The logged model is a scikit-learn Pipeline (the fitted transformer, then the estimator), so it takes the
raw feature columns. It is stored with the ``sklearn`` flavor (skops, no pickle) and loads through
``hf_mltrack.pyfunc.load_model``.
"""

from __future__ import annotations

import inspect
import logging
import shutil
import time
from typing import Any

from hf_mltrack.exceptions import InvalidParameterError
from hf_mltrack.recipes.steps.base import RecipeContext, StepRun, load_frame, load_json, save_json

_logger = logging.getLogger(__name__)

VERSION = 1
MODEL_DIR = "model"
RUN_FILE = "run.json"
TEMPLATE_TAG = "hf_mltrack.recipe.template"
PROFILE_TAG = "hf_mltrack.recipe.profile"
ROOT_TAG = "hf_mltrack.recipe.root"


def _seed(ctx: RecipeContext) -> int:
    from hf_mltrack.recipes.steps.split import DEFAULT_SEED

    seed = ctx.step_config("train").get("seed")
    if seed is None:
        seed = ctx.step_config("split").get("seed", DEFAULT_SEED)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InvalidParameterError(f"steps.train.seed must be an integer, got {seed!r}")
    return seed


def fingerprint_config(ctx: RecipeContext) -> dict[str, Any]:
    from hf_mltrack.recipes import _tracking

    algo = ctx.template.algorithm(ctx.config["model"]["algorithm"])
    return {
        "algorithm": algo.name,
        "estimator_params": ctx.config["model"]["estimator_params"],
        "seed": _seed(ctx),
        "task": ctx.template.task,
        "target": ctx.target,
        # the run and the logged model live in this store and experiment
        "tracking_uri": _tracking.tracking_uri(ctx.config),
        "experiment": (ctx.config.get("experiment") or {}).get("name"),
    }


def build_estimator(ctx: RecipeContext) -> tuple[Any, dict[str, Any]]:
    """The unfitted estimator of ``model.algorithm`` and the parameters it was given."""
    algo = ctx.template.algorithm(ctx.config["model"]["algorithm"])
    cls = algo.estimator_class()
    params = {**algo.defaults, **ctx.config["model"]["estimator_params"]}
    signature = inspect.signature(cls)
    accepted = [
        name
        for name, p in signature.parameters.items()
        if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    if not any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values()):
        unknown = sorted(k for k in params if k not in accepted)
        if unknown:
            raise InvalidParameterError(
                f"estimator_params {unknown} are not parameters of {cls.__name__} (model.algorithm: "
                f"{algo.name}); valid parameters are {', '.join(sorted(accepted))}"
            )
    if "random_state" in accepted or "random_state" in _default_params(cls):
        params.setdefault("random_state", _seed(ctx))
    try:
        estimator = cls(**params)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(f"Invalid estimator_params for {cls.__name__}: {exc}") from exc
    if ctx.is_classification and algo.label_encode:
        from hf_mltrack.sklearn._estimators import LabelEncodedClassifier

        estimator = LabelEncodedClassifier(estimator)
    return estimator, params


def _default_params(cls: type) -> dict[str, Any]:
    try:
        return cls().get_params(deep=False)  # type: ignore[attr-defined,no-any-return]
    except Exception:
        return {}


def signature_frame(df: Any) -> Any:
    """Feature columns as the model's signature should describe them: integers widened to double (so a
    prediction request may send ``1.0`` for an integer feature), categories as plain values."""
    import pandas as pd

    out = df.copy()
    for col in out.columns:
        series = out[col]
        if isinstance(series.dtype, pd.CategoricalDtype):
            out[col] = series.astype(object)
        elif pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            out[col] = series.astype("float64")
    return out


def run(sr: StepRun) -> None:
    from sklearn.pipeline import Pipeline

    import hf_mltrack.sklearn
    from hf_mltrack.entities import Param
    from hf_mltrack.models.signature import infer_signature
    from hf_mltrack.models.uri import download_model
    from hf_mltrack.recipes import _tracking
    from hf_mltrack.recipes.steps.split import fractions
    from hf_mltrack.sklearn._serialize import load_skops
    from hf_mltrack.tracking.fluent import _client

    ctx = sr.ctx
    conf = fingerprint_config(ctx)
    estimator, params = build_estimator(ctx)
    features = load_json(ctx.upstream("transform", "features.json"))
    columns = features["numeric"] + features["categorical"]
    transformer = load_skops(ctx.upstream("transform", "transformer.skops"))
    train = load_frame(ctx.upstream("split", "train.parquet"))
    x_train = load_frame(ctx.upstream("transform", "transformed_train.parquet")).to_numpy(dtype="float64")
    y_train = train[ctx.target].to_numpy()

    started = time.perf_counter()
    try:
        estimator.fit(x_train, y_train)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(f"Training {type(estimator).__name__} failed: {exc}") from exc
    fit_seconds = time.perf_counter() - started
    pipeline = Pipeline([("transformer", transformer), ("estimator", estimator)])

    example = signature_frame(train[columns].head(5))
    signature = infer_signature(example, pipeline.predict(example))
    train_f, val_f, test_f = fractions(ctx.step_config("split"))
    # the template's own keys win over estimator parameters of the same name
    run_params = {
        "recipe": ctx.template.name,
        "profile": ctx.profile or "",
        "target": ctx.target,
        "algorithm": conf["algorithm"],
        "estimator_class": ctx.template.algorithm(conf["algorithm"]).estimator.split(":")[1],
        "train_fraction": round(train_f, 6),
        "validation_fraction": round(val_f, 6),
        "test_fraction": round(test_f, 6),
        **{k: v for k, v in params.items() if k not in ("recipe", "profile", "target", "algorithm")},
    }
    with _tracking.using(ctx.config):
        client = _client()
        tags = {TEMPLATE_TAG: ctx.template.name, PROFILE_TAG: ctx.profile or "", ROOT_TAG: ctx.root}
        run = client.create_run(_tracking.experiment_id(ctx.config), tags=tags, run_name=f"recipe-{conf['algorithm']}")
        run_id = run.info.run_id
        try:
            client.log_batch(
                run_id,
                params=[Param(str(k), str(v)) for k, v in run_params.items()],
                synchronous=True,
            )
            client.log_metric(run_id, "training_time_seconds", fit_seconds, synchronous=True)
            info = hf_mltrack.sklearn.log_model(
                pipeline, artifact_path=MODEL_DIR, signature=signature, input_example=example, run_id=run_id
            )
            # a local copy, so predict and evaluate need neither the tracking store nor a download
            shutil.copytree(download_model(info.model_uri), sr.output(MODEL_DIR))
        except BaseException:
            client.set_terminated(run_id, "FAILED")
            raise
        client.set_terminated(run_id, "FINISHED")
    save_json(
        sr.output(RUN_FILE),
        {
            "run_id": run_id,
            "experiment_id": run.info.experiment_id,
            "model_uri": info.model_uri,
            "artifact_uri": info.artifact_uri,
            "tracking_uri": conf["tracking_uri"],
        },
    )
    sr.summary.update(run_id=run_id, model_uri=info.model_uri, fit_seconds=round(fit_seconds, 3))

    sr.card.kv(
        "Summary",
        [
            ("algorithm", conf["algorithm"]),
            ("estimator", run_params["estimator_class"]),
            ("training rows", len(y_train)),
            ("features", x_train.shape[1]),
            ("fit time (s)", round(fit_seconds, 3)),
            ("run id", run_id),
            ("model URI", info.model_uri),
        ],
    )
    sr.card.table("Estimator parameters", ["parameter", "value"], [[k, v] for k, v in sorted(params.items())])
    importances = _importances(estimator, list(transformer.get_feature_names_out()))
    if importances:
        sr.card.table("Feature importance (top 20)", ["feature", "importance"], importances[:20])


def _importances(estimator: Any, names: list[str]) -> list[list[Any]]:
    import numpy as np

    inner = getattr(estimator, "estimator_", estimator)
    values = getattr(inner, "feature_importances_", None)
    if values is None:
        coef = getattr(inner, "coef_", None)
        if coef is None:
            return []
        values = np.abs(np.atleast_2d(coef)).mean(axis=0)
    values = np.asarray(values, dtype=float)
    if values.shape[0] != len(names):
        return []
    order = np.argsort(-values)
    return [[names[i], float(values[i])] for i in order]
