"""The recipe templates: ``classification/v1`` and ``regression/v1``.

A template fixes the task, the algorithms ``model.algorithm`` may name, the metrics ``primary_metric`` and
validation criteria may name, and the default primary metric.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hf_mltrack.exceptions import InvalidParameterError, missing_extra


@dataclass(frozen=True)
class Algorithm:
    """One value of ``model.algorithm``: the estimator class (by import path) and its defaults."""

    name: str
    estimator: str  # "module:ClassName"
    defaults: dict[str, Any] = field(default_factory=dict)
    requires: str | None = None  # the distribution to pip install when the module is missing
    label_encode: bool = False  # classifiers that accept only 0..n-1 labels

    def estimator_class(self) -> type:
        import importlib

        module_name, cls_name = self.estimator.split(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            if self.requires is None:
                raise missing_extra(f"model.algorithm: {self.name}", "scikit-learn", "recipes") from exc
            from hf_mltrack.exceptions import MissingDependencyError

            raise MissingDependencyError(
                f"model.algorithm: {self.name} needs the {self.requires!r} package, which is not installed: "
                f"pip install {self.requires}"
            ) from exc
        return getattr(module, cls_name)


@dataclass(frozen=True)
class Metric:
    """A metric a template computes; ``greater_is_better`` decides how a threshold is compared."""

    name: str
    greater_is_better: bool
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Template:
    name: str
    task: str  # "classification" | "regression"
    algorithms: dict[str, Algorithm]
    metrics: dict[str, Metric]
    default_primary_metric: str

    def algorithm(self, name: Any, files: str | None = None) -> Algorithm:
        algo = self.algorithms.get(str(name).strip().lower()) if isinstance(name, str) else None
        if algo is None:
            source = f" in {files}" if files else ""
            raise InvalidParameterError(
                f"Unknown model.algorithm {name!r}{source} for recipe {self.name}: valid algorithms are "
                f"{', '.join(sorted(self.algorithms))}"
            )
        return algo

    def metric(self, name: Any, where: str = "primary_metric", files: str | None = None) -> Metric:
        if isinstance(name, str):
            key = name.strip().lower()
            for metric in self.metrics.values():
                if key == metric.name or key in metric.aliases:
                    return metric
        source = f" of {files}" if files else ""
        raise InvalidParameterError(
            f"Unknown metric {name!r} in {where}{source} for recipe {self.name}: valid metrics are "
            f"{', '.join(sorted(self.metrics))}"
        )


def _algo(name: str, estimator: str, **kwargs: Any) -> tuple[str, Algorithm]:
    return name, Algorithm(name, estimator, **kwargs)


_CLASSIFIERS = dict(
    [
        _algo("xgboost", "xgboost:XGBClassifier", requires="xgboost", label_encode=True),
        _algo("random_forest", "sklearn.ensemble:RandomForestClassifier"),
        _algo("extra_trees", "sklearn.ensemble:ExtraTreesClassifier"),
        _algo("gradient_boosting", "sklearn.ensemble:GradientBoostingClassifier"),
        _algo("hist_gradient_boosting", "sklearn.ensemble:HistGradientBoostingClassifier"),
        _algo("decision_tree", "sklearn.tree:DecisionTreeClassifier"),
        _algo("logistic_regression", "sklearn.linear_model:LogisticRegression", defaults={"max_iter": 1000}),
        _algo("sgd", "sklearn.linear_model:SGDClassifier"),
        _algo("knn", "sklearn.neighbors:KNeighborsClassifier"),
        _algo("svm", "sklearn.svm:SVC"),
        _algo("naive_bayes", "sklearn.naive_bayes:GaussianNB"),
        _algo("mlp", "sklearn.neural_network:MLPClassifier", defaults={"max_iter": 500}),
    ]
)

_REGRESSORS = dict(
    [
        _algo("xgboost", "xgboost:XGBRegressor", requires="xgboost"),
        _algo("random_forest", "sklearn.ensemble:RandomForestRegressor"),
        _algo("extra_trees", "sklearn.ensemble:ExtraTreesRegressor"),
        _algo("gradient_boosting", "sklearn.ensemble:GradientBoostingRegressor"),
        _algo("hist_gradient_boosting", "sklearn.ensemble:HistGradientBoostingRegressor"),
        _algo("decision_tree", "sklearn.tree:DecisionTreeRegressor"),
        _algo("linear_regression", "sklearn.linear_model:LinearRegression"),
        _algo("ridge", "sklearn.linear_model:Ridge"),
        _algo("lasso", "sklearn.linear_model:Lasso"),
        _algo("elastic_net", "sklearn.linear_model:ElasticNet"),
        _algo("sgd", "sklearn.linear_model:SGDRegressor"),
        _algo("knn", "sklearn.neighbors:KNeighborsRegressor"),
        _algo("svm", "sklearn.svm:SVR"),
        _algo("mlp", "sklearn.neural_network:MLPRegressor", defaults={"max_iter": 500}),
    ]
)

_CLASSIFICATION_METRICS = {
    m.name: m
    for m in (
        Metric("accuracy", True, ("accuracy_score",)),
        Metric("f1_score", True, ("f1",)),
        Metric("precision_score", True, ("precision",)),
        Metric("recall_score", True, ("recall",)),
        Metric("roc_auc", True, ("roc_auc_score", "auc")),
        Metric("log_loss", False, ("logloss",)),
        Metric("balanced_accuracy", True, ("balanced_accuracy_score",)),
    )
}

_REGRESSION_METRICS = {
    m.name: m
    for m in (
        Metric("root_mean_squared_error", False, ("rmse",)),
        Metric("mean_squared_error", False, ("mse",)),
        Metric("mean_absolute_error", False, ("mae",)),
        Metric("r2_score", True, ("r2",)),
        Metric("max_error", False, ()),
        Metric("mean_absolute_percentage_error", False, ("mape",)),
        Metric("explained_variance_score", True, ("explained_variance",)),
    )
}

TEMPLATES: dict[str, Template] = {
    "classification/v1": Template(
        "classification/v1", "classification", _CLASSIFIERS, _CLASSIFICATION_METRICS, "f1_score"
    ),
    "regression/v1": Template(
        "regression/v1", "regression", _REGRESSORS, _REGRESSION_METRICS, "root_mean_squared_error"
    ),
}


def get_template(name: Any, where: str = "recipe.yaml") -> Template:
    """The template named by the ``recipe:`` key; the error lists the valid ones."""
    template = TEMPLATES.get(name.strip()) if isinstance(name, str) else None
    if template is None:
        raise InvalidParameterError(
            f"Unknown recipe template {name!r} in {where} (key 'recipe'): valid templates are "
            f"{', '.join(sorted(TEMPLATES))}"
        )
    return template
