"""`run`: fetch a project, validate its parameters, create the tracked run and launch the entry point."""

from __future__ import annotations

import logging
import os
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .. import _env
from ..entities import Param, RunStatus, RunTag
from ..exceptions import InvalidParameterError, MlTrackException, ResourceAlreadyExistsError
from .environments import Environment, check_environment, prepare_environment, validate_env_manager
from .fetch import FetchedProject, fetch_project
from .parameters import build_argv, resolve_parameters
from .spec import EntryPoint, ExecutionError, Parameter, Project, load_project
from .submitted_run import LocalSubmittedRun, SubmittedRun

_logger = logging.getLogger(__name__)

SOURCE_NAME_TAG = "hf_mltrack.source.name"
SOURCE_TYPE_TAG = "hf_mltrack.source.type"
GIT_COMMIT_TAG = "hf_mltrack.source.git.commit"
GIT_REPO_URL_TAG = "hf_mltrack.source.git.repoURL"
GIT_BRANCH_TAG = "hf_mltrack.source.git.branch"
ENTRY_POINT_TAG = "hf_mltrack.project.entryPoint"
PROJECT_ENV_TAG = "hf_mltrack.project.env"
PROJECT_BACKEND_TAG = "hf_mltrack.project.backend"
DOCKER_IMAGE_TAG = "hf_mltrack.docker.image.name"
SOURCE_TYPE_PROJECT = "PROJECT"


def _experiment_id(client: Any, experiment_name: str | None, experiment_id: str | None) -> str:
    if experiment_name is not None and experiment_id is not None:
        raise InvalidParameterError(
            f"Give experiment_name ({experiment_name!r}) or experiment_id ({experiment_id!r}), not both"
        )
    if experiment_id is not None:
        return client.get_experiment(str(experiment_id)).experiment_id
    if experiment_name is not None:
        experiment = client.get_experiment_by_name(experiment_name)
        if experiment is not None:
            return experiment.experiment_id
        try:
            return client.create_experiment(experiment_name)
        except ResourceAlreadyExistsError:  # created concurrently by another launcher
            return client.get_experiment_by_name(experiment_name).experiment_id
    from ..tracking.fluent import _current_experiment_id

    return _current_experiment_id()


def _check_tracking_uri(uri: str) -> str:
    if uri in ("sqlite://", "sqlite:///:memory:") or uri.startswith("sqlite:///:memory:"):
        raise ExecutionError(
            f"The tracking URI {uri!r} is an in-memory database, which a project's process cannot "
            "reach: set a file or server tracking URI (hf_mltrack.set_tracking_uri('sqlite:///runs.db'))"
        )
    return uri


def _make_downloader(storage_dir: str | os.PathLike[str] | None, downloaded: dict[str, str]):
    def download(uri: str, param: Parameter) -> str:
        downloaded[param.name] = uri
        try:
            from ..artifacts import download_artifacts
        except (ImportError, AttributeError) as exc:
            raise InvalidParameterError(
                f"Parameter {param.name!r} (type path) got the remote URI {uri!r}, but artifact "
                "downloads are unavailable here: pass a local path, or declare the parameter as type uri"
            ) from exc
        base = Path(storage_dir) if storage_dir is not None else Path(tempfile.mkdtemp(prefix="hf_mltrack-params-"))
        dst = base / param.name
        dst.mkdir(parents=True, exist_ok=True)
        try:
            return str(Path(download_artifacts(artifact_uri=uri, dst_path=str(dst))).resolve())
        except Exception as exc:  # store, network or permission errors: name the parameter
            reason = exc.message if isinstance(exc, MlTrackException) else f"{type(exc).__name__}: {exc}"
            raise InvalidParameterError(
                f"Parameter {param.name!r} (type path): cannot download {uri!r}: {reason}"
            ) from exc

    return download


def _child_env(run_id: str, tracking_uri: str, experiment_id: str) -> dict[str, str]:
    env = dict(os.environ)
    # The child resumes exactly this run, wherever it runs from (its cwd is the project folder).
    env[_env.RUN_ID.name] = run_id
    env[_env.TRACKING_URI.name] = tracking_uri
    env[_env.EXPERIMENT_ID.name] = experiment_id
    env.pop(_env.EXPERIMENT_NAME.name, None)
    return env


def _tags(fetched: FetchedProject, project: Project, entry_point: EntryPoint, env_manager: str) -> dict[str, str]:
    tags = {
        SOURCE_NAME_TAG: fetched.source_name,
        SOURCE_TYPE_TAG: SOURCE_TYPE_PROJECT,
        ENTRY_POINT_TAG: entry_point.name,
        PROJECT_ENV_TAG: env_manager,
        PROJECT_BACKEND_TAG: "local",
    }
    if fetched.git_commit:
        tags[GIT_COMMIT_TAG] = fetched.git_commit
    if fetched.git_repo_url:
        tags[GIT_REPO_URL_TAG] = fetched.git_repo_url
    if fetched.version:
        tags[GIT_BRANCH_TAG] = fetched.version
    if env_manager == "docker" and project.docker_env is not None:
        tags[DOCKER_IMAGE_TAG] = project.docker_env.image
    return tags


def run(
    uri: str | os.PathLike[str],
    entry_point: str = "main",
    version: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    *,
    experiment_name: str | None = None,
    experiment_id: str | None = None,
    run_name: str | None = None,
    env_manager: str | None = None,
    synchronous: bool = True,
    backend: str | None = None,
    storage_dir: str | os.PathLike[str] | None = None,
    run_id: str | None = None,
    docker_args: Mapping[str, Any] | None = None,
    backend_config: Mapping[str, Any] | None = None,
) -> SubmittedRun:
    """Run an entry point of a project as a tracked run (MLflow's ``mlflow.run``).

    The project's command runs in a child process (no shell: parameter values are always single
    arguments) with ``HF_MLTRACK_RUN_ID``, ``HF_MLTRACK_TRACKING_URI`` and ``HF_MLTRACK_EXPERIMENT_ID``
    set, so ``hf_mltrack.start_run()`` in the project resumes the run created here and logs into it.

    ```python
    submitted = hf_mltrack.run(
        "./", entry_point="main", parameters={"learning_rate": 3e-4, "epochs": 5},
        experiment_name="LLM-FineTuning", env_manager="virtualenv",
    )
    hf_mltrack.get_run(submitted.run_id).data.metrics
    ```

    Args:
        uri (`str` or `os.PathLike`): a local folder or a git repository (``https://``, ``ssh://``,
            ``git@host:path``, ``file://``); ``uri#sub/dir`` runs the project in a subdirectory.
        entry_point (`str`, *optional*, defaults to `"main"`): an entry point of the MLproject file, or a
            ``.py``/``.sh`` file of the project.
        version (`str`, *optional*): the git branch, tag or commit to run (git projects only).
        parameters (`Mapping[str, Any]`, *optional*): parameter values; undeclared ones are passed as
            ``--key value``.
        experiment_name (`str`, *optional*): the experiment, created when it does not exist.
        experiment_id (`str`, *optional*): the experiment id (not together with ``experiment_name``).
        run_name (`str`, *optional*): the run's display name.
        env_manager (`str`, *optional*): ``local``, ``virtualenv``, ``uv``, ``conda`` or ``docker``;
            defaults to what the project declares (docker_env, python_env, conda_env) and else ``local``.
        synchronous (`bool`, *optional*, defaults to `True`): wait for the run to end; a failed run then
            raises `ExecutionError`. With ``False`` the returned handle's ``wait()`` does that.
        backend (`str`, *optional*): only ``"local"`` (the default) is supported.
        storage_dir (`str`, *optional*): where remote values of ``path`` parameters are downloaded.
        run_id (`str`, *optional*): log into this existing run instead of creating one.
        docker_args (`Mapping[str, Any]`, *optional*): extra ``docker run`` flags (``{"gpus": "all"}``).
        backend_config (`Mapping[str, Any]`, *optional*): unused by the local backend; must be empty.

    Returns:
        `SubmittedRun`: the handle (``run_id``, ``wait()``, ``get_status()``, ``cancel()``).

    Raises:
        ExecutionError: the project cannot be fetched, loaded or prepared, or (synchronous) the run failed.
        InvalidParameterError: a parameter has the wrong type or a required one is missing.
    """
    if backend not in (None, "local"):
        raise InvalidParameterError(f"Unsupported backend {backend!r}: hf_mltrack runs projects with 'local'")
    if backend_config:
        raise InvalidParameterError(
            f"backend_config {dict(backend_config)!r} is not used by the local backend: leave it empty"
        )
    env_manager = validate_env_manager(env_manager)
    fetched = fetch_project(os.fspath(uri), version)
    project = load_project(fetched.directory)
    entry = project.get_entry_point(entry_point)
    downloaded: dict[str, str] = {}
    declared, extra = resolve_parameters(
        entry, parameters, cwd=os.getcwd(), download=_make_downloader(storage_dir, downloaded)
    )
    argv = build_argv(entry, declared, extra)
    env_manager = env_manager or project.default_env_manager()
    check_environment(env_manager, project)  # a missing tool fails here, before any run is created

    from ..tracking.client import MlTrackClient
    from ..tracking.fluent import get_tracking_uri

    tracking_uri = _check_tracking_uri(get_tracking_uri())
    client = MlTrackClient(tracking_uri)
    tags = _tags(fetched, project, entry, env_manager)
    # The run records what reproduces it: a downloaded path parameter is logged as its URI.
    params = {**declared, **extra, **downloaded}
    if run_id is not None:
        tracked = client.get_run(run_id)
        if run_name is not None:
            client.update_run(run_id, name=run_name)
        client.log_batch(
            run_id,
            params=[Param(k, v) for k, v in params.items()],
            tags=[RunTag(k, v) for k, v in tags.items()],
            synchronous=True,
        )
    else:
        exp_id = _experiment_id(client, experiment_name, experiment_id)
        tracked = client.create_run(exp_id, tags=tags, run_name=run_name, params=params)
    run_id = tracked.info.run_id
    exp_id = tracked.info.experiment_id
    _logger.info("Project %s, entry point %s: run %s", project.name, entry.name, run_id)

    try:
        environment = prepare_environment(
            env_manager,
            project,
            run_id=run_id,
            tracking_uri=tracking_uri,
            artifact_uri=tracked.info.artifact_uri,
            docker_args=docker_args,
        )
        process = _launch(environment, argv, project.directory, _child_env(run_id, tracking_uri, exp_id))
    except BaseException:
        client.set_terminated(run_id, RunStatus.FAILED)
        raise
    submitted = LocalSubmittedRun(run_id, process, client, on_cancel=environment.cancel, monitor=not synchronous)
    if synchronous:
        try:
            ok = submitted.wait()
        except KeyboardInterrupt:
            submitted.cancel()
            raise
        if not ok:
            raise ExecutionError(
                f"Run (ID {run_id!r}) of entry point {entry.name!r} failed with exit code "
                f"{submitted.returncode}: {_format_argv(argv)}"
            )
    return submitted


def _format_argv(argv: list[str]) -> str:
    import shlex

    return " ".join(shlex.quote(a) for a in argv)


def _launch(environment: Environment, argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    final_argv, final_env = environment.command(argv, env, cwd)
    _logger.info("Running %s in %s (%s environment)", _format_argv(final_argv), cwd, environment.name)
    try:
        # Own session: cancel() signals the whole process group (the command and everything it started).
        return subprocess.Popen(final_argv, cwd=cwd, env=final_env, start_new_session=os.name != "nt")
    except FileNotFoundError as exc:
        raise ExecutionError(
            f"Cannot run {final_argv[0]!r}: no such program in the {environment.name} environment "
            f"(PATH={final_env.get('PATH', '')!r})"
        ) from exc
    except PermissionError as exc:
        raise ExecutionError(f"Cannot run {final_argv[0]!r}: permission denied") from exc
