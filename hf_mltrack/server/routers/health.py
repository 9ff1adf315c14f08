"""``/health``, ``/version`` and ``server-info``: unauthenticated liveness, version and capability probes.

``/version`` answers the MLflow REST API version this server implements (`MLFLOW_API_VERSION`), not
hf_mltrack's own: MLflow clients compare it to enable features (span logging over OTLP needs >= 3.4).
hf_mltrack's version travels in the ``X-HF-MLTrack-Version`` header and in ``server-info``.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import PlainTextResponse

from .._json import JSONResponse
from ..state import State

#: The MLflow REST API version whose routes, shapes and status codes this server serves.
MLFLOW_API_VERSION = "3.17.2"

router = APIRouter(tags=["service"])
info_router = APIRouter(tags=["service"])


@router.get("/health", response_class=PlainTextResponse)
def health(state: State) -> PlainTextResponse:
    """``OK`` when the server runs and its database answers (503 otherwise)."""
    import sqlalchemy as sa

    try:
        with state.store.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception:
        return PlainTextResponse("database unavailable", status_code=503)
    return PlainTextResponse("OK")


@router.get("/version", response_class=PlainTextResponse)
def version() -> PlainTextResponse:
    from ... import __version__

    return PlainTextResponse(MLFLOW_API_VERSION, headers={"X-HF-MLTrack-Version": __version__})


@info_router.get("/server-info")
def server_info(state: State) -> JSONResponse:
    """MLflow 3's capability document (``GET /api/3.0/mlflow/server-info``), plus our own version."""
    from ... import __version__

    return JSONResponse(
        {
            "store_type": "SqlStore",
            "workspaces_enabled": False,
            "trace_archival_enabled": False,
            "multipart_uploads_enabled": False,
            "multipart_downloads_enabled": False,
            "presigned_upload_run_id_supported": False,
            "presigned_upload_model_id_supported": False,
            "features_enabled": {"gateway": False},
            "mlflow_version": MLFLOW_API_VERSION,
            "hf_mltrack_version": __version__,
        }
    )
