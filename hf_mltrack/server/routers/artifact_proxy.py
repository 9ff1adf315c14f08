"""``/api/2.0/mlflow-artifacts/artifacts/<path>``: the artifact proxy (``--serve-artifacts``).

Clients read and write ``mlflow-artifacts:/<experiment>/<run>/artifacts/...`` through the server, which
stores them under ``--artifacts-destination`` (a folder or an object store the clients need no
credentials for). Every path is validated after repeated URL-decoding; uploads are streamed to a
spooled temporary file and written atomically. Large files upload in parts: see `.multipart`.
"""

from __future__ import annotations

import posixpath
import tempfile

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from .._json import JSONResponse
from ..multipart import check_not_staging
from ..state import State, get_state
from ._common import OkResponse, ok
from .artifacts import ListArtifactsResponse, file_response, safe_server_path

router = APIRouter(prefix="/artifacts", tags=["artifact proxy"])

_SPOOL_BYTES = 8 * 1024 * 1024


@router.get("", response_model=ListArtifactsResponse)
def list_proxied(state: State, path: str | None = None) -> JSONResponse:
    rel = check_not_staging(safe_server_path(path))
    repo = state.destination_repo()
    files = []
    for info in repo.list_artifacts(rel):
        entry = info.to_dict()
        entry["path"] = posixpath.basename(info.path)  # MLflow lists names relative to `path`
        files.append(entry)
    return JSONResponse({"files": files})


@router.get(
    "/{artifact_path:path}",
    response_class=Response,
    responses={
        200: {
            "description": "The file's bytes (its media type guessed from its name)",
            "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
def download(artifact_path: str, state: State):  # type: ignore[no-untyped-def]
    rel = check_not_staging(safe_server_path(artifact_path, allow_empty=False))
    return file_response(state.destination_repo(), rel)


@router.put("/{artifact_path:path}", response_model=OkResponse)
async def upload(artifact_path: str, request: Request) -> JSONResponse:
    state = get_state(request)
    rel = check_not_staging(safe_server_path(artifact_path, allow_empty=False))
    repo = state.destination_repo()
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES) as spool:
        size = 0
        async for chunk in request.stream():
            if not chunk:
                continue
            size += len(chunk)
            if size <= _SPOOL_BYTES:
                spool.write(chunk)
            else:  # on disk now: keep blocking writes off the event loop
                await run_in_threadpool(spool.write, chunk)
        spool.seek(0)
        await run_in_threadpool(repo.write_stream, spool, rel)  # type: ignore[arg-type]
    return ok()


@router.delete("/{artifact_path:path}", response_model=OkResponse)
def delete(artifact_path: str, state: State) -> JSONResponse:
    rel = check_not_staging(safe_server_path(artifact_path, allow_empty=False))
    state.destination_repo().delete_artifacts(rel)
    return ok()
