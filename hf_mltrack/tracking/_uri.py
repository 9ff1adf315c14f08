"""Tracking URI resolution: explicit > ``HF_MLTRACK_TRACKING_URI`` > the embedded default.

The embedded default needs no configuration: a folder (``HF_MLTRACK_HOME``, else ``./mlruns``)
holding ``mltrack.db`` (SQLite) and ``artifacts/``. A plain path or ``file://`` URI names such a
folder; a path ending in ``.db``/``.sqlite`` names the database file itself.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlparse

from .. import _env

DB_FILENAME = "mltrack.db"
ARTIFACTS_DIRNAME = "artifacts"
_SQL_SCHEMES = ("sqlite", "postgresql", "postgres", "mysql", "mssql")
_HTTP_SCHEMES = ("http", "https")


def default_home() -> Path:
    home = _env.HOME.get()
    return Path(home).expanduser().resolve() if home else (Path.cwd() / "mlruns").resolve()


def default_tracking_uri() -> str:
    return f"sqlite:///{default_home() / DB_FILENAME}"


def resolve_tracking_uri(uri: str | None) -> str:
    """Turn what a user gave (or nothing) into a store URI: ``sqlite:///abs``, ``postgresql://``, ``http://``."""
    uri = uri or _env.TRACKING_URI.get() or None
    if not uri:
        return default_tracking_uri()
    scheme = uri.split("://", 1)[0].split("+", 1)[0].lower() if "://" in uri else ""
    if scheme in _SQL_SCHEMES or scheme in _HTTP_SCHEMES:
        if scheme == "sqlite" and uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
            # Make relative SQLite paths absolute now, so later chdir()s do not move the store.
            rel = uri[len("sqlite:///") :]
            if rel and rel != ":memory:" and not rel.startswith("file:"):
                return f"sqlite:///{Path(rel).expanduser().resolve()}"
        return uri
    if scheme == "file":
        path = Path(unquote(urlparse(uri).path))
    elif scheme:
        from ..exceptions import InvalidParameterError

        raise InvalidParameterError(
            f"Unsupported tracking URI {uri!r}: use a folder path, sqlite:///path/to/file.db, "
            "postgresql://user:pass@host:5432/db or http(s)://host:port of an hf-mltrack server"
        )
    else:
        path = Path(uri)
    path = path.expanduser().resolve()
    if path.suffix in (".db", ".sqlite", ".sqlite3"):
        return f"sqlite:///{path}"
    return f"sqlite:///{path / DB_FILENAME}"


def default_artifact_root_for(store_uri: str) -> str:
    """Where experiments of this store put artifacts when they name no location."""
    configured = _env.ARTIFACT_ROOT.get()
    if configured:
        return to_artifact_uri(configured)
    if store_uri.startswith("sqlite:///"):
        db_path = store_uri[len("sqlite:///") :]
        if db_path and db_path != ":memory:":
            return Path(db_path).resolve().parent.joinpath(ARTIFACTS_DIRNAME).as_uri()
    return (default_home() / ARTIFACTS_DIRNAME).as_uri()


def to_artifact_uri(location: str) -> str:
    """A local path becomes an absolute ``file://`` URI; URIs with a scheme are kept."""
    if "://" in location or location.startswith("mlflow-artifacts:") or location.startswith("hf-mltrack-artifacts:"):
        return location
    return Path(os.path.expanduser(location)).resolve().as_uri()
