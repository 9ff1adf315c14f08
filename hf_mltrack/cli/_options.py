"""Options and look-ups shared by several command families."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from ..entities import Experiment
    from ..tracking import MlTrackClient

tracking_uri_option = click.option(
    "--tracking-uri", envvar="HF_MLTRACK_TRACKING_URI", default=None, help="Store to use (default: ./mlruns)."
)


def read_client(tracking_uri: str | None) -> MlTrackClient:
    """A client for a command that only reads: a local store that does not exist is an error.

    Opening a SQLite store creates it, so a mistyped ``--tracking-uri`` folder would otherwise show an
    empty store (and leave one behind) instead of saying that nothing is there.
    """
    from ..tracking import MlTrackClient
    from ..tracking._uri import resolve_tracking_uri

    uri = resolve_tracking_uri(tracking_uri)
    if uri.startswith("sqlite:///"):
        path = uri[len("sqlite:///") :]
        if path and path != ":memory:" and not path.startswith("file:") and not os.path.exists(path):
            given = tracking_uri or os.environ.get("HF_MLTRACK_TRACKING_URI") or "./mlruns (the default)"
            raise click.ClickException(
                f"No tracking store at {given!r} (no file {path}): check --tracking-uri or "
                "HF_MLTRACK_TRACKING_URI (a store is created by the first run logged to it)"
            )
    return MlTrackClient(uri)


def resolve_experiment(client: MlTrackClient, id_or_name: str) -> Experiment:
    """The experiment named by an id or a name (``-x 3`` or ``-x LLM-FineTuning``); unknown is an error."""
    from ..exceptions import ResourceNotFoundError

    experiment = None
    if id_or_name.isdigit():
        try:
            experiment = client.get_experiment(id_or_name)
        except ResourceNotFoundError:
            experiment = None
    if experiment is None:
        experiment = client.get_experiment_by_name(id_or_name)
    if experiment is None:
        raise click.ClickException(
            f"No experiment with id or name {id_or_name!r} in {client.tracking_uri}: "
            "list them with `hf-mltrack experiments search`"
        )
    return experiment


def latest_experiment(client: MlTrackClient) -> Experiment:
    """The experiment of the run started last (what a user just ran, e.g. the quickstart's), else the
    experiment created last."""
    from ..entities import ViewType

    found = list(client.search_experiments(ViewType.ACTIVE_ONLY, 50_000))
    if not found:
        raise click.ClickException(f"No active experiment in {client.tracking_uri}: create one first")
    by_id = {e.experiment_id: e for e in found}
    newest = client.search_runs(list(by_id), max_results=1, order_by=["attributes.start_time DESC"])
    if newest:
        return by_id[newest[0].info.experiment_id]
    return max(found, key=lambda e: (e.creation_time or 0, int(e.experiment_id) if e.experiment_id.isdigit() else 0))
