"""The ``python_function`` view of a scikit-learn model."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from hf_mltrack.exceptions import InvalidParameterError


class _SklearnModelWrapper:
    """Calls the estimator's ``predict`` (or the configured ``predict_fn``) on a DataFrame or array.

    A dict becomes a one-row DataFrame (or one row per list item), so ``predict({"f1": 1.0, "f2": 2.0})``
    works for pipelines that select columns by name.
    """

    def __init__(self, sk_model: Any, model_config: Mapping[str, Any] | None = None) -> None:
        from hf_mltrack.sklearn._model import PREDICT_FNS

        self.sklearn_model = sk_model
        self.model_config = dict(model_config or {})
        predict_fn = self.model_config.get("predict_fn", "predict")
        if predict_fn not in PREDICT_FNS:  # the config comes from the model file: allow known methods only
            raise InvalidParameterError(f"predict_fn={predict_fn!r}: use one of {', '.join(PREDICT_FNS)}")
        self.predict_fn = predict_fn

    def get_raw_model(self) -> Any:
        return self.sklearn_model

    def predict(self, data: Any, params: Mapping[str, Any] | None = None) -> Any:
        import pandas as pd

        if isinstance(data, Mapping):
            scalar = all(not isinstance(v, (list, tuple)) and getattr(v, "ndim", 0) == 0 for v in data.values())
            data = pd.DataFrame([dict(data)]) if scalar else pd.DataFrame(dict(data))
        return getattr(self.sklearn_model, self.predict_fn)(data)


def _load_pyfunc(
    path: str, model_config: Mapping[str, Any] | None = None, allow_pickle: bool = False
) -> _SklearnModelWrapper:
    """Loader of the ``python_function`` flavor: ``path`` is the model file (or the model folder)."""
    from hf_mltrack.sklearn._model import _load_file
    from hf_mltrack.sklearn._serialize import SKOPS_FILE

    if os.path.isdir(path):
        path = os.path.join(path, SKOPS_FILE)
    return _SklearnModelWrapper(_load_file(path, allow_pickle=allow_pickle), model_config)
