"""``help()`` reads well: public functions of ``hf_mltrack`` and `MlTrackClient` have HF-style docstrings."""

from __future__ import annotations

import inspect
import re

import pytest

import hf_mltrack

# Modules whose owners are done; the others (tracing, ...) are checked once they are.
_CHECKED_MODULES = ("hf_mltrack.tracking", "hf_mltrack.registry", "hf_mltrack.artifacts")
_ARG_LINE = re.compile(r"^    (\w+)(, \w+)* \(", re.MULTILINE)


def _public_functions() -> list[tuple[str, object]]:
    out = []
    for name in hf_mltrack.__all__:
        obj = getattr(hf_mltrack, name)
        if inspect.isfunction(obj):
            out.append((f"hf_mltrack.{name}", obj))
    for klass in hf_mltrack.MlTrackClient.__mro__:
        if not klass.__module__.startswith(_CHECKED_MODULES):
            continue
        for name, obj in vars(klass).items():
            if not name.startswith("_") and inspect.isfunction(obj):
                out.append((f"MlTrackClient.{name}", obj))
    return [(n, f) for n, f in out if f.__module__.startswith(_CHECKED_MODULES)]


FUNCTIONS = _public_functions()


def test_there_is_something_to_check() -> None:
    names = {n for n, _ in FUNCTIONS}
    assert {
        "hf_mltrack.log_metric",
        "MlTrackClient.search_runs",
        "MlTrackClient.get_latest_versions",
    } <= names


@pytest.mark.parametrize("name,function", FUNCTIONS, ids=[n for n, _ in FUNCTIONS])
def test_hf_style_docstring(name: str, function: object) -> None:
    doc = inspect.getdoc(function)
    assert doc, f"{name} has no docstring"
    params = [
        p
        for p in inspect.signature(function).parameters.values()
        if p.name not in ("self", "cls") and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    if not params:
        return
    assert "\nArgs:\n" in doc, f"{name} takes {[p.name for p in params]} but its docstring has no Args: section"
    args = doc.split("\nArgs:\n", 1)[1].split("\n\n", 1)[0]
    documented = set()
    for match in _ARG_LINE.finditer(args):
        documented |= {part.strip(", ") for part in match.group(0).strip().rstrip("(").split(",")}
    missing = [p.name for p in params if p.name not in documented]
    assert not missing, f"{name}: Args does not describe {missing}"
    assert re.search(r"\(`[^`]+`(, \*optional\*)?", args), f"{name}: use ``name (`type`, *optional*): ...``"
