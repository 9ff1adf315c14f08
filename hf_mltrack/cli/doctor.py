"""``hf-mltrack doctor``: versions, optional extras, the tracking store and server reachability.

Prints one line per check and exits 1 when the configured store (or server) cannot be used, so it
also works as a readiness probe in scripts.
"""

from __future__ import annotations

import platform
import sys
from importlib import metadata

import click

from ._options import tracking_uri_option

# distribution -> the extra that installs it (what `pip install 'hf_mltrack[extra]'` adds)
_OPTIONAL: dict[str, str] = {
    "torch": "hf",
    "transformers": "hf",
    "peft": "hf",
    "accelerate": "hf",
    "datasets": "hf",
    "fastapi": "server",
    "uvicorn": "server",
    "boto3": "s3",
    "psycopg": "postgres",
    "scikit-learn": "recipes",
    "psutil": "system-metrics",
    "nvidia-ml-py": "system-metrics",
}
_BASE = ("sqlalchemy", "alembic", "httpx", "pandas", "numpy", "orjson", "click")


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _check_store(uri: str) -> tuple[bool, str]:
    """(usable, what was found) for a store URI; never creates anything."""
    if uri.startswith(("http://", "https://")):
        import httpx

        try:
            response = httpx.get(uri.rstrip("/") + "/health", timeout=5.0)
        except httpx.HTTPError as exc:
            return (
                False,
                f"server {uri} not reachable ({exc.__class__.__name__}: {exc}); is `hf-mltrack server` running?",
            )
        if response.status_code != 200:
            return False, f"server {uri} answered /health with HTTP {response.status_code}"
        version = httpx.get(uri.rstrip("/") + "/version", timeout=5.0).text.strip()
        return True, f"server {uri} is up (version {version or 'unknown'})"
    from ..store.sql.engine import HEAD_REVISION, current_revision, redact

    if uri.startswith("sqlite:///"):
        import os

        path = uri[len("sqlite:///") :]
        if path != ":memory:" and not os.path.exists(path):
            return False, f"no store yet at {path} (the first logged run creates it)"
    try:
        from sqlalchemy import create_engine

        engine = create_engine(uri)
        try:
            revision = current_revision(engine)
        finally:
            engine.dispose()
    except ImportError as exc:
        return False, f"{redact(uri)}: driver missing ({exc}); see the install command above"
    except Exception as exc:  # a doctor reports every failure instead of raising
        return False, f"{redact(uri)}: cannot connect ({exc.__class__.__name__}: {str(exc).splitlines()[0]})"
    if revision != HEAD_REVISION:
        return (
            False,
            f"{redact(uri)}: schema {revision or 'missing'}, expected {HEAD_REVISION}: run `hf-mltrack db upgrade`",
        )
    return True, f"{redact(uri)}: schema {revision} (current)"


@click.command("doctor")
@tracking_uri_option
def doctor(tracking_uri: str | None) -> None:
    """Check this installation: versions, optional extras, the tracking store and server reachability."""
    from .. import __version__, _env
    from ..tracking._uri import resolve_tracking_uri

    click.echo(f"hf_mltrack {__version__} on Python {platform.python_version()} ({sys.executable})")
    click.echo("base: " + ", ".join(f"{d} {_version(d) or 'MISSING'}" for d in _BASE))
    missing: dict[str, list[str]] = {}
    found = []
    for dist, extra in _OPTIONAL.items():
        version = _version(dist)
        if version is None:
            missing.setdefault(extra, []).append(dist)
        else:
            found.append(f"{dist} {version}")
    click.echo("optional: " + (", ".join(found) or "none"))
    for extra, dists in missing.items():
        click.echo(f"  not installed: {', '.join(dists)} (pip install 'hf_mltrack[{extra}]')")
    source = "--tracking-uri" if tracking_uri else "HF_MLTRACK_TRACKING_URI" if _env.TRACKING_URI.get() else "default"
    uri = resolve_tracking_uri(tracking_uri)
    ok, what = _check_store(uri)
    click.echo(f"tracking store ({source}): {'ok' if ok else 'PROBLEM'}: {what}")
    if not ok:
        raise SystemExit(1)
