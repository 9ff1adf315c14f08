"""MLflow's file routes outside the REST API: ``GET /get-artifact`` (a run's file),
``GET /model-versions/get-artifact`` (a file of a registered version's source), and the UI's
``POST /ajax-api/2.0/mlflow/upload-artifact`` (a raw request body written as a run's file).

Files are read through the same artifact repositories as ``artifacts/list`` (`ServerState.repo_for`:
the proxy destination, or a location inside the server's artifact roots) and served with
`file_response` (the media type from the name, ``Content-Disposition: attachment`` with ``filename=``
and ``filename*=``, ``nosniff``). Error messages are MLflow's ("Request must specify run_uuid.").
"""

from __future__ import annotations

import tempfile
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from ...exceptions import InvalidParameterError, MlTrackException
from .._json import JSONResponse
from ..state import PROXY_SCHEME, ServerState, State, get_state
from .artifacts import file_response, safe_server_path

router = APIRouter(tags=["artifacts"])  # at the root: /get-artifact, /model-versions/get-artifact
api_router = APIRouter(tags=["artifacts"])  # under /api/2.0/mlflow and /ajax-api/2.0/mlflow

_SPOOL_BYTES = 8 * 1024 * 1024


def _run_file(state: ServerState, run_id: str, path: str) -> tuple[Any, str]:
    run = state.store.get_run(run_id)
    repo, prefix = state.repo_for(run.info.artifact_uri)
    return repo, "/".join(p for p in (prefix, path) if p)


@router.get("/get-artifact")
def get_artifact(state: State, run_id: str | None = None, path: str | None = None):  # type: ignore[no-untyped-def]
    """One file of a run's artifacts (MLflow's ``/get-artifact?run_id=...&path=...``; the boundary hands
    ``run_uuid`` on as ``run_id``)."""
    if not run_id:
        raise InvalidParameterError("Request must specify run_id: /get-artifact?run_id=<id>&path=<file>")
    rel = safe_server_path(path, allow_empty=False)
    repo, full = _run_file(state, run_id, rel)
    return file_response(repo, full)


def _version_location(state: ServerState, source: str) -> tuple[Any, str]:
    """(repository, path prefix) of a model version's source."""
    from ...artifacts.uri import get_scheme
    from ...registry.sources import split_runs_uri

    scheme = get_scheme(source)
    if scheme == "runs":
        run_id, sub = split_runs_uri(source)
        repo, prefix = _run_file(state, run_id, "")
        return repo, "/".join(p for p in (prefix, sub.strip("/")) if p)
    if scheme == PROXY_SCHEME:  # "mlflow-artifacts:" alone is the destination's root
        from urllib.parse import urlsplit

        from ..state import proxy_path

        return state.destination_repo(), proxy_path(source) if urlsplit(source).path.strip("/") else ""
    return state.repo_for(source)


@router.get("/model-versions/get-artifact")
def get_model_version_artifact(  # type: ignore[no-untyped-def]
    request: Request, name: str | None = None, version: str | None = None, path: str | None = None
):
    """One file of a registered model version's source."""
    if not name or not version:
        raise InvalidParameterError("Request must specify name and version")
    rel = safe_server_path(path, allow_empty=False)
    state = get_state(request)
    mv = state.registry().get_model_version(name, version)
    repo, prefix = _version_location(state, mv.source or "")
    return file_response(repo, "/".join(p for p in (prefix, rel) if p))


@api_router.post("/upload-artifact")
async def upload_artifact(request: Request, run_uuid: str | None = None, path: str | None = None) -> JSONResponse:
    """Write the raw request body as the file ``path`` of run ``run_uuid`` (the UI's upload)."""
    if not run_uuid:
        raise InvalidParameterError("Request must specify run_uuid.")
    if not path:
        raise InvalidParameterError("Request must specify path.")
    try:
        rel = safe_server_path(path, allow_empty=False)
    except MlTrackException as exc:
        raise InvalidParameterError(f"Invalid path: {exc.message}") from None
    state = get_state(request)
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES) as spool:
        size = 0
        async for chunk in request.stream():
            if chunk:
                size += len(chunk)
                await run_in_threadpool(spool.write, chunk)
        if size == 0:
            raise InvalidParameterError("Request must specify data.")
        spool.seek(0)
        repo, full = await run_in_threadpool(_run_file, state, run_uuid, rel)
        await run_in_threadpool(repo.write_stream, spool, full)  # type: ignore[arg-type]
    return JSONResponse({})
