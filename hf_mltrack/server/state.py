"""Per-app state: the tracking store, artifact locations and (optionally) the auth manager.

One `ServerState` lives on ``app.state.server``; nothing is kept in module globals, so several apps
(with different stores) can run in one process, as the tests do.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import unquote, urlsplit

from fastapi import Depends, Request

from ..artifacts.uri import get_scheme
from ..exceptions import InvalidParameterError, MlTrackException, PermissionDeniedError
from .config import ServerConfig

if TYPE_CHECKING:
    from ..artifacts.base import ArtifactRepository
    from ..store.sql.tracking_store import SqlTrackingStore

PROXY_SCHEME = "mlflow-artifacts"
PROXY_ROOT = "mlflow-artifacts:/"
# Schemes the server never reads from or writes to on a client's behalf (no server-side request forgery).
_REMOTE_FETCH_SCHEMES = frozenset({"http", "https", "ftp", "ftps", "sftp", "ssh", "git", "data", "runs", "models"})


_SERVED_PATHS = ("/api/2.0/mlflow-artifacts/artifacts/", "/ajax-api/2.0/mlflow-artifacts/artifacts/")


def served_artifacts_rel(uri: str) -> str | None:
    """The path under the artifact proxy of an ``http(s)://.../mlflow-artifacts/artifacts[/...]`` URL
    (``""`` for the proxy's root), or `None` when ``uri`` is not such a URL."""
    if get_scheme(uri) not in ("http", "https"):
        return None
    path = urlsplit(uri).path + "/"
    for marker in _SERVED_PATHS:
        if marker in path:
            return path.split(marker, 1)[1].strip("/")
    return None


def proxy_path(uri: str) -> str:
    """``mlflow-artifacts:/1/<run>/artifacts/x`` (or ``mlflow-artifacts://host/1/...``) -> ``1/<run>/...``."""
    from ..artifacts.paths import validate_artifact_path

    return validate_artifact_path(urlsplit(uri).path.lstrip("/"), what="proxied artifact path")


def _decoded(text: str) -> str:
    for _ in range(4):
        nxt = unquote(text)
        if nxt == text:
            break
        text = nxt
    return text


class ServerState:
    """What the routers share.

    Args:
        config (`ServerConfig`): the server configuration.
    """

    def __init__(self, config: ServerConfig) -> None:
        from ..tracking._uri import default_artifact_root_for, resolve_tracking_uri, to_artifact_uri

        self.config = config
        db_uri = resolve_tracking_uri(config.backend_store_uri)
        if get_scheme(db_uri) in ("http", "https"):
            raise InvalidParameterError(
                f"--backend-store-uri {db_uri!r} is a server address: give a database "
                "(sqlite:///path/mltrack.db, "
                "postgresql://user:pass@host:5432/db) or a folder"
            )
        self.backend_store_uri = db_uri
        if config.default_artifact_root:
            root = to_artifact_uri(config.default_artifact_root)
        elif config.serve_artifacts:
            root = PROXY_ROOT
        else:
            root = default_artifact_root_for(db_uri)
        self.default_artifact_root = root
        destination = config.artifacts_destination or os.path.join(os.getcwd(), "mlartifacts")
        self.artifacts_destination = to_artifact_uri(destination)
        self.store = self._make_store(db_uri, root)
        self._dest_repo: ArtifactRepository | None = None
        self._lock = threading.Lock()
        self.auth: Any = None  # an AuthManager when --app-name basic-auth
        self._registry: Any = None
        self._webhooks: Any = None
        allowed = [root, self.store.default_artifact_root, *config.allowed_artifact_roots]
        if config.serve_artifacts:
            allowed += [PROXY_ROOT, self.artifacts_destination]
        self.allowed_artifact_roots = tuple(dict.fromkeys(allowed))

    @staticmethod
    def _make_store(db_uri: str, root: str) -> SqlTrackingStore:
        from ..store.sql.tracking_store import SqlTrackingStore

        # A new database creates the Default experiment (id 0) under the server's root too.
        return SqlTrackingStore(db_uri, default_artifact_root=root)

    # ---- artifact locations ------------------------------------------------------------------
    def location_allowed(self, uri: str) -> bool:
        """Whether the server may read or write under ``uri`` for clients."""
        from ..artifacts.uri import is_local_uri, local_path_from_uri

        scheme = get_scheme(uri)
        if scheme in ("http", "https"):
            try:
                return self.served_http_path(uri) is not None
            except InvalidParameterError:
                return False
        if scheme in _REMOTE_FETCH_SCHEMES:
            return False
        decoded = _decoded(uri)
        if "\x00" in decoded or "\\" in decoded:
            return False
        if "*" in self.allowed_artifact_roots:
            return True
        if scheme == PROXY_SCHEME:
            try:
                proxy_path(uri)
            except InvalidParameterError:
                return False
            return self.config.serve_artifacts
        if is_local_uri(uri):
            try:
                path = os.path.realpath(local_path_from_uri(uri))
            except InvalidParameterError:
                return False
            for root in self.allowed_artifact_roots:
                if not is_local_uri(root):
                    continue
                base = os.path.realpath(local_path_from_uri(root))
                if path == base or path.startswith(base.rstrip(os.sep) + os.sep):
                    return True
            return False
        if any(seg in ("..", ".") for seg in urlsplit(decoded).path.split("/")):
            return False
        for root in self.allowed_artifact_roots:
            if get_scheme(root) != scheme:
                continue
            prefix = root.rstrip("/")
            if uri == prefix or uri.startswith(prefix + "/"):
                return True
        return False

    def check_artifact_location(self, location: str) -> str:
        """Validate a client-given experiment ``artifact_location``: it must lie under a configured root
        and not inside another experiment's folder (whose runs' files it would reach).

        A relative path is resolved against the server's working directory and stored absolute, as
        MLflow's server does (a later start from another directory must not move it); the root rule
        applies to where it resolves.
        """
        given = location
        if get_scheme(location) == "" and not os.path.isabs(location) and "\x00" not in location:
            location = os.path.abspath(location)
        if not self.location_allowed(location):
            roots = ", ".join(r for r in self.allowed_artifact_roots if r != "*")
            where = f" (resolved to {location!r})" if location != given else ""
            raise PermissionDeniedError(
                f"artifact_location {given!r}{where} is outside this server's artifact roots ({roots}). Leave it "
                "empty to use the default, or start the server with --allowed-artifact-roots to permit it"
            )
        owner = self.experiment_folder_holding(location)
        if owner is not None:
            raise InvalidParameterError(
                f"artifact_location {location!r} lies inside the folder of experiment {owner}: an "
                "experiment's artifacts may not live in another's. Leave it empty to use the default, or "
                "give a folder of its own"
            )
        return location

    def experiment_folder_holding(self, location: str) -> str | None:
        """The id of the experiment whose folder holds ``location``: a numbered folder of the proxy or of
        the default root (also one a later experiment will get), or an existing experiment's location."""
        import sqlalchemy as sa

        from ..registry.sources import within
        from .auth.sources import experiment_folder, relative_to

        folder = experiment_folder(self, location)
        if folder is not None:
            return folder
        roots = {r.rstrip("/") for r in self.allowed_artifact_roots if r != "*"}
        for root in (self.default_artifact_root, self.store.default_artifact_root):
            if root and get_scheme(root) != PROXY_SCHEME and within(location, root):
                first = relative_to(location, root).split("/", 1)[0]
                if first.isdigit():
                    return first
        with self.store.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT experiment_id, artifact_location FROM experiments")).all()
        for exp_id, existing in rows:
            if existing and existing.rstrip("/") not in roots and within(location, existing):
                return str(exp_id)
        return None

    def destination_repo(self) -> ArtifactRepository:
        if not self.config.serve_artifacts:
            raise MlTrackException(
                "This server does not serve artifacts: restart it with --serve-artifacts",
                error_code="ENDPOINT_NOT_FOUND",
            )
        with self._lock:
            if self._dest_repo is None:
                from ..artifacts.registry import get_artifact_repository

                self._dest_repo = get_artifact_repository(self.artifacts_destination)
            return self._dest_repo

    def open_destination(self) -> None:
        """Build the artifact destination's client at startup rather than on the first upload (boto3
        loads S3's service model: ~60,000 objects and a few hundred ms of CPU). A destination that
        cannot be opened is left to fail on use, with its message, as before."""
        if not self.config.serve_artifacts:
            return
        try:
            repo = self.destination_repo()
        except MlTrackException:
            return
        getattr(repo, "client", None)  # S3: the property creates the shared client

    def repo_for(self, artifact_uri: str) -> tuple[ArtifactRepository, str]:
        """(repository, path prefix) holding a run's artifacts; proxied URIs map to the destination."""
        from ..artifacts.registry import get_artifact_repository

        if get_scheme(artifact_uri) == PROXY_SCHEME:
            return self.destination_repo(), proxy_path(artifact_uri)
        served = self.served_http_path(artifact_uri)
        if served is not None:
            return self.destination_repo(), served
        if not self.location_allowed(artifact_uri):
            raise PermissionDeniedError(
                f"The artifact location {artifact_uri!r} is outside this server's artifact roots; the server "
                "does not access it"
            )
        return get_artifact_repository(artifact_uri), ""

    def served_http_path(self, uri: str) -> str | None:
        """The proxy path of an ``http(s)://<this server>/api/2.0/mlflow-artifacts/artifacts/...`` URI under
        one of the configured artifact roots (MLflow's "proxied artifact root" given as this server's own
        URL); `None` for anything else. The server reads its own destination: it never fetches the URL."""
        if not self.config.serve_artifacts or get_scheme(uri) not in ("http", "https"):
            return None
        for root in self.allowed_artifact_roots:
            if get_scheme(root) not in ("http", "https"):
                continue
            base = root.rstrip("/")
            if uri != base and not uri.startswith(base + "/"):
                continue
            rel = served_artifacts_rel(uri)
            if rel is not None:
                return proxy_path(f"{PROXY_ROOT}{rel}")
        return None

    # ---- webhooks ------------------------------------------------------------------------------
    def webhooks(self) -> Any:
        """The `WebhookDispatcher` of this server (its store is the tracking database)."""
        with self._lock:
            if self._webhooks is None:
                from .webhooks import WebhookDispatcher, WebhookStore

                self._webhooks = WebhookDispatcher(
                    WebhookStore(self.store.engine), allow_private=self.config.webhooks_allow_private_urls
                )
            return self._webhooks

    def fire_webhooks(self, entity: str, action: str, data: dict[str, Any]) -> None:
        """Queue the deliveries of a registry event (never blocks, never raises)."""
        try:
            self.webhooks().fire(entity, action, data)
        except Exception:  # pragma: no cover - delivery problems are logged by the dispatcher
            pass

    # ---- registry ------------------------------------------------------------------------------
    def registry(self) -> Any:
        with self._lock:
            if self._registry is None:
                from .routers.registry import make_registry_store

                self._registry = make_registry_store(self)
            return self._registry


def get_state(request: Request) -> ServerState:
    return request.app.state.server  # type: ignore[no-any-return]


#: A route parameter receiving the app's `ServerState`: ``def handler(state: State): ...``.
State = Annotated[ServerState, Depends(get_state)]
