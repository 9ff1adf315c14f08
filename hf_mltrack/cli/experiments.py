"""``hf-mltrack experiments``: create, list, rename, delete and restore experiments."""

from __future__ import annotations

import click

from ._options import tracking_uri_option

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
    from ..tracking import MlTrackClient

    client = MlTrackClient(tracking_uri)
    rows = client.search_experiments(ViewType.parse(view_type), 50_000, filter_string)
    click.echo(f"{'id':>6}  {'name':<40}  artifact location")
    for exp in rows:
        click.echo(f"{exp.experiment_id:>6}  {exp.name:<40}  {exp.artifact_location}")


@experiments.command()
@click.option("--experiment-id", "-x", required=True)
@click.option("--new-name", required=True)
@_URI
def rename(experiment_id: str, new_name: str, tracking_uri: str | None) -> None:
    """Rename an experiment."""
    from ..tracking import MlTrackClient

    MlTrackClient(tracking_uri).rename_experiment(experiment_id, new_name)
    click.echo(f"Experiment {experiment_id} renamed to {new_name!r}")


@experiments.command()
@click.option("--experiment-id", "-x", required=True)
@_URI
def delete(experiment_id: str, tracking_uri: str | None) -> None:
    """Delete an experiment (soft: restore brings it back; `hf-mltrack gc` removes it for good)."""
    from ..tracking import MlTrackClient

    MlTrackClient(tracking_uri).delete_experiment(experiment_id)
    click.echo(f"Experiment {experiment_id} deleted")


@experiments.command()
@click.option("--experiment-id", "-x", required=True)
@_URI
def restore(experiment_id: str, tracking_uri: str | None) -> None:
    """Restore a deleted experiment."""
    from ..tracking import MlTrackClient

    MlTrackClient(tracking_uri).restore_experiment(experiment_id)
    click.echo(f"Experiment {experiment_id} restored")
