"""Save, log and load scikit-learn models (the ``sklearn`` flavor), stored with skops by default.

A saved model folder:

```
MLmodel            flavors: {sklearn: {model_file: model.skops, serialization_format: skops, ...},
                             python_function: {loader_module: hf_mltrack.sklearn, data: model.skops, ...}}
model.skops        the estimator (skops: no pickle)
requirements.txt   scikit-learn, skops (+ xgboost, ... when the estimator uses them), pinned
```

``serialization_format="pickle"`` writes ``model.pkl`` instead (cloudpickle when installed); loading it needs
``allow_pickle=True``. Models saved by MLflow's sklearn flavor (``pickled_model: model.pkl``) load the same
way.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from hf_mltrack.exceptions import InvalidParameterError, MlTrackException
from hf_mltrack.models.model import Model, ModelInfo
from hf_mltrack.models.signature import ModelSignature
from hf_mltrack.sklearn._serialize import PICKLE_FILE, SKOPS_FILE

_logger = logging.getLogger(__name__)

FLAVOR_NAME = "sklearn"
LOADER_MODULE = "hf_mltrack.sklearn"
SERIALIZATION_FORMAT_SKOPS = "skops"
SERIALIZATION_FORMAT_PICKLE = "pickle"
SUPPORTED_SERIALIZATION_FORMATS = (SERIALIZATION_FORMAT_SKOPS, SERIALIZATION_FORMAT_PICKLE)
PREDICT_FNS = (
    "predict",
    "predict_proba",
    "predict_log_proba",
    "predict_joint_log_proba",
    "decision_function",
    "transform",
    "score_samples",
)
CODE_DIR = "code"


def _sklearn() -> Any:
    try:
        import sklearn
    except ImportError as exc:
        from hf_mltrack.exceptions import missing_extra

        raise missing_extra("hf_mltrack.sklearn", "scikit-learn", "recipes") from exc
    return sklearn


def _modules_of(obj: Any, seen: set[int] | None = None) -> set[str]:
    """Top-level modules of the estimator and of every estimator nested in it (pipelines, wrappers)."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return set()
    seen.add(id(obj))
    if isinstance(obj, (list, tuple)):
        return set().union(*(_modules_of(item, seen) for item in obj)) if obj else set()
    if isinstance(obj, dict):
        return _modules_of(list(obj.values()), seen)
    if not (hasattr(obj, "get_params") or hasattr(obj, "fit")):
        return set()
    out = {type(obj).__module__.split(".")[0]}
    values: list[Any] = []
    try:
        values = list(obj.get_params(deep=False).values())
    except Exception:  # an estimator with a broken get_params still saves
        values = []
    for name in ("estimator_", "estimators_", "steps", "transformers_", "best_estimator_"):
        value = getattr(obj, name, None)
        if value is not None:
            values.append(value)
    return out.union(*(_modules_of(value, seen) for value in values)) if values else out


def get_default_pip_requirements(
    serialization_format: str = SERIALIZATION_FORMAT_SKOPS, sk_model: Any = None
) -> list[str]:
    """The packages a saved model needs: scikit-learn, skops, and those of the estimators it contains."""
    from hf_mltrack.pyfunc.model import _distribution_of

    reqs = ["scikit-learn"]
    if serialization_format == SERIALIZATION_FORMAT_SKOPS:
        reqs.append("skops")
    elif serialization_format == SERIALIZATION_FORMAT_PICKLE:
        reqs.append("cloudpickle")
    if sk_model is not None:
        for module in sorted(_modules_of(sk_model) - {"sklearn", "builtins", "numpy"}):
            reqs.extend(_distribution_of(module))
    return list(dict.fromkeys(reqs))


def save_model(
    sk_model: Any,
    path: str,
    conda_env: dict[str, Any] | str | None = None,
    code_paths: list[str] | None = None,
    hf_mltrack_model: Model | None = None,
    serialization_format: str = SERIALIZATION_FORMAT_SKOPS,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: list[str] | str | None = None,
    extra_pip_requirements: list[str] | str | None = None,
    pyfunc_predict_fn: str = "predict",
    metadata: dict[str, Any] | None = None,
) -> None:
    """Save a scikit-learn estimator (or pipeline) to the local folder ``path``.

    Args:
        sk_model: the fitted estimator; any object with the scikit-learn API (XGBoost's ``XGBClassifier``
            too).
        path (`str`): a new (or empty) folder.
        serialization_format (`str`, *optional*, defaults to `"skops"`): ``"skops"`` (safe, loads without
            running code) or ``"pickle"`` (loading needs ``allow_pickle=True``).
        pyfunc_predict_fn (`str`, *optional*, defaults to `"predict"`): the method the ``python_function``
            flavor calls: ``predict``, ``predict_proba``, ``predict_log_proba``, ``decision_function``,
            ``transform`` or ``score_samples``.
        signature, input_example, pip_requirements, extra_pip_requirements, conda_env, code_paths, metadata:
            as in `hf_mltrack.pyfunc.save_model`.
    """
    sklearn = _sklearn()
    from hf_mltrack.models._example import process_signature_and_example
    from hf_mltrack.models._paths import copy_code_paths, prepare_save_path
    from hf_mltrack.models.requirements import write_environment
    from hf_mltrack.pyfunc.loaders import add_to_model
    from hf_mltrack.sklearn._serialize import dump_pickle, dump_skops

    if serialization_format not in SUPPORTED_SERIALIZATION_FORMATS:
        raise InvalidParameterError(
            f"serialization_format={serialization_format!r}: use one of {', '.join(SUPPORTED_SERIALIZATION_FORMATS)}"
        )
    if pyfunc_predict_fn not in PREDICT_FNS:
        raise InvalidParameterError(f"pyfunc_predict_fn={pyfunc_predict_fn!r}: use one of {', '.join(PREDICT_FNS)}")
    if not hasattr(sk_model, pyfunc_predict_fn):
        raise InvalidParameterError(
            f"{type(sk_model).__name__} has no {pyfunc_predict_fn}() method; choose another pyfunc_predict_fn"
        )
    path = prepare_save_path(path)
    model = hf_mltrack_model if hf_mltrack_model is not None else Model()
    if metadata is not None:
        model.metadata = metadata
    process_signature_and_example(model, path, signature, input_example)
    if serialization_format == SERIALIZATION_FORMAT_SKOPS:
        file_name = SKOPS_FILE
        dump_skops(sk_model, os.path.join(path, file_name))
        used = SERIALIZATION_FORMAT_SKOPS
    else:
        file_name = PICKLE_FILE
        used = dump_pickle(sk_model, os.path.join(path, file_name))
    code = copy_code_paths(code_paths, path, CODE_DIR)
    env = write_environment(
        path,
        get_default_pip_requirements(serialization_format, sk_model),
        pip_requirements,
        extra_pip_requirements,
        conda_env,
    )
    flavor_conf: dict[str, Any] = {
        "model_file": file_name,
        "serialization_format": used,
        "sklearn_version": sklearn.__version__,
        "estimator_class": f"{type(sk_model).__module__}.{type(sk_model).__qualname__}",
    }
    if used == SERIALIZATION_FORMAT_SKOPS:
        from hf_mltrack.sklearn._serialize import untrusted_types

        flavor_conf["skops_untrusted_types"] = untrusted_types(os.path.join(path, file_name))
    if code:
        flavor_conf["code"] = code
    model.add_flavor(FLAVOR_NAME, **flavor_conf)
    add_to_model(
        model,
        loader_module=LOADER_MODULE,
        data=file_name,
        code=code,
        env=env,
        model_config={"predict_fn": pyfunc_predict_fn} if pyfunc_predict_fn != "predict" else None,
    )
    model.save(path)


def log_model(
    sk_model: Any,
    artifact_path: str | None = None,
    conda_env: dict[str, Any] | str | None = None,
    code_paths: list[str] | None = None,
    serialization_format: str = SERIALIZATION_FORMAT_SKOPS,
    registered_model_name: str | None = None,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    await_registration_for: int = 300,
    pip_requirements: list[str] | str | None = None,
    extra_pip_requirements: list[str] | str | None = None,
    pyfunc_predict_fn: str = "predict",
    metadata: dict[str, Any] | None = None,
    *,
    name: str | None = None,
    run_id: str | None = None,
) -> ModelInfo:
    """Save a scikit-learn estimator and log it to the active run (or ``run_id``); returns a `ModelInfo`.

    Takes the arguments of `save_model` plus ``artifact_path`` (or ``name``), ``registered_model_name``,
    ``await_registration_for`` and ``run_id``.
    """
    import hf_mltrack.sklearn._model as flavor

    return Model.log(
        artifact_path,
        flavor,
        registered_model_name=registered_model_name,
        await_registration_for=await_registration_for,
        metadata=metadata,
        run_id=run_id,
        name=name,
        sk_model=sk_model,
        conda_env=conda_env,
        code_paths=code_paths,
        serialization_format=serialization_format,
        signature=signature,
        input_example=input_example,
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        pyfunc_predict_fn=pyfunc_predict_fn,
    )


def _load_file(file: str, trusted_types: list[str] | None = None, allow_pickle: bool = False) -> Any:
    from hf_mltrack.sklearn._serialize import load_pickle, load_skops

    if not os.path.isfile(file):
        raise MlTrackException(f"No scikit-learn model file at {file!r}")
    if file.endswith(".skops"):
        return load_skops(file, trusted_types=trusted_types, trust_all=allow_pickle)
    return load_pickle(file, allow_pickle)


def load_model(
    model_uri: str,
    dst_path: str | None = None,
    trusted_types: list[str] | None = None,
    allow_pickle: bool = False,
) -> Any:
    """Load a model saved with the ``sklearn`` flavor as the scikit-learn estimator itself.

    Args:
        model_uri (`str`): any model URI (``runs:/``, ``models:/``, a path, ``file://``, ``s3://`` ...).
        dst_path (`str`, *optional*): where to download a remote model.
        trusted_types (`list[str]`, *optional*): more type names to trust in a skops file (your own
            estimators); see `hf_mltrack.sklearn.add_trusted_types`.
        allow_pickle (`bool`, *optional*, defaults to `False`): load pickled models, trust every type of
            a skops file and put the model's ``code/`` folder on ``sys.path``; all of them run code from the
            model files, so pass `True` only for models from a source you trust.
    """
    from hf_mltrack.models._class_ref import add_code_dir_to_path
    from hf_mltrack.models._paths import safe_join
    from hf_mltrack.models.uri import download_model

    local = download_model(model_uri, dst_path)
    meta = Model.load(local)
    conf = meta.flavors.get(FLAVOR_NAME)
    if conf is None:
        raise MlTrackException(
            f"Model at {model_uri!r} has no sklearn flavor (its flavors: {sorted(meta.flavors)}); "
            "load it with hf_mltrack.pyfunc.load_model or the matching flavor"
        )
    if conf.get("code") and allow_pickle:
        add_code_dir_to_path(safe_join(local, conf["code"]))
    file_name = conf.get("model_file") or conf.get("pickled_model") or SKOPS_FILE
    return _load_file(safe_join(local, str(file_name)), trusted_types=trusted_types, allow_pickle=allow_pickle)
