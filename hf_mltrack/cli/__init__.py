"""The ``hf-mltrack`` command line: one click group, one module per command family, loaded lazily."""

from __future__ import annotations

import importlib

import click

# command name -> "module:attribute"; modules import only when their command runs.
_COMMANDS: dict[str, str] = {
    "db": "hf_mltrack.cli.db:db",
    "experiments": "hf_mltrack.cli.experiments:experiments",
    "gc": "hf_mltrack.cli.server:gc",
    "integrations": "hf_mltrack.integrations.cli:integrations",
    "journal": "hf_mltrack.cli.journal:journal",
    "quickstart": "hf_mltrack.cli.quickstart:quickstart",
    "recipes": "hf_mltrack.recipes.cli:recipes",
    "run": "hf_mltrack.cli.projects:run",
    "runs": "hf_mltrack.cli.runs:runs",
    "server": "hf_mltrack.cli.server:server",
    "ui": "hf_mltrack.cli.server:ui",
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(_COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in _COMMANDS:
            module_name, attr = _COMMANDS[cmd_name].split(":")
            return getattr(importlib.import_module(module_name), attr)
        return super().get_command(ctx, cmd_name)


@click.group(
    cls=_LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "HF_MLTRACK"},
)
@click.version_option(package_name="hf_mltrack")
def cli() -> None:
    """hf-mltrack: experiment tracking and model registry for HuggingFace fine-tuning."""


def main() -> None:
    cli()
