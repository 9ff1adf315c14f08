"""``hf-mltrack runs``: list, describe, delete and restore runs."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import click

from ._options import latest_experiment, read_client, resolve_experiment, tracking_uri_option

if TYPE_CHECKING:
    from ..entities import Run
    from ..tracking import MlTrackClient

_URI = tracking_uri_option


@click.group()
def runs() -> None:
    """Inspect and manage runs."""


def get_run(client: MlTrackClient, run_id: str) -> Run:
    from ..exceptions import ResourceNotFoundError

    try:
        return client.get_run(run_id)
    except ResourceNotFoundError as exc:
        raise click.ClickException(
            f"No run with id {run_id!r} in {client.tracking_uri}: list the runs with `hf-mltrack runs list`"
        ) from exc


def _column_value(run: Run, column: str) -> Any:
    kind, _, key = column.partition(".")
    values: Mapping[str, Any] | None = (
        (run.data.metrics if kind == "metrics" else run.data.params if kind == "params" else run.data.tags)
        if kind in ("metrics", "params", "tags")
        else None
    )
    if values is None or not key:
        raise click.BadParameter(
            f"{column!r}: use metrics.<key>, params.<key> or tags.<key>, e.g. -c metrics.eval_loss",
            param_hint="--columns",
        )
    value = values.get(key)
    return "" if value is None else value


def _columns(given: tuple[str, ...]) -> list[str]:
    return [c.strip() for item in given for c in item.split(",") if c.strip()]


@runs.command("list")
@click.option(
    "--experiment-id",
    "-x",
    default=None,
    help="Experiment id or name (default: the experiment of the latest run).",
)
@click.option("--filter", "filter_string", default="", help='e.g. "metrics.eval_loss < 1.5"')
@click.option("--order-by", multiple=True, help="e.g. 'metrics.eval_loss ASC' (repeatable)")
@click.option("--max-results", default=100, show_default=True, type=click.IntRange(1, 50_000))
@click.option(
    "--columns",
    "-c",
    multiple=True,
    help="Extra columns, comma-separated or repeated: metrics.<key>, params.<key>, tags.<key>.",
)
@click.option("--view", "view_type", default="ACTIVE_ONLY", type=click.Choice(["ACTIVE_ONLY", "DELETED_ONLY", "ALL"]))
@_URI
def list_runs(
    experiment_id: str | None,
    filter_string: str,
    order_by: tuple[str, ...],
    max_results: int,
    columns: tuple[str, ...],
    view_type: str,
    tracking_uri: str | None,
) -> None:
    """List the runs of an experiment, with chosen metric, param and tag columns."""
    from ..entities import ViewType

    client = read_client(tracking_uri)
    if experiment_id is None:
        experiment = latest_experiment(client)
        click.echo(
            f"Experiment {experiment.name!r} (id {experiment.experiment_id}), the latest; "
            "choose another with -x ID|NAME",
            err=True,
        )
    else:
        experiment = resolve_experiment(client, experiment_id)
    extra = _columns(columns)
    found = client.search_runs(
        [experiment.experiment_id],
        filter_string,
        run_view_type=ViewType.parse(view_type),
        max_results=max_results,
        order_by=list(order_by),
    )
    rows = [[run.info.run_id, run.info.status, run.info.run_name or ""] for run in found]
    for row, run in zip(rows, found, strict=True):
        row.extend(str(_column_value(run, c)) for c in extra)
    header = ["run id", "status", "name", *extra]
    widths = [max([len(header[i]), *(len(r[i]) for r in rows)]) for i in range(len(header))]
    click.echo("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip())
    for row in rows:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
    if not rows:
        click.echo(f"(no runs{' matching the filter' if filter_string else ''})", err=True)


@runs.command()
@click.option("--run-id", "-r", required=True)
@click.option(
    "--format",
    "output",
    default="json",
    show_default=True,
    type=click.Choice(["json", "text"]),
    help="json: the run as MLflow's CLI prints it; text: info, params, metrics and tags as tables.",
)
@_URI
def describe(run_id: str, output: str, tracking_uri: str | None) -> None:
    """Print a run: its info, params, metrics and tags."""
    run = get_run(read_client(tracking_uri), run_id)
    if output == "json":
        click.echo(json.dumps(run.to_dict(), indent=2))
        return
    info = run.info
    click.echo(f"run {info.run_id}  name={info.run_name!r}  status={info.status}  experiment={info.experiment_id}")
    click.echo(f"artifacts: {info.artifact_uri}")
    for title, values in (("params", run.data.params), ("metrics", run.data.metrics), ("tags", run.data.tags)):
        click.echo(f"\n{title} ({len(values)})")
        width = max((len(k) for k in values), default=0)
        for key in sorted(values):
            click.echo(f"  {key.ljust(width)}  {values[key]}")


@runs.command()
@click.option("--run-id", "-r", required=True)
@_URI
def delete(run_id: str, tracking_uri: str | None) -> None:
    """Delete a run (soft)."""
    client = read_client(tracking_uri)
    get_run(client, run_id)
    client.delete_run(run_id)
    click.echo(f"Run {run_id} deleted")


@runs.command()
@click.option("--run-id", "-r", required=True)
@_URI
def restore(run_id: str, tracking_uri: str | None) -> None:
    """Restore a deleted run."""
    client = read_client(tracking_uri)
    get_run(client, run_id)
    client.restore_run(run_id)
    click.echo(f"Run {run_id} restored")
