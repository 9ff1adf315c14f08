"""``TrainingArguments(report_to="hf_mltrack")``: our entry in transformers' reporting table.

transformers maps ``report_to`` names to callback classes in
``transformers.integrations.integration_utils.INTEGRATION_TO_CALLBACK`` and expands ``"all"`` with
``get_available_reporting_integrations()``. Registering adds ``"hf_mltrack"`` to the table and to the
``"all"`` list. It happens:

- when ``hf_mltrack.integrations`` is imported (``import hf_mltrack`` does it), through a post-import
  hook, so transformers is not imported by us;
- at interpreter start-up, without any import in the user's script, when the start-up hook is
  installed (``hf-mltrack integrations install-hook``; see `hf_mltrack.integrations._startup`);
- explicitly with `register_report_to()`.

Registration is idempotent and never raises into the user's import.
"""

from __future__ import annotations

import functools
import sys
from types import ModuleType
from typing import Any

INTEGRATION_NAME = "hf_mltrack"
_UTILS = "transformers.integrations.integration_utils"


def register_report_to(module: ModuleType | None = None) -> bool:
    """Make ``report_to="hf_mltrack"`` (and ``"all"``) pick up `MlTrackCallback`.

    Args:
        module (`ModuleType`, *optional*): ``transformers.integrations.integration_utils``; imported
            when not given.

    Returns:
        `bool`: True when ``"hf_mltrack"`` is registered afterwards.
    """
    if module is None:
        import importlib

        module = importlib.import_module(_UTILS)
    table = getattr(module, "INTEGRATION_TO_CALLBACK", None)
    if not isinstance(table, dict):  # a transformers version without the table: nothing to do
        return False
    if INTEGRATION_NAME not in table:
        callback_module = sys.modules.get(f"{__package__}.trainer_callback")
        if callback_module is not None and not hasattr(callback_module, "MlTrackCallback"):
            return False  # our callback module is importing transformers right now; it registers when done
        from .trainer_callback import MlTrackCallback

        table[INTEGRATION_NAME] = MlTrackCallback
    _patch_available(module)
    return True


def _patch_available(module: ModuleType) -> None:
    """Add ``"hf_mltrack"`` to ``get_available_reporting_integrations()`` (used for ``report_to="all"``)."""
    original = getattr(module, "get_available_reporting_integrations", None)
    if original is None or getattr(original, "_hf_mltrack", False):
        return

    @functools.wraps(original)
    def get_available_reporting_integrations(*args: Any, **kwargs: Any) -> list[str]:
        names = original(*args, **kwargs)
        if INTEGRATION_NAME not in names:
            names = [*names, INTEGRATION_NAME]
        return names

    get_available_reporting_integrations._hf_mltrack = True  # type: ignore[attr-defined]
    module.get_available_reporting_integrations = get_available_reporting_integrations  # type: ignore[attr-defined]
    # `TrainingArguments` resolves "all" through the lazy `transformers.integrations` package.
    package = sys.modules.get("transformers.integrations")
    if package is not None:
        try:
            package.get_available_reporting_integrations = get_available_reporting_integrations  # type: ignore[attr-defined]
        except Exception:
            pass


def unregister_report_to() -> None:
    """Undo `register_report_to` (tests and ``disable`` paths)."""
    module = sys.modules.get(_UTILS)
    if module is None:
        return
    module.INTEGRATION_TO_CALLBACK.pop(INTEGRATION_NAME, None)
    patched = getattr(module, "get_available_reporting_integrations", None)
    original = getattr(patched, "__wrapped__", None)
    if getattr(patched, "_hf_mltrack", False) and original is not None:
        module.get_available_reporting_integrations = original  # type: ignore[attr-defined]
        package = sys.modules.get("transformers.integrations")
        if package is not None and getattr(
            package.__dict__.get("get_available_reporting_integrations"), "_hf_mltrack", False
        ):
            package.get_available_reporting_integrations = original  # type: ignore[attr-defined]


def is_registered() -> bool:
    module = sys.modules.get(_UTILS)
    return module is not None and INTEGRATION_NAME in getattr(module, "INTEGRATION_TO_CALLBACK", {})


def _on_import(module: ModuleType) -> None:
    """Post-import hook target (also called from the interpreter start-up hook)."""
    register_report_to(module)


def install_import_hook() -> None:
    """Register now if transformers' integrations are imported, else right after they are (cheap)."""
    from ._import_hooks import when_imported

    when_imported(_UTILS, _on_import)
