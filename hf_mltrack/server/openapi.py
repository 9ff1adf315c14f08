"""The OpenAPI schema served at ``/openapi.json``, made to say what the server really answers.

FastAPI documents every route's ``response_model`` as its 200 body, but it also documents a 422
``HTTPValidationError`` that this server never sends: every error leaves it as MLflow's
``{"error_code": ..., "message": ...}`` (see `errors.py`), with 400 for invalid input. This module
rewrites each operation's error responses to the statuses the server can answer with that body:

* 400 (invalid input), 404 (unknown resource or endpoint) and 503 (database busy, retry) on every
  operation;
* 401 and 403 when the server runs with ``--app-name basic-auth``;
* 403, 413 and 415 on operations that take a body (cross-origin writes and artifact locations outside
  the allowed roots, size caps, JSON-only bodies);
* 507 on operations that write artifact bytes (the artifact store is full or read-only).

The schemathesis run in ``tests/server/test_server_openapi_fuzz.py`` checks the server against it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI

ERROR_SCHEMA: dict[str, Any] = {
    "title": "ErrorResponse",
    "type": "object",
    "properties": {
        "error_code": {"type": "string", "description": "MLflow's error code, e.g. INVALID_PARAMETER_VALUE"},
        "message": {"type": "string", "description": "What was wrong and how to fix it"},
    },
    "required": ["error_code", "message"],
}

_DESCRIPTIONS = {
    "400": "Invalid request: the message names the field and the accepted values",
    "401": "Authentication required (HTTP Basic)",
    "403": "Permission denied, or a cross-origin write refused",
    "404": "No such resource or endpoint",
    "413": "Request body too large",
    "415": "The body must be application/json",
    "503": "Temporarily unavailable (database busy): retry with backoff",
    "507": "The artifact store is full or read-only: the message names the cause",
}
_BODY_METHODS = frozenset({"post", "put", "patch", "delete"})
_ARTIFACT_WRITES = ("/mlflow-artifacts/artifacts/", "/mlflow-artifacts/mpu/")


def _error_codes(path: str, method: str, operation: dict[str, Any], auth: bool) -> list[str]:
    codes = ["400", "404", "503"]
    if auth:
        codes += ["401", "403"]
    if method in _BODY_METHODS:
        codes += ["413", "415"]
        if not auth:  # a cross-origin write, or an artifact location outside the allowed roots
            codes.append("403")
    if method in ("put", "post") and any(marker in path for marker in _ARTIFACT_WRITES):
        codes.append("507")
    return sorted(codes)


def rewrite_schema(schema: dict[str, Any], auth: bool) -> dict[str, Any]:
    """Replace FastAPI's 422 responses by the server's real error statuses (in place; returns it)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    components["ErrorResponse"] = ERROR_SCHEMA
    error_content = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            responses.pop("422", None)
            for code in _error_codes(path, method, operation, auth):
                responses.setdefault(code, {"description": _DESCRIPTIONS[code], "content": error_content})
    return schema


def install_openapi(app: FastAPI, auth: bool) -> None:
    """Serve `rewrite_schema`'s version of the app's schema at its ``openapi_url`` (built once)."""
    from fastapi.openapi.utils import get_openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = rewrite_schema(schema, auth)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
