"""Small scikit-learn estimators used by hf_mltrack (trusted by the skops loader)."""

from __future__ import annotations

from typing import Any

from sklearn.base import BaseEstimator, ClassifierMixin, clone


class LabelEncodedClassifier(ClassifierMixin, BaseEstimator):
    """Fit ``estimator`` on the labels encoded as ``0..n-1`` and predict the original labels.

    XGBoost's classifiers accept only ``0..n-1`` labels; this lets them train on string (or any) labels.

    Args:
        estimator: the classifier to wrap (cloned at fit).
    """

    def __init__(self, estimator: Any = None) -> None:
        self.estimator = estimator

    def fit(self, X: Any, y: Any, **fit_params: Any) -> LabelEncodedClassifier:
        import numpy as np

        self.classes_, encoded = np.unique(np.asarray(y), return_inverse=True)
        self.estimator_ = clone(self.estimator)
        self.estimator_.fit(X, encoded, **fit_params)
        return self

    def predict(self, X: Any) -> Any:
        import numpy as np

        return self.classes_[np.asarray(self.estimator_.predict(X)).astype(int)]

    def predict_proba(self, X: Any) -> Any:
        return self.estimator_.predict_proba(X)
