"""``hf-mltrack artifacts``: list, download and log run artifacts (MLflow's ``mlflow artifacts``)."""

from __future__ import annotations

import click

from ._options import read_client, tracking_uri_option

_URI = tracking_uri_option
_RUN = click.option("--run-id", "-r", default=None, help="The run whose artifacts to use.")
_PATH = click.option("--artifact-path", "-a", default=None, help="File or folder under the run's artifact root.")
_ARTIFACT_URI = click.option(
    "--artifact-uri", "-u", default=None, help="Instead of --run-id: e.g. runs:/<run_id>/model, s3://bucket/path."
)


@click.group()
def artifacts() -> None:
    """List, download and log run artifacts."""


def _target(run_id: str | None, artifact_uri: str | None, tracking_uri: str | None) -> str | None:
    """The tracking URI to look runs up in (after checking the store exists); exactly one target is given."""
    if (run_id is None) == (artifact_uri is None):
        raise click.UsageError("Give exactly one of --run-id (with --artifact-path) or --artifact-uri")
    if run_id is not None:
        from .runs import get_run

        client = read_client(tracking_uri)
        get_run(client, run_id)
        return client.tracking_uri
    return tracking_uri


@artifacts.command("list")
@_RUN
@_PATH
@_ARTIFACT_URI
@_URI
def list_command(
    run_id: str | None, artifact_path: str | None, artifact_uri: str | None, tracking_uri: str | None
) -> None:
    """List the files and folders directly under a run's artifact path (or an artifact URI)."""
    from ..artifacts import list_artifacts

    uri = _target(run_id, artifact_uri, tracking_uri)
    infos = list_artifacts(artifact_uri=artifact_uri, run_id=run_id, artifact_path=artifact_path, tracking_uri=uri)
    for info in infos:
        size = "-" if info.is_dir or info.file_size is None else str(info.file_size)
        click.echo(f"{size:>12}  {info.path}{'/' if info.is_dir else ''}")
    if not infos:
        click.echo(f"(nothing under {artifact_path or artifact_uri or 'the artifact root'})", err=True)


@artifacts.command("download")
@_RUN
@_PATH
@_ARTIFACT_URI
@click.option("--dst-path", "-d", default=None, help="Local folder to download into (default: a temporary one).")
@_URI
def download_command(
    run_id: str | None,
    artifact_path: str | None,
    artifact_uri: str | None,
    dst_path: str | None,
    tracking_uri: str | None,
) -> None:
    """Download a run's artifact file or folder (or an artifact URI) and print its local path."""
    from ..artifacts import download_artifacts

    uri = _target(run_id, artifact_uri, tracking_uri)
    click.echo(
        download_artifacts(
            artifact_uri=artifact_uri, run_id=run_id, artifact_path=artifact_path, dst_path=dst_path, tracking_uri=uri
        )
    )


@artifacts.command("log-artifact")
@click.option("--local-file", "-l", required=True, type=click.Path(exists=True), help="File or folder to log.")
@click.option("--run-id", "-r", required=True, help="The run to log to.")
@_PATH
@_URI
def log_artifact_command(local_file: str, run_id: str, artifact_path: str | None, tracking_uri: str | None) -> None:
    """Log a local file (or folder, under its own name) as an artifact of a run."""
    from .runs import get_run

    client = read_client(tracking_uri)
    get_run(client, run_id)
    client.log_artifact(run_id, local_file, artifact_path)
    click.echo(f"Logged {local_file} to run {run_id}" + (f" under {artifact_path}" if artifact_path else ""))


@artifacts.command("log-artifacts")
@click.option("--local-dir", "-l", required=True, type=click.Path(exists=True, file_okay=False), help="Folder to log.")
@click.option("--run-id", "-r", required=True, help="The run to log to.")
@_PATH
@_URI
def log_artifacts_command(local_dir: str, run_id: str, artifact_path: str | None, tracking_uri: str | None) -> None:
    """Log the contents of a local folder as artifacts of a run."""
    from .runs import get_run

    client = read_client(tracking_uri)
    get_run(client, run_id)
    client.log_artifacts(run_id, local_dir, artifact_path)
    click.echo(
        f"Logged the contents of {local_dir} to run {run_id}" + (f" under {artifact_path}" if artifact_path else "")
    )
