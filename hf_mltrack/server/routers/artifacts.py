"""``/api/2.0/mlflow/artifacts/list``: a run's artifact listing, read through the server."""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Iterator
from typing import Annotated, BinaryIO
from urllib.parse import unquote

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from starlette.responses import FileResponse, StreamingResponse

from ...exceptions import InvalidParameterError
from .._json import JSONResponse
from ..state import State

router = APIRouter(prefix="/artifacts", tags=["artifacts"])

_CHUNK = 1024 * 1024
# Types a browser may render inline; everything else downloads as bytes (no HTML/SVG/JS on our origin).
_INLINE_TYPES = frozenset(
    {"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "application/json", "application/pdf"}
)
_TEXT_SUFFIXES = (
    ".txt",
    ".log",
    ".csv",
    ".tsv",
    ".md",
    ".yaml",
    ".yml",
    ".py",
    ".toml",
    ".ini",
    ".cfg",
    ".jsonl",
)
#: Headers on every artifact download: even if a browser renders one, it runs no script and loads nothing.
ARTIFACT_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "private, max-age=0",
}


class FileInfoModel(BaseModel):
    path: str
    is_dir: bool
    file_size: int | None = None


class ListArtifactsResponse(BaseModel):
    root_uri: str | None = None
    files: list[FileInfoModel] = Field(default_factory=list)
    next_page_token: str | None = None


def safe_server_path(path: str | None, *, allow_empty: bool = True) -> str:
    """A request's artifact path, validated after repeated URL-decoding (``..``, ``#``, ``;``, NUL...).

    Refused as MLflow's server refuses it (``Invalid path``), why and the fix in the error's ``details``.
    """
    from ...artifacts.paths import validate_artifact_path
    from ..errors import InvalidPathError

    try:
        rel = validate_artifact_path(path, allow_empty=allow_empty)
    except InvalidParameterError as exc:
        raise InvalidPathError(exc.message) from None
    decoded = path or ""
    for _ in range(4):
        nxt = unquote(decoded)
        if nxt == decoded:
            break
        decoded = nxt
    for bad in ("#", ";"):
        if bad in decoded:
            raise InvalidPathError(
                f"Invalid artifact path {path!r}: it contains {bad!r}, which some storage layers treat as a "
                "separator. Rename the artifact without it"
            )
    return rel


# Files without a suffix that are text (MLflow serves them as text/plain).
_TEXT_NAMES = frozenset({"mlmodel", "mlproject", "license", "readme", "dockerfile", "makefile"})


def media_type_for(path: str) -> str:
    """What a download is served as: an image, JSON or PDF as itself, text as ``text/plain``, the rest
    as bytes (the client's ``Accept`` header plays no part: no HTML or script is ever served)."""
    guessed, _ = mimetypes.guess_type(path)
    if guessed in _INLINE_TYPES:
        return guessed  # type: ignore[return-value]
    name = os.path.basename(path).lower()
    if name.endswith(_TEXT_SUFFIXES) or (guessed or "").startswith("text/") or name in _TEXT_NAMES:
        return "text/plain"
    return "application/octet-stream"


def content_disposition(name: str) -> str:
    """``attachment`` with both ``filename=`` (plain ASCII, for clients that read only it) and
    ``filename*=`` (RFC 5987, the exact UTF-8 name)."""
    from urllib.parse import quote

    clean = "".join(c for c in name if c >= " " and c != "\x7f")
    ascii_name = "".join(c if " " <= c < "\x7f" else "_" for c in clean)
    token = all(c.isalnum() or c in "!#$&+-.^_`|~" for c in ascii_name) and ascii_name
    plain = ascii_name if token else '"' + ascii_name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"attachment; filename={plain}; filename*=UTF-8''{quote(clean, safe='')}"


def _iter_file(f: BinaryIO) -> Iterator[bytes]:
    with f:
        while chunk := f.read(_CHUNK):
            yield chunk


def file_response(repo: object, rel: str) -> FileResponse | StreamingResponse:
    """Stream the artifact file ``rel`` of ``repo``; local stores use sendfile."""
    from ...artifacts.local import LocalArtifactRepository

    headers = dict(ARTIFACT_HEADERS)
    headers["Content-Disposition"] = content_disposition(os.path.basename(rel))
    media = media_type_for(rel)
    headers["Content-Type"] = media  # as is: starlette would add a charset to text/plain
    if isinstance(repo, LocalArtifactRepository):
        full = repo._path(rel)
        if not os.path.isfile(full):
            repo.open(rel).close()  # raises the store's own not-found / is-a-folder error
        return FileResponse(full, media_type=media, headers=headers)
    return StreamingResponse(_iter_file(repo.open(rel)), media_type=media, headers=headers)  # type: ignore[attr-defined]


@router.get("/list", response_model=ListArtifactsResponse)
def list_artifacts(
    state: State,
    run_id: Annotated[str, Query(min_length=1)],  # run_uuid: resolved by the boundary
    path: str | None = None,
    page_token: str | None = None,
) -> JSONResponse:
    rel = safe_server_path(path)
    run = state.store.get_run(run_id)
    repo, prefix = state.repo_for(run.info.artifact_uri)
    full = "/".join(p for p in (prefix, rel) if p)
    files = []
    for info in repo.list_artifacts(full):
        entry = info.to_dict()
        if prefix:
            entry["path"] = info.path[len(prefix) + 1 :]
        files.append(entry)
    return JSONResponse({"root_uri": run.info.artifact_uri, "files": files})
