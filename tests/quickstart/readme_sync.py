"""Generated parts of README.md: the configuration table, the CLI reference, the benchmark table.

Each lives between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->`` markers; ``test_readme.py`` checks
they are current. After changing an ``HF_MLTRACK_*`` variable, a command, or ``benchmarks/README.md``::

    python tests/quickstart/readme_sync.py          # rewrite the blocks in README.md
"""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
BENCHMARKS_README = ROOT / "benchmarks" / "README.md"

# Commands defined in hf_mltrack/cli/ that the README documents even before they are registered.
_PENDING_COMMANDS = {
    "gc": "hf_mltrack.cli.server:gc",
    "server": "hf_mltrack.cli.server:server",
    "ui": "hf_mltrack.cli.server:ui",
}


# ---- configuration ------------------------------------------------------------------------------
def env_vars() -> list[Any]:
    """Every `EnvVar`, from the one table `hf_mltrack._env.ALL`."""
    from hf_mltrack import _env

    return list(_env.ALL)


def _default(var: Any) -> str:
    if var.default is None:
        return "—"
    if var.type is bool:
        return "`true`" if var.default else "`false`"
    return f"`{var.default}`"


def env_table() -> str:
    """The markdown table of every ``HF_MLTRACK_*`` variable."""
    lines = ["| variable | type | default | meaning |", "|---|---|---|---|"]
    for var in env_vars():
        doc = " ".join(var.doc.split()).replace("|", "\\|")
        lines.append(f"| `{var.name}` | {var.type.__name__} | {_default(var)} | {doc} |")
    return "\n".join(lines)


# ---- CLI reference ----------------------------------------------------------------------------
def commands() -> dict[str, Any]:
    """Top-level command name -> click command (registered ones and the pending ones that import)."""
    import click

    from hf_mltrack.cli import _COMMANDS, cli

    ctx = click.Context(cli)
    out = {name: cli.get_command(ctx, name) for name in cli.list_commands(ctx)}
    for name, target in _PENDING_COMMANDS.items():
        if name not in out:
            module, attr = target.split(":")
            try:
                out[name] = getattr(importlib.import_module(module), attr)
            except (ImportError, AttributeError):
                continue
    assert set(_COMMANDS) <= set(out)
    return dict(sorted(out.items()))


def _help(args: list[str]) -> str:
    from click.testing import CliRunner

    from hf_mltrack.cli import _COMMANDS, cli

    added = {k: v for k, v in _PENDING_COMMANDS.items() if k not in _COMMANDS}
    _COMMANDS.update(added)  # documented as `hf-mltrack <name>` even before registration
    try:
        result = CliRunner().invoke(cli, [*args, "--help"], prog_name="hf-mltrack", terminal_width=100)
    finally:
        for key in added:
            _COMMANDS.pop(key, None)
    assert result.exit_code == 0, result.output
    return result.output.rstrip()


def cli_reference() -> str:
    """``hf-mltrack --help``, then each command's (and each subcommand's) help in a collapsible block."""
    import click

    parts = ["```text", "$ hf-mltrack --help", _help([]), "```", ""]
    for name, command in commands().items():
        summary = command.get_short_help_str(limit=90)
        parts += [f"<details><summary><code>hf-mltrack {name}</code> — {summary}</summary>", ""]
        parts += ["```text", _help([name])]
        if isinstance(command, click.Group):
            for sub in command.list_commands(click.Context(command)):
                parts += ["", f"$ hf-mltrack {name} {sub} --help", _help([name, sub])]
        parts += ["```", "", "</details>", ""]
    return "\n".join(parts).rstrip()


def command_names() -> list[str]:
    """``"quickstart"``, ``"runs list"``, ...: every command path the README must name."""
    import click

    names = []
    for name, command in commands().items():
        names.append(name)
        if isinstance(command, click.Group):
            names += [f"{name} {sub}" for sub in command.list_commands(click.Context(command))]
    return names


# ---- benchmarks ---------------------------------------------------------------------------------
_TABLE = re.compile(r"(?:^\|.*\|[ \t]*\n)+", re.MULTILINE)


def benchmark_table() -> str | None:
    """The headline table of ``benchmarks/README.md``: the one between ``<!-- headline:start/end -->``
    markers if present, else its first markdown table; None when the file or a table is missing."""
    if not BENCHMARKS_README.is_file():
        return None
    text = BENCHMARKS_README.read_text(encoding="utf-8")
    marked = block(text, "headline")
    if marked is not None:
        text = marked + "\n"
    match = _TABLE.search(text)
    return match.group(0).rstrip() if match else None


_NO_BENCHMARKS = (
    "_The measured table appears here once `benchmarks/README.md` is written (`python tests/quickstart/"
    "readme_sync.py` copies its headline table)._"
)


# ---- blocks -----------------------------------------------------------------------------------
def _markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def block(text: str, name: str) -> str | None:
    """The text between a block's markers (stripped), or None when the markers are missing."""
    start, end = _markers(name)
    if start not in text or end not in text:
        return None
    return text.split(start, 1)[1].split(end, 1)[0].strip()


def replace_block(text: str, name: str, content: str) -> str:
    start, end = _markers(name)
    if start not in text or end not in text:
        raise ValueError(f"README.md has no {start} ... {end} block")
    head, rest = text.split(start, 1)
    _old, tail = rest.split(end, 1)
    return f"{head}{start}\n{content}\n{end}{tail}"


def generated_blocks() -> dict[str, str]:
    return {
        "env-table": env_table(),
        "cli-reference": cli_reference(),
        "benchmarks": benchmark_table() or _NO_BENCHMARKS,
    }


def sync(text: str) -> str:
    for name, content in generated_blocks().items():
        text = replace_block(text, name, content)
    return text


def main() -> int:
    old = README.read_text(encoding="utf-8")
    new = sync(old)
    if new != old:
        README.write_text(new, encoding="utf-8")
        print("README.md updated")
    else:
        print("README.md already current")
    return 0


if __name__ == "__main__":
    sys.exit(main())
