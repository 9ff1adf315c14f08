"""The interpreter start-up hook: ``report_to="hf_mltrack"`` in scripts that never import hf_mltrack.

transformers' example scripts (``run_clm.py --report_to hf_mltrack``) build `TrainingArguments` without
importing hf_mltrack, so the name must be registered before their Trainer is created. A ``.pth`` file
in ``site-packages`` runs one line at every interpreter start-up; ours only inserts a tiny meta-path
finder (no import at all: it costs a few microseconds, far under the 1 ms budget). The finder does
nothing until ``transformers.integrations.integration_utils`` is imported; then it registers
``hf_mltrack`` right after that module executes, and removes itself.

Install it with ``hf-mltrack integrations install-hook`` or `install_startup_hook()`; remove it with
``uninstall-hook``. ``HF_MLTRACK_DISABLE_STARTUP_HOOK=1`` turns it off for one process. A stale file
(hf_mltrack uninstalled) is harmless: the import fails silently.
"""

from __future__ import annotations

import os
import sysconfig

PTH_NAME = "hf_mltrack_report_to.pth"

# Executed by site.py at start-up (as one line). Keep it dependency-free and fast.
_HOOK_SOURCE = """
class _HfMlTrackStartupLoader:
    def __init__(self, loader):
        self.loader = loader
    def __getattr__(self, attr):
        return getattr(self.loader, attr)
    def create_module(self, spec):
        create = getattr(self.loader, "create_module", None)
        return create(spec) if create is not None else None
    def exec_module(self, module):
        self.loader.exec_module(module)
        module.__loader__ = self.loader
        if module.__spec__ is not None:
            module.__spec__.loader = self.loader
        try:
            from hf_mltrack.integrations.report_to import register_report_to
            register_report_to(module)
        except Exception:
            pass

class _HfMlTrackStartupFinder:
    _hf_mltrack_startup = True
    target = "transformers.integrations.integration_utils"
    busy = False
    def find_spec(self, name, path=None, target=None):
        if name != self.target or self.busy:
            return None
        self.busy = True
        try:
            spec = None
            for finder in sys.meta_path:
                if finder is not self and hasattr(finder, "find_spec"):
                    spec = finder.find_spec(name, path, target)
                    if spec is not None:
                        break
        finally:
            self.busy = False
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _HfMlTrackStartupLoader(spec.loader)
        return spec

import os  # already imported by site.py: no cost

if (os.environ.get("HF_MLTRACK_DISABLE_STARTUP_HOOK", "").lower() not in ("1", "true", "yes", "on")
        and not any(getattr(f, "_hf_mltrack_startup", False) for f in sys.meta_path)):
    sys.meta_path.insert(0, _HfMlTrackStartupFinder())
"""

# A fresh namespace: names defined by the hook must resolve when its methods run later.
PTH_LINE = "import sys; exec(" + repr(_HOOK_SOURCE) + ', {"sys": sys, "__name__": "hf_mltrack_startup"})\n'


def default_site_dir() -> str:
    """The ``site-packages`` folder of the running interpreter (where ``pip install`` puts packages)."""
    return sysconfig.get_paths()["purelib"]


def install_startup_hook(site_dir: str | os.PathLike[str] | None = None) -> str:
    """Write the ``.pth`` start-up hook; returns its path.

    Args:
        site_dir (`str`, *optional*): a folder processed by ``site`` at start-up; defaults to this
            interpreter's ``site-packages``.
    """
    folder = os.fspath(site_dir or default_site_dir())
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, PTH_NAME)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write("# hf_mltrack: registers report_to='hf_mltrack' when transformers is imported. Safe to delete.\n")
        fh.write(PTH_LINE)
    os.replace(tmp, path)
    return path


def uninstall_startup_hook(site_dir: str | os.PathLike[str] | None = None) -> bool:
    """Remove the ``.pth`` start-up hook; True when a file was removed."""
    path = os.path.join(os.fspath(site_dir or default_site_dir()), PTH_NAME)
    try:
        os.remove(path)
        return True
    except FileNotFoundError:
        return False


def startup_hook_path(site_dir: str | os.PathLike[str] | None = None) -> str | None:
    """The installed hook file, or None."""
    path = os.path.join(os.fspath(site_dir or default_site_dir()), PTH_NAME)
    return path if os.path.isfile(path) else None
