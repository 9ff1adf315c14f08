"""URI scheme -> artifact repository class, as dotted paths imported on first use.

```
""  / file            hf_mltrack.artifacts.local:LocalArtifactRepository
s3                    hf_mltrack.artifacts.s3:S3ArtifactRepository        (boto3)
gs gcs abfs abfss az  hf_mltrack.artifacts.fsspec_store:FsspecArtifactRepository (fsspec + a plugin)
adl hdfs viewfs ...
runs                  resolved through the tracking store to the run's own artifact URI
```

Other components add schemes with [`register_artifact_repository`] (e.g. the tracking server's
`mlflow-artifacts` proxy) and URI forms that resolve to another artifact URI with
[`register_artifact_uri_resolver`] (e.g. `models:/`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from hf_mltrack.exceptions import InvalidParameterError, MlTrackException

from .base import ArtifactRepository
from .uri import get_scheme, join_artifact_uri

__all__ = [
    "get_artifact_repository",
    "register_artifact_repository",
    "register_artifact_uri_resolver",
    "resolve_artifact_uri",
]

_FSSPEC = "hf_mltrack.artifacts.fsspec_store:FsspecArtifactRepository"

_REPOSITORIES: dict[str, str] = {
    "": "hf_mltrack.artifacts.local:LocalArtifactRepository",
    "file": "hf_mltrack.artifacts.local:LocalArtifactRepository",
    "s3": "hf_mltrack.artifacts.s3:S3ArtifactRepository",
    "mlflow-artifacts": "hf_mltrack.store.rest_artifacts:HttpArtifactRepository",
    **{
        scheme: _FSSPEC
        for scheme in (
            "gs",
            "gcs",
            "abfs",
            "abfss",
            "az",
            "adl",
            "hdfs",
            "viewfs",
            "webhdfs",
            "oss",
            "memory",
        )
    },
}

_RESOLVERS: dict[str, str | Callable[..., str]] = {
    "runs": "hf_mltrack.artifacts.registry:_resolve_runs_uri",
}


def register_artifact_repository(scheme: str, target: str | type[ArtifactRepository]) -> None:
    """Use `target` for artifact URIs of `scheme`.

    Args:
        scheme (`str`): URI scheme without `://`, e.g. `"mlflow-artifacts"`.
        target (`str` or `type`): a class taking the artifact URI as first argument, or its dotted path
            `"package.module:ClassName"` (imported on first use, so registering costs nothing).
    """
    _REPOSITORIES[scheme.lower()] = target  # type: ignore[assignment]


def register_artifact_uri_resolver(scheme: str, target: str | Callable[..., str]) -> None:
    """Resolve URIs of `scheme` to another artifact URI before picking a repository.

    Args:
        scheme (`str`): URI scheme, e.g. `"models"`.
        target (`str` or callable): `resolver(uri, tracking_uri=None) -> str`, or its dotted path.
    """
    _RESOLVERS[scheme.lower()] = target


def _load(target: Any) -> Any:
    if not isinstance(target, str):
        return target
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def _resolve_runs_uri(uri: str, tracking_uri: str | None = None) -> str:
    """`runs:/<run_id>/<path>` -> `<the run's artifact_uri>/<path>`."""
    body = uri[len("runs:") :].lstrip("/")
    run_id, _, path = body.partition("/")
    if not run_id:
        raise InvalidParameterError(f"Invalid runs URI {uri!r}: expected 'runs:/<run_id>/<artifact path>'.")
    from hf_mltrack.tracking import MlTrackClient

    artifact_uri = MlTrackClient(tracking_uri).get_run(run_id).info.artifact_uri
    return join_artifact_uri(artifact_uri, path)


def resolve_artifact_uri(uri: str, tracking_uri: str | None = None) -> str:
    """Resolve indirect URIs (`runs:/...`, and any registered resolver) to a storage URI."""
    for _ in range(8):  # resolvers may chain (models:/ -> runs:/ -> s3://)
        resolver = _RESOLVERS.get(get_scheme(uri))
        if resolver is None:
            return uri
        uri = _load(resolver)(uri, tracking_uri=tracking_uri)
    raise InvalidParameterError(f"Artifact URI {uri!r} did not resolve to a storage URI after 8 steps.")


def get_artifact_repository(artifact_uri: str, *, tracking_uri: str | None = None, **kwargs: Any) -> ArtifactRepository:
    """The artifact repository for `artifact_uri`, chosen by its scheme.

    Args:
        artifact_uri (`str`): a local path, `file://`, `s3://`, `gs://`, `abfs://`, `hdfs://`, ...,
            or `runs:/<run_id>/<path>`.
        tracking_uri (`str`, *optional*): tracking store used to resolve `runs:/` URIs, and the server of
            `mlflow-artifacts:/` URIs (repositories that take a ``tracking_uri`` get it).
        **kwargs: passed to the repository class (e.g. `link_mode=` for local stores).

    Raises:
        [`~hf_mltrack.exceptions.InvalidParameterError`]: unknown scheme.
        [`~hf_mltrack.exceptions.MissingDependencyError`]: the scheme needs a package that is not installed;
            the message names it.
    """
    if not isinstance(artifact_uri, str) or not artifact_uri:
        raise InvalidParameterError(f"Invalid artifact URI {artifact_uri!r}: expected a non-empty string.")
    uri = resolve_artifact_uri(artifact_uri, tracking_uri)
    scheme = get_scheme(uri)
    target = _REPOSITORIES.get(scheme)
    if target is None:
        target = _fsspec_fallback(scheme)
    if target is None:
        known = ", ".join(f"{s}://" for s in sorted(s for s in _REPOSITORIES if s)) + ", runs:/"
        raise InvalidParameterError(
            f"Unsupported artifact URI {artifact_uri!r}: no artifact store handles the scheme {scheme!r}. "
            f"Use a local path or one of: {known}."
        )
    try:
        cls = _load(target)
    except ImportError as exc:
        raise MlTrackException(f"Cannot load the artifact store for {scheme}:// ({target}): {exc}") from exc
    if tracking_uri is not None and "tracking_uri" not in kwargs and _takes_tracking_uri(cls):
        kwargs["tracking_uri"] = tracking_uri  # a client's own server, not the process-wide tracking URI
    return cls(uri, **kwargs)


def _takes_tracking_uri(cls: type) -> bool:
    import inspect

    try:
        return "tracking_uri" in inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return False


def _fsspec_fallback(scheme: str) -> str | None:
    """Schemes fsspec knows (installed plugins included) go to the fsspec store."""
    try:
        from fsspec.registry import known_implementations, registry
    except ImportError:
        return None
    if scheme in ("http", "https", "mlflow-artifacts"):
        return None  # tracking-server proxies register their own store; fsspec's HTTP one is read-only
    return _FSSPEC if scheme in known_implementations or scheme in registry else None
