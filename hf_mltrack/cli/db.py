"""``hf-mltrack db``: schema migrations of a tracking database."""

from __future__ import annotations

import click


@click.group()
def db() -> None:
    """Manage the tracking database schema."""


@db.command()
@click.argument("url")
def upgrade(url: str) -> None:
    """Upgrade the database at URL (e.g. sqlite:///mlruns/mltrack.db) to the newest schema.

    Back up the database first: migrations change tables in place.
    """
    from ..store.sql.engine import redact
    from ..store.sql.engine import upgrade as run_upgrade
    from ..tracking._uri import resolve_tracking_uri

    resolved = resolve_tracking_uri(url)
    revision = run_upgrade(resolved)
    click.echo(f"{redact(resolved)} is at schema revision {revision}")
