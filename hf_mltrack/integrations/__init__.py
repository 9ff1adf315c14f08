"""Integrations with training libraries: the HF Trainer callback, ``report_to``, and an accelerate tracker.

```python
import hf_mltrack.integrations            # registers report_to="hf_mltrack" (lazily: no transformers import)
from hf_mltrack.integrations import MlTrackCallback

trainer = Trainer(..., args=TrainingArguments(..., report_to="hf_mltrack"))        # by name
trainer = Trainer(..., callbacks=[MlTrackCallback(log_checkpoints=True)])          # or explicitly
```

Importing this package installs post-import hooks (standard library only): when transformers'
``integration_utils`` is imported, ``"hf_mltrack"`` joins its ``report_to`` table (and ``"all"``);
when ``accelerate.tracking`` is imported, ``Accelerator(log_with="hf_mltrack")`` becomes valid. For
scripts that never import hf_mltrack (transformers' example scripts with ``--report_to hf_mltrack``),
install the start-up hook once: ``hf-mltrack integrations install-hook``.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    "HfMlTrackTracker": "accelerate_tracker",
    "MlTrackCallback": "trainer_callback",
    "install_startup_hook": "_startup",
    "register_accelerate_tracker": "accelerate_tracker",
    "register_report_to": "report_to",
    "uninstall_startup_hook": "_startup",
    "unregister_report_to": "report_to",
}

__all__ = [
    "HfMlTrackTracker",
    "MlTrackCallback",
    "install_startup_hook",
    "register_accelerate_tracker",
    "register_report_to",
    "uninstall_startup_hook",
    "unregister_report_to",
]

if TYPE_CHECKING:  # pragma: no cover
    from ._startup import install_startup_hook, uninstall_startup_hook
    from .accelerate_tracker import HfMlTrackTracker, register_accelerate_tracker
    from .report_to import register_report_to, unregister_report_to
    from .trainer_callback import MlTrackCallback


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'hf_mltrack.integrations' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def _on_accelerate_tracking(module: Any) -> None:
    existing = sys.modules.get(f"{__name__}.accelerate_tracker")
    if existing is not None and not hasattr(existing, "register_accelerate_tracker"):
        return  # our tracker module is importing accelerate right now; it registers itself when done
    from .accelerate_tracker import register_accelerate_tracker

    register_accelerate_tracker(module)


def install_import_hooks() -> None:
    """Register with transformers and accelerate as soon as they are imported (now if they are)."""
    from ._import_hooks import when_imported
    from .report_to import install_import_hook

    install_import_hook()
    when_imported("accelerate.tracking", _on_accelerate_tracking)


install_import_hooks()
