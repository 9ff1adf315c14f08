"""Where a project's command runs: this interpreter, a cached virtualenv (pip or uv), conda, or docker.

``local``
    This interpreter and its packages. ``python`` in a command means ``sys.executable``.
``virtualenv``
    An isolated venv made with ``python -m venv`` and pip from the project's ``python_env.yaml`` (or the pip
    part of ``conda.yaml``, or ``requirements.txt``), cached per hash of its inputs under
    ``<cache>/envs/`` and reused by later runs. It does **not** see this interpreter's packages (nor the
    launcher's ``PYTHONPATH``), so a project missing from its own requirements fails here as it would on
    another machine. The project folder is the working directory, so the project's own modules import.
``uv``
    The same environment built by ``uv`` (much faster; it can also provide a Python version that is not
    installed). ``uv`` must be on PATH.
``conda``
    ``conda env create`` from ``conda.yaml``, cached the same way; commands run through ``conda run``.
``docker``
    The ``docker_env`` image, with the project folder mounted as the working directory.

In every environment ``import hf_mltrack`` gives the hf_mltrack that launched the run (so the child's client
matches the parent's store): the launching package is exposed through a ``.pth`` file and its core
dependencies are installed next to the project's own. A project that lists ``hf_mltrack`` among its
dependencies gets this same package (hf_mltrack is not installed from an index). In docker the image must
provide hf_mltrack's dependencies; the package itself is mounted read-only and put on ``PYTHONPATH``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..exceptions import InvalidParameterError
from .fetch import _locked, cache_root
from .spec import DockerEnv, ExecutionError, Project

_logger = logging.getLogger(__name__)

ENV_MANAGERS = ("local", "virtualenv", "uv", "conda", "docker")
_PYTHON_NAMES = {"python", "python3"}
_READY = ".hf_mltrack_env_ready"

# Mirrors [project].dependencies of pyproject.toml; used when hf_mltrack runs from a source tree without
# installed metadata. A test keeps the two in sync.
CORE_REQUIREMENTS = (
    "sqlalchemy>=2.0",
    "alembic>=1.12",
    "click>=8.1",
    "pyyaml>=6.0",
    "pandas>=2.0",
    "numpy>=1.24",
    "packaging>=23",
    "cloudpickle>=2.2",
    "tqdm>=4.60",
    "orjson>=3.9",
    "httpx>=0.27",
    "pydantic>=2.5",
)
_SELF_NAMES = {"hf-mltrack"}  # canonical (PEP 503) names of this package


@dataclass
class Environment:
    """A prepared environment: how to turn an argv into the process that runs it.

    Args:
        name (`str`): the environment manager (``local``, ``virtualenv``, ``uv``, ``conda``, ``docker``).
        python (`str`, *optional*): the interpreter that replaces ``python``/``python3`` at the head of argv.
        bin_dirs (`list[str]`, *optional*): folders put first on ``PATH``.
        variables (`dict[str, str]`, *optional*): environment variables the environment sets.
        wrap (`Callable`, *optional*): turns ``(argv, env, cwd)`` into the final argv (``conda run``, docker).
        cancel (`Callable`, *optional*): extra cleanup on cancel (stopping a container).
        prefix (`Path`, *optional*): where the environment lives (venv or conda prefix).
        unset (`list[str]`, *optional*): environment variables removed for the command.
    """

    name: str
    python: str | None = None
    bin_dirs: list[str] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    wrap: Callable[[list[str], dict[str, str], Path], list[str]] | None = None
    cancel: Callable[[], None] | None = None
    prefix: Path | None = None
    unset: list[str] = field(default_factory=list)

    def command(self, argv: Sequence[str], env: Mapping[str, str], cwd: Path) -> tuple[list[str], dict[str, str]]:
        """Return the argv and environment variables of the process running ``argv`` here."""
        argv = list(argv)
        if self.python and argv and argv[0] in _PYTHON_NAMES:
            argv[0] = self.python
        full_env = {k: v for k, v in env.items() if k not in self.unset}
        full_env.update(self.variables)
        if self.bin_dirs:
            full_env["PATH"] = os.pathsep.join([*self.bin_dirs, full_env.get("PATH", "")]).rstrip(os.pathsep)
        if self.wrap is not None:
            argv = self.wrap(argv, full_env, cwd)
        return argv, full_env


def validate_env_manager(env_manager: str | None) -> str | None:
    if env_manager is None:
        return None
    value = str(env_manager).strip().lower()
    if value not in ENV_MANAGERS:
        raise InvalidParameterError(f"Unknown env_manager {env_manager!r}: use one of {', '.join(ENV_MANAGERS)}")
    return value


def _venv_bin(prefix: Path) -> Path:
    return prefix / ("Scripts" if os.name == "nt" else "bin")


def _venv_python(prefix: Path) -> Path:
    return _venv_bin(prefix) / ("python.exe" if os.name == "nt" else "python")


def local_environment() -> Environment:
    """This interpreter: ``python`` in commands is ``sys.executable``, whose folder leads ``PATH``.

    The launching hf_mltrack leads ``PYTHONPATH`` (through a folder that holds only it), so the command
    imports the same hf_mltrack even when it runs from a source checkout that is not installed.
    """
    env = Environment(name="local", python=sys.executable, bin_dirs=[os.path.dirname(sys.executable)])
    shim = str(local_shim_dir())
    existing = os.environ.get("PYTHONPATH")
    env.variables["PYTHONPATH"] = os.pathsep.join([shim, existing]) if existing else shim
    return env


# --------------------------------------------------------------------------------------- python env spec


@dataclass(frozen=True)
class PythonEnvSpec:
    """What a Python environment holds (the content of ``python_env.yaml``).

    Args:
        python (`str`, *optional*): the Python version (``"3.11"`` or ``"3.11.7"``); ``None`` for this one.
        build_dependencies (`tuple[str, ...]`): installed first (``pip``, ``setuptools``, ``wheel``).
        dependencies (`tuple[str, ...]`): requirement lines (``-r requirements.txt`` included).
        base_dir (`Path`): the folder relative requirement files are resolved against.
    """

    python: str | None
    build_dependencies: tuple[str, ...]
    dependencies: tuple[str, ...]
    base_dir: Path


def _yaml_file(path: Path) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ExecutionError(f"Cannot read environment file {path}: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ExecutionError(f"Environment file {path} must be a YAML mapping")
    return data


def _str_list(data: dict[str, Any], key: str, path: Path) -> tuple[str, ...]:
    value = data.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str | int | float) for v in value):
        raise ExecutionError(f"{path}: {key!r} must be a list of requirement strings")
    return tuple(str(v) for v in value)


def python_env_spec(project: Project) -> PythonEnvSpec:
    """A project's Python environment: python_env.yaml, else conda.yaml's pip part, else requirements.txt."""
    if project.python_env is not None:
        data = _yaml_file(project.python_env)
        python = data.get("python")
        return PythonEnvSpec(
            python=None if python is None else str(python),
            build_dependencies=_str_list(data, "build_dependencies", project.python_env),
            dependencies=_str_list(data, "dependencies", project.python_env),
            base_dir=project.python_env.parent,
        )
    if project.conda_env is not None:
        return _spec_from_conda_yaml(project.conda_env)
    if project.requirements_file is not None:
        return PythonEnvSpec(None, (), (f"-r {project.requirements_file.name}",), project.directory)
    return PythonEnvSpec(None, (), (), project.directory)


def _spec_from_conda_yaml(path: Path) -> PythonEnvSpec:
    data = _yaml_file(path)
    python: str | None = None
    pip_deps: list[str] = []
    skipped: list[str] = []
    for dep in data.get("dependencies") or []:
        if isinstance(dep, dict) and isinstance(dep.get("pip"), list):
            pip_deps.extend(str(d) for d in dep["pip"])
        elif isinstance(dep, str):
            match = re.match(r"^python\s*[=<>!~]*\s*([0-9][0-9.*]*)", dep.strip())
            if match and dep.strip().startswith("python") and not dep.strip().startswith("python-"):
                python = match.group(1).rstrip(".*") or None
            elif dep.split("=")[0].strip() not in ("pip", "python", "setuptools", "wheel"):
                skipped.append(dep)
    if skipped:
        warnings.warn(
            f"{path}: the conda packages {skipped} have no pip equivalent here and are skipped in a "
            "virtualenv; list them under 'pip:' or use env_manager='conda'",
            stacklevel=3,
        )
    return PythonEnvSpec(python, (), tuple(pip_deps), path.parent)


def core_requirements() -> list[str]:
    """The requirements of hf_mltrack itself (no extras), from its metadata or `CORE_REQUIREMENTS`."""
    from importlib import metadata

    try:
        reqs = metadata.requires("hf_mltrack") or []
    except metadata.PackageNotFoundError:
        return list(CORE_REQUIREMENTS)
    from packaging.requirements import Requirement

    # an extra's requirements carry the marker `extra == "..."`, false when no extra is asked for
    return [r for r in reqs if (marker := Requirement(r).marker) is None or marker.evaluate({"extra": ""})]


def _requirement_name(line: str) -> str:
    """The canonical distribution name of a requirement line ("" for pip options, paths and URLs)."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    try:
        return canonicalize_name(Requirement(line.split(" #", 1)[0].strip()).name)
    except InvalidRequirement:
        return ""


def _requirement_lines(spec: PythonEnvSpec) -> tuple[list[str], list[Path]]:
    """Requirement lines with referenced files made absolute, and every file they reference (for hashing)."""
    lines: list[str] = []
    files: list[Path] = []

    def visit(path: Path, seen: set[Path]) -> None:
        if path in seen or not path.is_file():
            return
        seen.add(path)
        files.append(path)
        for raw in path.read_text(encoding="utf-8").splitlines():
            match = re.match(r"^\s*(-r|-c|--requirement|--constraint)[\s=]+(\S+)", raw)
            if match:
                visit((path.parent / match.group(2)).resolve(), seen)

    seen: set[Path] = set()
    for dep in spec.dependencies:
        match = re.match(r"^\s*(-r|-c|--requirement|--constraint)[\s=]+(\S+)\s*$", dep)
        if match:
            ref = (spec.base_dir / match.group(2)).resolve()
            if not ref.is_file():
                raise ExecutionError(f"Requirement file {match.group(2)!r} not found (looked for {ref})")
            lines.append(f"{match.group(1)} {ref}")
            visit(ref, seen)
        elif _requirement_name(dep) in _SELF_NAMES:
            continue  # hf_mltrack itself comes from the launching interpreter (see the module docstring)
        else:
            lines.append(dep)
    return lines, files


def _hash_inputs(kind: str, python: str, payload: Mapping[str, Any], files: Sequence[Path]) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps({"kind": kind, "python": python, **payload}, sort_keys=True).encode())
    digest.update(json.dumps({"hf_mltrack": str(_hf_mltrack_package_dir())}).encode())
    digest.update(json.dumps(core_requirements()).encode())
    for path in files:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:20]


# -------------------------------------------------------------------------------------------- runners


def _run_tool(argv: list[str], what: str, cwd: Path | None = None) -> None:
    _logger.info("%s: %s", what, " ".join(argv))
    env = dict(os.environ)
    env.setdefault("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    env.pop("PYTHONPATH", None)  # the host's PYTHONPATH would leak its packages into the new environment
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        output = (proc.stdout + proc.stderr).strip().splitlines()
        tail = "\n".join(output[-25:])
        raise ExecutionError(f"{what} failed (exit {proc.returncode}): {' '.join(argv)}\n{tail}")


def _hf_mltrack_package_dir() -> Path:
    import hf_mltrack

    return Path(hf_mltrack.__file__).resolve().parent


def _make_shim(folder: Path) -> Path:
    """A folder holding only a link to the launching hf_mltrack package, for sys.path.

    Putting the package's parent folder on sys.path instead would expose every package beside it (all of
    site-packages when hf_mltrack is installed); the link exposes hf_mltrack alone.
    """
    package_dir = _hf_mltrack_package_dir()
    folder.mkdir(parents=True, exist_ok=True)
    link = folder / "hf_mltrack"
    if link.is_symlink() and Path(os.readlink(link)) == package_dir:
        return folder
    try:
        tmp = folder / f".hf_mltrack-{os.getpid()}"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(package_dir, target_is_directory=True)
        os.replace(tmp, link)
    except OSError:  # no symlinks (Windows without privileges): expose the parent folder instead
        return package_dir.parent
    return folder


def local_shim_dir() -> Path:
    """The shim used by the local environment, one per launching package location."""
    key = hashlib.sha256(str(_hf_mltrack_package_dir()).encode()).hexdigest()[:16]
    return _make_shim(cache_root() / "shim" / key)


def _expose_hf_mltrack(python: Path, prefix: Path) -> None:
    """Make the launching hf_mltrack importable by ``python`` without exposing any other host package."""
    shim = _make_shim(prefix / "hf_mltrack_shim")
    proc = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    if proc.returncode != 0:
        raise ExecutionError(f"Cannot inspect the new environment's interpreter {python}: {proc.stderr.strip()}")
    site_packages = Path(proc.stdout.strip())
    site_packages.mkdir(parents=True, exist_ok=True)
    (site_packages / "_hf_mltrack_launcher.pth").write_text(str(shim) + "\n", encoding="utf-8")


def _find_python(version: str | None, kind: str) -> str:
    """The interpreter for a venv: this one when its major.minor matches, else ``pythonX.Y`` on PATH."""
    if version is None:
        return sys.executable
    parts = version.strip().split(".")
    if len(parts) < 2 or not all(p.isdigit() for p in parts[:2]):
        raise ExecutionError(f"Invalid Python version {version!r} in the environment file: write e.g. '3.11'")
    wanted = (int(parts[0]), int(parts[1]))
    if wanted == sys.version_info[:2]:
        if len(parts) > 2 and parts[2].isdigit() and int(parts[2]) != sys.version_info[2]:
            _logger.info("Python %s requested; using %s (same minor version)", version, sys.version.split()[0])
        return sys.executable
    candidate = shutil.which(f"python{wanted[0]}.{wanted[1]}")
    if candidate:
        return candidate
    hint = "use env_manager='uv' (it can provide any Python version), " if kind == "virtualenv" else ""
    raise ExecutionError(
        f"The project asks for Python {version}, but this machine runs {sys.version.split()[0]} and has no "
        f"python{wanted[0]}.{wanted[1]} on PATH: install that version, {hint}or run with env_manager='local'"
    )


def _prepare_venv(project: Project, kind: str) -> Environment:
    spec = python_env_spec(project)
    uv = _require_uv() if kind == "uv" else None
    if kind == "uv":
        python = spec.python or f"{sys.version_info[0]}.{sys.version_info[1]}"
        interpreter = sys.executable if python == f"{sys.version_info[0]}.{sys.version_info[1]}" else python
    else:
        interpreter = _find_python(spec.python, kind)
        python = interpreter
    lines, files = _requirement_lines(spec)
    key = _hash_inputs(kind, python, {"build": list(spec.build_dependencies), "deps": lines}, files)
    prefix = cache_root() / "envs" / f"{kind}-{key}"
    with _locked(prefix.with_suffix(".lock")):
        if not (prefix / _READY).exists():
            shutil.rmtree(prefix, ignore_errors=True)
            try:
                _build_venv(prefix, interpreter, spec, lines, uv, project.directory)
            except BaseException:
                shutil.rmtree(prefix, ignore_errors=True)
                raise
            (prefix / _READY).write_text(json.dumps({"python": python, "requirements": lines}), encoding="utf-8")
    bin_dir = _venv_bin(prefix)
    return Environment(
        name=kind,
        python=str(_venv_python(prefix)),
        bin_dirs=[str(bin_dir)],
        variables={"VIRTUAL_ENV": str(prefix)},
        prefix=prefix,
        # The launcher's PYTHONPATH would leak its packages into the isolated environment.
        unset=["PYTHONPATH", "PYTHONHOME"],
    )


def _build_venv(
    prefix: Path, interpreter: str, spec: PythonEnvSpec, lines: list[str], uv: str | None, cwd: Path
) -> None:
    _logger.info("Creating the %s environment %s", "uv" if uv else "virtualenv", prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    if uv:
        _run_tool([uv, "venv", "--quiet", "--python", interpreter, str(prefix)], "uv venv")
        install = [uv, "pip", "install", "--quiet", "--python", str(_venv_python(prefix))]
    else:
        _run_tool([interpreter, "-m", "venv", str(prefix)], "python -m venv")
        # --no-compile: byte-compiling all of pandas/numpy costs seconds; Python compiles what it imports.
        install = [str(_venv_python(prefix)), "-m", "pip", "install", "--quiet", "--no-compile"]
    if spec.build_dependencies:
        _run_tool([*install, *spec.build_dependencies], "Installing build dependencies", cwd=cwd)
    requirements = prefix / "hf_mltrack_requirements.txt"
    requirements.write_text("\n".join([*lines, *core_requirements()]) + "\n", encoding="utf-8")
    # One resolver call for the project's and hf_mltrack's requirements, so their pins are reconciled.
    _run_tool([*install, "-r", str(requirements)], "Installing the project's requirements", cwd=cwd)
    _expose_hf_mltrack(_venv_python(prefix), prefix)


def _prepare_conda(project: Project) -> Environment:
    conda = _require_conda(project)
    assert project.conda_env is not None
    key = _hash_inputs("conda", conda, {}, [project.conda_env])
    prefix = cache_root() / "envs" / f"conda-{key}"
    with _locked(prefix.with_suffix(".lock")):
        if not (prefix / _READY).exists():
            shutil.rmtree(prefix, ignore_errors=True)
            try:
                _run_tool(
                    [
                        conda,
                        "env",
                        "create",
                        "--quiet",
                        "--prefix",
                        str(prefix),
                        "--file",
                        str(project.conda_env),
                    ],
                    "conda env create",
                )
                python = prefix / ("python.exe" if os.name == "nt" else "bin/python")
                _run_tool([str(python), "-m", "pip", "install", "--quiet", *core_requirements()], "pip install")
                _expose_hf_mltrack(python, prefix)
            except BaseException:
                shutil.rmtree(prefix, ignore_errors=True)
                raise
            (prefix / _READY).touch()
    python = prefix / ("python.exe" if os.name == "nt" else "bin/python")

    def wrap(argv: list[str], env: dict[str, str], cwd: Path) -> list[str]:
        return [conda, "run", "--prefix", str(prefix), "--no-capture-output", *argv]

    return Environment(name="conda", python=str(python), wrap=wrap, prefix=prefix, unset=["PYTHONPATH", "PYTHONHOME"])


# --------------------------------------------------------------------------------------------- docker

CONTAINER_PROJECT_DIR = "/hf_mltrack/project"
CONTAINER_LIB_DIR = "/hf_mltrack/lib"


def docker_engine_error() -> str | None:
    """Why docker cannot run containers here, or ``None`` when it can."""
    docker = shutil.which("docker")
    if docker is None:
        return "the docker command is not on PATH"
    try:
        proc = subprocess.run(
            [docker, "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"`docker info` failed: {exc}"
    if proc.returncode != 0 or not proc.stdout.strip():
        lines = (proc.stderr or proc.stdout).strip().splitlines()
        return f"the Docker engine is not reachable ({lines[-1] if lines else 'docker info failed'})"
    return None


def docker_argv(
    image: str,
    argv: Sequence[str],
    *,
    project_dir: Path,
    env_names: Sequence[str],
    volumes: Sequence[str] = (),
    mounts: Sequence[Path] = (),
    docker_args: Mapping[str, Any] | None = None,
    container_name: str | None = None,
    network_host: bool = False,
    hf_mltrack_dir: Path | None = None,
) -> list[str]:
    """Build the ``docker run`` argv (no shell; environment values are passed by name, never in argv).

    Args:
        image (`str`): the image.
        argv (`Sequence[str]`): the command inside the container.
        project_dir (`Path`): mounted at ``/hf_mltrack/project``, the working directory.
        env_names (`Sequence[str]`): variables docker copies from the launching environment (``-e NAME``).
        volumes (`Sequence[str]`, *optional*): ``docker_env`` volumes, ``host:container[:mode]``.
        mounts (`Sequence[Path]`, *optional*): host folders mounted at the same path (local stores).
        docker_args (`Mapping[str, Any]`, *optional*): extra ``docker run`` flags, ``{"gpus": "all"}`` ->
            ``--gpus all``, ``{"t": True}`` -> ``-t``.
        container_name (`str`, *optional*): the container name (used to stop it on cancel).
        network_host (`bool`, *optional*): use the host network (tracking server on localhost).
        hf_mltrack_dir (`Path`, *optional*): the hf_mltrack package folder, mounted read-only on PYTHONPATH.
    """
    cmd = ["docker", "run", "--rm"]
    if container_name:
        cmd += ["--name", container_name]
    if network_host:
        cmd += ["--network", "host"]
    cmd += ["-v", f"{project_dir}:{CONTAINER_PROJECT_DIR}", "-w", CONTAINER_PROJECT_DIR]
    for mount in dict.fromkeys(str(m) for m in mounts):
        cmd += ["-v", f"{mount}:{mount}"]
    for volume in volumes:
        cmd += ["-v", volume]
    if hf_mltrack_dir is not None:
        cmd += [
            "-v",
            f"{hf_mltrack_dir}:{CONTAINER_LIB_DIR}/hf_mltrack:ro",
            "-e",
            f"PYTHONPATH={CONTAINER_LIB_DIR}",
        ]
    for name in dict.fromkeys(env_names):
        cmd += ["-e", name]
    for key, value in (docker_args or {}).items():
        flag = f"-{key}" if len(key) == 1 else f"--{key}"
        if value is True:
            cmd.append(flag)
        elif value is not False and value is not None:
            cmd += [flag, str(value)]
    return [*cmd, image, *argv]


def _prepare_docker(
    project: Project,
    *,
    run_id: str,
    tracking_uri: str,
    artifact_uri: str | None,
    docker_args: Mapping[str, Any] | None,
) -> Environment:
    docker_env = _require_docker(project)
    docker = shutil.which("docker") or "docker"
    name = f"hf-mltrack-{run_id[:12]}-{os.urandom(3).hex()}"
    mounts = _local_store_dirs(tracking_uri, artifact_uri)
    from urllib.parse import urlparse

    host = urlparse(tracking_uri).hostname if "://" in tracking_uri else None
    extra_env = {k: v for k, v in docker_env.environment if v is not None}

    def wrap(argv: list[str], env: dict[str, str], cwd: Path) -> list[str]:
        env.update(extra_env)
        names = [n for n in env if n.startswith(("HF_MLTRACK_", "AWS_"))] + [n for n, _ in docker_env.environment]
        built = docker_argv(
            docker_env.image,
            argv,
            project_dir=cwd,
            env_names=names,
            volumes=docker_env.volumes,
            mounts=mounts,
            docker_args=docker_args,
            container_name=name,
            network_host=host in ("localhost", "127.0.0.1", "::1"),
            hf_mltrack_dir=_hf_mltrack_package_dir(),
        )
        built[0] = docker
        return built

    def cancel() -> None:
        subprocess.run([docker, "stop", "--time", "10", name], capture_output=True, check=False)

    # Inside the container "python" is the image's own interpreter: no rewrite.
    return Environment(name="docker", python=None, wrap=wrap, cancel=cancel)


def _local_store_dirs(tracking_uri: str, artifact_uri: str | None) -> list[Path]:
    """Host folders a container must see at the same path: a local store and local artifacts."""
    from urllib.parse import unquote, urlparse

    dirs: list[Path] = []
    if tracking_uri.startswith("sqlite:///"):
        dirs.append(Path(tracking_uri[len("sqlite:///") :]).parent)
    elif tracking_uri.startswith("file:"):
        dirs.append(Path(unquote(urlparse(tracking_uri).path)))
    elif "://" not in tracking_uri:
        dirs.append(Path(tracking_uri))
    if artifact_uri and artifact_uri.startswith("file:"):
        dirs.append(Path(unquote(urlparse(artifact_uri).path)))
    elif artifact_uri and "://" not in artifact_uri:
        dirs.append(Path(artifact_uri))
    for d in dirs:
        d.mkdir(parents=True, exist_ok=True)
    return dirs


def _require_uv() -> str:
    uv = shutil.which("uv")
    if uv is None:
        raise ExecutionError(
            "env_manager='uv' needs the uv command, which is not on PATH: pip install uv, or use "
            "env_manager='virtualenv'"
        )
    return uv


def _require_conda(project: Project) -> str:
    conda = shutil.which("conda") or shutil.which("mamba")
    if conda is None:
        raise ExecutionError(
            "env_manager='conda' needs conda, which is not on PATH: install Miniforge "
            "(https://conda-forge.org/download/), or run with env_manager='virtualenv' (it installs the pip "
            "part of conda.yaml) or env_manager='local'"
        )
    if project.conda_env is None:
        raise ExecutionError(
            f"env_manager='conda' needs a conda_env file (conda.yaml) in project {project.name!r}: add "
            "one, or use env_manager='virtualenv' or 'local'"
        )
    return conda


def _require_docker(project: Project) -> DockerEnv:
    if project.docker_env is None:
        raise ExecutionError(
            "env_manager='docker' needs a docker_env section (with an image) in the MLproject file of "
            f"project {project.name!r}"
        )
    problem = docker_engine_error()
    if problem is not None:
        raise ExecutionError(
            f"Project {project.name!r} declares docker_env (image {project.docker_env.image}), but "
            f"{problem}. Start a Docker engine, or run with env_manager='local' or 'virtualenv'"
        )
    return project.docker_env


def check_environment(env_manager: str, project: Project) -> None:
    """Fail fast, before a run is created, when ``env_manager`` cannot work for ``project`` here.

    Checks the tool (uv, conda, a reachable Docker engine), the environment files and the Python version;
    building the environment (slow) is left to `prepare_environment`.

    Raises:
        ExecutionError: the message names what is missing and the fix.
    """
    if env_manager in ("virtualenv", "uv"):
        if env_manager == "uv":
            _require_uv()
        spec = python_env_spec(project)
        if env_manager == "virtualenv":
            _find_python(spec.python, env_manager)
        _requirement_lines(spec)
    elif env_manager == "conda":
        _require_conda(project)
    elif env_manager == "docker":
        _require_docker(project)


def prepare_environment(
    env_manager: str,
    project: Project,
    *,
    run_id: str = "",
    tracking_uri: str = "",
    artifact_uri: str | None = None,
    docker_args: Mapping[str, Any] | None = None,
) -> Environment:
    """Create (or reuse from the cache) the environment ``env_manager`` for ``project``.

    Raises:
        ExecutionError: the tool is missing (uv, conda, docker engine) or building the environment failed;
            the message names the fix.
    """
    if env_manager == "local":
        return local_environment()
    if env_manager in ("virtualenv", "uv"):
        return _prepare_venv(project, env_manager)
    if env_manager == "conda":
        return _prepare_conda(project)
    if env_manager == "docker":
        return _prepare_docker(
            project,
            run_id=run_id,
            tracking_uri=tracking_uri,
            artifact_uri=artifact_uri,
            docker_args=docker_args,
        )
    raise InvalidParameterError(f"Unknown env_manager {env_manager!r}: use one of {', '.join(ENV_MANAGERS)}")
