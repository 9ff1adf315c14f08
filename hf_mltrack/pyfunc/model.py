"""Custom Python models: `PythonModel`, `PythonModelContext`, `save_model`, `log_model`.

How a `PythonModel` is stored (safe by default, unlike MLflow's cloudpickle):

- its class is recorded by import path (``"my_pkg.models:LLMWrapper"``) and its instance attributes as
  JSON in ``python_model.json``. Loading resolves the class in the loading process (``sys.modules`` first,
  so a class defined in ``__main__`` or a notebook loads in the process that defines it; else an import
  from the installed environment) and restores the attributes; no code from the model files runs.
- a pickle (``python_model.pkl``, cloudpickle when installed) is written only when that is not enough:
  the class cannot be imported by path (defined in ``__main__`` or inside a function) or an attribute is
  not plain JSON. Loading a pickle needs ``load_model(..., allow_pickle=True)``; without it the error says
  so and nothing is unpickled.

Keep heavy objects out of the instance: pass their files as ``artifacts={...}`` and build them in
``load_context``, as the seed's ``LLMWrapper`` does.
"""

from __future__ import annotations

import importlib.metadata
import inspect
import json
import logging
import os
import pickle
from collections.abc import Mapping
from typing import Any

from hf_mltrack.exceptions import InvalidParameterError, MlTrackException
from hf_mltrack.models.model import Model, ModelInfo
from hf_mltrack.models.signature import ModelSignature

_logger = logging.getLogger(__name__)

LOADER_MODULE = "hf_mltrack.pyfunc.model"
PYTHON_MODEL_JSON = "python_model.json"
PYTHON_MODEL_PKL = "python_model.pkl"
ARTIFACTS_DIR = "artifacts"
CODE_DIR = "code"


class PythonModelContext:
    """What `PythonModel.load_context` and ``predict`` receive.

    Attributes:
        artifacts (`dict[str, str]`): each name given in ``artifacts={...}`` at save time -> the local path of
            its copy inside the loaded model.
        model_config (`dict`): the model's configuration (saved ``model_config``, overridden at load).
    """

    def __init__(self, artifacts: Mapping[str, str] | None = None, model_config: Mapping[str, Any] | None = None):
        self._artifacts = dict(artifacts or {})
        self._model_config = dict(model_config or {})

    @property
    def artifacts(self) -> dict[str, str]:
        return self._artifacts

    @property
    def model_config(self) -> dict[str, Any]:
        return self._model_config

    def __repr__(self) -> str:
        return f"PythonModelContext(artifacts={self._artifacts!r}, model_config={self._model_config!r})"


class PythonModel:
    """Base class of custom models. Subclass it and implement ``predict``.

    ``predict`` may take ``(self, context, model_input, params=None)``, the seed's
    ``(self, context, model_input)``, or ``(self, model_input, params=None)``.
    """

    def load_context(self, context: PythonModelContext) -> None:
        """Called once when the model is loaded: build heavy objects from ``context.artifacts`` here.

        Args:
            context (`PythonModelContext`): ``artifacts`` (name -> local path) and ``model_config``.
        """

    def predict(self, context: PythonModelContext, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        """Compute predictions; every subclass implements it.

        Args:
            context (`PythonModelContext`): as given to `load_context`.
            model_input: the input, already checked against the signature.
            params (`dict`, *optional*): inference parameters declared by the signature.

        Returns:
            The predictions.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must implement predict(self, context, model_input, params=None)"
        )


def _predict_style(python_model: PythonModel) -> tuple[bool, bool]:
    """``(takes_context, takes_params)`` of the model's predict method."""
    try:
        parameters = list(inspect.signature(python_model.predict).parameters.values())
    except (TypeError, ValueError):
        return True, True
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters):
        return True, True
    takes_params = any(p.name == "params" or p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)
    positional = [
        p
        for p in parameters
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD) and p.name != "params"
    ]
    return len(positional) >= 2, takes_params


class _PythonModelPyfuncWrapper:
    """What ``_load_pyfunc`` returns for a `PythonModel`: predict without the context argument."""

    def __init__(self, python_model: PythonModel, context: PythonModelContext) -> None:
        self.python_model = python_model
        self.context = context
        self.model_config = context.model_config
        self._takes_context, self._takes_params = _predict_style(python_model)

    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        args = (self.context, model_input) if self._takes_context else (model_input,)
        if self._takes_params:
            predict: Any = self.python_model.predict  # (context, input) or (input): see _predict_style
            return predict(*args, params=params)
        if params:
            _logger.warning(
                "%s.predict() takes no params; ignoring %s", type(self.python_model).__name__, sorted(params)
            )
        return self.python_model.predict(*args)

    def unwrap_python_model(self) -> PythonModel:
        return self.python_model

    def get_raw_model(self) -> PythonModel:
        return self.python_model


# ------------------------------------------------------------------------------------------------ saving


def _json_state(python_model: PythonModel) -> dict[str, Any] | None:
    """The instance attributes when they survive a JSON round trip unchanged, else ``None``."""
    state = dict(vars(python_model))
    try:
        if json.loads(json.dumps(state, allow_nan=False)) == state:
            return state
    except (TypeError, ValueError):
        pass
    return None


def _dump_pickle(python_model: PythonModel, path: str) -> str:
    try:
        import cloudpickle
    except ImportError:
        cloudpickle = None
    with open(path, "wb") as f:
        if cloudpickle is not None:
            cloudpickle.dump(python_model, f)
            return "cloudpickle"
        try:
            pickle.dump(python_model, f)
        except (pickle.PicklingError, AttributeError, TypeError) as exc:
            raise MlTrackException(
                f"Cannot save {type(python_model).__name__}: its class is not importable by path and "
                "pickling "
                f"it failed ({exc}). Move the class into an importable module (or pass code_paths=[...]), or "
                "pip install cloudpickle"
            ) from exc
    return "pickle"


def _distribution_of(module_name: str) -> list[str]:
    top = module_name.split(".")[0]
    if top in ("__main__", "hf_mltrack", "builtins"):
        return []
    try:
        return list(importlib.metadata.packages_distributions().get(top, []))
    except Exception:  # pragma: no cover - broken metadata should never break saving
        return []


def _copy_artifacts(artifacts: Mapping[str, str], path: str) -> dict[str, dict[str, str]]:
    """Copy each artifact (a local path or any artifact URI) into ``path/artifacts``."""
    from hf_mltrack.models._paths import copy_into
    from hf_mltrack.models.uri import download_model

    if not isinstance(artifacts, Mapping):
        raise InvalidParameterError("artifacts must be a dict of name -> local path or artifact URI")
    out: dict[str, dict[str, str]] = {}
    dst_root = os.path.join(path, ARTIFACTS_DIR)
    used: set[str] = set()
    for name, uri in artifacts.items():
        if not isinstance(name, str) or not name:
            raise InvalidParameterError(f"artifact names must be non-empty strings, got {name!r}")
        if not isinstance(uri, (str, os.PathLike)):
            raise InvalidParameterError(f"artifact {name!r} must be a path or URI, got {uri!r}")
        try:
            local = download_model(os.fspath(uri))
        except MlTrackException as exc:
            raise InvalidParameterError(f"artifact {name!r}: cannot read {os.fspath(uri)!r} ({exc})") from exc
        base = os.path.basename(os.path.normpath(local))
        target = dst_root if base not in used else os.path.join(dst_root, name)
        used.add(base)
        copied = copy_into(local, target)
        rel = os.path.relpath(os.path.join(target, copied), path).replace(os.sep, "/")
        out[name] = {"path": rel, "uri": os.fspath(uri)}
    return out


def save_model(
    path: str,
    python_model: PythonModel | None = None,
    artifacts: Mapping[str, str] | None = None,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: list[str] | str | None = None,
    extra_pip_requirements: list[str] | str | None = None,
    conda_env: dict[str, Any] | str | None = None,
    code_paths: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    model_config: dict[str, Any] | None = None,
    hf_mltrack_model: Model | None = None,
) -> None:
    """Save a `PythonModel` to the local folder ``path``.

    Args:
        path (`str`): a new (or empty) folder.
        python_model (`PythonModel`): the model instance.
        artifacts (`dict[str, str]`, *optional*): name -> local path or artifact URI; copied into the model
            and given back at load as ``context.artifacts[name]`` (a local path).
        signature (`ModelSignature`, *optional*): inputs/outputs/params; inferred from ``input_example``
            (inputs only) when not given.
        input_example (*optional*): an example input, saved as JSON and checked against the signature.
        pip_requirements, extra_pip_requirements, conda_env (*optional*): the environment (one of the three);
            see `hf_mltrack.models.requirements.write_environment`.
        code_paths (`list[str]`, *optional*): files or folders copied into ``code/``; put on ``sys.path``
            at load only with ``allow_pickle=True`` (it is code from the model files).
        metadata (`dict`, *optional*): free-form metadata in ``MLmodel``.
        model_config (`dict`, *optional*): configuration given to the model as ``context.model_config``.
        hf_mltrack_model (`Model`, *optional*): the `Model` to fill (used by `log_model`).
    """
    from hf_mltrack.models._example import process_signature_and_example
    from hf_mltrack.models._paths import copy_code_paths, prepare_save_path
    from hf_mltrack.models.requirements import write_environment
    from hf_mltrack.pyfunc.loaders import add_to_model

    if not isinstance(python_model, PythonModel):
        raise InvalidParameterError(
            f"python_model must be an instance of hf_mltrack.pyfunc.PythonModel, got {type(python_model).__name__}"
        )
    if model_config is not None:
        try:
            json.dumps(model_config)
        except (TypeError, ValueError) as exc:
            raise InvalidParameterError(f"model_config must be JSON-serializable: {exc}") from exc
    path = prepare_save_path(path)
    model = hf_mltrack_model if hf_mltrack_model is not None else Model()
    if metadata is not None:
        model.metadata = metadata
    process_signature_and_example(model, path, signature, input_example)

    from hf_mltrack.models._class_ref import class_path, is_importable

    cls = type(python_model)
    state = _json_state(python_model)
    importable = is_importable(cls)
    conf: dict[str, Any] = {"python_model_class": class_path(cls)}
    extra_packages = _distribution_of(cls.__module__)
    if state is not None:
        with open(os.path.join(path, PYTHON_MODEL_JSON), "w", encoding="utf-8") as f:
            json.dump({"format_version": 1, "class": class_path(cls), "state": state}, f, indent=1)
        conf["python_model_format"] = "json"
        conf["python_model_state"] = PYTHON_MODEL_JSON
    else:
        bad = sorted(k for k, v in vars(python_model).items() if _json_state_of({k: v}) is None)
        _logger.warning(
            "%s is stored as a pickle because attribute(s) %s are not plain JSON; loading it will need "
            "load_model(..., allow_pickle=True). Build such objects in load_context() from "
            "artifacts= instead",
            cls.__name__,
            bad,
        )
        conf["python_model_format"] = "pickle"
    if state is None or not importable:
        # A pickle beside the JSON lets a trusting user load a __main__ class in another process.
        conf["pickle_module"] = _dump_pickle(python_model, os.path.join(path, PYTHON_MODEL_PKL))
        conf["python_model"] = PYTHON_MODEL_PKL
        if conf["pickle_module"] == "cloudpickle":
            extra_packages.append("cloudpickle")
    if artifacts:
        conf["artifacts"] = _copy_artifacts(artifacts, path)
    code = copy_code_paths(code_paths, path, CODE_DIR)
    env = write_environment(path, extra_packages, pip_requirements, extra_pip_requirements, conda_env)
    add_to_model(model, loader_module=LOADER_MODULE, code=code, env=env, model_config=model_config, **conf)
    model.save(path)


def _json_state_of(attrs: dict[str, Any]) -> dict[str, Any] | None:
    try:
        return attrs if json.loads(json.dumps(attrs, allow_nan=False)) == attrs else None
    except (TypeError, ValueError):
        return None


def log_model(
    artifact_path: str | None = None,
    python_model: PythonModel | None = None,
    artifacts: Mapping[str, str] | None = None,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: list[str] | str | None = None,
    extra_pip_requirements: list[str] | str | None = None,
    conda_env: dict[str, Any] | str | None = None,
    code_paths: list[str] | None = None,
    registered_model_name: str | None = None,
    await_registration_for: int = 300,
    metadata: dict[str, Any] | None = None,
    model_config: dict[str, Any] | None = None,
    *,
    name: str | None = None,
    run_id: str | None = None,
) -> ModelInfo:
    """Save a `PythonModel` and log it to the active run (started if none is active).

    Takes the arguments of `save_model`, plus:

    Args:
        artifact_path (`str`, *optional*): where in the run's artifacts (default ``"model"``); or ``name=``.
        registered_model_name (`str`, *optional*): also register the model under this name.
        await_registration_for (`int`, *optional*, defaults to 300): seconds to wait for registration.
        run_id (`str`, *optional*): log to this run instead of the active one.

    Returns:
        `ModelInfo` with ``model_uri`` = ``runs:/<run_id>/<artifact_path>``.
    """
    import hf_mltrack.pyfunc.model as flavor

    return Model.log(
        artifact_path,
        flavor,
        registered_model_name=registered_model_name,
        await_registration_for=await_registration_for,
        metadata=metadata,
        run_id=run_id,
        name=name,
        python_model=python_model,
        artifacts=artifacts,
        signature=signature,
        input_example=input_example,
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        conda_env=conda_env,
        code_paths=code_paths,
        model_config=model_config,
    )


# ----------------------------------------------------------------------------------------------- loading


def _load_python_model(path: str, conf: Mapping[str, Any], allow_pickle: bool) -> PythonModel:
    from hf_mltrack.models._class_ref import resolve_class
    from hf_mltrack.models._paths import safe_join

    fmt = conf.get("python_model_format", "pickle")
    pickle_file = conf.get("python_model")
    pickle_hint = (
        f"This model also holds a pickle ({pickle_file}); if you trust its source, "
        "load_model(..., allow_pickle=True) unpickles it (this runs code from the model files)."
        if pickle_file
        else ""
    )
    if fmt == "json":
        try:
            cls = resolve_class(
                str(conf.get("python_model_class")),
                PythonModel,
                "python_model class",
                pickle_hint,
                trusted=allow_pickle,
            )
        except MlTrackException:
            if not (allow_pickle and pickle_file):
                raise
        else:
            with open(safe_join(path, conf.get("python_model_state", PYTHON_MODEL_JSON)), encoding="utf-8") as f:
                data = json.load(f)
            state = data.get("state") if isinstance(data, dict) else None
            if not isinstance(state, dict):
                raise MlTrackException(f"Invalid {PYTHON_MODEL_JSON} in {path!r}: no 'state' mapping")
            instance: Any = object.__new__(cls)
            instance.__dict__.update(state)
            return instance
    elif fmt != "pickle":
        raise MlTrackException(f"Unknown python_model_format {fmt!r} in {path!r}: expected 'json' or 'pickle'")
    if not pickle_file:
        raise MlTrackException(f"Model at {path!r} names no python_model file")
    if not allow_pickle:
        raise MlTrackException(
            f"Refusing to unpickle {pickle_file!r} from the model at {path!r}: unpickling runs code "
            "stored in the "
            "model files. If you trust the model's source, load it with load_model(..., allow_pickle=True)"
        )
    with open(safe_join(path, pickle_file), "rb") as f:
        if conf.get("pickle_module") == "cloudpickle":
            import cloudpickle

            instance = cloudpickle.load(f)
        else:
            instance = pickle.load(f)  # noqa: S301 - explicit opt-in (allow_pickle=True)
    if not isinstance(instance, PythonModel):
        raise MlTrackException(f"{pickle_file!r} did not hold a PythonModel (got {type(instance).__name__})")
    return instance


def _load_pyfunc(
    path: str, model_config: Mapping[str, Any] | None = None, allow_pickle: bool = False
) -> _PythonModelPyfuncWrapper:
    """Loader of the ``python_function`` flavor for models saved with ``python_model=``."""
    from hf_mltrack.models._paths import safe_join
    from hf_mltrack.pyfunc.loaders import FLAVOR_NAME, MODEL_CONFIG

    conf = Model.load(path).flavors[FLAVOR_NAME]
    python_model = _load_python_model(path, conf, allow_pickle)
    artifacts = {}
    for name, entry in (conf.get("artifacts") or {}).items():
        rel = entry.get("path") if isinstance(entry, dict) else None
        if not isinstance(rel, str):
            raise MlTrackException(f"Invalid entry for artifact {name!r} in MLmodel: {entry!r}")
        artifacts[name] = safe_join(path, rel)
    config = dict(conf.get(MODEL_CONFIG) or {})
    config.update(model_config or {})
    context = PythonModelContext(artifacts=artifacts, model_config=config)
    python_model.load_context(context)
    return _PythonModelPyfuncWrapper(python_model, context)
