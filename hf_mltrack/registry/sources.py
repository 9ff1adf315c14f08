"""Where a model version's files may come from (MLflow's CVE-2023-1177 family, closed by construction).

A version's source must lie inside this tracking store's artifact locations (as in MLflow 3.17, it need
not exist yet, nor hold an ``MLmodel`` file: the model may be uploaded after it is registered):

- ``runs:/<run_id>/<path>``: resolved to ``<the run's artifact URI>/<path>``, and the run is recorded;
  the URI of a run this store does not have (another store's) is kept as given: it resolves against
  this store's runs only, so it reaches no file;
- ``models:/<name>/<version|stage|latest>`` or ``models:/<name>@<alias>``: the source of that version
  (already checked when it was registered);
- a URI or absolute local path inside the artifact location of an experiment of this store (or its
  default artifact root); when ``run_id`` is given, inside that run's artifact URI.

Refused outright: ``..`` or ``.`` segments (also percent-encoded), backslashes, NUL and control
characters, query strings and fragments, relative local paths, and any location outside the
store's artifact locations (``/etc``, ``file:///home/...``, ``http://...``, another bucket).
Local sources are compared after resolving symlinks.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from ..exceptions import InvalidParameterError, ResourceNotFoundError

_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
# MLflow's wording, which clients match on.
LOCAL_SOURCE_RULE = (
    "To use a local path as a model version source, the run_id request parameter has to be specified "
    "and the local path has to be contained within the artifact directory of the run specified by the run_id"
)
_FIX = (
    "Register a model logged to this tracking store: runs:/<run_id>/<artifact_path>, "
    "models:/<name>/<version> or the artifact URI of a run's model"
)


@dataclass(frozen=True)
class ResolvedSource:
    """A checked source: the URI to store, and the run it belongs to (if known)."""

    source: str
    run_id: str | None


def _refuse(source: str, why: str) -> InvalidParameterError:
    return InvalidParameterError(f"Invalid model source {source!r}: {why}. {_FIX}")


def _scheme(uri: str) -> str:
    m = _SCHEME_RE.match(uri)
    # one-letter "schemes" are Windows drive letters, i.e. local paths
    return m.group(1).lower() if m and len(m.group(1)) > 1 else ""


def check_syntax(source: object) -> str:
    """Refuse sources that try to escape a location, whatever the scheme."""
    if not isinstance(source, str) or not source.strip():
        raise InvalidParameterError(f"Invalid model source {source!r}: give a non-empty URI. {_FIX}")
    if any(ord(c) < 32 or ord(c) == 127 for c in source):
        raise _refuse(source, "it contains a control character")
    if "\\" in source:
        raise _refuse(source, "it contains a backslash")
    decoded = source
    for _ in range(3):  # catch %2e%2e and double encodings like %252e
        decoded = urllib.parse.unquote(decoded)
        if "\\" in decoded or "\x00" in decoded:
            raise _refuse(source, "it contains an encoded backslash or NUL")
        segments = re.split(r"/", decoded.split("?", 1)[0].split("#", 1)[0])
        if any(seg in ("..", ".") for seg in segments):
            raise _refuse(source, "it contains a '..' or '.' path segment")
    if "?" in source or "#" in source:
        raise _refuse(source, "query strings and fragments are not allowed in a model location")
    return source


def split_runs_uri(source: str) -> tuple[str, str]:
    """``runs:/<run_id>/<path>`` -> ``(run_id, path)``."""
    body = source[len("runs:") :].lstrip("/")
    run_id, _, path = body.partition("/")
    if not run_id:
        raise _refuse(source, "a runs URI needs a run id: runs:/<run_id>/<artifact_path>")
    return run_id, "/".join(p for p in urllib.parse.unquote(path).split("/") if p)


def _join(base: str, path: str) -> str:
    return base.rstrip("/") + "/" + path if path else base


def _file_path(uri: str) -> Path | None:
    """The local path of a ``file:`` URI or an absolute path, symlinks resolved; None for other schemes."""
    scheme = _scheme(uri)
    if scheme == "file":
        parsed = urllib.parse.urlparse(uri)
        if parsed.netloc not in ("", "localhost"):
            return None
        raw = urllib.parse.unquote(parsed.path)
    elif scheme == "":
        raw = os.path.expanduser(uri)
    else:
        return None
    return Path(raw).resolve()


def _within(child: str, root: str) -> bool:
    """Whether the URI `child` lies at or under the URI `root` (same scheme and host; symlinks resolved)."""
    child_path, root_path = _file_path(child), _file_path(root)
    if (child_path is None) != (root_path is None):
        return False
    if child_path is not None and root_path is not None:
        return child_path == root_path or root_path in child_path.parents
    c, r = urllib.parse.urlparse(child), urllib.parse.urlparse(root)
    if (c.scheme.lower(), c.netloc) != (r.scheme.lower(), r.netloc):
        return False
    c_parts = [p for p in c.path.split("/") if p]
    r_parts = [p for p in r.path.split("/") if p]
    return c_parts[: len(r_parts)] == r_parts


def within(child: str, root: str) -> bool:
    """Whether the URI or path ``child`` lies at or under ``root`` (symlinks resolved)."""
    return _within(child, root)


def file_path(uri: str) -> Path | None:
    """The local path of a ``file:`` URI or an absolute path, symlinks resolved; None otherwise."""
    return _file_path(uri)


def scheme_of(uri: str) -> str:
    """The URI's scheme in lower case; ``""`` for local paths (also ``C:/...``)."""
    return _scheme(uri)


def resolve_source(
    source: str,
    run_id: str | None,
    *,
    run_artifact_uri: Callable[[str], str],
    artifact_roots: Callable[[], Iterable[str]],
    models_uri_source: Callable[[str], tuple[str, str | None]],
) -> ResolvedSource:
    """Check a model version's source and turn it into the URI to store.

    Args:
        source (`str`): what the user gave (``runs:/``, ``models:/``, an artifact URI or an absolute path).
        run_id (`str`, *optional*): the run the model comes from.
        run_artifact_uri (`Callable[[str], str]`): run id -> its artifact URI (raises if no such run).
        artifact_roots (`Callable[[], Iterable[str]]`): the store's artifact locations (experiments'
            locations and the default root).
        models_uri_source (`Callable[[str], tuple[str, str | None]]`): a ``models:/`` URI -> the
            (source, run_id) of the version it names.

    Returns:
        `ResolvedSource`: the source to store and the run id (from the ``runs:/`` URI when not given).

    Raises:
        `InvalidParameterError`: naming the source and why it is refused.
    """
    check_syntax(source)
    scheme = _scheme(source)
    if run_id is not None and (not isinstance(run_id, str) or not run_id):
        raise InvalidParameterError(f"Invalid run_id {run_id!r}: give the id of a run of this tracking store")

    if scheme == "runs":
        uri_run_id, path = split_runs_uri(source)
        if run_id is not None and run_id != uri_run_id:
            raise _refuse(source, f"it names run {uri_run_id!r}, but run_id={run_id!r} was given")
        try:
            root = run_artifact_uri(uri_run_id)
        except ResourceNotFoundError:
            # A run of another tracking store (MLflow accepts these): kept as the runs URI, which only
            # ever resolves against this store's runs, so it reaches no files here.
            return ResolvedSource(source, uri_run_id)
        resolved = _join(root, path)
        if not _within(resolved, root):  # a symlink inside the run's artifacts pointing elsewhere
            raise _refuse(source, f"it resolves outside the artifacts of run {uri_run_id!r} ({root})")
        return ResolvedSource(resolved, uri_run_id)

    if scheme == "models":
        resolved, version_run = models_uri_source(source)
        return ResolvedSource(resolved, run_id or version_run)

    given = source
    if scheme == "" and not os.path.isabs(os.path.expanduser(source)):
        raise _refuse(given, "a local path must be absolute")
    if scheme == "":
        source = Path(os.path.expanduser(source)).resolve().as_uri()

    if run_id is not None:
        root = _run_artifacts(run_id, run_artifact_uri, given)
        if not _within(source, root):
            raise _refuse(
                given,
                f"it is outside the artifacts of run {run_id!r} ({root}). {LOCAL_SOURCE_RULE}",
            )
    else:
        roots = [r for r in artifact_roots() if r]
        if not any(_within(source, r) for r in roots):
            shown = ", ".join(sorted(set(roots))[:5]) + (", ..." if len(set(roots)) > 5 else "")
            raise _refuse(given, f"it is outside this tracking store's artifact locations ({shown})")
    return ResolvedSource(source, run_id)


def _run_artifacts(run_id: str, run_artifact_uri: Callable[[str], str], source: str) -> str:
    try:
        return run_artifact_uri(run_id)
    except ResourceNotFoundError as exc:
        raise ResourceNotFoundError(
            f"Invalid model source {source!r}: run {run_id!r} does not exist in this tracking store ({exc.message})"
        ) from exc
