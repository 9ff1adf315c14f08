"""The MLproject file: a project's name, environment and entry points with typed parameters.

```yaml
name: llm-finetuning
python_env: python_env.yaml        # or conda_env: conda.yaml, or docker_env: {image: ...}
entry_points:
  main:
    parameters:
      learning_rate: {type: float, default: 2e-5}
      epochs: {type: int, default: 3}
      data_file: path                # short form: a type, no default (required)
    command: "python train.py --lr {learning_rate} --epochs {epochs} --data {data_file}"
```

A folder without an MLproject file is a project too: its ``.py`` and ``.sh`` files are its entry points.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..exceptions import MlTrackException

if TYPE_CHECKING:
    from ._schema import ParameterSpec

MLPROJECT_FILE_NAME = "MLproject"
DEFAULT_PYTHON_ENV_FILE = "python_env.yaml"
DEFAULT_CONDA_ENV_FILE = "conda.yaml"
DEFAULT_REQUIREMENTS_FILE = "requirements.txt"

PARAMETER_TYPES = ("string", "float", "int", "path", "uri")
SCRIPT_EXTENSIONS = {".py": "python", ".sh": "bash"}


class ExecutionError(MlTrackException):
    """A project could not be loaded, prepared or run (MLflow's ``ExecutionException``)."""

    default_error_code = "INVALID_PARAMETER_VALUE"


@dataclass(frozen=True)
class Parameter:
    """One declared entry point parameter.

    Args:
        name (`str`): the parameter name, used as ``{name}`` in the command.
        type (`str`, *optional*, defaults to `"string"`): ``string``, ``float``, ``int``, ``path`` or ``uri``.
        default (`str`, *optional*): the default value as text; ``None`` makes the parameter required.
    """

    name: str
    type: str = "string"
    default: str | None = None

    @property
    def required(self) -> bool:
        return self.default is None


@dataclass(frozen=True)
class EntryPoint:
    """A named command of a project.

    Args:
        name (`str`): the entry point name (``main``, ``evaluate``, or a script file such as ``train.py``).
        command (`str`): the command template; ``{param}`` placeholders are filled per argument.
        parameters (`dict[str, Parameter]`, *optional*): the declared parameters.
    """

    name: str
    command: str
    parameters: dict[str, Parameter] = field(default_factory=dict)


@dataclass(frozen=True)
class DockerEnv:
    """The ``docker_env`` section: an image, extra volumes and environment variables.

    Args:
        image (`str`): the image to run in.
        volumes (`list[str]`, *optional*): ``host:container[:mode]`` mounts.
        environment (`list[tuple[str, str | None]]`, *optional*): ``(name, value)`` pairs; a ``None`` value
            copies the variable from the launching environment.
    """

    image: str
    volumes: tuple[str, ...] = ()
    environment: tuple[tuple[str, str | None], ...] = ()


@dataclass(frozen=True)
class Project:
    """A loaded project.

    Args:
        directory (`Path`): the absolute project folder (the working directory of its commands).
        name (`str`): the project name (the folder name when the MLproject file does not set one).
        entry_points (`dict[str, EntryPoint]`): the declared entry points (empty without an MLproject file).
        python_env (`Path`, *optional*): absolute path of the python_env.yaml file.
        conda_env (`Path`, *optional*): absolute path of the conda.yaml file.
        docker_env (`DockerEnv`, *optional*): the docker section.
        has_mlproject (`bool`): whether an MLproject file was found.
    """

    directory: Path
    name: str
    entry_points: dict[str, EntryPoint] = field(default_factory=dict)
    python_env: Path | None = None
    conda_env: Path | None = None
    docker_env: DockerEnv | None = None
    has_mlproject: bool = False

    @property
    def requirements_file(self) -> Path | None:
        path = self.directory / DEFAULT_REQUIREMENTS_FILE
        return path if path.is_file() else None

    def default_env_manager(self) -> str:
        """The environment manager used when none is given: docker, virtualenv, conda, then local."""
        if self.docker_env is not None:
            return "docker"
        if self.python_env is not None:
            return "virtualenv"
        if self.conda_env is not None:
            return "conda"
        return "local"

    def get_entry_point(self, name: str) -> EntryPoint:
        """Return the entry point ``name``, or a script entry point for a ``.py``/``.sh`` file of the project.

        Raises:
            ExecutionError: when ``name`` is neither a declared entry point nor a script of the project.
        """
        if name in self.entry_points:
            return self.entry_points[name]
        ext = os.path.splitext(name)[1]
        if ext in SCRIPT_EXTENSIONS:
            script = (self.directory / name).resolve()
            if not _is_within(script, self.directory):
                raise ExecutionError(f"Entry point {name!r} is outside the project folder {self.directory}")
            if script.is_file():
                # The script path is one argv item (never a shell word), so odd file names are safe.
                return EntryPoint(name=name, command="", parameters={})
        declared = ", ".join(repr(n) for n in self.entry_points) or "none"
        scripts = ", ".join(sorted(_runnable_scripts(self.directory))) or "none"
        raise ExecutionError(
            f"Entry point {name!r} not found in project {self.name!r} ({self.directory}): declared entry "
            f"points: {declared}; runnable scripts (.py, .sh): {scripts}. Pass one of them as the entry "
            "point (-e NAME)."
        )


def _is_within(path: Path, directory: Path) -> bool:
    try:
        path.relative_to(directory.resolve())
    except ValueError:
        return False
    return True


def _runnable_scripts(directory: Path) -> list[str]:
    try:
        return [p.name for p in directory.iterdir() if p.is_file() and p.suffix in SCRIPT_EXTENSIONS]
    except OSError:
        return []


def find_mlproject_file(directory: Path) -> Path | None:
    """Return the MLproject file of ``directory`` (the name is matched case-insensitively, as MLflow does)."""
    exact = directory / MLPROJECT_FILE_NAME
    if exact.is_file():
        return exact
    for candidate in sorted(directory.iterdir()):
        if candidate.name.lower() == MLPROJECT_FILE_NAME.lower() and candidate.is_file():
            return candidate
    return None


def load_project(directory: str | os.PathLike[str]) -> Project:
    """Load the project in ``directory``: parse its MLproject file, or describe a plain folder of scripts.

    Args:
        directory (`str` or `os.PathLike`): the project folder.

    Returns:
        `Project`: the parsed project.

    Raises:
        ExecutionError: the folder is missing, or the MLproject file is malformed (the message names the key).
    """
    root = Path(directory).resolve()
    if not root.is_dir():
        raise ExecutionError(f"Project folder {str(directory)!r} does not exist or is not a folder")
    mlproject = find_mlproject_file(root)
    if mlproject is None:
        return Project(
            directory=root,
            name=root.name,
            python_env=_existing(root / DEFAULT_PYTHON_ENV_FILE),
            conda_env=_existing(root / DEFAULT_CONDA_ENV_FILE),
            has_mlproject=False,
        )
    import yaml

    try:
        spec = yaml.safe_load(mlproject.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ExecutionError(f"{mlproject} is not valid YAML: {exc}") from exc
    if spec is None:
        spec = {}
    if not isinstance(spec, dict):
        raise ExecutionError(f"{mlproject} must be a YAML mapping (name, entry_points, ...), got {_kind(spec)}")
    return _parse_spec(spec, root, mlproject)


def _existing(path: Path) -> Path | None:
    return path if path.is_file() else None


def _kind(value: Any) -> str:
    return type(value).__name__ if value is not None else "nothing"


def _parse_spec(spec: dict[str, Any], root: Path, source: Path) -> Project:
    from pydantic import ValidationError

    from ._schema import MLprojectSpec, validation_message

    try:
        parsed = MLprojectSpec.model_validate(spec)
    except ValidationError as exc:
        raise ExecutionError(validation_message(source, exc)) from exc
    python_env = _env_file(parsed.python_env, "python_env", root, source)
    conda_env = _env_file(parsed.conda_env, "conda_env", root, source)
    if python_env is not None and conda_env is not None:
        raise ExecutionError(
            f"{source} declares both python_env and conda_env: keep one (python_env for virtualenv/uv, "
            "conda_env for conda)"
        )
    if python_env is None and conda_env is None:
        # Like MLflow: an environment file next to MLproject is used even when MLproject doesn't name it.
        python_env = _existing(root / DEFAULT_PYTHON_ENV_FILE)
        if python_env is None:
            conda_env = _existing(root / DEFAULT_CONDA_ENV_FILE)
    docker = parsed.docker_env
    docker_env = (
        None
        if docker is None
        else DockerEnv(
            image=docker.image, volumes=tuple(docker.volumes or ()), environment=tuple(docker.environment or ())
        )
    )
    entry_points = {
        str(ep_name): EntryPoint(
            name=str(ep_name),
            command=ep.command,
            parameters={str(k): _parameter(str(k), v) for k, v in (ep.parameters or {}).items()},
        )
        for ep_name, ep in (parsed.entry_points or {}).items()
    }
    return Project(
        directory=root,
        name=parsed.name if parsed.name is not None else root.name,
        entry_points=entry_points,
        python_env=python_env,
        conda_env=conda_env,
        docker_env=docker_env,
        has_mlproject=True,
    )


def _parameter(name: str, spec: ParameterSpec) -> Parameter:
    return Parameter(name=name, type=spec.type, default=spec.default)


def _env_file(value: str | None, key: str, root: Path, source: Path) -> Path | None:
    if value is None:
        return None
    path = (root / value).resolve()
    if not _is_within(path, root):
        raise ExecutionError(f"{source}: {key} file {value!r} is outside the project folder {root}")
    if not path.is_file():
        raise ExecutionError(f"{source}: {key} file {value!r} not found (looked for {path})")
    return path
