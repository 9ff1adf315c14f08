"""Refuse to start a server whose stores need a driver that is not installed.

Without this check, ``hf-mltrack server --artifacts-destination s3://...`` without boto3 starts and
answers 500 on the first upload, and a PostgreSQL store without psycopg fails deep inside SQLAlchemy.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

from ..exceptions import MissingDependencyError, missing_extra

if TYPE_CHECKING:
    from .config import ServerConfig

# URI scheme -> (module that must import, the extra that installs it)
_ARTIFACT_DRIVERS: dict[str, tuple[str, str]] = {"s3": ("boto3", "s3")}
_DB_EXTRAS: dict[str, str] = {"postgresql": "postgres", "postgres": "postgres"}


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package that fails to import, a module without a spec
        return False


def _scheme(uri: str) -> str:
    return uri.split("://", 1)[0].split("+", 1)[0].lower() if "://" in uri else ""


def check_store_driver(uri: str) -> None:
    """Raise `MissingDependencyError` (with the install command) if the database driver of `uri` is missing."""
    scheme = _scheme(uri)
    if scheme in ("", "file", "http", "https"):
        return
    from sqlalchemy.engine import make_url

    from ..store.sql.engine import normalize_db_uri, redact

    try:
        make_url(normalize_db_uri(uri)).get_dialect().import_dbapi()
    except ImportError as exc:
        extra = _DB_EXTRAS.get(scheme)
        if extra is not None:
            raise missing_extra(f"The backend store {redact(uri)}", exc.name or "psycopg", extra) from exc
        raise MissingDependencyError(
            f"The backend store {redact(uri)} needs the database driver {exc.name}, which is not installed: "
            f"pip install {exc.name}"
        ) from exc


def check_artifact_driver(uri: str | None) -> None:
    """Raise `MissingDependencyError` if the artifact location `uri` needs a package that is missing."""
    if not uri:
        return
    scheme = _scheme(uri)
    if scheme in ("", "file", "mlflow-artifacts", "hf-mltrack-artifacts", "runs", "models"):
        return
    driver = _ARTIFACT_DRIVERS.get(scheme)
    if driver is not None:
        module, extra = driver
        if not _installed(module):
            raise missing_extra(f"The artifact location {uri}", module, extra)
        return
    if not _installed("fsspec"):
        raise missing_extra(f"The artifact location {uri}", "fsspec", "s3")
    import fsspec

    try:
        fsspec.get_filesystem_class(scheme)
    except ImportError as exc:  # fsspec's message names the package, e.g. "Install gcsfs to access ..."
        raise MissingDependencyError(
            f"The artifact location {uri} needs a package that is not installed: {exc}"
        ) from exc
    except ValueError:
        return  # not an fsspec protocol: the artifact registry reports unknown schemes itself


def check_drivers(config: ServerConfig) -> None:
    """Every driver the configured stores need is importable (else `MissingDependencyError`)."""
    check_store_driver(config.backend_store_uri)
    root = config.default_artifact_root
    from .state import served_artifacts_rel

    if not (config.serve_artifacts and root and served_artifacts_rel(root) is not None):
        # This server's own proxy URL as the root (MLflow's "proxied artifact root"): the server reads its
        # destination for it and never fetches the URL, so no http filesystem package is needed.
        check_artifact_driver(root)
    if config.serve_artifacts:
        check_artifact_driver(config.artifacts_destination)
