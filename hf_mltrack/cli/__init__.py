"""The ``hf-mltrack`` command line: one click group, one module per command family, loaded lazily.

User errors become one ``Error: ...`` line and exit code 1 (2 for usage errors), never a traceback:
commands raise `hf_mltrack.exceptions.MlTrackException` (or `click.ClickException`) and `_LazyGroup.invoke`
translates them here, once, for every command.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

# command name -> "module:attribute"; modules import only when their command runs.
_COMMANDS: dict[str, str] = {
    "artifacts": "hf_mltrack.cli.artifacts:artifacts",
    "db": "hf_mltrack.cli.db:db",
    "doctor": "hf_mltrack.cli.doctor:doctor",
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

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.exceptions.Exit:
            raise
        except click.ClickException:
            raise
        except Exception as exc:
            error = as_click_error(exc)
            if error is None:
                raise
            raise error from exc


def as_click_error(exc: Exception) -> click.ClickException | None:
    """The one translation of a user error into click's ``Error: ...`` line (bugs keep their traceback)."""
    from ..exceptions import MlTrackException

    if isinstance(exc, MlTrackException):
        # a wrapped driver error may carry SQLAlchemy's "(Background on this error at: <url>)" line
        return click.ClickException(exc.message.split("\n(Background on this error")[0])
    if isinstance(exc, ConnectionError):  # e.g. the tracking server is down: the message names it and the fix
        return click.ClickException(str(exc))
    if isinstance(exc, (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError)):
        # a path the user gave (a file to log, a destination folder)
        return click.ClickException(f"{exc.strerror or exc}: {exc.filename!r}")
    return None


@click.group(
    cls=_LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "HF_MLTRACK"},
)
@click.version_option(package_name="hf_mltrack")
def cli() -> None:
    """hf-mltrack: experiment tracking and model registry for HuggingFace fine-tuning."""


def main() -> None:
    cli()
