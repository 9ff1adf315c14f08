"""Model URIs, resolved in one place.

| form | resolves to |
|---|---|
| ``runs:/<run_id>/<path>`` | ``<the run's artifact_uri>/<path>`` |
| ``models:/<name>/<version>`` | the registered version's source (via `hf_mltrack.registry`) |
| ``models:/<name>/<stage>`` | the latest version in that stage (Production, Staging, Archived, None) |
| ``models:/<name>/latest`` | the latest version of the model |
| ``models:/<name>@<alias>`` | the version the alias points to |
| ``models:/m-<id>`` | the logged model's artifact location (MLflow 3) |
| a local path, ``file://...`` | itself |
| ``s3://``, ``gs://``, ``mlflow-artifacts:/``, ... | itself (downloaded by the artifacts layer) |

`resolve_model_uri` turns any of these into an artifact location; `download_model` makes it a local folder
(without copying when the location is already local).
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass

from hf_mltrack.exceptions import InvalidParameterError, MissingDependencyError

_STAGES = {"production": "Production", "staging": "Staging", "archived": "Archived", "none": "None"}
_MAX_INDIRECTIONS = 10


@dataclass(frozen=True)
class ModelsUri:
    """The parts of a ``models:/`` URI. Exactly one of version, stage, alias is set, or none for "latest"."""

    name: str
    version: str | None = None
    stage: str | None = None
    alias: str | None = None
    sub_path: str = ""


def _check_relative(path: str, uri: str) -> str:
    path = path.strip("/")
    parts = [p for p in path.split("/") if p]
    if any(p in (".", "..") for p in parts) or "\\" in path or "\x00" in path:
        raise InvalidParameterError(
            f"Invalid path {path!r} in model URI {uri!r}: it must be relative, without '.', '..' or backslashes"
        )
    return "/".join(parts)


def parse_runs_uri(uri: str) -> tuple[str, str]:
    """Split ``runs:/<run_id>/<path>`` into ``(run_id, path)``."""
    parsed = urllib.parse.urlparse(uri)
    if parsed.scheme != "runs":
        raise InvalidParameterError(f"Not a runs:/ URI: {uri!r}")
    body = (parsed.netloc + parsed.path).lstrip("/") if parsed.netloc else parsed.path.lstrip("/")
    run_id, _, path = body.partition("/")
    if not run_id:
        raise InvalidParameterError(f"Invalid runs URI {uri!r}: use runs:/<run_id>/<artifact path>")
    return run_id, _check_relative(urllib.parse.unquote(path), uri)


def parse_models_uri(uri: str) -> ModelsUri:
    """Split a ``models:/`` URI into name and version, stage, alias or latest."""
    parsed = urllib.parse.urlparse(uri)
    if parsed.scheme != "models":
        raise InvalidParameterError(f"Not a models:/ URI: {uri!r}")
    if parsed.netloc:
        raise InvalidParameterError(
            f"Invalid models URI {uri!r}: use models:/<name>/<version|stage|latest> or "
            "models:/<name>@<alias> "
            "(one slash after 'models:')"
        )
    body = urllib.parse.unquote(parsed.path).lstrip("/")
    usage = "use models:/<name>/<version>, models:/<name>/<stage>, models:/<name>/latest or models:/<name>@<alias>"
    first, _, rest = body.partition("/")
    if "@" in first:
        name, _, alias = first.partition("@")
        if not name or not alias:
            raise InvalidParameterError(f"Invalid models URI {uri!r}: {usage}")
        return ModelsUri(name=name, alias=alias, sub_path=_check_relative(rest, uri))
    name = first
    selector, _, sub = rest.partition("/")
    if not name or not selector:
        raise InvalidParameterError(f"Invalid models URI {uri!r}: {usage}")
    sub_path = _check_relative(sub, uri)
    if re.fullmatch(r"[0-9]+", selector):
        return ModelsUri(name=name, version=selector, sub_path=sub_path)
    if selector.lower() == "latest":
        return ModelsUri(name=name, sub_path=sub_path)
    if selector.lower() in _STAGES:
        return ModelsUri(name=name, stage=_STAGES[selector.lower()], sub_path=sub_path)
    raise InvalidParameterError(
        f"Invalid models URI {uri!r}: {selector!r} is not a version number, 'latest' or a stage "
        f"({', '.join(v for v in _STAGES.values())})"
    )


def _resolve_registry(parts: ModelsUri) -> str:
    try:
        from hf_mltrack.registry import resolve_model_uri as registry_resolve
    except ImportError as exc:
        raise MissingDependencyError(
            "models:/ URIs need the model registry (hf_mltrack.registry), which is not available in this "
            f"installation ({exc}). Load the model by its runs:/<run_id>/<path> URI or a local path instead"
        ) from exc
    return registry_resolve(parts.name, version=parts.version, stage=parts.stage, alias=parts.alias)


def _join(base: str, path: str) -> str:
    if not path:
        return base
    return base.rstrip("/") + "/" + path


_LOGGED_MODEL_URI = re.compile(r"models:/(m-[0-9a-f]{32})(?:/(.*))?")


def logged_model_id(uri: str) -> tuple[str, str] | None:
    """``models:/m-<id>[/sub/path]`` -> ``(model_id, sub_path)``; None for any other URI."""
    match = _LOGGED_MODEL_URI.fullmatch(uri)
    if match is None:
        return None
    return match.group(1), _check_relative(urllib.parse.unquote(match.group(2) or ""), uri)


def resolve_model_uri(model_uri: str) -> str:
    """Resolve ``runs:/`` and ``models:/`` URIs to the artifact location they name.

    Args:
        model_uri (`str`): any model URI form (see the module docstring).

    Returns:
        `str`: a local path, a ``file://`` URI or an object-store URI.
    """
    if not isinstance(model_uri, str) or not model_uri:
        raise InvalidParameterError(f"A model URI must be a non-empty string, got {model_uri!r}")
    uri = model_uri
    for _ in range(_MAX_INDIRECTIONS):
        scheme = urllib.parse.urlparse(uri).scheme
        if scheme == "runs":
            run_id, path = parse_runs_uri(uri)
            from hf_mltrack.tracking import MlTrackClient

            artifact_uri = MlTrackClient().get_run(run_id).info.artifact_uri
            return _join(artifact_uri, path)
        if scheme == "models":
            ref = logged_model_id(uri)
            if ref is not None:
                from hf_mltrack.tracking import MlTrackClient

                return _join(MlTrackClient().get_logged_model(ref[0]).artifact_location, ref[1])
            parts = parse_models_uri(uri)
            uri = _join(_resolve_registry(parts), parts.sub_path)
            continue
        return uri
    raise InvalidParameterError(f"Model URI {model_uri!r} resolves through more than {_MAX_INDIRECTIONS} indirections")


def download_model(model_uri: str, dst_path: str | None = None) -> str:
    """Return a local folder holding the model at ``model_uri``.

    Args:
        model_uri (`str`): any model URI form.
        dst_path (`str`, *optional*): where to download a remote model; a temporary folder when not given.
            Local models are used in place and never copied.

    Returns:
        `str`: the absolute local path.
    """
    from hf_mltrack.models._artifact_io import download

    return download(resolve_model_uri(model_uri), dst_path)


def get_model_uri(run_id: str, artifact_path: str) -> str:
    """``runs:/<run_id>/<artifact_path>``"""
    return f"runs:/{run_id}/{_check_relative(artifact_path, artifact_path)}"
