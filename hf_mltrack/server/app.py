"""`create_app`: build the FastAPI app of one tracking server (no module globals)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..exceptions import missing_extra
from .config import LOOPBACK_HOSTS, ServerConfig

if TYPE_CHECKING:
    from fastapi import FastAPI

_API_PREFIXES = (("/api/2.0", True), ("/ajax-api/2.0", False))  # (prefix, in the OpenAPI schema)
_API3_PREFIXES = (("/api/3.0", True), ("/ajax-api/3.0", False))  # MLflow 3's routes (traces, server-info)


def create_app(
    backend_store_uri: str,
    default_artifact_root: str | None = None,
    serve_artifacts: bool = True,
    artifacts_destination: str | None = None,
    auth: str | None = None,
    allowed_hosts: Iterable[str] | str | None = None,
    cors_allowed_origins: Iterable[str] | str | None = None,
    **options: object,
) -> FastAPI:
    """The tracking server as an ASGI app, serving MLflow's REST API 2.0.

    Args:
        backend_store_uri (`str`): the tracking database (``sqlite:///path.db``, ``postgresql://...``) or
            a folder holding ``mltrack.db``.
        default_artifact_root (`str`, *optional*): artifact root of new experiments; defaults to the
            proxy ``mlflow-artifacts:/`` when ``serve_artifacts``, else the store's default.
        serve_artifacts (`bool`, *optional*, defaults to `True`): serve the artifact proxy.
        artifacts_destination (`str`, *optional*): storage behind the proxy; defaults to ``./mlartifacts``.
        auth (`str`, *optional*): ``"basic-auth"`` to require users and per-resource permissions.
        allowed_hosts (`list[str]` or `str`, *optional*): extra names accepted in the ``Host`` header
            (loopback names always are); ``"*"`` accepts any (not recommended).
        cors_allowed_origins (`list[str]` or `str`, *optional*): origins allowed cross-origin requests.
        **options: other `ServerConfig` fields (``max_request_bytes``, ``max_artifact_bytes``,
            ``allowed_artifact_roots``, ``auth_default_permission``).

    Returns:
        `fastapi.FastAPI`: the app; run it with ``uvicorn.run(app, host=..., port=...)``.
    """
    config = ServerConfig(
        backend_store_uri=backend_store_uri,
        default_artifact_root=default_artifact_root,
        serve_artifacts=serve_artifacts,
        artifacts_destination=artifacts_destination,
        auth=auth,
        allowed_hosts=_as_tuple(allowed_hosts),
        cors_allowed_origins=_as_tuple(cors_allowed_origins),
        **options,  # type: ignore[arg-type]
    )
    return create_app_from_config(config)


def _as_tuple(value: Iterable[str] | str | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    return tuple(value)


def create_app_from_config(config: ServerConfig) -> FastAPI:
    """Build the app from a `ServerConfig` (what `create_app` and the worker processes call)."""
    try:
        from fastapi import APIRouter, FastAPI
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise missing_extra("The tracking server", "fastapi", "server") from exc

    from .. import __version__
    from ._json import JSONResponse
    from .errors import install_error_handlers
    from .openapi import install_openapi
    from .routers import (
        artifact_files,
        artifact_proxy,
        artifacts,
        experiments,
        health,
        logged_models,
        metric_columns,
        metric_groups,
        metrics,
        multipart,
        otlp,
        run_io,
        runs,
        traces,
        traces_v3,
        webhooks,
        workspaces,
    )
    from .routes import RouteTable
    from .security import SecurityMiddleware
    from .state import ServerState

    state = ServerState(config)
    app = FastAPI(
        title="hf_mltrack tracking server",
        version=__version__,
        description=("MLflow-compatible REST API 2.0 (experiments, runs, metrics, artifacts, registry, traces)."),
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        default_response_class=JSONResponse,
    )
    app.state.server = state
    install_error_handlers(app)
    install_openapi(app, auth=config.auth is not None)

    table = RouteTable()
    app.state.routes = table

    def include(router: APIRouter, prefix: str, in_schema: bool = True) -> None:
        app.include_router(router, prefix=prefix, include_in_schema=in_schema)
        table.add_router(router, prefix)

    resources = [
        experiments.router,
        runs.router,
        metrics.router,
        artifacts.router,
        logged_models.router,
        run_io.router,
        traces.router,
        traces_v3.v2_router,
        artifact_files.api_router,
        webhooks.router,
    ]
    registry_router = _registry_router()
    if registry_router is not None:
        resources.append(registry_router)
    if config.auth is not None:
        from .routers import permissions, users

        resources += [users.router, permissions.router]
    for prefix, in_schema in _API_PREFIXES:
        for router in resources:
            include(router, f"{prefix}/mlflow", in_schema)
        include(workspaces.router, f"{prefix}/hf-mltrack", in_schema)  # the UI's saved workspaces
        include(metric_columns.router, f"{prefix}/hf-mltrack", in_schema)  # the UI's chart reads
        include(metric_groups.router, f"{prefix}/hf-mltrack", in_schema)  # ... and its grouped charts
        if config.serve_artifacts:
            include(artifact_proxy.router, f"{prefix}/mlflow-artifacts", in_schema)
            include(multipart.router, f"{prefix}/mlflow-artifacts", in_schema)
    for prefix, in_schema in _API3_PREFIXES:
        include(traces_v3.router, f"{prefix}/mlflow", in_schema)
        include(health.info_router, f"{prefix}/mlflow", in_schema)
    include(health.router, "")
    include(otlp.router, "")
    include(artifact_files.router, "")
    table.add("/openapi.json", {"GET", "HEAD"})
    _mount_ui(app)  # the web UI at / and /static/* (hf_mltrack/server/ui); adds its routes to `table`

    # Middleware: the last added runs first. Order of a request: security -> CORS -> boundary -> routes.
    # The boundary (authentication, one identity per request, authorization) runs with or without auth.
    from .boundary import Boundary

    if config.auth is not None:
        from .._env import AUTH_ADMIN_PASSWORD, AUTH_ADMIN_USERNAME, AUTH_DEFAULT_PERMISSION
        from .auth import AuthManager

        state.auth = AuthManager(
            state,
            default_permission=config.auth_default_permission or AUTH_DEFAULT_PERMISSION.get(),
            admin_username=AUTH_ADMIN_USERNAME.get(),
            admin_password=AUTH_ADMIN_PASSWORD.get(),
        )
    app.add_middleware(Boundary, routes=table, manager=state.auth)
    if config.cors_allowed_origins:
        from starlette.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(config.cors_allowed_origins),
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
            allow_credentials=False,
        )
    from .json_guard import JsonGuardMiddleware

    app.add_middleware(JsonGuardMiddleware)  # runs after the size caps, before auth and the handlers
    app.add_middleware(
        SecurityMiddleware,
        allowed_hosts=(*LOOPBACK_HOSTS, *config.allowed_hosts),
        cors_allowed_origins=config.cors_allowed_origins,
        max_request_bytes=config.max_request_bytes,
        max_artifact_bytes=config.max_artifact_bytes,
    )
    return app


def settle_heap(app: FastAPI) -> None:
    """Before a server process starts serving: move what it holds for good (modules, routes, the
    store, the artifact destination's client) out of the garbage collector's sight (`gc.freeze`).

    A full collection walks every tracked object: the ~120,000 a worker holds after startup (60,000
    more once boto3 has loaded S3's service model) took 100-500 ms per collection on a busy 2-core
    machine, during which every request of the worker waits, and under load one came every second or
    so (each in-flight batch's points live long enough to be promoted). Frozen objects are never
    walked again; reference counting still frees them. Called by the server's entry points only (an
    app made in a test process leaves that process's collector alone).
    """
    import gc

    app.state.server.open_destination()
    gc.collect()
    gc.freeze()


def _registry_router():  # type: ignore[no-untyped-def]
    """The registry endpoints, when the registry package is present."""
    try:
        from .routers import registry
    except ImportError:
        return None
    return registry.router if registry.available() else None


def _mount_ui(app: FastAPI) -> None:
    """Serve the web UI (``hf_mltrack.server.ui``) when that package is installed."""
    try:
        from .ui import mount_ui
    except ImportError:  # pragma: no cover - a build without the UI
        return
    mount_ui(app)


def app_from_env() -> FastAPI:
    """App factory for worker processes: reads the config `hf-mltrack server` put in the environment."""
    from .._env import SERVER_CONFIG
    from ..exceptions import MlTrackException

    text = SERVER_CONFIG.get()
    if not text:
        raise MlTrackException(
            f"{SERVER_CONFIG.name} is not set: start workers with `hf-mltrack server --workers N`, or call "
            "hf_mltrack.server.create_app(...) yourself"
        )
    app = create_app_from_config(ServerConfig.from_json(text))
    settle_heap(app)
    return app
