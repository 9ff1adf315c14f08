"""``hf-mltrack runs``: list, describe, delete and restore runs."""

from __future__ import annotations

import json

import click

from ._options import tracking_uri_option

_URI = tracking_uri_option


@click.group()
def runs() -> None:
    """Inspect and manage runs."""


@runs.command("list")
@click.option("--experiment-id", "-x", default="0", show_default=True)
@click.option("--filter", "filter_string", default="", help='e.g. "metrics.eval_loss < 1.5"')
@click.option("--order-by", multiple=True, help="e.g. 'metrics.eval_loss ASC' (repeatable)")
@click.option("--max-results", default=100, show_default=True)
@_URI
def list_runs(
    experiment_id: str,
    filter_string: str,
    order_by: tuple[str, ...],
    max_results: int,
    tracking_uri: str | None,
) -> None:
    """List the runs of an experiment."""
    from ..tracking import MlTrackClient

    found = MlTrackClient(tracking_uri).search_runs(
        [experiment_id], filter_string, max_results=max_results, order_by=list(order_by)
    )
    click.echo(f"{'run id':<32}  {'status':<9}  name")
    for run in found:
        click.echo(f"{run.info.run_id:<32}  {run.info.status:<9}  {run.info.run_name}")


@runs.command()
@click.option("--run-id", "-r", required=True)
@_URI
def describe(run_id: str, tracking_uri: str | None) -> None:
    """Print a run as JSON."""
    from ..tracking import MlTrackClient

    click.echo(json.dumps(MlTrackClient(tracking_uri).get_run(run_id).to_dict(), indent=2))


@runs.command()
@click.option("--run-id", "-r", required=True)
@_URI
def delete(run_id: str, tracking_uri: str | None) -> None:
    """Delete a run (soft)."""
    from ..tracking import MlTrackClient

    MlTrackClient(tracking_uri).delete_run(run_id)
    click.echo(f"Run {run_id} deleted")


@runs.command()
@click.option("--run-id", "-r", required=True)
@_URI
def restore(run_id: str, tracking_uri: str | None) -> None:
    """Restore a deleted run."""
    from ..tracking import MlTrackClient

    MlTrackClient(tracking_uri).restore_run(run_id)
    click.echo(f"Run {run_id} restored")
