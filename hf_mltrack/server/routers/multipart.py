"""``/api/2.0/mlflow-artifacts/mpu/*``: multipart uploads of large artifacts through the proxy.

MLflow's shapes: ``POST mpu/create/<folder>`` with ``{"path": <file>, "num_parts": N}`` answers
``{"upload_id", "credentials": [{"part_number", "url", "headers"}]}``; the artifact is
``<folder>/<basename of path>``. Each part is PUT to its credential's ``url`` (on this server:
``mpu/part/<artifact path>?upload_id=..&part_number=..``, which answers ``{"etag"}``); then
``POST mpu/complete/<folder>`` with ``{"path", "upload_id", "parts": [{"part_number", "etag"}]}``, or
``POST mpu/abort/<folder>`` with ``{"path", "upload_id"}``. Every route is guarded like an upload to
the artifact's path (EDIT on its experiment), and every path is validated like a single PUT's.
"""

from __future__ import annotations

import tempfile
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from ...exceptions import InvalidParameterError
from .._json import JSONResponse
from ..multipart import (
    MAX_PART_BYTES,
    MultipartBackend,
    check_not_staging,
    check_num_parts,
    check_part_number,
    parse_parts,
)
from ..state import ServerState, get_state
from ._common import OkResponse, ok
from .artifacts import safe_server_path

router = APIRouter(prefix="/mpu", tags=["artifact proxy"])

_SPOOL_BYTES = 8 * 1024 * 1024


class CredentialModel(BaseModel):
    part_number: int
    url: str
    headers: dict[str, str] = Field(default_factory=dict)


class CreateMultipartResponse(BaseModel):
    upload_id: str
    credentials: list[CredentialModel]


class PartResponse(BaseModel):
    etag: str


def _destination(folder: str, body: dict) -> str:
    """``<folder>/<basename of body["path"]>``, validated like the path of a single PUT."""
    name = body.get("path")
    if not isinstance(name, str) or not name.strip():
        raise InvalidParameterError('Missing "path": the name (or local path) of the file being uploaded')
    base = name.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    folder_rel = safe_server_path(folder)
    raw = f"{folder}/{base}" if folder_rel else base
    return check_not_staging(safe_server_path(raw, allow_empty=False))


async def _json_body(request: Request) -> dict:
    try:
        body = await request.json()
    except ValueError:
        raise InvalidParameterError("The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise InvalidParameterError("The request body must be a JSON object")
    return body


def _backend(state: ServerState) -> MultipartBackend:
    return MultipartBackend.for_repository(state.destination_repo())


def _upload_id(body: dict) -> str:
    upload_id = body.get("upload_id")
    if not isinstance(upload_id, str) or not upload_id:
        raise InvalidParameterError('Missing "upload_id": the id returned by mpu/create')
    return upload_id


@router.post("/create/{artifact_path:path}", response_model=CreateMultipartResponse)
async def create(artifact_path: str, request: Request) -> JSONResponse:
    state = get_state(request)
    body = await _json_body(request)
    dest = _destination(artifact_path, body)
    num_parts = check_num_parts(body.get("num_parts"))
    upload_id = await run_in_threadpool(lambda: _backend(state).create(dest, num_parts))
    prefix = request.url.path.split("/mpu/create/", 1)[0]  # /api/2.0/mlflow-artifacts, behind any root
    base = f"{request.url.scheme}://{request.url.netloc}{prefix}/mpu/part/{quote(dest, safe='/')}"
    credentials: list[dict[str, Any]] = [
        {
            "part_number": n,
            "url": f"{base}?{urlencode({'upload_id': upload_id, 'part_number': n})}",
            "headers": {},
        }
        for n in range(1, num_parts + 1)
    ]
    return JSONResponse({"upload_id": upload_id, "credentials": credentials})


@router.put("/part/{artifact_path:path}", response_model=PartResponse)
async def upload_part(artifact_path: str, request: Request, upload_id: str = "", part_number: str = "") -> JSONResponse:
    state = get_state(request)
    dest = check_not_staging(safe_server_path(artifact_path, allow_empty=False))
    if not upload_id:
        raise InvalidParameterError("Missing query parameter upload_id (from mpu/create)")
    number = check_part_number(part_number)
    backend = _backend(state)
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES) as spool:
        size = 0
        async for chunk in request.stream():
            if not chunk:
                continue
            size += len(chunk)
            if size > MAX_PART_BYTES:
                raise InvalidParameterError(f"A part may hold at most {MAX_PART_BYTES} bytes")
            if size <= _SPOOL_BYTES:
                spool.write(chunk)
            else:  # on disk now: keep blocking writes off the event loop
                await run_in_threadpool(spool.write, chunk)
        spool.seek(0)
        etag = await run_in_threadpool(backend.upload_part, dest, upload_id, number, spool, size)  # type: ignore[arg-type]
    return JSONResponse({"etag": etag}, headers={"ETag": f'"{etag}"'})


@router.post("/complete/{artifact_path:path}", response_model=OkResponse)
async def complete(artifact_path: str, request: Request) -> JSONResponse:
    state = get_state(request)
    body = await _json_body(request)
    dest = _destination(artifact_path, body)
    upload_id = _upload_id(body)
    parts = parse_parts(body.get("parts"))
    await run_in_threadpool(lambda: _backend(state).complete(dest, upload_id, parts))
    return ok()


@router.post("/abort/{artifact_path:path}", response_model=OkResponse)
async def abort(artifact_path: str, request: Request) -> JSONResponse:
    state = get_state(request)
    body = await _json_body(request)
    dest = _destination(artifact_path, body)
    upload_id = _upload_id(body)
    await run_in_threadpool(lambda: _backend(state).abort(dest, upload_id))
    return ok()
