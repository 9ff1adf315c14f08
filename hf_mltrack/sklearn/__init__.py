"""The ``sklearn`` flavor: scikit-learn estimators and pipelines, stored safely with skops.

```python
info = hf_mltrack.sklearn.log_model(pipeline, artifact_path="model", input_example=X.head(3))
model = hf_mltrack.sklearn.load_model(info.model_uri)        # the fitted estimator
pyfunc = hf_mltrack.pyfunc.load_model(info.model_uri)        # DataFrame / dict in, predictions out
```

skops rebuilds the estimator without unpickling; only trusted types are instantiated (see
`hf_mltrack.sklearn._serialize`). scikit-learn and skops are imported when a function is called.
"""

from __future__ import annotations

from typing import Any

from hf_mltrack.sklearn._model import (
    FLAVOR_NAME,
    SERIALIZATION_FORMAT_PICKLE,
    SERIALIZATION_FORMAT_SKOPS,
    SUPPORTED_SERIALIZATION_FORMATS,
    get_default_pip_requirements,
    load_model,
    log_model,
    save_model,
)
from hf_mltrack.sklearn._pyfunc import _load_pyfunc  # noqa: F401 - the python_function loader
from hf_mltrack.sklearn._serialize import add_trusted_types

__all__ = [
    "FLAVOR_NAME",
    "SERIALIZATION_FORMAT_PICKLE",
    "SERIALIZATION_FORMAT_SKOPS",
    "SUPPORTED_SERIALIZATION_FORMATS",
    "LabelEncodedClassifier",
    "add_trusted_types",
    "get_default_pip_requirements",
    "load_model",
    "log_model",
    "save_model",
]


def __getattr__(name: str) -> Any:
    if name == "LabelEncodedClassifier":  # imports scikit-learn, so only on use
        from hf_mltrack.sklearn._estimators import LabelEncodedClassifier

        return LabelEncodedClassifier
    raise AttributeError(f"module 'hf_mltrack.sklearn' has no attribute {name!r}")
