"""One exception tree for hf_mltrack.

```
MlTrackException                 error_code -> HTTP status in ERROR_CODE_TO_HTTP_STATUS
├── InvalidParameterError        INVALID_PARAMETER_VALUE (400)
│   └── SearchFilterParseError   INVALID_PARAMETER_VALUE (400), names the position and token
├── ResourceNotFoundError        RESOURCE_DOES_NOT_EXIST (404)
├── ResourceAlreadyExistsError   RESOURCE_ALREADY_EXISTS (400)
├── InvalidStateError            INVALID_STATE (400)
├── PermissionDeniedError        PERMISSION_DENIED (403)
├── UnauthenticatedError         UNAUTHENTICATED (401)
└── MissingDependencyError       names the exact pip command
```
"""

from __future__ import annotations

import sys

ERROR_CODE_TO_HTTP_STATUS: dict[str, int] = {
    "INTERNAL_ERROR": 500,
    "INVALID_PARAMETER_VALUE": 400,
    "BAD_REQUEST": 400,
    "INVALID_STATE": 400,
    "RESOURCE_ALREADY_EXISTS": 400,
    "RESOURCE_DOES_NOT_EXIST": 404,
    "ENDPOINT_NOT_FOUND": 404,
    "PERMISSION_DENIED": 403,
    "UNAUTHENTICATED": 401,
    "REQUEST_LIMIT_EXCEEDED": 429,
    "TEMPORARILY_UNAVAILABLE": 503,
}


class MlTrackException(Exception):
    """Base class of every error hf_mltrack raises on purpose.

    Args:
        message (`str`): what went wrong, naming the bad value and the fix.
        error_code (`str`, *optional*, defaults to `"INTERNAL_ERROR"`): MLflow-compatible error code.
    """

    default_error_code = "INTERNAL_ERROR"

    def __init__(self, message: str, error_code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.error_code = error_code or self.default_error_code

    def get_http_status_code(self) -> int:
        return ERROR_CODE_TO_HTTP_STATUS.get(self.error_code, 500)

    def serialize_as_json(self) -> dict[str, str]:
        return {"error_code": self.error_code, "message": self.message}


class InvalidParameterError(MlTrackException, ValueError):
    default_error_code = "INVALID_PARAMETER_VALUE"


class SearchFilterParseError(InvalidParameterError):
    """A search filter or order_by clause could not be parsed."""


class ResourceNotFoundError(MlTrackException, LookupError):
    default_error_code = "RESOURCE_DOES_NOT_EXIST"


class ResourceAlreadyExistsError(MlTrackException):
    default_error_code = "RESOURCE_ALREADY_EXISTS"


class InvalidStateError(MlTrackException):
    default_error_code = "INVALID_STATE"


class PermissionDeniedError(MlTrackException, PermissionError):
    default_error_code = "PERMISSION_DENIED"


class UnauthenticatedError(MlTrackException):
    default_error_code = "UNAUTHENTICATED"


class MissingDependencyError(MlTrackException, ImportError):
    """An optional dependency is missing; the message carries the exact install command."""

    default_error_code = "INTERNAL_ERROR"


def missing_extra(feature: str, package: str, extra: str) -> MissingDependencyError:
    """Build the error for a missing optional dependency, naming the install command."""
    return MissingDependencyError(
        f"{feature} needs the '{extra}' extra ({package} is not installed): pip install 'hf_mltrack[{extra}]'"
    )


def run_not_found(run_id: str) -> ResourceNotFoundError:
    """No run has that id: the wording of MLflow's SQL store (``mlflow server``), which its clients match
    (its optuna storage looks for ``Run with id=``), then the fix."""
    return ResourceNotFoundError(
        f"Run with id={run_id} not found. Check the id: search_runs (or `hf-mltrack runs list`) lists an "
        "experiment's runs"
    )


def run_not_active(run_id: str) -> InvalidStateError:
    """A write to a deleted run: MLflow's wording first, then the fix."""
    return InvalidStateError(
        f"The run {run_id} must be in the 'active' state. Current state is deleted: restore it with "
        f"restore_run({run_id!r}) before logging to it"
    )


# Error codes a retry may cure: the server or store is busy, not the request wrong.
TRANSIENT_ERROR_CODES = frozenset({"TEMPORARILY_UNAVAILABLE", "REQUEST_LIMIT_EXCEEDED"})


def is_transient(exc: BaseException) -> bool:
    """Whether retrying may succeed: the store is busy or unreachable, not the data wrong.

    The one classification every retry loop uses (the async metric batcher, the trace exporter).
    Driver exceptions are matched by class, looked up only if their library is already imported
    (an exception of a library can only exist once it is): a locked or unreachable database
    (SQLAlchemy's `OperationalError`, or sqlite3's own where a local SQLite store is used without
    SQLAlchemy), a network error or timeout (httpx), connection errors and timeouts of the standard
    library (`TrackingServerUnavailableError` is a `ConnectionError`).
    """
    if isinstance(exc, MlTrackException):
        return exc.error_code in TRANSIENT_ERROR_CODES
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return True
    for module in ("sqlalchemy.exc", "sqlite3"):
        errors = sys.modules.get(module)
        if errors is not None and isinstance(exc, errors.OperationalError):
            return True
    httpx = sys.modules.get("httpx")
    return httpx is not None and isinstance(exc, (httpx.TimeoutException, httpx.NetworkError))
