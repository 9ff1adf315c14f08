"""``hf-mltrack journal``: list and send the client journal (writes kept while a server was unreachable).

The journal lives under ``HF_MLTRACK_HTTP_JOURNAL_DIR`` (default ``<HF_MLTRACK_HOME or
~/.cache/hf_mltrack>/journal``), one file per server, user and run (see `hf_mltrack.store.journal`).
A running job sends its own journal as soon as the server answers; these commands are for what a
job left behind, e.g. data the server refused with 401/403 (expired credentials).
"""

from __future__ import annotations

import os

import click


@click.group()
def journal() -> None:
    """List and send data kept while a tracking server was unreachable."""


def _selected(server: str | None, run_id: str | None, user: str | None, every_user: bool):  # type: ignore[no-untyped-def]
    from ..store.journal import current_user_key, iter_journals

    wanted_user = None if every_user else (user or current_user_key())
    for host, key, _folder, j in iter_journals():
        if server and host.rstrip("/") != server.rstrip("/"):
            continue
        if run_id and j.run_id != run_id:
            continue
        if wanted_user is not None and key != wanted_user:
            continue
        yield host, key, j


@journal.command("list")
@click.option("--server", default=None, help="Only this server (http://host:port).")
def list_journal(server: str | None) -> None:
    """Every run with data not yet delivered (or refused), per server and user."""
    from ..store.journal import describe

    rows = [describe(host, key, j) for host, key, j in _selected(server, None, None, every_user=True)]
    rows = [r for r in rows if r.requests or r.rejected]
    from ..tracking._spill import spill_dir

    spills = [n for n in (os.listdir(spill_dir()) if os.path.isdir(spill_dir()) else []) if n.endswith(".spill")]
    for name in spills:
        click.echo(
            f"embedded-store spill file (restored by the next process that logs): {os.path.join(spill_dir(), name)}"
        )
    if not rows:
        click.echo("Nothing is waiting: every journaled write was delivered.")
        return
    click.echo(f"{'server':<28}  {'user':<24}  {'run id':<32}  {'requests':>8}  {'points':>9}  {'refused':>7}  path")
    for r in rows:
        click.echo(
            f"{r.server:<28}  {r.user:<24}  {r.run_id:<32}  {r.requests:>8}  {r.metric_points:>9}  "
            f"{r.rejected:>7}  {r.path}"
        )


@journal.command("replay")
@click.option("--server", default=None, help="Only this server (http://host:port).")
@click.option("--run-id", default=None, help="Only this run (the id the job held).")
@click.option(
    "--user",
    "user_key",
    default=None,
    help="Send the journal kept under this user key (see `journal list`) with the current credentials; "
    "by default only the current credentials' own journal is sent.",
)
@click.option("--all-users", is_flag=True, help="Send every user's journal with the current credentials.")
@click.option("--username", envvar="HF_MLTRACK_TRACKING_USERNAME", default=None, help="Basic-auth user.")
@click.option("--password", envvar="HF_MLTRACK_TRACKING_PASSWORD", default=None, help="Basic-auth password.")
@click.option("--token", envvar="HF_MLTRACK_TRACKING_TOKEN", default=None, help="Bearer token.")
def replay(
    server: str | None,
    run_id: str | None,
    user_key: str | None,
    all_users: bool,
    username: str | None,
    password: str | None,
    token: str | None,
) -> None:
    """Send journaled writes now, with the given credentials. Nothing is deleted unless delivered."""
    from .. import _env
    from ..exceptions import PermissionDeniedError, UnauthenticatedError
    from ..store.rest import TrackingServerUnavailableError
    from ..store.rest_delivery import replay_journal

    for var, value in (
        (_env.TRACKING_USERNAME, username),
        (_env.TRACKING_PASSWORD, password),
        (_env.TRACKING_TOKEN, token),
    ):
        if value is not None:
            var.set(value)
    failed = False
    found = False
    for host, key, j in _selected(server, run_id, user_key, all_users):
        if not j.refresh():
            continue
        found = True
        try:
            sent, refused = replay_journal(j, host)
        except (UnauthenticatedError, PermissionDeniedError) as exc:
            failed = True
            click.echo(f"{host} refused run {j.run_id} ({exc.message}); kept: {j.path}", err=True)
            continue
        except TrackingServerUnavailableError as exc:
            failed = True
            click.echo(f"{host} is unreachable ({exc}); kept: {j.path}", err=True)
            continue
        if sent < 0:
            click.echo(f"{host} run {j.run_id}: another process is sending it right now")
            continue
        note = f", {refused} refused (kept in {j.rejected_path})" if refused else ""
        click.echo(f"{host} run {j.run_id} ({key}): sent {sent} requests{note}")
        failed = failed or bool(refused)
    from ..tracking._spill import has_orphans, replay_orphans

    if has_orphans():  # points of killed processes that waited for an embedded store's commit
        found = True
        click.echo(f"restored {replay_orphans()} spilled metric points of killed processes into their stores")
    if not found:
        click.echo("Nothing to send for these credentials (see `hf-mltrack journal list`).")
    if failed:
        raise SystemExit(1)
