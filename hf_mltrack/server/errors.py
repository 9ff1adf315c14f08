"""Every error leaves the server as MLflow's ``{"error_code": ..., "message": ...}`` with a 4xx/5xx status."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from starlette.exceptions import HTTPException as StarletteHTTPException

from ..exceptions import MlTrackException
from ._json import JSONResponse

if TYPE_CHECKING:
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError

_logger = logging.getLogger("hf_mltrack.server")

_STATUS_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "ENDPOINT_NOT_FOUND",
    405: "BAD_REQUEST",
    413: "INVALID_PARAMETER_VALUE",
    415: "BAD_REQUEST",
    429: "REQUEST_LIMIT_EXCEEDED",
    503: "TEMPORARILY_UNAVAILABLE",
}


def error_response(
    status: int, error_code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error_code": error_code, "message": message}, status_code=status, headers=headers)


def _describe_validation(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(x) for x in err.get("loc", ()) if x not in ("body", "query"))
        parts.append(f"{loc or 'request'}: {err.get('msg', 'invalid')}")
    return "Invalid request: " + "; ".join(parts)


def install_error_handlers(app: FastAPI) -> None:
    from fastapi.exceptions import RequestValidationError

    @app.exception_handler(MlTrackException)
    async def _mltrack_error(request: Request, exc: MlTrackException) -> JSONResponse:
        return error_response(exc.get_http_status_code(), exc.error_code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(400, "INVALID_PARAMETER_VALUE", _describe_validation(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(
            exc.status_code, "INTERNAL_ERROR" if exc.status_code >= 500 else "BAD_REQUEST"
        )
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = f"No API endpoint {request.method} {request.url.path}"
        return error_response(exc.status_code, code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        if type(exc).__name__ == "OperationalError":
            # Database busy or briefly unreachable: clients retry 503s with backoff.
            _logger.warning("Database error on %s %s: %s", request.method, request.url.path, exc)
            return error_response(
                503, "TEMPORARILY_UNAVAILABLE", "The tracking database is busy; retry shortly"
            )
        _logger.exception("Unexpected error on %s %s", request.method, request.url.path)
        # Never echo internals (paths, SQL, stack traces) to clients.
        return error_response(
            500, "INTERNAL_ERROR", f"Internal server error ({type(exc).__name__}); see the server log"
        )
