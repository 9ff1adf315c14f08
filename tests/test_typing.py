"""The public surface is typed: a user's type checker sees real signatures, not the lazy map's `Any`."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import hf_mltrack

ROOT = Path(hf_mltrack.__file__).resolve().parent.parent

# Heavy third-party packages are skipped (their values become Any): the check is about our own
# surface, and following torch/transformers would make this test take a minute.
_MYPY_INI = """\
[mypy]
ignore_missing_imports = True
[mypy-torch.*,transformers.*,peft.*,accelerate.*,safetensors.*,tokenizers.*,huggingface_hub.*,datasets.*,\
numpy.*,pandas.*,sqlalchemy.*,alembic.*,fastapi.*,starlette.*,pydantic.*,pydantic_core.*,httpx.*,uvicorn.*,\
sklearn.*,scipy.*,PIL.*,matplotlib.*,plotly.*]
follow_imports = skip
"""

_USER_SCRIPT = """\
import hf_mltrack
from hf_mltrack import MlTrackClient

reveal_type(hf_mltrack.start_run)
reveal_type(hf_mltrack.MlTrackClient)
reveal_type(hf_mltrack.autolog)
with hf_mltrack.start_run() as run:
    reveal_type(run)
    reveal_type(run.info.run_id)
client = MlTrackClient("sqlite:///x.db")
reveal_type(client.get_run("x"))
reveal_type(client.list_artifacts("x"))
reveal_type(hf_mltrack.log_metric)
hf_mltrack.log_metric("loss", "high")
"""


def _type_checking_imports() -> dict[str, str]:
    """name -> module of every import under ``if TYPE_CHECKING:`` in hf_mltrack/__init__.py."""
    tree = ast.parse((ROOT / "hf_mltrack" / "__init__.py").read_text())
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for imp in node.body:
                assert isinstance(imp, ast.ImportFrom) and imp.level == 1, ast.dump(imp)
                for alias in imp.names:
                    assert alias.asname == alias.name, f"{alias.name}: write 'X as X' (an explicit re-export)"
                    module = "hf_mltrack" + (f".{imp.module}" if imp.module else f".{alias.name}")
                    found[alias.name] = module
    return found


def test_type_checking_imports_match_the_lazy_map() -> None:
    expected = {**hf_mltrack._LAZY_ATTRS, **{s: f"hf_mltrack.{s}" for s in hf_mltrack._LAZY_SUBMODULES}}
    assert _type_checking_imports() == expected


def test_autolog_is_a_plain_function() -> None:
    import types

    assert isinstance(hf_mltrack.autolog, types.FunctionType)
    importlib.import_module("hf_mltrack.autologging.transformers")  # must not rebind hf_mltrack.autolog
    assert isinstance(hf_mltrack.autolog, types.FunctionType)


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy is in the dev extra")
def test_mypy_sees_real_types_in_a_user_script(tmp_path: Path) -> None:
    (tmp_path / "mypy.ini").write_text(_MYPY_INI)
    (tmp_path / "user.py").write_text(_USER_SCRIPT)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", "mypy.ini", "--cache-dir", os.devnull, "user.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    revealed = dict(re.findall(r"user\.py:(\d+): note: Revealed type is \"(.*)\"", proc.stdout))
    assert revealed["4"].endswith("-> hf_mltrack.tracking.fluent.ActiveRun"), proc.stdout
    assert "run_name: str | None" in revealed["4"]
    assert revealed["5"].endswith("-> hf_mltrack.tracking.client.MlTrackClient")
    assert revealed["6"].startswith("def (log_models: bool =") and revealed["6"].endswith("-> list[str]")
    assert revealed["8"] == "hf_mltrack.tracking.fluent.ActiveRun"
    assert revealed["9"] == "str"
    assert revealed["11"] == "hf_mltrack.entities.run.Run"
    assert revealed["12"].endswith("list[hf_mltrack.artifacts.base.FileInfo]")
    assert "key: str, value: float" in revealed["13"]
    # ... and a wrong argument is caught where the user wrote it
    assert 'user.py:14: error: Argument 2 to "log_metric" has incompatible type "str"; expected "float"' in proc.stdout
    assert proc.returncode == 1


def test_typed_surface_costs_nothing_at_import() -> None:
    # The TYPE_CHECKING imports never run: `import hf_mltrack` loads none of the modules they name,
    # nor the standard-library modules a typing-only import could drag in (importlib.abc pulls
    # importlib.resources, tempfile, shutil, bz2, lzma: ~4 ms).
    code = "import sys, json, hf_mltrack; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = set(json.loads(out))
    assert not loaded & set(hf_mltrack._LAZY_ATTRS.values())
    assert not loaded & {"typing_extensions", "importlib.abc", "importlib.resources", "tempfile", "shutil", "lzma"}
