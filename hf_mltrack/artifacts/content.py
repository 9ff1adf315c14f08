"""Log and load in-memory content as artifacts: text, dictionaries (JSON/YAML) and tables.

Each `log_*` function takes the destination as an [`ArtifactRepository`] or an artifact root URI (a
run's `artifact_uri`), so the fluent API and `MlTrackClient` only have to find the run's URI. Each loader
takes either the full URI of the file (`runs:/<run_id>/results.json`, `s3://b/.../results.json`, a local
path) or a repository and the file's artifact path.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from hf_mltrack.exceptions import InvalidParameterError

from .base import ArtifactRepository
from .paths import validate_artifact_path
from .registry import get_artifact_repository
from .uri import split_artifact_uri

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "as_repository",
    "dumps_dict",
    "load_dict",
    "load_table",
    "load_text",
    "log_dict",
    "log_table",
    "log_text",
    "resolve_file",
]

RepoOrUri = ArtifactRepository | str
_YAML_EXTENSIONS = (".yaml", ".yml")


def as_repository(repo_or_uri: RepoOrUri | os.PathLike[str], *, tracking_uri: str | None = None) -> ArtifactRepository:
    """`repo_or_uri` itself if it is a repository, else the repository of that artifact root URI."""
    if isinstance(repo_or_uri, ArtifactRepository):
        return repo_or_uri
    return get_artifact_repository(os.fspath(repo_or_uri), tracking_uri=tracking_uri)


def resolve_file(
    artifact_uri: RepoOrUri | os.PathLike[str],
    artifact_file: str | None = None,
    *,
    tracking_uri: str | None = None,
) -> tuple[ArtifactRepository, str]:
    """(repository, artifact path) of a file given as a full URI, or as a repository/root and a path."""
    if artifact_file is not None:
        return as_repository(artifact_uri, tracking_uri=tracking_uri), validate_artifact_path(
            artifact_file, what="artifact_file", allow_empty=False
        )
    if isinstance(artifact_uri, ArtifactRepository):
        raise InvalidParameterError("Pass the artifact_file to load from this repository, e.g. 'results.json'.")
    parent, name = split_artifact_uri(os.fspath(artifact_uri))
    if not name:
        raise InvalidParameterError(f"The artifact URI {artifact_uri!r} names no file: append the file's path to it.")
    name = validate_artifact_path(name, what="artifact file name", allow_empty=False)
    return get_artifact_repository(parent, tracking_uri=tracking_uri), name


def _json_default(obj: Any) -> Any:
    """JSON for the values ML code commonly produces (numpy, tensors, paths, dates, sets)."""
    if hasattr(obj, "tolist") and callable(obj.tolist):  # numpy arrays and scalars, torch tensors
        if hasattr(obj, "detach"):
            obj = obj.detach().cpu()
        return obj.tolist()
    if hasattr(obj, "item") and callable(obj.item):
        return obj.item()
    if isinstance(obj, PurePath):
        return str(obj)
    if isinstance(obj, (_dt.datetime, _dt.date, _dt.time)):
        return obj.isoformat()
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=repr)
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def _to_builtin(obj: Any) -> Any:
    """Recursively convert to plain Python types (YAML's safe dumper accepts nothing else)."""
    if isinstance(obj, dict):
        return {_to_builtin(k): _to_builtin(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_to_builtin(v) for v in obj]
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    return _to_builtin(_json_default(obj))


def dumps_dict(dictionary: Any, artifact_file: str) -> str:
    """Serialize `dictionary` as YAML for `.yaml`/`.yml` files, JSON (indented) otherwise."""
    try:
        if artifact_file.lower().endswith(_YAML_EXTENSIONS):
            import yaml

            return yaml.safe_dump(
                _to_builtin(dictionary), default_flow_style=False, sort_keys=False, allow_unicode=True
            )
        return json.dumps(dictionary, indent=2, ensure_ascii=False, default=_json_default)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(f"Cannot serialize the dictionary for {artifact_file!r}: {exc}") from exc


def log_text(repo_or_uri: RepoOrUri, text: str, artifact_file: str) -> None:
    """Store `text` as the artifact file `artifact_file` (UTF-8).

    Args:
        repo_or_uri ([`ArtifactRepository`] or `str`): destination repository or artifact root URI.
        text (`str`): the text to store.
        artifact_file (`str`): artifact path of the file, e.g. `"status.txt"` or `"logs/run.log"`.
    """
    if not isinstance(text, str):
        raise InvalidParameterError(f"log_text expects a str, got {type(text).__name__}; use log_dict for dicts.")
    as_repository(repo_or_uri).write_text(text, artifact_file)


def log_dict(repo_or_uri: RepoOrUri, dictionary: Any, artifact_file: str) -> None:
    """Store a JSON-serializable object as JSON, or as YAML when `artifact_file` ends in `.yaml`/`.yml`.

    numpy arrays and scalars, tensors, paths, dates and sets are converted on the way.

    Args:
        repo_or_uri ([`ArtifactRepository`] or `str`): destination repository or artifact root URI.
        dictionary (`dict`): the object to store.
        artifact_file (`str`): artifact path, e.g. `"results.json"` or `"config.yaml"`.
    """
    validate_artifact_path(artifact_file, what="artifact_file", allow_empty=False)
    as_repository(repo_or_uri).write_text(dumps_dict(dictionary, artifact_file), artifact_file)


def load_text(artifact_uri: RepoOrUri, artifact_file: str | None = None, *, tracking_uri: str | None = None) -> str:
    """The text of an artifact file.

    Args:
        artifact_uri (`str` or [`ArtifactRepository`]): the file's full URI (`runs:/<run_id>/status.txt`,
            `s3://...`, a local path), or a repository/root URI when `artifact_file` is given.
        artifact_file (`str`, *optional*): the file's artifact path under `artifact_uri`.
        tracking_uri (`str`, *optional*): tracking store used to resolve `runs:/` URIs.
    """
    repo, name = resolve_file(artifact_uri, artifact_file, tracking_uri=tracking_uri)
    return repo.read_text(name)


def load_dict(artifact_uri: RepoOrUri, artifact_file: str | None = None, *, tracking_uri: str | None = None) -> Any:
    """The object stored by [`log_dict`] (YAML for `.yaml`/`.yml` files, JSON otherwise).

    Args:
        artifact_uri (`str` or `ArtifactRepository`): the file's full URI (``runs:/<run_id>/config.json``,
            ``s3://...``, a local path), or a run's artifact root / repository with ``artifact_file``.
        artifact_file (`str`, *optional*): the file's path under ``artifact_uri``.
        tracking_uri (`str`, *optional*): the tracking store that resolves ``runs:/`` URIs.

    Returns:
        The parsed object (usually a `dict`).
    """
    repo, name = resolve_file(artifact_uri, artifact_file, tracking_uri=tracking_uri)
    text = repo.read_text(name)
    if name.lower().endswith(_YAML_EXTENSIONS):
        import yaml

        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InvalidParameterError(f"The artifact {name!r} is not valid YAML: {exc}") from exc
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InvalidParameterError(f"The artifact {name!r} is not valid JSON: {exc}") from exc


def _to_dataframe(data: Any) -> pd.DataFrame:
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data.reset_index(drop=True)
    if isinstance(data, dict):
        try:
            return pd.DataFrame(data)
        except ValueError as exc:
            raise InvalidParameterError(
                f"log_table expects a dict of equally long lists (one per column): {exc}"
            ) from exc
    raise InvalidParameterError(f"log_table expects a pandas DataFrame or a dict of lists, got {type(data).__name__}.")


def _check_table_file(artifact_file: str) -> str:
    name = validate_artifact_path(artifact_file, what="artifact_file", allow_empty=False)
    if not name.lower().endswith(".json"):
        raise InvalidParameterError(
            f"Invalid artifact_file {artifact_file!r} for a table: tables are stored as JSON, so the name "
            "must end in '.json', e.g. 'eval_results.json'."
        )
    return name


def _read_table(repo: ArtifactRepository, name: str) -> pd.DataFrame:
    import pandas as pd

    try:
        payload = json.loads(repo.read_text(name))
        return pd.DataFrame(payload["data"], columns=payload["columns"])
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidParameterError(
            f"The artifact {name!r} is not a table logged by log_table (expected JSON with 'columns' and 'data'): {exc}"
        ) from exc


def log_table(repo_or_uri: RepoOrUri, data: Any, artifact_file: str) -> None:
    """Store a table as JSON (`{"columns": [...], "data": [[...], ...]}`, MLflow's format).

    If `artifact_file` already holds a table, the new rows are appended to it (as in MLflow), so a table
    can grow over an evaluation loop.

    Args:
        repo_or_uri ([`ArtifactRepository`] or `str`): destination repository or artifact root URI.
        data (`pandas.DataFrame` or `dict[str, list]`): the rows to store.
        artifact_file (`str`): artifact path ending in `.json`, e.g. `"eval/predictions.json"`.
    """
    name = _check_table_file(artifact_file)
    import pandas as pd

    df = _to_dataframe(data)
    repo = as_repository(repo_or_uri)
    if repo.exists(name):
        df = pd.concat([_read_table(repo, name), df], ignore_index=True)
    payload = df.to_json(orient="split", index=False, date_format="iso", default_handler=str)
    repo.write_text(payload, name)


def load_table(
    artifact_uri: RepoOrUri, artifact_file: str | None = None, *, tracking_uri: str | None = None
) -> pd.DataFrame:
    """The table stored by [`log_table`], as a pandas DataFrame.

    Args:
        artifact_uri (`str` or `ArtifactRepository`): the file's full URI, or a run's artifact root /
            repository with ``artifact_file``.
        artifact_file (`str`, *optional*): the file's path under ``artifact_uri``; must end in `.json`.
        tracking_uri (`str`, *optional*): the tracking store that resolves ``runs:/`` URIs.

    Returns:
        `pandas.DataFrame`
    """
    if artifact_file is not None:
        _check_table_file(artifact_file)
    repo, name = resolve_file(artifact_uri, artifact_file, tracking_uri=tracking_uri)
    return _read_table(repo, name)
