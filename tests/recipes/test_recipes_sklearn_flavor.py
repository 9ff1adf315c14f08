"""The sklearn flavor: skops storage, pyfunc loading, the trust policy, pickle opt-in, requirements."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import hf_mltrack
import hf_mltrack.pyfunc
import hf_mltrack.sklearn
from hf_mltrack.exceptions import InvalidParameterError, MlTrackException
from hf_mltrack.models import Model


class Doubler(BaseEstimator, TransformerMixin):
    """A user-defined transformer: not trusted by default."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return np.asarray(X, dtype=float) * 2


def _data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=60), "c": rng.choice(["x", "y"], size=60)})
    y = np.where(X["a"] > 0, "pos", "neg")
    return X, y


def _pipeline() -> Pipeline:
    X, y = _data()
    pre = ColumnTransformer([("num", StandardScaler(), ["a"]), ("cat", OneHotEncoder(), ["c"])])
    return Pipeline([("pre", pre), ("clf", LogisticRegression())]).fit(X, y)


def test_save_load_roundtrip_uses_skops_not_pickle(tmp_path: Path) -> None:
    X, _ = _data()
    model = _pipeline()
    path = tmp_path / "model"
    hf_mltrack.sklearn.save_model(model, str(path), input_example=X.head(3))
    assert sorted(os.listdir(path)) == sorted(
        [
            "MLmodel",
            "model.skops",
            "requirements.txt",
            "python_env.yaml",
            "conda.yaml",
            "input_example.json",
            "serving_input_example.json",
        ]
    )
    meta = Model.load(str(path))
    flavor = meta.flavors["sklearn"]
    assert flavor["serialization_format"] == "skops"
    assert flavor["model_file"] == "model.skops"
    assert meta.flavors["python_function"]["loader_module"] == "hf_mltrack.sklearn"
    loaded = hf_mltrack.sklearn.load_model(str(path))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    requirements = (path / "requirements.txt").read_text()
    assert "scikit-learn==" in requirements and "skops==" in requirements


def test_pyfunc_predict_with_signature_and_dict_input(tmp_path: Path) -> None:
    X, _ = _data()
    model = _pipeline()
    path = tmp_path / "model"
    hf_mltrack.sklearn.save_model(model, str(path), input_example=X.head(3))
    pyfunc = hf_mltrack.pyfunc.load_model(str(path))
    np.testing.assert_array_equal(pyfunc.predict(X), model.predict(X))
    one = pyfunc.predict({"a": 2.0, "c": "x"})
    assert list(one) == ["pos"]
    with pytest.raises(InvalidParameterError, match="'c'"):
        pyfunc.predict(pd.DataFrame({"a": [1.0]}))
    assert isinstance(pyfunc.get_raw_model(), Pipeline)


def test_pyfunc_predict_fn_predict_proba(tmp_path: Path) -> None:
    X, _ = _data()
    model = _pipeline()
    path = tmp_path / "model"
    hf_mltrack.sklearn.save_model(model, str(path), pyfunc_predict_fn="predict_proba")
    proba = hf_mltrack.pyfunc.load_model(str(path)).predict(X)
    np.testing.assert_allclose(proba, model.predict_proba(X))
    with pytest.raises(InvalidParameterError, match="pyfunc_predict_fn"):
        hf_mltrack.sklearn.save_model(model, str(tmp_path / "m2"), pyfunc_predict_fn="fit")


def test_untrusted_type_is_refused_until_trusted(tmp_path: Path) -> None:
    X = np.arange(6, dtype=float).reshape(3, 2)
    model = Pipeline([("double", Doubler()), ("scale", StandardScaler())]).fit(X)
    path = tmp_path / "model"
    hf_mltrack.sklearn.save_model(model, str(path), pyfunc_predict_fn="transform")
    name = f"{Doubler.__module__}.Doubler"
    with pytest.raises(MlTrackException, match="not trusted") as info:
        hf_mltrack.sklearn.load_model(str(path))
    assert name in str(info.value)
    with pytest.raises(MlTrackException, match="not trusted"):
        hf_mltrack.pyfunc.load_model(str(path))
    loaded = hf_mltrack.sklearn.load_model(str(path), trusted_types=[name])
    np.testing.assert_allclose(loaded.transform(X), model.transform(X))
    # allow_pickle=True means "I trust this file": every type in it is accepted
    pyfunc = hf_mltrack.pyfunc.load_model(str(path), allow_pickle=True)
    np.testing.assert_allclose(pyfunc.predict(X), model.transform(X))


def test_skops_never_imports_modules_outside_the_trusted_families() -> None:
    from hf_mltrack.sklearn._serialize import _is_safe_type

    assert _is_safe_type("sklearn.linear_model._logistic.LogisticRegression")
    assert _is_safe_type("xgboost.sklearn.XGBClassifier")
    assert _is_safe_type("numpy.dtype")
    assert not _is_safe_type("os.system")
    assert not _is_safe_type("numpy.load")  # a function, not a class
    assert not _is_safe_type("builtins.eval")
    assert not _is_safe_type("subprocess.Popen")
    assert not _is_safe_type("scipy.io.loadmat")


def test_pickle_serialization_needs_allow_pickle(tmp_path: Path) -> None:
    X, _ = _data()
    model = _pipeline()
    path = tmp_path / "model"
    hf_mltrack.sklearn.save_model(model, str(path), serialization_format="pickle")
    assert (path / "model.pkl").is_file()
    with pytest.raises(MlTrackException, match="allow_pickle=True"):
        hf_mltrack.sklearn.load_model(str(path))
    with pytest.raises(MlTrackException, match="allow_pickle=True"):
        hf_mltrack.pyfunc.load_model(str(path))
    loaded = hf_mltrack.sklearn.load_model(str(path), allow_pickle=True)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_log_model_to_run_and_register(tracking_uri: str) -> None:
    X, _ = _data()
    model = _pipeline()
    with hf_mltrack.start_run() as run:
        info = hf_mltrack.sklearn.log_model(
            model, artifact_path="clf", input_example=X.head(2), registered_model_name="sk-clf"
        )
    assert info.model_uri == f"models:/{info.model_id}"  # MLflow 3: every log_model is a LoggedModel
    assert info.registered_model_version == 1
    for uri in (info.model_uri, f"runs:/{run.info.run_id}/clf", "models:/sk-clf/1"):
        np.testing.assert_array_equal(hf_mltrack.pyfunc.load_model(uri).predict(X), model.predict(X))


def test_xgboost_with_string_labels_and_requirements(tmp_path: Path) -> None:
    pytest.importorskip("xgboost")
    from xgboost import XGBClassifier

    from hf_mltrack.sklearn import LabelEncodedClassifier

    X, y = _data()
    pre = ColumnTransformer([("num", StandardScaler(), ["a"]), ("cat", OneHotEncoder(), ["c"])])
    model = Pipeline([("pre", pre), ("clf", LabelEncodedClassifier(XGBClassifier(n_estimators=5)))]).fit(X, y)
    path = tmp_path / "model"
    hf_mltrack.sklearn.save_model(model, str(path))
    loaded = hf_mltrack.pyfunc.load_model(str(path))  # xgboost and hf_mltrack's wrapper are trusted
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert set(loaded.predict(X)) <= {"pos", "neg"}
    requirements = (path / "requirements.txt").read_text()
    assert "xgboost" in requirements
