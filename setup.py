"""Build hook: put the start-up ``.pth`` of ``report_to="hf_mltrack"`` at the root of the wheel.

Everything else lives in pyproject.toml. A ``.pth`` file at the wheel root lands in site-packages,
where Python runs its one line at start-up (see ``hf_mltrack/integrations/_startup.py``: it costs
microseconds and only registers a finder that acts when transformers' integrations are imported).
"""

from __future__ import annotations

import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

PTH = os.path.join("hf_mltrack", "integrations", "hf_mltrack_report_to.pth")


class BuildPyWithStartupHook(build_py):
    def run(self) -> None:
        super().run()
        if not getattr(self, "editable_mode", False):
            shutil.copyfile(PTH, os.path.join(self.build_lib, os.path.basename(PTH)))

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:  # type: ignore[override]
        outputs = list(super().get_outputs(include_bytecode))
        if not getattr(self, "editable_mode", False):
            outputs.append(os.path.join(self.build_lib, os.path.basename(PTH)))
        return outputs


setup(cmdclass={"build_py": BuildPyWithStartupHook})
