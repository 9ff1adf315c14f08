"""Artifact URI helpers: local paths <-> `file://` URIs, joining and splitting artifact URIs."""

from __future__ import annotations

import os
import posixpath
from urllib.parse import quote, unquote, urlsplit, urlunsplit
from urllib.request import url2pathname

from hf_mltrack.exceptions import InvalidParameterError

from .paths import validate_artifact_path

__all__ = [
    "get_scheme",
    "is_local_uri",
    "join_artifact_uri",
    "local_path_from_uri",
    "path_to_file_uri",
    "run_artifact_uri",
    "split_artifact_uri",
]


def get_scheme(uri: str) -> str:
    """The lower-case scheme of `uri`; `""` for plain local paths (Windows drive letters included)."""
    scheme = urlsplit(uri).scheme.lower()
    return "" if len(scheme) == 1 else scheme  # "C:/x" is a path, not a URI with scheme "c"


def is_local_uri(uri: str) -> bool:
    """Whether `uri` is a plain local path or a `file:` URI."""
    return get_scheme(uri) in ("", "file")


def path_to_file_uri(path: str | os.PathLike[str]) -> str:
    """The absolute `file:///...` URI of a local path (percent-encoded as RFC 8089 requires)."""
    from pathlib import Path

    return Path(os.path.abspath(os.fspath(path))).as_uri()


def local_path_from_uri(uri: str) -> str:
    """The absolute local path of a plain path or a `file:` URI (`file:///x`, `file:/x`, `file://localhost/x`).

    Raises:
        [`~hf_mltrack.exceptions.InvalidParameterError`]: the URI is not local, or names a remote host.
    """
    if get_scheme(uri) == "":
        return os.path.abspath(os.path.expanduser(uri))
    parts = urlsplit(uri)
    if parts.scheme.lower() != "file":
        raise InvalidParameterError(f"{uri!r} is not a local path or file:// URI.")
    if parts.netloc not in ("", "localhost"):
        raise InvalidParameterError(
            f"file URI {uri!r} names the host {parts.netloc!r}; use file:///absolute/path (three slashes) "
            "for a local folder."
        )
    if parts.query or parts.fragment:
        raise InvalidParameterError(f"file URI {uri!r} must not have a query or fragment.")
    return os.path.abspath(url2pathname(parts.path))


def join_artifact_uri(uri: str, artifact_path: str | None) -> str:
    """Append a (validated) relative artifact path to an artifact URI, keeping its scheme and host."""
    rel = validate_artifact_path(artifact_path)
    if not rel:
        return uri
    parts = urlsplit(uri)
    if get_scheme(uri) == "":
        return posixpath.join(uri.rstrip("/"), rel) if uri else rel
    if parts.scheme.lower() == "file":
        rel = quote(rel)  # file URIs are percent-encoded; local_path_from_uri decodes them
    path = parts.path.rstrip("/") + "/" + rel
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))


def split_artifact_uri(uri: str) -> tuple[str, str]:
    """Split `uri` into (parent URI, last path segment); the segment is `""` when `uri` is a store root.

    `"s3://b/run/artifacts/model"` -> `("s3://b/run/artifacts", "model")`;
    `"runs:/abc/plots/a.png"` -> `("runs:/abc/plots", "a.png")`; `"s3://b"` -> `("s3://b", "")`.
    """
    parts = urlsplit(uri)
    path = parts.path.rstrip("/")
    scheme = get_scheme(uri)
    if scheme == "runs":
        # runs:/<run_id>[/path]: the run itself is the root
        segments = path.lstrip("/").split("/", 1)
        if len(segments) < 2 or not segments[1]:
            return uri.rstrip("/"), ""
    if scheme == "":
        head, tail = posixpath.split(uri.rstrip("/") or "/")
        return head or ".", tail
    if not path.strip("/"):
        return uri.rstrip("/"), ""
    head, tail = posixpath.split(path)
    if head == "/" and parts.netloc:
        head = ""
    parent = urlunsplit((parts.scheme, parts.netloc, head, parts.query, ""))
    return parent, unquote(tail) if scheme == "file" else tail


def run_artifact_uri(artifact_location: str, run_id: str) -> str:
    """The artifact URI of a new run of an experiment stored at `artifact_location` (MLflow layout).

    Local locations become absolute `file://` URIs: `"./artifacts/1"` -> `"file:///cwd/artifacts/1/<run_id>/artifacts"`.
    """
    if is_local_uri(artifact_location):
        return path_to_file_uri(os.path.join(local_path_from_uri(artifact_location), run_id, "artifacts"))
    return join_artifact_uri(artifact_location, f"{run_id}/artifacts")
