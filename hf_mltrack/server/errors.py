"""Every error leaves the server as MLflow's ``{"error_code": ..., "message": ...}`` with a 4xx/5xx status."""

from __future__ import annotations

import errno
import logging
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError as PydanticValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..exceptions import InvalidParameterError, MlTrackException
from ..store.sql.refused_values import is_data_error, refused_value_message
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
    507: "RESOURCE_EXHAUSTED",
}


class InvalidPathError(InvalidParameterError):
    """A request's artifact path refused: MLflow's exact message, ``Invalid path`` (its clients compare it
    whole), with why and the fix in the body's ``details``."""

    def __init__(self, details: str) -> None:
        super().__init__("Invalid path")
        self.details = details


def error_response(
    status: int,
    error_code: str,
    message: str,
    headers: dict[str, str] | None = None,
    details: str | None = None,
) -> JSONResponse:
    body = {"error_code": error_code, "message": message}
    if details:
        body["details"] = details
    return JSONResponse(body, status_code=status, headers=headers)


def _describe_validation(exc: RequestValidationError) -> str:
    """MLflow's wording for the first problem (its clients and tests look for it), then every detail."""
    errors = exc.errors()
    parts = []
    for err in errors[:5]:
        loc = ".".join(str(x) for x in err.get("loc", ()) if x not in ("body", "query"))
        parts.append(f"{loc or 'request'}: {err.get('msg', 'invalid')}")
    details = "Invalid request: " + "; ".join(parts)
    if not errors:
        return details
    first = errors[0]
    where = [str(x) for x in first.get("loc", ()) if x not in ("body", "query", "path")]
    if not where:
        return details
    field = ".".join(where)
    if first.get("type") == "missing" or ("input" in first and first["input"] is None):
        return f"Missing value for required parameter '{field}'. {details}"
    if "input" in first:
        return f"Invalid value {shown_value(first['input'])} for parameter '{field}' supplied. {details}"
    return details


def shown_value(value: Any, limit: int = 200) -> str:
    """A value as MLflow's messages show it: JSON, cut at ``limit`` characters."""
    import json

    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


# errno -> what the client is told. Storage that cannot take more bytes is the server's condition, not
# the request's: 507 Insufficient Storage, with the cause named and no server paths echoed.
_STORAGE_ERRNOS = {
    errno.ENOSPC: "the artifact store is full (no space left on device)",
    errno.EDQUOT: "the artifact store is over its disk quota",
    errno.EFBIG: "the file is larger than the artifact store accepts (file too large)",
    errno.EROFS: "the artifact store is read-only",
}
# Errors only a client's path can cause (the routes validate paths; this is the backstop): 400.
_PATH_ERRNOS = {
    errno.ENAMETOOLONG: "a file name in the artifact path is too long for the artifact store",
    errno.ENOTDIR: "a part of the artifact path is a file, not a folder",
    errno.EISDIR: "the artifact path is a folder, not a file",
}


def storage_error(exc: BaseException) -> tuple[int, str, str] | None:
    """(status, error code, message) for a storage failure anywhere in ``exc``'s cause chain, else None: a full or
    read-only disk (507), an artifact path the file system refuses, or a value the database refuses (400)."""
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 8:
        if isinstance(current, OSError) and current.errno in _STORAGE_ERRNOS:
            return (
                507,
                "RESOURCE_EXHAUSTED",
                f"Cannot store the data: {_STORAGE_ERRNOS[current.errno]} "
                f"({errno.errorcode[current.errno]}). Free space or fix the store, then retry",
            )
        if isinstance(current, OSError) and current.errno in _PATH_ERRNOS:
            return 400, "INVALID_PARAMETER_VALUE", f"Invalid artifact path: {_PATH_ERRNOS[current.errno]}"
        if is_data_error(current):  # SQLAlchemy's, or the driver's own (e.g. a bulk COPY outside the engine's hook)
            return 400, "INVALID_PARAMETER_VALUE", refused_value_message(current)
        text = str(current)
        if type(current).__name__ == "OperationalError" and (
            "database or disk is full" in text or "readonly database" in text
        ):
            cause = "full" if "full" in text else "read-only"
            return 507, "RESOURCE_EXHAUSTED", f"Cannot store the data: the tracking database's disk is {cause}"
        current = current.__cause__ or current.__context__
        seen += 1
    return None


def install_error_handlers(app: FastAPI) -> None:
    from fastapi.exceptions import RequestValidationError

    @app.exception_handler(MlTrackException)
    async def _mltrack_error(request: Request, exc: MlTrackException) -> JSONResponse:
        storage = storage_error(exc) if exc.get_http_status_code() >= 500 else None
        if storage is not None:  # e.g. an artifact store that wrapped the OSError
            return error_response(*storage)
        details = exc.details if isinstance(exc, InvalidPathError) else None
        return error_response(exc.get_http_status_code(), exc.error_code, exc.message, details=details)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(400, "INVALID_PARAMETER_VALUE", _describe_validation(exc))

    @app.exception_handler(PydanticValidationError)
    async def _model_error(request: Request, exc: PydanticValidationError) -> JSONResponse:
        # A request model built inside a handler (GET routes that share a POST route's body model).
        return error_response(400, "INVALID_PARAMETER_VALUE", _describe_validation(exc))  # type: ignore[arg-type]

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "INTERNAL_ERROR" if exc.status_code >= 500 else "BAD_REQUEST")
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = f"No API endpoint {request.method} {request.url.path}"
        return error_response(exc.status_code, code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        storage = storage_error(exc)
        if storage is not None:
            status, code, message = storage
            _logger.warning("Storage error on %s %s: %s", request.method, request.url.path, exc)
            return error_response(status, code, message)
        if type(exc).__name__ == "OperationalError":
            # Database busy or briefly unreachable: clients retry 503s with backoff.
            _logger.warning("Database error on %s %s: %s", request.method, request.url.path, exc)
            return error_response(503, "TEMPORARILY_UNAVAILABLE", "The tracking database is busy; retry shortly")
        _logger.exception("Unexpected error on %s %s", request.method, request.url.path)
        # Never echo internals (paths, SQL, stack traces) to clients.
        return error_response(
            500, "INTERNAL_ERROR", f"Internal server error ({type(exc).__name__}); see the server log"
        )
