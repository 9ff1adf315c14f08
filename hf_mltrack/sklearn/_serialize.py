"""Safe (de)serialization of scikit-learn models with skops, and the trust policy used when loading.

skops stores an estimator as a tree of type names and plain data (arrays, numbers, strings) and rebuilds
it without unpickling. Loading still has to instantiate every type the file names, so a file must not be
able to make us instantiate arbitrary classes. A type is trusted when:

- skops trusts it by default (builtins, numpy arrays, most scikit-learn estimators), or
- it is a *class* (never a function) in scikit-learn, XGBoost's scikit-learn API and Booster,
  ``scipy.sparse``, numpy's dtypes and scalar types, or ``hf_mltrack.sklearn`` (only those modules are
  imported to check), or
- the caller trusts it: ``trusted_types=[...]`` at load, `add_trusted_types` for the whole process, or
  ``allow_pickle=True`` (trust every type in the file, for files from a source you trust).

Anything else is refused with the list of the untrusted types and how to trust them.
"""

from __future__ import annotations

import importlib
import os
import pickle
import threading
from collections.abc import Iterable
from typing import Any

from hf_mltrack.exceptions import InvalidParameterError, MlTrackException, missing_extra

SKOPS_FILE = "model.skops"
PICKLE_FILE = "model.pkl"

_USER_TRUSTED: set[str] = set()
_lock = threading.Lock()


def skops_io() -> Any:
    try:
        import skops.io as sio
    except ImportError as exc:
        raise missing_extra("hf_mltrack.sklearn", "skops", "recipes") from exc
    return sio


def add_trusted_types(types: Iterable[str]) -> None:
    """Trust these fully qualified type names (``"my_pkg.module.MyTransformer"``) in every skops load.

    Use it before `hf_mltrack.pyfunc.load_model` for models that contain your own estimators.
    """
    if isinstance(types, str):
        types = [types]
    names = list(types)
    for name in names:
        if not isinstance(name, str) or "." not in name:
            raise InvalidParameterError(
                f"Trusted types are fully qualified names like 'my_pkg.module.MyClass', got {name!r}"
            )
    with _lock:
        _USER_TRUSTED.update(names)


def _resolve(name: str) -> Any:
    """The object named ``module.path.Qualname`` (trying the longest importable module prefix)."""
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        module_name = ".".join(parts[:cut])
        try:
            obj: Any = importlib.import_module(module_name)
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


def _is_safe_type(name: str) -> bool:
    """Whether ``name`` is a class from a module family we trust (see the module docstring)."""
    root = name.split(".", 1)[0]
    if root not in ("sklearn", "xgboost", "scipy", "numpy", "hf_mltrack"):
        return False  # never import a module a file names unless it is one of these packages
    if root == "xgboost" and not (name.startswith("xgboost.sklearn.") or name == "xgboost.core.Booster"):
        return False
    if root == "scipy" and not name.startswith("scipy.sparse."):
        return False
    if root == "hf_mltrack" and not name.startswith("hf_mltrack.sklearn."):
        return False
    obj = _resolve(name)
    if not isinstance(obj, type):
        return False
    if root == "numpy":
        import numpy as np

        return issubclass(obj, (np.dtype, np.generic))
    return True


def untrusted_types(file: str) -> list[str]:
    """The types in a skops file that skops does not trust by default."""
    return list(skops_io().get_untrusted_types(file=file))


def load_skops(file: str, trusted_types: Iterable[str] | None = None, trust_all: bool = False) -> Any:
    """Load a skops file, refusing types outside the trust policy (see the module docstring)."""
    sio = skops_io()
    try:
        found = sio.get_untrusted_types(file=file)
    except Exception as exc:
        raise MlTrackException(f"{file!r} is not a valid skops file: {exc}") from exc
    extra = set(trusted_types or ()) | _USER_TRUSTED
    refused = [t for t in found if not (trust_all or t in extra or _is_safe_type(t))]
    if refused:
        raise MlTrackException(
            f"Refusing to load {file!r}: it contains types that are not trusted by default: {refused}. "
            "If you trust them, pass trusted_types=[...] to hf_mltrack.sklearn.load_model, call "
            "hf_mltrack.sklearn.add_trusted_types([...]) before hf_mltrack.pyfunc.load_model, or pass "
            "allow_pickle=True to trust every type in the file"
        )
    return sio.load(file, trusted=list(found))


def dump_skops(obj: Any, file: str) -> None:
    sio = skops_io()
    try:
        sio.dump(obj, file)
    except Exception as exc:
        raise MlTrackException(
            f"skops cannot serialize {type(obj).__name__}: {exc}. Use serialization_format='pickle' if you "
            "accept that loading it will need allow_pickle=True"
        ) from exc


def dump_pickle(obj: Any, file: str) -> str:
    """Pickle ``obj`` (cloudpickle when installed); returns the format used."""
    try:
        import cloudpickle
    except ImportError:
        cloudpickle = None
    with open(file, "wb") as f:
        if cloudpickle is not None:
            cloudpickle.dump(obj, f)
            return "cloudpickle"
        pickle.dump(obj, f)
    return "pickle"


def load_pickle(file: str, allow_pickle: bool) -> Any:
    if not allow_pickle:
        raise MlTrackException(
            f"Refusing to unpickle {os.path.basename(file)!r} from {os.path.dirname(file)!r}: unpickling "
            "runs code stored in the file. If you trust its source, pass allow_pickle=True"
        )
    with open(file, "rb") as f:
        return pickle.load(f)  # noqa: S301 - explicitly allowed by the caller
