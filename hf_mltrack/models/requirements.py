"""A model's environment files: ``requirements.txt``, ``python_env.yaml`` and ``conda.yaml``.

When the user gives none of ``pip_requirements``, ``extra_pip_requirements`` or ``conda_env``, the
requirements are the flavor's packages pinned at their installed versions (plus ``hf_mltrack``). Unlike
MLflow this never reloads the model in a subprocess to watch what it imports: it is instant and runs no
model code.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import re
from collections.abc import Iterable, Mapping
from typing import Any

from hf_mltrack.exceptions import InvalidParameterError

REQUIREMENTS_FILE_NAME = "requirements.txt"
PYTHON_ENV_FILE_NAME = "python_env.yaml"
CONDA_ENV_FILE_NAME = "conda.yaml"
_ENV_NAME = "hf_mltrack-env"


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _installed_version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def hf_mltrack_version() -> str | None:
    """The installed hf_mltrack version, or ``None`` when running from a source tree without metadata."""
    version = _installed_version("hf_mltrack")
    if version is not None:
        return version
    try:
        import hf_mltrack

        return getattr(hf_mltrack, "__version__", None)
    except ImportError:  # pragma: no cover
        return None


def get_pinned_requirement(package: str) -> str:
    """``package==<installed version>``; a local version label (``+cpu``) is dropped so pip can resolve it."""
    version = _installed_version(package)
    if version is None:
        return package
    return f"{package}=={version.split('+', 1)[0]}"


def infer_pip_requirements(packages: Iterable[str]) -> list[str]:
    """Pin each of the flavor's packages (those installed) to its installed version, hf_mltrack first."""
    reqs = [_hf_mltrack_requirement()]
    seen = {_normalize("hf_mltrack")}
    for package in packages:
        if _normalize(package) in seen:
            continue
        seen.add(_normalize(package))
        if _installed_version(package) is not None:
            reqs.append(get_pinned_requirement(package))
    return reqs


def _hf_mltrack_requirement() -> str:
    version = hf_mltrack_version()
    return f"hf_mltrack=={version.split('+', 1)[0]}" if version else "hf_mltrack"


def _requirement_name(line: str) -> str | None:
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        return _normalize(Requirement(line).name)
    except InvalidRequirement:
        return None


def _read_requirements(value: str | os.PathLike[str] | Iterable[str], what: str) -> list[str]:
    """A list of requirement strings, or the lines of a requirements file; comments and blanks dropped."""
    if isinstance(value, (str, os.PathLike)):
        path = os.fspath(value)
        if not os.path.isfile(path):
            raise InvalidParameterError(
                f"{what}={path!r} is neither a list of requirements nor an existing requirements file"
            )
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    else:
        lines = list(value)
    out = []
    for line in lines:
        if not isinstance(line, str):
            raise InvalidParameterError(f"{what} entries must be strings, got {line!r}")
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if not line.startswith("-") and "/" not in line and _requirement_name(line) is None:
            raise InvalidParameterError(f"Invalid requirement {line!r} in {what}: use pip syntax, e.g. 'torch>=2.1'")
        out.append(line)
    return out


def _load_conda_env(conda_env: str | os.PathLike[str] | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(conda_env, Mapping):
        return dict(conda_env)
    from hf_mltrack.models._yaml import safe_load_file

    path = os.fspath(conda_env)
    if not os.path.isfile(path):
        raise InvalidParameterError(f"conda_env={path!r} is neither a dict nor an existing conda YAML file")
    env = safe_load_file(path, "conda environment file")
    if not isinstance(env, dict):
        raise InvalidParameterError(f"conda_env file {path!r} must hold a mapping")
    return env


def _pip_of_conda(env: Mapping[str, Any]) -> list[str]:
    for dep in env.get("dependencies") or []:
        if isinstance(dep, dict) and "pip" in dep:
            return [str(x) for x in dep["pip"] or []]
    return []


def _build_version(package: str) -> str:
    version = _installed_version(package)
    return f"{package}=={version}" if version else package


def _conda_env(pip_reqs: list[str], python_version: str) -> dict[str, Any]:
    pip_version = _installed_version("pip")
    return {
        "name": _ENV_NAME,
        "channels": ["conda-forge"],
        "dependencies": [
            f"python={python_version}",
            f"pip<={pip_version}" if pip_version else "pip",
            {"pip": list(pip_reqs)},
        ],
    }


def write_environment(
    path: str,
    default_pip_requirements: Iterable[str] = (),
    pip_requirements: str | os.PathLike[str] | Iterable[str] | None = None,
    extra_pip_requirements: str | os.PathLike[str] | Iterable[str] | None = None,
    conda_env: str | os.PathLike[str] | Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """Write ``requirements.txt``, ``python_env.yaml`` and ``conda.yaml`` into the model folder ``path``.

    Args:
        path (`str`): the model folder.
        default_pip_requirements (`Iterable[str]`): the flavor's packages, pinned when nothing else is given.
        pip_requirements (`list[str]` or `str`, *optional*): the full list (or a requirements file); replaces
            the defaults.
        extra_pip_requirements (`list[str]` or `str`, *optional*): appended to the defaults.
        conda_env (`dict` or `str`, *optional*): a conda environment (or a YAML file); its pip section
            becomes ``requirements.txt``.

    Returns:
        `dict[str, str]`: the ``env`` entry of the ``python_function`` flavor
        (``{"conda": "conda.yaml", "virtualenv": "python_env.yaml"}``).
    """
    from hf_mltrack.models._yaml import safe_dump

    given = [
        n
        for n, v in (
            ("pip_requirements", pip_requirements),
            ("extra_pip_requirements", extra_pip_requirements),
            ("conda_env", conda_env),
        )
        if v is not None
    ]
    if len(given) > 1:
        raise InvalidParameterError(
            f"Pass only one of pip_requirements, extra_pip_requirements and conda_env; got {', '.join(given)}"
        )
    python_version = platform.python_version()
    if conda_env is not None:
        env = _load_conda_env(conda_env)
        pip_reqs = _pip_of_conda(env)
    else:
        if pip_requirements is not None:
            pip_reqs = _read_requirements(pip_requirements, "pip_requirements")
        else:
            pip_reqs = infer_pip_requirements(default_pip_requirements)
            if extra_pip_requirements is not None:
                pip_reqs += _read_requirements(extra_pip_requirements, "extra_pip_requirements")
        if not any(_requirement_name(r) == _normalize("hf_mltrack") for r in pip_reqs):
            pip_reqs.insert(0, _hf_mltrack_requirement())
        env = _conda_env(pip_reqs, python_version)
    python_env = {
        "python": python_version,
        "build_dependencies": [_build_version("pip"), _build_version("setuptools"), _build_version("wheel")],
        "dependencies": [f"-r {REQUIREMENTS_FILE_NAME}"],
    }
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, REQUIREMENTS_FILE_NAME), "w", encoding="utf-8") as f:
        f.write("".join(r + "\n" for r in pip_reqs))
    with open(os.path.join(path, PYTHON_ENV_FILE_NAME), "w", encoding="utf-8") as f:
        f.write(safe_dump(python_env))
    with open(os.path.join(path, CONDA_ENV_FILE_NAME), "w", encoding="utf-8") as f:
        f.write(safe_dump(env))
    return {"conda": CONDA_ENV_FILE_NAME, "virtualenv": PYTHON_ENV_FILE_NAME}
