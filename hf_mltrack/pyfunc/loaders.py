"""The ``python_function`` flavor: one `load_model` for every flavor, and `PyFuncModel`.

Every flavor that can predict adds a ``python_function`` block to ``MLmodel`` with its ``loader_module``;
`load_model` imports that module and calls its ``_load_pyfunc(data_path, ...)``, which returns an object
with ``predict(model_input, params=None)``. `PyFuncModel.predict` enforces the signature around it.

Safety: the loader module must be part of hf_mltrack or registered by the user with
`register_loader_module` (a model file cannot make us import arbitrary modules), and nothing stored in the
model folder runs (no unpickling, no ``code/`` on ``sys.path``) unless ``allow_pickle=True``.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import os
import platform
from collections.abc import Mapping
from typing import Any

from hf_mltrack.exceptions import InvalidParameterError, MlTrackException
from hf_mltrack.models.model import Model

_logger = logging.getLogger(__name__)

FLAVOR_NAME = "python_function"
MAIN = "loader_module"
CODE = "code"
DATA = "data"
ENV = "env"
PY_VERSION = "python_version"
MODEL_CONFIG = "model_config"

_REGISTERED_LOADER_MODULES: set[str] = set()


def register_loader_module(module_name: str) -> None:
    """Allow `load_model` to import ``module_name`` as the ``loader_module`` of third-party flavors.

    Modules under ``hf_mltrack.`` are always allowed; any other must be registered by the loading process,
    so a model file alone cannot make hf_mltrack import an arbitrary module.
    """
    if not isinstance(module_name, str) or not module_name:
        raise InvalidParameterError(f"register_loader_module needs a module name, got {module_name!r}")
    _REGISTERED_LOADER_MODULES.add(module_name)


def _check_loader_module(name: Any) -> str:
    if not isinstance(name, str) or not name:
        raise MlTrackException(f"The python_function flavor names no valid loader_module (got {name!r})")
    if name.startswith("hf_mltrack.") or name in _REGISTERED_LOADER_MODULES:
        return name
    raise MlTrackException(
        f"Refusing to import loader_module {name!r} named by the model: only hf_mltrack's own flavors load "
        f"by default. If you trust this flavor, call hf_mltrack.pyfunc.register_loader_module({name!r}) first"
    )


def add_to_model(
    model: Model,
    loader_module: str,
    data: str | None = None,
    code: str | None = None,
    conda_env: str | None = None,
    python_env: str | None = None,
    model_config: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> Model:
    """Add the ``python_function`` flavor to ``model``.

    Args:
        model (`Model`): the model being saved.
        loader_module (`str`): the module whose ``_load_pyfunc(data_path)`` loads the model.
        data (`str`, *optional*): the folder (relative to the model) passed to ``_load_pyfunc``.
        code (`str`, *optional*): the folder of ``code_paths`` (relative to the model).
        conda_env, python_env (`str`, *optional*): the environment files (relative to the model).
        model_config (`dict`, *optional*): default inference configuration, overridable at load.
        env (`dict`, *optional*): the ``env`` mapping returned by `write_environment`.
        **kwargs: more flavor-specific entries.
    """
    params: dict[str, Any] = {MAIN: loader_module, PY_VERSION: platform.python_version()}
    if data is not None:
        params[DATA] = data
    if code is not None:
        params[CODE] = code
    if env is not None:
        params[ENV] = dict(env)
    elif conda_env is not None or python_env is not None:
        params[ENV] = {k: v for k, v in (("conda", conda_env), ("virtualenv", python_env)) if v is not None}
    if model_config:
        params[MODEL_CONFIG] = dict(model_config)
    params.update(kwargs)
    return model.add_flavor(FLAVOR_NAME, **params)


def _accepts(fn: Any, name: str) -> bool:
    try:
        parameters = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in parameters or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())


class PyFuncModel:
    """A loaded model with a uniform ``predict(data, params=None)`` that enforces the model's signature.

    Do not build it directly; use `load_model`.
    """

    def __init__(self, model_meta: Model, model_impl: Any, loader_module: str | None = None) -> None:
        if not hasattr(model_impl, "predict"):
            raise MlTrackException(f"The loaded model implementation {type(model_impl).__name__} has no predict()")
        self._model_meta = model_meta
        self._model_impl = model_impl
        self.loader_module = loader_module

    @property
    def metadata(self) -> Model:
        """The model's `Model` (its ``MLmodel`` file)."""
        return self._model_meta

    @property
    def model_config(self) -> dict[str, Any]:
        return dict(getattr(self._model_impl, "model_config", None) or {})

    def predict(self, data: Any, params: Mapping[str, Any] | None = None) -> Any:
        """Run the model on ``data`` (a DataFrame, dict, list, str or array).

        The input is checked against the signature: a missing column or an incompatible type raises an
        `InvalidParameterError` naming the column and the expected type; safe widening is applied. ``params``
        are checked against the signature's params and filled with their defaults.

        Args:
            data (`pandas.DataFrame`, `dict`, `list`, `str` or `numpy.ndarray`): the inputs.
            params (`dict`, *optional*): inference parameters declared by the signature (e.g.
                ``{"max_new_tokens": 64}`` for a text-generation model).

        Returns:
            The flavor's predictions (a DataFrame, an array, a list or a Series, per the signature).
        """
        from hf_mltrack.models._enforce import _enforce_params, _enforce_schema

        signature = self._model_meta.signature
        if signature is not None and signature.inputs is not None:
            data = _enforce_schema(data, signature.inputs)
        if signature is not None:
            params = _enforce_params(params, signature.params)
        if params is not None and _accepts(self._model_impl.predict, "params"):
            return self._model_impl.predict(data, params=params)
        if params:
            _logger.warning("This model's predict() takes no params; ignoring %s", sorted(params))
        return self._model_impl.predict(data)

    def unwrap_python_model(self) -> Any:
        """The `PythonModel` instance inside a model saved with ``python_model=``."""
        unwrap = getattr(self._model_impl, "unwrap_python_model", None)
        if unwrap is None:
            raise MlTrackException(
                f"unwrap_python_model() works for models saved with python_model=; this one was loaded by "
                f"{self.loader_module!r}. Use get_raw_model() instead"
            )
        return unwrap()

    def get_raw_model(self) -> Any:
        """The flavor's own model object (the `PythonModel`, the ``nn.Module``, the pipeline, ...)."""
        raw = getattr(self._model_impl, "get_raw_model", None)
        return raw() if raw is not None else self._model_impl

    def __repr__(self) -> str:
        meta = self._model_meta
        lines = ["hf_mltrack.pyfunc.loaded_model:"]
        if meta.artifact_path:
            lines.append(f"  artifact_path: {meta.artifact_path}")
        lines.append(f"  flavor: {self.loader_module}")
        if meta.run_id:
            lines.append(f"  run_id: {meta.run_id}")
        return "\n".join(lines)


def load_model(
    model_uri: str,
    suppress_warnings: bool = False,
    dst_path: str | None = None,
    model_config: Mapping[str, Any] | None = None,
    allow_pickle: bool = False,
) -> PyFuncModel:
    """Load any model that has the ``python_function`` flavor.

    Args:
        model_uri (`str`): ``runs:/<run_id>/<path>``, ``models:/<name>/<version|stage|latest>``,
            ``models:/<name>@<alias>``, a local path, a ``file://`` URI or an object-store URI.
        suppress_warnings (`bool`, *optional*, defaults to `False`): hide the Python-version mismatch warning.
        dst_path (`str`, *optional*): where to download a remote model (a temporary folder by default).
        model_config (`dict`, *optional*): overrides the model's saved ``model_config``.
        allow_pickle (`bool`, *optional*, defaults to `False`): trust code stored inside the model: unpickle a
            pickled model and put its ``code/`` folder (from ``code_paths``) on ``sys.path``. Both run code
            from the model files, so pass `True` only for models from a source you trust.

    Returns:
        `PyFuncModel`
    """
    from hf_mltrack.models._class_ref import add_code_dir_to_path
    from hf_mltrack.models._paths import safe_join
    from hf_mltrack.models.uri import download_model

    local_path = download_model(model_uri, dst_path)
    model_meta = Model.load(local_path)
    conf = model_meta.flavors.get(FLAVOR_NAME)
    if conf is None:
        flavors = sorted(model_meta.flavors)
        raise MlTrackException(
            f"Model at {model_uri!r} has no python_function flavor, so it cannot be loaded as a PyFuncModel. "
            f"Its flavors are {flavors}: load it with hf_mltrack.<flavor>.load_model"
        )
    loader_name = _check_loader_module(conf.get(MAIN))
    _warn_python_version(conf.get(PY_VERSION), suppress_warnings)
    code = conf.get(CODE)
    if code:
        if allow_pickle:
            add_code_dir_to_path(safe_join(local_path, code))
        else:
            _logger.info(
                "Model %s ships code in %r; it is not put on sys.path unless load_model(..., allow_pickle=True)",
                model_uri,
                code,
            )
    data_path = safe_join(local_path, conf[DATA]) if conf.get(DATA) else local_path
    loader = importlib.import_module(loader_name)
    load_fn = getattr(loader, "_load_pyfunc", None)
    if load_fn is None:
        raise MlTrackException(f"loader_module {loader_name!r} has no _load_pyfunc(path) function")
    kwargs: dict[str, Any] = {}
    if model_config is not None or conf.get(MODEL_CONFIG):
        config = dict(conf.get(MODEL_CONFIG) or {})
        config.update(model_config or {})
        if _accepts(load_fn, "model_config"):
            kwargs["model_config"] = config
    if _accepts(load_fn, "allow_pickle"):
        kwargs["allow_pickle"] = allow_pickle
    model_impl = load_fn(data_path, **kwargs)
    return PyFuncModel(model_meta, model_impl, loader_module=loader_name)


def _warn_python_version(saved: Any, suppress: bool) -> None:
    if suppress or not saved:
        return
    current = platform.python_version()
    if str(saved).split(".")[:2] != current.split(".")[:2]:
        _logger.warning(
            "The model was saved with Python %s and is loaded with Python %s; this may fail or misbehave",
            saved,
            current,
        )


def get_model_dependencies(model_uri: str, format: str = "pip") -> str:  # noqa: A002 - MLflow's name
    """Local path of the model's ``requirements.txt`` (``format="pip"``) or ``conda.yaml`` (``"conda"``).

    Args:
        model_uri (`str`): any model URI (``runs:/``, ``models:/``, a folder, an artifact URI).
        format (`str`, *optional*, defaults to `"pip"`): ``"pip"`` or ``"conda"``.

    Returns:
        `str`: a file path, e.g. for ``pip install -r``.
    """
    from hf_mltrack.models.requirements import CONDA_ENV_FILE_NAME, REQUIREMENTS_FILE_NAME
    from hf_mltrack.models.uri import download_model

    if format not in ("pip", "conda"):
        raise InvalidParameterError(f"format must be 'pip' or 'conda', got {format!r}")
    local = download_model(model_uri)
    path = os.path.join(local, REQUIREMENTS_FILE_NAME if format == "pip" else CONDA_ENV_FILE_NAME)
    if not os.path.isfile(path):
        raise MlTrackException(f"Model at {model_uri!r} has no {os.path.basename(path)}")
    return path
