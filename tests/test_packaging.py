"""Packaging: every optional import is declared in an extra, the README's install gives the quickstart's
closing hint (`hf-mltrack ui`), and a server whose store driver is missing refuses to start."""

from __future__ import annotations

import ast
import importlib.abc
import socket
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from packaging.requirements import Requirement

import hf_mltrack
from hf_mltrack.cli import cli

ROOT = Path(hf_mltrack.__file__).resolve().parent.parent
tomllib = pytest.importorskip("tomllib")

# import name -> distribution, where they differ
_DISTRIBUTION = {
    "PIL": "pillow",
    "yaml": "pyyaml",
    "sklearn": "scikit-learn",
    "pynvml": "nvidia-ml-py",
    "uvicorn_worker": "uvicorn-worker",
}
# imported only as part of a declared distribution (its own dependencies)
_VIA = {
    "starlette": "fastapi",
    "botocore": "boto3",
    "s3transfer": "boto3",
    "opentelemetry": "opentelemetry-proto",  # one namespace, several distributions of the otel extra
    "google": "opentelemetry-proto",  # google.protobuf: the runtime of the OTLP protobuf messages
}


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _closure(extras: list[str]) -> set[str]:
    """Distribution names installed by the base dependencies plus `extras` (self-references followed)."""
    project = _project()
    names: set[str] = set()
    seen: set[str] = set()
    lines, todo = list(project["dependencies"]), list(extras)
    while lines or todo:
        if lines:
            req = Requirement(lines.pop())
            if req.name.replace("_", "-") == "hf-mltrack":
                todo.extend(req.extras)
            else:
                names.add(req.name.lower().replace("_", "-"))
            continue
        extra = todo.pop()
        if extra not in seen:
            seen.add(extra)
            lines.extend(project["optional-dependencies"][extra])
    return names


def _third_party_imports() -> dict[str, str]:
    """top-level module -> one file of hf_mltrack that imports it."""
    found: dict[str, str] = {}
    for path in sorted((ROOT / "hf_mltrack").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top not in sys.stdlib_module_names and top not in ("hf_mltrack", "__future__"):
                    found.setdefault(top, str(path.relative_to(ROOT)))
    return found


def test_every_imported_package_is_declared() -> None:
    declared = _closure(list(_project()["optional-dependencies"]))
    missing = {}
    for module, where in _third_party_imports().items():
        dist = _VIA.get(module) or _DISTRIBUTION.get(module, module)
        if dist.lower().replace("_", "-") not in declared:
            missing[module] = where
    assert not missing, f"imported but in no dependency list of pyproject.toml: {missing}"


def test_readme_install_gives_the_ui_and_base_gives_server_logging() -> None:
    readme = (ROOT / "README.md").read_text()
    assert 'pip install torch==2.13.0 -e ".[hf]" && hf-mltrack quickstart' in readme
    assert {"fastapi", "uvicorn"} <= _closure(["hf"])  # `hf-mltrack ui`, the quickstart's last hint
    assert "httpx" in _closure([])  # http:// tracking URIs need no extra
    assert {"psutil", "nvidia-ml-py"} <= _closure(["system-metrics"])
    assert "nbconvert" in _closure(["dev"])


class _Uninstalled(importlib.abc.MetaPathFinder):
    """Makes `names` (and their submodules) behave as if they were not installed."""

    def __init__(self, *names: str) -> None:
        self.names = names

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> None:
        if fullname.split(".")[0] in self.names:
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None


@pytest.fixture
def uninstall(monkeypatch: pytest.MonkeyPatch):
    def apply(*names: str) -> None:
        monkeypatch.setattr(sys, "meta_path", [_Uninstalled(*names), *sys.meta_path])
        for module in list(sys.modules):
            if module.split(".")[0] in names:
                monkeypatch.delitem(sys.modules, module)

    return apply


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(
    ("argv", "blocked", "command"),
    [
        (["--artifacts-destination", "s3://bucket/artifacts"], "boto3", "pip install 'hf_mltrack[s3]'"),
        (["--no-serve-artifacts", "--default-artifact-root", "s3://bucket/a"], "boto3", "'hf_mltrack[s3]'"),
        (["--backend-store-uri", "postgresql://postgres@127.0.0.1:5432/test"], "psycopg", "'hf_mltrack[postgres]'"),
    ],
    ids=["s3-destination", "s3-default-root", "postgresql"],
)
def test_server_with_a_missing_driver_refuses_to_start(tmp_path: Path, uninstall, argv, blocked, command) -> None:
    uninstall(blocked)
    if "--backend-store-uri" not in argv:
        argv = [*argv, "--backend-store-uri", str(tmp_path / "store")]
    res = CliRunner().invoke(cli, ["server", "--port", str(_free_port()), *argv])
    assert res.exit_code == 1, res.output
    assert res.output.startswith("Error: ") and command in res.output and blocked in res.output
    assert "listening" not in res.output
    assert not (tmp_path / "store").exists()  # nothing was created
