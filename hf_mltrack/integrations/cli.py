"""``hf-mltrack integrations``: install or remove the start-up hook behind ``--report_to hf_mltrack``."""

from __future__ import annotations

import click


@click.group("integrations")
def integrations() -> None:
    """Integrations with training libraries (transformers report_to, accelerate)."""


@integrations.command("install-hook")
@click.option(
    "--site-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Defaults to this Python's site-packages.",
)
def install_hook(site_dir: str | None) -> None:
    """Make report_to="hf_mltrack" work in scripts that never import hf_mltrack.

    Writes a one-line .pth file that costs microseconds at interpreter start-up and registers
    hf_mltrack with transformers when (and only when) a script imports transformers' integrations.
    """
    from ._startup import install_startup_hook

    click.echo(f"Installed {install_startup_hook(site_dir)}")


@integrations.command("uninstall-hook")
@click.option("--site-dir", type=click.Path(file_okay=False), default=None)
def uninstall_hook(site_dir: str | None) -> None:
    """Remove the start-up hook."""
    from ._startup import PTH_NAME, uninstall_startup_hook

    click.echo("Removed the start-up hook" if uninstall_startup_hook(site_dir) else f"No {PTH_NAME} to remove")


@integrations.command("status")
@click.option("--site-dir", type=click.Path(file_okay=False), default=None)
def status(site_dir: str | None) -> None:
    """Show whether the start-up hook is installed."""
    from ._startup import startup_hook_path

    path = startup_hook_path(site_dir)
    click.echo(
        f"start-up hook: {path}" if path else "start-up hook: not installed (hf-mltrack integrations install-hook)"
    )
