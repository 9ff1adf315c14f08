"""Post-import hooks: run a function right after a module is imported, without importing it ourselves.

``when_imported("transformers.trainer", fn)`` calls ``fn(module)`` now when the module is already
imported, else right after its first import finishes. This keeps ``hf_mltrack.autolog()`` and the
``report_to`` registration free of heavy imports: transformers and torch load only when the user
imports them. Standard library only.
"""

from __future__ import annotations

import sys
import threading
import warnings
from collections.abc import Callable
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from importlib.abc import Loader

Hook = Callable[[ModuleType], None]

_hooks: dict[str, list[Hook]] = {}
_lock = threading.RLock()


def _is_initializing(module: ModuleType) -> bool:
    spec = getattr(module, "__spec__", None)
    return bool(getattr(spec, "_initializing", False))


def when_imported(name: str, hook: Hook) -> None:
    """Call ``hook(module)`` once module ``name`` is imported: now if it is, else after its import."""
    with _lock:
        module = sys.modules.get(name)
        if module is None or _is_initializing(module):
            hooks = _hooks.setdefault(name, [])
            if hook not in hooks:
                hooks.append(hook)
            _install_finder()
            return
    _call(hook, module)


def cancel(name: str, hook: Hook) -> None:
    """Forget a hook that has not run yet."""
    with _lock:
        hooks = _hooks.get(name)
        if hooks and hook in hooks:
            hooks.remove(hook)
        if not hooks:
            _hooks.pop(name, None)


def pending(name: str) -> list[Hook]:
    with _lock:
        return list(_hooks.get(name, ()))


def _call(hook: Hook, module: ModuleType) -> None:
    try:
        hook(module)
    except Exception as exc:  # a hook must never break the user's import
        warnings.warn(f"hf_mltrack: a hook on importing {module.__name__} failed: {exc!r}", stacklevel=3)


def _run_hooks(module: ModuleType) -> None:
    with _lock:
        hooks = _hooks.pop(module.__name__, [])
    for hook in hooks:
        _call(hook, module)


class _HookedLoader:
    """Delegates to the real loader and runs the hooks once the module has executed."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._loader, attr)

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        create = getattr(self._loader, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        # Be invisible afterwards: the module keeps its real loader.
        module.__loader__ = self._loader
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        _run_hooks(module)


class _PostImportFinder:
    """A meta-path finder that finds nothing itself; it wraps the loader of hooked modules."""

    _hf_mltrack_post_import = True

    def __init__(self) -> None:
        self._busy = threading.local()

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> ModuleSpec | None:
        if fullname not in _hooks or getattr(self._busy, "name", None) == fullname:
            return None
        self._busy.name = fullname
        try:
            spec = None
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(fullname, path, target)
                if spec is not None:
                    break
        finally:
            self._busy.name = None
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        # cast, not a subclass of importlib.abc.Loader: importing importlib.abc costs `import hf_mltrack`
        # ~4 ms (it pulls importlib.resources, tempfile, shutil, bz2, lzma)
        spec.loader = cast("Loader", _HookedLoader(spec.loader))
        return spec


def _install_finder() -> None:
    if not any(getattr(f, "_hf_mltrack_post_import", False) for f in sys.meta_path):
        sys.meta_path.insert(0, _PostImportFinder())
