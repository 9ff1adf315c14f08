"""Refer to Python classes by import path instead of pickling them.

A saved model names its classes as ``"package.module:QualName"``. Loading resolves that name in the loading
process: the module is taken from ``sys.modules`` (so classes defined in ``__main__`` or a notebook work in
the process that defines them) or imported from the installed environment, and the object must be a
subclass of the expected base. No code stored inside the model files runs unless the caller opted in
(which puts the model's ``code/`` folder on ``sys.path``).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import sys
from typing import Any

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


def _lookup(module_name: str, qualname: str, import_module: bool) -> Any:
    module = sys.modules.get(module_name)
    if module is None:
        if not import_module or module_name == "__main__":
            raise MlTrackException(f"module {module_name!r} is not imported")
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


def resolve_class(path: str, base: type, what: str, hint: str = "") -> type:
    """Resolve ``"module:QualName"`` to a subclass of ``base``, with an error that explains the fix.

    Args:
        path (`str`): the reference written at save time.
        base (`type`): the class the result must derive from (`PythonModel`, `torch.nn.Module`, ...).
        what (`str`): what the class is, for the error message.
        hint (`str`, *optional*): extra advice appended to the error.
    """
    module_name, qualname = _split(path)
    try:
        obj = _lookup(module_name, qualname, import_module=True)
    except MlTrackException as exc:
        where = (
            "it was defined in the __main__ script (or notebook) that saved the model: define or import it "
            "in this process before loading"
            if module_name == "__main__"
            else "make its package importable here (pip install it, or add it to sys.path)"
        )
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
    if os.path.isdir(code_dir) and code_dir not in sys.path:
        sys.path.insert(0, code_dir)
        importlib.invalidate_caches()
