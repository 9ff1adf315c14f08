"""Our own loading and saving of models prints no progress bars or deprecation noise of the libraries.

A user's ``from_pretrained`` shows transformers' bars as usual; ``hf_mltrack.transformers.load_model``
(a registry load in a serving script, a notebook cell) should print nothing but what the user asked for.
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections.abc import Iterator

_lock = threading.Lock()
_depth = 0
_was_enabled = True


@contextlib.contextmanager
def quiet_loading() -> Iterator[None]:
    """Disable transformers' progress bars (restored after, nesting-safe) and silence library
    FutureWarnings/DeprecationWarnings raised while we load or save on the user's behalf."""
    global _depth, _was_enabled
    from transformers.utils import logging as hf_logging

    with _lock:
        if _depth == 0:
            _was_enabled = hf_logging.is_progress_bar_enabled()
            hf_logging.disable_progress_bar()
        _depth += 1
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=FutureWarning, module=r"(transformers|peft|accelerate)\b")
            warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"(transformers|peft|accelerate)\b")
            yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                hf_logging.enable_progress_bar()
