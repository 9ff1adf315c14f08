"""``hf-mltrack run``: run an MLproject entry point as a tracked run (MLflow's ``mlflow run``)."""

from __future__ import annotations

import json
import logging

import click

_ENV_MANAGERS = ("local", "virtualenv", "uv", "conda", "docker")


def _pairs(values: tuple[str, ...], option: str, *, flags: bool = False) -> dict[str, object]:
    parsed: dict[str, object] = {}
    for item in values:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not key or (not sep and not flags):
            raise click.BadParameter(f"{item!r} is not NAME=VALUE", param_hint=option)
        if key in parsed:
            raise click.BadParameter(f"{key!r} is given more than once", param_hint=option)
        parsed[key] = value if sep else True
    return parsed


def _backend_config(value: str | None) -> dict[str, object] | None:
    if not value:
        return None
    try:
        if value.strip()[:1] in ("{", "["):
            config = json.loads(value)
        else:
            with open(value, encoding="utf-8") as handle:
                config = json.load(handle)
    except (OSError, json.JSONDecodeError) as exc:
        raise click.BadParameter(
            f"{value!r} is neither a JSON object nor a JSON file ({exc})", param_hint="--backend-config"
        ) from exc
    if not isinstance(config, dict):
        raise click.BadParameter(f"{value!r} must be a JSON object", param_hint="--backend-config")
    return config


class _StderrHandler(logging.Handler):
    """Writes to the current stderr at each record (click's test runner swaps it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            click.echo(self.format(record), err=True)
        except Exception:
            self.handleError(record)


def _show_progress() -> None:
    """Print the launcher's progress (environment builds, the command it runs) on stderr."""
    logger = logging.getLogger("hf_mltrack.projects")
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("hf-mltrack run: %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)


@click.command("run")
@click.argument("uri")
@click.option("--entry-point", "-e", default="main", show_default=True, help="Entry point, or a .py/.sh file.")
@click.option("--version", "-v", default=None, help="Git branch, tag or commit (git projects).")
@click.option("--param-list", "-P", multiple=True, metavar="NAME=VALUE", help="A parameter (repeatable).")
@click.option(
    "--docker-args", "-A", multiple=True, metavar="NAME[=VALUE]", help="Extra `docker run` flag (repeatable)."
)
@click.option("--experiment-name", default=None, help="Experiment name, created if absent.")
@click.option("--experiment-id", default=None, help="Experiment id.")
@click.option("--run-name", default=None, help="Display name of the run.")
@click.option("--run-id", default=None, help="Log into this existing run instead of creating one.")
@click.option(
    "--env-manager",
    type=click.Choice(_ENV_MANAGERS, case_sensitive=False),
    default=None,
    help="Environment (default: what the project declares: docker_env, python_env, conda_env, else local).",
)
@click.option("--no-conda", is_flag=True, hidden=True, help="Deprecated: same as --env-manager local.")
@click.option("--backend", "-b", default="local", show_default=True, help="Only 'local' is supported.")
@click.option("--backend-config", "-c", default=None, help="JSON object or JSON file (unused by 'local').")
@click.option("--storage-dir", default=None, help="Where remote values of path parameters are downloaded.")
@click.option(
    "--tracking-uri", envvar="HF_MLTRACK_TRACKING_URI", default=None, help="Store to use (default: ./mlruns)."
)
def run(
    uri: str,
    entry_point: str,
    version: str | None,
    param_list: tuple[str, ...],
    docker_args: tuple[str, ...],
    experiment_name: str | None,
    experiment_id: str | None,
    run_name: str | None,
    run_id: str | None,
    env_manager: str | None,
    no_conda: bool,
    backend: str,
    backend_config: str | None,
    storage_dir: str | None,
    tracking_uri: str | None,
) -> None:
    """Run the project at URI (a folder or a git repository, `URI#subdir` for a subfolder).

    \b
    Example:
      hf-mltrack run ./ -e main -P learning_rate=3e-4 -P epochs=5 --experiment-name LLM-FineTuning
      hf-mltrack run https://github.com/org/repo.git --version v1.0.0 -P learning_rate=1e-4
    """
    from ..exceptions import MlTrackException

    if no_conda:
        if env_manager not in (None, "local"):
            raise click.UsageError("--no-conda conflicts with --env-manager; use --env-manager local alone")
        click.echo("--no-conda is deprecated: use --env-manager local", err=True)
        env_manager = "local"
    parameters = _pairs(param_list, "--param-list / -P")
    docker = _pairs(docker_args, "--docker-args / -A", flags=True)
    config = _backend_config(backend_config)
    import hf_mltrack.projects as projects

    _show_progress()

    if tracking_uri:
        import hf_mltrack

        hf_mltrack.set_tracking_uri(tracking_uri)
    try:
        submitted = projects.run(
            uri,
            entry_point=entry_point,
            version=version,
            parameters=parameters,
            experiment_name=experiment_name,
            experiment_id=experiment_id,
            run_name=run_name,
            env_manager=env_manager.lower() if env_manager else None,
            backend=backend,
            backend_config=config,
            storage_dir=storage_dir,
            run_id=run_id,
            docker_args=docker or None,
            synchronous=True,
        )
    except MlTrackException as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"=== Run (ID '{submitted.run_id}') succeeded ===", err=True)
