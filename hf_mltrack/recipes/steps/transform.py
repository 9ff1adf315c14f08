"""``transform``: impute, scale numeric columns and encode categorical ones (a fitted ColumnTransformer).

The transformer is fitted on the training set only and applied to all three sets; it becomes the first
stage of the logged model, so the model takes the raw feature columns.
"""

from __future__ import annotations

from typing import Any

from hf_mltrack.exceptions import InvalidParameterError
from hf_mltrack.recipes.steps.base import RecipeContext, StepRun, load_frame, save_frame

VERSION = 1
TRANSFORMER = "transformer.skops"
FEATURES = "features.json"
OUTPUTS = {
    "train": "transformed_train.parquet",
    "validation": "transformed_validation.parquet",
    "test": "transformed_test.parquet",
}
SCALERS = {
    "standard": "StandardScaler",
    "minmax": "MinMaxScaler",
    "robust": "RobustScaler",
    "maxabs": "MaxAbsScaler",
    "none": None,
}
ENCODINGS = ("onehot", "ordinal")
NUMERIC_IMPUTATION = ("mean", "median", "most_frequent", "zero")
CATEGORICAL_IMPUTATION = ("most_frequent", "constant")


def _choice(conf: dict[str, Any], key: str, default: str, valid: Any) -> str:
    value = conf.get(key, default)
    if value is None or value is False:
        value = "none"
    if not isinstance(value, str) or value.strip().lower() not in valid:
        raise InvalidParameterError(f"steps.transform.{key}={value!r}: use one of {', '.join(valid)}")
    return value.strip().lower()


def _columns(conf: dict[str, Any], key: str) -> list[str] | None:
    value = conf.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
        raise InvalidParameterError(f"steps.transform.{key} must be a list of column names, got {value!r}")
    return value


def fingerprint_config(ctx: RecipeContext) -> dict[str, Any]:
    conf = ctx.step_config("transform")
    max_categories = conf.get("max_categories")
    if max_categories is not None and (
        isinstance(max_categories, bool) or not isinstance(max_categories, int) or max_categories < 2
    ):
        raise InvalidParameterError(f"steps.transform.max_categories must be an integer >= 2, got {max_categories!r}")
    return {
        "scaling": _choice(conf, "scaling", "standard", SCALERS),
        "categorical_encoding": _choice(conf, "categorical_encoding", "onehot", ENCODINGS),
        "numeric_imputation": _choice(conf, "numeric_imputation", "mean", NUMERIC_IMPUTATION),
        "categorical_imputation": _choice(conf, "categorical_imputation", "most_frequent", CATEGORICAL_IMPUTATION),
        "max_categories": max_categories,
        "drop_columns": _columns(conf, "drop_columns") or [],
        "numeric_columns": _columns(conf, "numeric_columns"),
        "categorical_columns": _columns(conf, "categorical_columns"),
        "target": ctx.target,
    }


def select_columns(df: Any, target: str, conf: dict[str, Any]) -> tuple[list[str], list[str], list[str]]:
    """``(numeric, categorical, dropped)`` feature columns: configured ones, else by dtype."""
    import pandas as pd

    features = [c for c in df.columns if c != target]
    for key in ("drop_columns", "numeric_columns", "categorical_columns"):
        unknown = [c for c in (conf.get(key) or []) if c not in features]
        if unknown:
            raise InvalidParameterError(
                f"steps.transform.{key} names column(s) {unknown} that are not features; the features are {features}"
            )
    if target in (conf.get("numeric_columns") or []) + (conf.get("categorical_columns") or []):
        raise InvalidParameterError(f"The target column {target!r} cannot also be a feature")
    features = [c for c in features if c not in conf["drop_columns"]]
    explicit_num, explicit_cat = conf.get("numeric_columns"), conf.get("categorical_columns")
    numeric, categorical, dropped = [], [], list(conf["drop_columns"])
    for col in features:
        series = df[col]
        if explicit_num is not None and col in explicit_num:
            numeric.append(col)
        elif explicit_cat is not None and col in explicit_cat:
            categorical.append(col)
        elif explicit_num is not None and explicit_cat is not None:
            dropped.append(col)
        elif pd.api.types.is_bool_dtype(series):
            categorical.append(col)
        elif pd.api.types.is_numeric_dtype(series):
            numeric.append(col)
        elif (
            isinstance(series.dtype, pd.CategoricalDtype)
            or pd.api.types.is_object_dtype(series)
            or pd.api.types.is_string_dtype(series)
        ):
            categorical.append(col)
        else:  # datetimes, timedeltas, ...: not handled by this template
            dropped.append(col)
    if not numeric and not categorical:
        raise InvalidParameterError(f"No feature columns are left besides the target {target!r}")
    return numeric, categorical, dropped


def build_transformer(numeric: list[str], categorical: list[str], conf: dict[str, Any]) -> Any:
    import sklearn.preprocessing as pre
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline

    parts = []
    if numeric:
        strategy = conf["numeric_imputation"]
        imputer = (
            SimpleImputer(strategy="constant", fill_value=0.0)
            if strategy == "zero"
            else SimpleImputer(strategy=strategy)
        )
        stages: list[tuple[str, Any]] = [("impute", imputer)]
        scaler = SCALERS[conf["scaling"]]
        if scaler is not None:
            stages.append(("scale", getattr(pre, scaler)()))
        parts.append(("numeric", Pipeline(stages), numeric))
    if categorical:
        if conf["categorical_imputation"] == "constant":
            imputer = SimpleImputer(strategy="constant", fill_value="missing")
        else:
            imputer = SimpleImputer(strategy="most_frequent")
        if conf["categorical_encoding"] == "onehot":
            encoder = pre.OneHotEncoder(
                handle_unknown="infrequent_if_exist" if conf["max_categories"] else "ignore",
                sparse_output=False,
                max_categories=conf["max_categories"],
            )
        else:
            encoder = pre.OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)
        parts.append(("categorical", Pipeline([("impute", imputer), ("encode", encoder)]), categorical))
    return ColumnTransformer(parts, remainder="drop")


def run(sr: StepRun) -> None:
    import pandas as pd

    from hf_mltrack.recipes.steps.base import save_json
    from hf_mltrack.sklearn._serialize import dump_skops

    ctx = sr.ctx
    conf = fingerprint_config(ctx)
    sets = {name: load_frame(ctx.upstream("split", f"{name}.parquet")) for name in OUTPUTS}
    numeric, categorical, dropped = select_columns(sets["train"], ctx.target, conf)
    transformer = build_transformer(numeric, categorical, conf)
    features = numeric + categorical
    try:
        transformer.fit(sets["train"][features])
    except (ValueError, TypeError) as exc:
        raise InvalidParameterError(f"Cannot fit the transformer on the training set: {exc}") from exc
    names = [str(n) for n in transformer.get_feature_names_out()]
    for name, frame in sets.items():
        values = transformer.transform(frame[features]) if len(frame) else None
        out = pd.DataFrame(values if values is not None else [], columns=names, dtype="float64")
        save_frame(out, sr.output(OUTPUTS[name]))
    dump_skops(transformer, sr.output(TRANSFORMER))
    save_json(sr.output(FEATURES), {"numeric": numeric, "categorical": categorical, "dropped": dropped})
    sr.summary.update(features_in=len(features), features_out=len(names))

    sr.card.kv(
        "Summary",
        [
            ("numeric columns", len(numeric)),
            ("categorical columns", len(categorical)),
            ("dropped columns", ", ".join(dropped) or "none"),
            ("scaling", conf["scaling"]),
            ("categorical encoding", conf["categorical_encoding"]),
            ("numeric imputation", conf["numeric_imputation"]),
            ("categorical imputation", conf["categorical_imputation"]),
            ("output features", len(names)),
        ],
    )
    sr.card.table(
        "Input columns",
        ["column", "kind", "dtype"],
        [[c, "numeric" if c in numeric else "categorical", str(sets["train"][c].dtype)] for c in features],
    )
    sr.card.table("Output features", ["feature"], [[n] for n in names[:200]])
