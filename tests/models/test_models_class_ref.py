"""A module an MLmodel names is imported only when the loader chose it (issue 18, item 7).

``python_model_class: "this:s"`` used to import ``this`` (which prints the Zen of Python) before the
type check refused it: any installed module with import-time side effects ran because a model file said
so. Each case runs in a fresh interpreter so that ``sys.modules`` starts clean.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest


def _save_json_pyfunc(path: Path, class_ref: str) -> None:
    """A pyfunc model whose MLmodel names ``class_ref`` (written by hand: it is hostile data)."""
    path.mkdir(parents=True)
    (path / "MLmodel").write_text(
        textwrap.dedent(
            f"""\
            flavors:
              python_function:
                loader_module: hf_mltrack.pyfunc.model
                python_model_format: json
                python_model_class: '{class_ref}'
                python_model_state: python_model.json
                python_version: 3.11.7
            """
        )
    )
    (path / "python_model.json").write_text(json.dumps({"state": {}}))


def _load(model: Path, *, env: dict[str, str] | None = None, prelude: str = "", allow_pickle: bool = False) -> str:
    code = textwrap.dedent(
        f"""
        import sys
        {prelude}
        import hf_mltrack.pyfunc
        try:
            hf_mltrack.pyfunc.load_model({str(model)!r}, allow_pickle={allow_pickle})
        except Exception as exc:
            print("ERROR", type(exc).__name__, exc)
        else:
            print("LOADED")
        print("IMPORTED" if "sidefx_mod" in sys.modules or "this" in sys.modules else "NOT-IMPORTED")
        """
    )
    import os

    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})}
    )
    return out.stdout + out.stderr


@pytest.fixture
def sidefx(tmp_path, monkeypatch):
    """An installed module with an import-time side effect (it writes a file) that defines a PythonModel."""
    pkg = tmp_path / "site"
    pkg.mkdir()
    marker = tmp_path / "imported.txt"
    (pkg / "sidefx_mod.py").write_text(
        textwrap.dedent(
            f"""
            open({str(marker)!r}, "w").write("side effect ran")
            from hf_mltrack.pyfunc import PythonModel
            class Model(PythonModel):
                def predict(self, context, model_input, params=None):
                    return model_input
            """
        )
    )
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(pkg), os.environ.get("PYTHONPATH", "")]))
    return marker


import os  # noqa: E402


def test_this_s_is_refused_before_any_import(tmp_path):
    _save_json_pyfunc(tmp_path / "m", "this:s")
    out = _load(tmp_path / "m")
    assert "Beautiful is better than ugly" not in out  # `import this` prints the Zen of Python
    assert "NOT-IMPORTED" in out and "ERROR" in out
    assert "HF_MLTRACK_TRUSTED_MODULES" in out  # the error says how to opt in


def test_installed_module_with_side_effects_is_not_imported_without_opt_in(tmp_path, sidefx):
    _save_json_pyfunc(tmp_path / "m", "sidefx_mod:Model")
    out = _load(tmp_path / "m")
    assert "NOT-IMPORTED" in out and "ERROR" in out, out
    assert not sidefx.exists()


@pytest.mark.parametrize(
    "opt_in",
    [
        {"env": {"HF_MLTRACK_TRUSTED_MODULES": "other, sidefx_mod"}},
        {"prelude": "import sidefx_mod"},
        {"allow_pickle": True},
    ],
    ids=["env-list", "imported-by-caller", "allow-pickle"],
)
def test_explicit_opt_in_loads(tmp_path, sidefx, opt_in):
    _save_json_pyfunc(tmp_path / "m", "sidefx_mod:Model")
    out = _load(tmp_path / "m", **opt_in)
    assert "LOADED" in out, out
    assert sidefx.exists()


def test_framework_classes_resolve_and_types_are_still_checked():
    from hf_mltrack.exceptions import MlTrackException
    from hf_mltrack.models._class_ref import import_allowed, resolve_class

    assert import_allowed("transformers.models.gpt2.modeling_gpt2")
    assert not import_allowed("antigravity")
    with pytest.raises(MlTrackException, match="not a subclass"):
        resolve_class("hf_mltrack.exceptions:MlTrackException", int, "test class")
