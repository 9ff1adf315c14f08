"""Warnings that point at the user's line, not at ours.

A fixed ``stacklevel`` is wrong as soon as a call path gains a frame (``hf_mltrack.log_param`` and
``MlTrackClient.log_param`` reach the same check at different depths), so `warn` counts the frames
inside this package instead and reports the first frame outside it: the user's call (or, for
autolog, the library frame that called our hook).
"""

from __future__ import annotations

import os
import sys
import types
import warnings

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def warn(message: str, category: type[Warning] = UserWarning) -> None:
    """``warnings.warn`` attributed to the first caller outside the hf_mltrack package."""
    frame: types.FrameType | None = sys._getframe(1)
    level = 2
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level if frame is not None else 2)
