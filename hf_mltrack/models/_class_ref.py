"""Refer to Python classes by import path instead of pickling them.

A saved model names its classes as ``"package.module:QualName"``. Loading resolves that name in the loading
process, and the object must be a subclass of the expected base. The MLmodel file is data from wherever the
model came from, so the module it names is imported only when that import is one the loader chose:

* the module is already imported (``sys.modules``: classes of ``__main__``, a notebook, or a package the
  caller imported before loading, which is the usual way to opt in);
* it belongs to a framework the flavors load anyway (`FRAMEWORK_PACKAGES`: torch, transformers, ...);
* it is the model's own code (its ``code/`` folder), put on ``sys.path`` because the caller opted in
  (``load_model(..., allow_pickle=True)``);
* the caller opted in explicitly: ``trusted=True`` (``allow_pickle=True``) or the package is listed in
  ``HF_MLTRACK_TRUSTED_MODULES`` (comma-separated names, e.g. ``mypkg,other.sub``).

Anything else is refused before its module is imported, with an error that says how to opt in: a model
naming ``python_model_class: "this:s"`` or ``"antigravity:x"`` runs none of their import side effects.
No code stored inside the model files runs unless the caller opted in.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import re
import sys
from typing import Any

from hf_mltrack import _env
from hf_mltrack.exceptions import InvalidParameterError, MlTrackException

_MODULE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_QUALNAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def class_path(obj: Any) -> str:
    """``"module:QualName"`` of a class (or of an instance's class)."""
    cls = obj if isinstance(obj, type) else type(obj)
    return f"{cls.__module__}:{cls.__qualname__}"


def is_importable(cls: type) -> bool:
    """Whether another process can import ``cls`` by its path (not ``__main__``, not a local class)."""
    if cls.__module__ == "__main__" or "<locals>" in cls.__qualname__:
        return False
    try:
        return _lookup(cls.__module__, cls.__qualname__, import_module=False) is cls
    except MlTrackException:
        return False


def _split(path: str) -> tuple[str, str]:
    if not isinstance(path, str) or path.count(":") != 1:
        raise InvalidParameterError(f"Invalid class reference {path!r}: expected 'package.module:ClassName'")
    module, qualname = path.split(":")
    if not _MODULE_RE.match(module) or not _QUALNAME_RE.match(qualname):
        raise InvalidParameterError(f"Invalid class reference {path!r}: expected 'package.module:ClassName'")
    return module, qualname


#: Top-level packages whose modules a flavor may import to rebuild a model (they hold no model's code).
FRAMEWORK_PACKAGES = frozenset(
    {"hf_mltrack", "torch", "transformers", "peft", "tokenizers", "safetensors", "accelerate", "sklearn"}
)
TRUSTED_MODULES_ENV = _env.TRUSTED_MODULES.name
_OPTED_IN_CODE_DIRS: set[str] = set()


def _env_trusted(module_name: str) -> bool:
    listed = [m.strip() for m in _env.TRUSTED_MODULES.get().split(",") if m.strip()]
    return any(module_name == m or module_name.startswith(m + ".") for m in listed)


def _in_opted_in_code(top: str) -> bool:
    """Whether the top-level module ``top`` would be imported from a model ``code/`` folder the caller opted
    into (located with ``find_spec``, which runs no code for a top-level name)."""
    if not _OPTED_IN_CODE_DIRS:
        return False
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return False
    if spec is None:
        return False
    places = [spec.origin or "", *(spec.submodule_search_locations or [])]
    return any(
        os.path.abspath(place).startswith(code_dir + os.sep)
        for place in places
        if place
        for code_dir in _OPTED_IN_CODE_DIRS
    )


def import_allowed(module_name: str, trusted: bool = False) -> bool:
    """Whether resolving a class may import ``module_name`` (see the module docstring)."""
    top = module_name.split(".", 1)[0]
    return trusted or top in FRAMEWORK_PACKAGES or _env_trusted(module_name) or _in_opted_in_code(top)


def _lookup(module_name: str, qualname: str, import_module: bool, trusted: bool = False) -> Any:
    module = sys.modules.get(module_name)
    if module is None:
        if not import_module or module_name == "__main__":
            raise MlTrackException(f"module {module_name!r} is not imported")
        if not import_allowed(module_name, trusted):
            with contextlib.suppress(ImportError, ValueError):
                if importlib.util.find_spec(module_name.split(".")[0]) is None:  # runs no code
                    raise MlTrackException(f"module {module_name!r} is not installed")
            raise MlTrackException(
                f"module {module_name!r} is not imported, and importing a module a model file names runs "
                f"its code: import it yourself before loading (import {module_name}), list it in "
                f"{TRUSTED_MODULES_ENV}, or load with allow_pickle=True if you trust the model's source"
            )
        try:
            if importlib.util.find_spec(module_name.split(".")[0]) is None:
                raise MlTrackException(f"module {module_name!r} is not installed")
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise MlTrackException(f"module {module_name!r} cannot be imported ({exc})") from exc
    obj: Any = module
    for part in qualname.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise MlTrackException(f"{module_name!r} has no attribute {qualname!r}") from None
    return obj


def resolve_class(path: str, base: type, what: str, hint: str = "", *, trusted: bool = False) -> type:
    """Resolve ``"module:QualName"`` to a subclass of ``base``, with an error that explains the fix.

    Args:
        path (`str`): the reference written at save time.
        base (`type`): the class the result must derive from (`PythonModel`, `torch.nn.Module`, ...).
        what (`str`): what the class is, for the error message.
        hint (`str`, *optional*): extra advice appended to the error.
        trusted (`bool`, *optional*, defaults to `False`): the caller trusts the model's source
            (``allow_pickle=True``), so any installed module it names may be imported.
    """
    module_name, qualname = _split(path)
    try:
        obj = _lookup(module_name, qualname, import_module=True, trusted=trusted)
    except MlTrackException as exc:
        where = (
            "it was defined in the __main__ script (or notebook) that saved the model: define or import it "
            "in this process before loading"
            if module_name == "__main__"
            else "make its package importable here (pip install it, or add it to sys.path)"
        )
        if TRUSTED_MODULES_ENV in exc.message:  # refused, not missing: the message says how to opt in
            where = "nothing was imported"
        raise MlTrackException(
            f"Cannot load {what} {path!r}: {exc.message}; {where}.{(' ' + hint) if hint else ''}"
        ) from None
    if not isinstance(obj, type) or not issubclass(obj, base):
        raise MlTrackException(
            f"Refusing to load {what} {path!r}: it is not a subclass of {base.__module__}.{base.__qualname__}"
        )
    return obj


def add_code_dir_to_path(code_dir: str) -> None:
    """Put a model's ``code/`` folder first on ``sys.path`` (only after the caller opted in)."""
    code_dir = os.path.abspath(code_dir)
    if os.path.isdir(code_dir):
        _OPTED_IN_CODE_DIRS.add(code_dir)
    if os.path.isdir(code_dir) and code_dir not in sys.path:
        sys.path.insert(0, code_dir)
        importlib.invalidate_caches()
