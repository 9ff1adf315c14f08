"""``/health`` and ``/version``: unauthenticated liveness and version probes."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import PlainTextResponse

from ..state import State

router = APIRouter(tags=["service"])


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

    return PlainTextResponse(__version__)
