"""``hf-mltrack experiments``: create, list, rename, delete, restore and export experiments."""

from __future__ import annotations

import click

from ._options import read_client, resolve_experiment, tracking_uri_option

_URI = tracking_uri_option


@click.group()
def experiments() -> None:
    """Manage experiments."""


@experiments.command()
@click.option("--experiment-name", "-n", required=True, help="Name of the new experiment.")
@click.option("--artifact-location", "-l", default=None, help="Where its runs store artifacts.")
@_URI
def create(experiment_name: str, artifact_location: str | None, tracking_uri: str | None) -> None:
    """Create an experiment and print its id."""
    from ..tracking import MlTrackClient

    exp_id = MlTrackClient(tracking_uri).create_experiment(experiment_name, artifact_location)
    click.echo(f"Created experiment {experiment_name!r} with id {exp_id}")


@experiments.command("search")
@click.option("--view", "view_type", default="ACTIVE_ONLY", type=click.Choice(["ACTIVE_ONLY", "DELETED_ONLY", "ALL"]))
@click.option("--filter", "filter_string", default=None, help="e.g. \"tags.team = 'nlp'\"")
@_URI
def search(view_type: str, filter_string: str | None, tracking_uri: str | None) -> None:
    """List experiments."""
    from ..entities import ViewType

    client = read_client(tracking_uri)
    rows = client.search_experiments(ViewType.parse(view_type), 50_000, filter_string)
    click.echo(f"{'id':>6}  {'name':<40}  artifact location")
    for exp in rows:
        click.echo(f"{exp.experiment_id:>6}  {exp.name:<40}  {exp.artifact_location}")


_EXPERIMENT = click.option("--experiment-id", "-x", required=True, help="Experiment id or name.")


@experiments.command()
@_EXPERIMENT
@click.option("--new-name", required=True)
@_URI
def rename(experiment_id: str, new_name: str, tracking_uri: str | None) -> None:
    """Rename an experiment."""
    client = read_client(tracking_uri)
    experiment = resolve_experiment(client, experiment_id)
    client.rename_experiment(experiment.experiment_id, new_name)
    click.echo(f"Experiment {experiment.experiment_id} ({experiment.name!r}) renamed to {new_name!r}")


@experiments.command()
@_EXPERIMENT
@_URI
def delete(experiment_id: str, tracking_uri: str | None) -> None:
    """Delete an experiment (soft: restore brings it back; `hf-mltrack gc` removes it for good)."""
    client = read_client(tracking_uri)
    experiment = resolve_experiment(client, experiment_id)
    client.delete_experiment(experiment.experiment_id)
    click.echo(f"Experiment {experiment.experiment_id} ({experiment.name!r}) deleted")


@experiments.command()
@_EXPERIMENT
@_URI
def restore(experiment_id: str, tracking_uri: str | None) -> None:
    """Restore a deleted experiment."""
    client = read_client(tracking_uri)
    experiment = resolve_experiment(client, experiment_id)
    client.restore_experiment(experiment.experiment_id)
    click.echo(f"Experiment {experiment.experiment_id} ({experiment.name!r}) restored")


@experiments.command("csv")
@_EXPERIMENT
@click.option("--filename", "-o", default=None, help="CSV file to write (default: standard output).")
@_URI
def csv_command(experiment_id: str, filename: str | None, tracking_uri: str | None) -> None:
    """Export the runs of an experiment as CSV: one row per run, columns for info, metrics, params, tags."""
    from ..tracking._dataframe import runs_to_dataframe

    client = read_client(tracking_uri)
    experiment = resolve_experiment(client, experiment_id)
    found: list = []
    token = None
    while True:
        page = client.search_runs([experiment.experiment_id], max_results=1000, page_token=token)
        found.extend(page)
        token = page.token
        if not token:
            break
    text = runs_to_dataframe(found).to_csv(index=False)
    if filename is None:
        click.echo(text, nl=False)
    else:
        with open(filename, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        click.echo(f"Wrote {len(found)} runs of experiment {experiment.name!r} to {filename}", err=True)
