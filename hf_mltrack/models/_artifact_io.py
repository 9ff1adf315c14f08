"""The only place where the model code moves files to and from artifact stores.

Everything goes through `hf_mltrack.artifacts` (local folders, ``file://``, ``s3://``, fsspec schemes, the
server proxy), except that a model in a local folder is used in place: loading it copies nothing.
"""

from __future__ import annotations

import os
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

from hf_mltrack.exceptions import InvalidParameterError, ResourceNotFoundError

_STAGING_PREFIX = ".hfmltrack-partial-model-"


def local_path_of(uri: str) -> str | None:
    """The local filesystem path of a plain path or ``file://`` URI, else ``None``."""
    parsed = urllib.parse.urlparse(uri)
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise InvalidParameterError(
                f"file:// URI {uri!r} names host {parsed.netloc!r}; only local files are supported"
            )
        return urllib.request.url2pathname(parsed.path)
    # a one-letter scheme is a Windows drive letter, not a URI scheme
    if parsed.scheme == "" or (len(parsed.scheme) == 1 and os.name == "nt"):
        return uri
    return None


@contextmanager
def staging_dir(artifact_uri: str) -> Iterator[str]:
    """A temporary folder to save a model into before uploading it to ``artifact_uri``.

    For a local store it sits beside the run's artifact folder (same filesystem, outside the artifacts), so
    `upload_dir(..., staged=True)` can hardlink the freshly written files instead of copying them: logging a
    model then writes its bytes once.
    """
    parent = None
    local = local_path_of(artifact_uri)
    if local is not None:
        parent = os.path.dirname(os.path.abspath(local).rstrip(os.sep))
        try:
            os.makedirs(parent, exist_ok=True)
            tmp = tempfile.TemporaryDirectory(prefix=_STAGING_PREFIX, dir=parent)
        except OSError:
            tmp = tempfile.TemporaryDirectory(prefix=_STAGING_PREFIX)
    else:
        tmp = tempfile.TemporaryDirectory(prefix=_STAGING_PREFIX)
    with tmp as path:
        yield path


def upload_dir(local_dir: str, artifact_uri: str, artifact_path: str | None, staged: bool = False) -> None:
    """Upload the folder ``local_dir`` to ``<artifact_uri>/<artifact_path>``.

    Args:
        staged (`bool`, *optional*, defaults to `False`): ``local_dir`` is a `staging_dir` that is deleted
            right after, so a local store may hardlink its files (nobody else can modify them).
    """
    from hf_mltrack.artifacts import get_artifact_repository

    kwargs = {"link_mode": "hardlink"} if staged and local_path_of(artifact_uri) is not None else {}
    get_artifact_repository(artifact_uri, **kwargs).log_artifacts(local_dir, artifact_path)


def download(uri: str, dst_path: str | None = None) -> str:
    """Return a local path holding the file or folder at ``uri``.

    Local paths and ``file://`` URIs are returned as they are (no copy); anything else is downloaded into
    ``dst_path`` (a new temporary folder when not given).
    """
    local = local_path_of(uri)
    if local is not None:
        if not os.path.exists(local):
            raise ResourceNotFoundError(f"No file or folder at {uri!r}")
        return os.path.abspath(local)
    from hf_mltrack.artifacts import download_artifacts

    dst_path = dst_path or tempfile.mkdtemp(prefix="hf_mltrack_model_")
    return download_artifacts(artifact_uri=uri, dst_path=dst_path)
