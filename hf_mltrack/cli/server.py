"""``hf-mltrack server``, ``hf-mltrack ui`` and ``hf-mltrack gc``.

Every option can also be set through the environment: ``HF_MLTRACK_SERVER_PORT``,
``HF_MLTRACK_SERVER_BACKEND_STORE_URI``, ... (click's ``auto_envvar_prefix``).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from ..server.config import ServerConfig

_APP_FACTORY = "hf_mltrack.server.app:app_from_env"


def _csv(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


def _default_store_uri() -> str:
    from ..tracking._uri import resolve_tracking_uri

    return resolve_tracking_uri(None)


def _check_server_deps() -> None:
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        from ..exceptions import missing_extra

        raise click.ClickException(str(missing_extra("hf-mltrack server", exc.name or "fastapi", "server"))) from exc


def _hosts_for(host: str, allowed_hosts: tuple[str, ...]) -> tuple[str, ...]:
    """The bind address is an accepted Host name too (unless it is a wildcard address)."""
    if host in ("0.0.0.0", "::", "") or host in allowed_hosts:
        return allowed_hosts
    return (*allowed_hosts, host)


_PORT = click.IntRange(0, 65535)


def _bind_error(host: str, port: int) -> OSError | None:
    """Why listening on ``host:port`` would fail now (None if it would not), checked the way uvicorn binds."""
    import socket

    try:
        family, socktype, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        with socket.socket(family, socktype, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
    except OSError as exc:
        return exc
    return None


def check_port(host: str, port: int) -> None:
    """Refuse a port that cannot be listened on, before anything starts, naming the address and a fix."""
    error = _bind_error(host, port)
    if error is None:
        return
    import errno

    if error.errno == errno.EADDRINUSE:
        free = next((p for p in range(port + 1, min(port + 50, 65536)) if _bind_error(host, p) is None), None)
        hint = f"stop the other server or pick another port, e.g. --port {free}" if free else "pick another --port"
        raise click.ClickException(f"Cannot listen on {host}:{port}: the address is already in use; {hint}")
    if error.errno == errno.EACCES:
        raise click.ClickException(
            f"Cannot listen on {host}:{port}: permission denied (ports below 1024 need root); pick --port 5000 or above"
        )
    raise click.ClickException(
        f"Cannot listen on {host}:{port}: {error.strerror or error}; check --host, or pick another --port"
    )


# Database connections all workers of one server may hold together, unless the pool is configured
# (PostgreSQL's default max_connections is 100: the rest stays for other clients).
_SERVER_DB_CONNECTIONS = 80
_THREADPOOL_SIZE = 40  # a worker runs at most this many requests at once (AnyIO's default)


def size_db_pool(backend_store_uri: str, workers: int) -> None:
    """Size each worker's connection pool for the requests it runs at once, within a total budget.

    The default pool (5, plus 10 overflow connections closed again as soon as they are returned)
    suits a client; a worker serving 16 clients would open and close a PostgreSQL connection (a
    forked backend process) for most requests. Each worker gets ``80 / workers`` connections (at
    most one per request thread, at least 5), kept open, no overflow; set
    ``HF_MLTRACK_SQLALCHEMYSTORE_POOL_SIZE`` / ``..._MAX_OVERFLOW`` to choose yourself. SQLite is left
    alone (one file, no server connections).
    """
    from .. import _env

    if backend_store_uri.startswith("sqlite") or "://" not in backend_store_uri:
        return
    if _env.SQLALCHEMY_POOL_SIZE.is_set() or _env.SQLALCHEMY_MAX_OVERFLOW.is_set():
        return
    per_worker = max(5, min(_THREADPOOL_SIZE, _SERVER_DB_CONNECTIONS // max(1, workers)))
    os.environ[_env.SQLALCHEMY_POOL_SIZE.name] = str(per_worker)  # inherited by every worker
    os.environ[_env.SQLALCHEMY_MAX_OVERFLOW.name] = "0"


def run_server(config: ServerConfig, host: str, port: int, workers: int = 1, gunicorn_opts: str | None = None) -> None:
    """Build the app once (creating the schema and the admin user) and serve it."""
    from .._env import SERVER_CONFIG
    from ..exceptions import MlTrackException
    from ..server.app import create_app_from_config, settle_heap
    from ..server.drivers import check_drivers

    if workers < 1:
        raise click.BadParameter(f"--workers {workers}: give 1 or more", param_hint="--workers")
    try:
        check_drivers(config)
    except MlTrackException as exc:
        raise click.ClickException(exc.message) from exc
    check_port(host, port)
    size_db_pool(config.backend_store_uri, workers)

    try:
        app = create_app_from_config(config)
    except MlTrackException as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"hf_mltrack server listening on http://{host}:{port} ({workers} worker(s))", err=True)
    if host in ("0.0.0.0", "::"):
        click.echo(
            "Listening on all interfaces: only Host names in --allowed-hosts (and loopback names) are accepted.",
            err=True,
        )
    if gunicorn_opts is not None:
        _run_gunicorn(config, host, port, workers, gunicorn_opts)
        return
    import uvicorn

    if workers == 1:
        settle_heap(app)
        uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=False, server_header=False)
        return
    os.environ[SERVER_CONFIG.name] = config.to_json()
    uvicorn.run(
        _APP_FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        server_header=False,
    )


def _run_gunicorn(config: ServerConfig, host: str, port: int, workers: int, gunicorn_opts: str) -> None:
    from .._env import SERVER_CONFIG

    if shutil.which("gunicorn") is None:
        raise click.UsageError(
            "--gunicorn-opts needs gunicorn, which is not installed: pip install 'hf_mltrack[gunicorn]'. "
            "Without it, drop --gunicorn-opts: --workers N runs N uvicorn worker processes."
        )
    try:
        import uvicorn_worker  # noqa: F401

        worker_class = "uvicorn_worker.UvicornWorker"
    except ImportError:
        worker_class = "uvicorn.workers.UvicornWorker"
    env = {**os.environ, SERVER_CONFIG.name: config.to_json()}
    cmd = [
        "gunicorn",
        "-k",
        worker_class,
        "-b",
        f"{host}:{port}",
        "-w",
        str(workers),
        *shlex.split(gunicorn_opts),
        f"{_APP_FACTORY}()",
    ]
    raise SystemExit(subprocess.call(cmd, env=env))


@click.command("server")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0 for all).")
@click.option("--port", "-p", default=5000, show_default=True, type=_PORT, help="Port to listen on.")
@click.option(
    "--backend-store-uri",
    default=None,
    help="Tracking database: sqlite:///path.db, postgresql://user:pass@host:5432/db, or a folder "
    "(default: HF_MLTRACK_TRACKING_URI or ./mlruns).",
)
@click.option(
    "--default-artifact-root",
    default=None,
    help="Artifact root of new experiments (default: mlflow-artifacts:/ when serving artifacts, else beside "
    "the database).",
)
@click.option(
    "--serve-artifacts/--no-serve-artifacts",
    default=True,
    show_default=True,
    help="Proxy artifact uploads and downloads through the server (clients need no storage credentials).",
)
@click.option(
    "--artifacts-destination",
    default=None,
    help="Where proxied artifacts are stored: a folder or s3://bucket/prefix (default: ./mlartifacts).",
)
@click.option("--workers", "-w", default=1, show_default=True, type=int, help="Worker processes.")
@click.option("--gunicorn-opts", default=None, help="Run under gunicorn (must be installed) with these options.")
@click.option(
    "--app-name",
    type=click.Choice(["basic-auth"]),
    default=None,
    help="basic-auth: require users (admin password from HF_MLTRACK_AUTH_ADMIN_PASSWORD) and permissions.",
)
@click.option(
    "--allowed-hosts",
    default=None,
    help="Comma-separated Host names accepted besides loopback ones (DNS-rebinding guard), e.g. "
    "tracking.example.com,*.corp.internal. Use * to accept any.",
)
@click.option("--cors-allowed-origins", default=None, help="Comma-separated origins allowed cross-origin requests.")
@click.option(
    "--allowed-artifact-roots",
    default=None,
    help="Comma-separated locations clients may give new experiments as artifact_location (e.g. s3://team-bucket).",
)
@click.option("--max-artifact-mb", default=None, type=float, help="Largest artifact upload accepted, in MiB.")
@click.option(
    "--webhooks-allow-private-urls",
    is_flag=True,
    default=False,
    help="Let webhooks deliver to private, loopback and link-local addresses (refused by default).",
)
def server(
    host: str,
    port: int,
    backend_store_uri: str | None,
    default_artifact_root: str | None,
    serve_artifacts: bool,
    artifacts_destination: str | None,
    workers: int,
    gunicorn_opts: str | None,
    app_name: str | None,
    allowed_hosts: str | None,
    cors_allowed_origins: str | None,
    allowed_artifact_roots: str | None,
    max_artifact_mb: float | None,
    webhooks_allow_private_urls: bool,
) -> None:
    """Run the tracking server (MLflow's REST API; `mlflow` clients work against it too)."""
    from ..exceptions import MlTrackException
    from ..server.config import ServerConfig

    _check_server_deps()
    try:
        config = ServerConfig(
            backend_store_uri=backend_store_uri or _default_store_uri(),
            default_artifact_root=default_artifact_root,
            serve_artifacts=serve_artifacts,
            artifacts_destination=artifacts_destination,
            auth=app_name,
            allowed_hosts=_hosts_for(host, _csv(allowed_hosts)),
            cors_allowed_origins=_csv(cors_allowed_origins),
            allowed_artifact_roots=_csv(allowed_artifact_roots),
            max_artifact_bytes=int(max_artifact_mb * 1024 * 1024) if max_artifact_mb else None,
            webhooks_allow_private_urls=webhooks_allow_private_urls,
        )
    except MlTrackException as exc:
        raise click.ClickException(exc.message) from exc
    run_server(config, host, port, workers, gunicorn_opts)


@click.command("ui")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", "-p", default=5000, show_default=True, type=_PORT, help="Port to listen on.")
@click.option("--backend-store-uri", default=None, help="Tracking store (default: the local default store).")
@click.option("--allowed-hosts", default=None, help="Comma-separated extra Host names accepted.")
def ui(host: str, port: int, backend_store_uri: str | None, allowed_hosts: str | None) -> None:
    """Serve the local default store (./mlruns or HF_MLTRACK_HOME) with its UI and REST API."""
    from ..server.config import ServerConfig
    from ..tracking._uri import default_artifact_root_for, resolve_tracking_uri

    _check_server_deps()
    uri = resolve_tracking_uri(backend_store_uri)
    root = default_artifact_root_for(uri)
    config = ServerConfig(
        backend_store_uri=uri,
        default_artifact_root=root,  # local clients and the server share plain file:// locations
        serve_artifacts=True,
        artifacts_destination=root,
        allowed_hosts=_hosts_for(host, _csv(allowed_hosts)),
    )
    run_server(config, host, port)


_DURATION = re.compile(r"(\d+(?:\.\d+)?)([dhms])")
_UNIT_MS = {"d": 86_400_000, "h": 3_600_000, "m": 60_000, "s": 1000}


def parse_duration_ms(text: str) -> int:
    """``"30d"``, ``"1d12h"``, ``"90m"``, ``"45s"`` -> milliseconds."""
    compact = text.replace(" ", "").lower()
    parts = _DURATION.findall(compact)
    if not parts or "".join(n + u for n, u in parts) != compact:
        raise click.BadParameter(f"{text!r}: use a duration such as 30d, 1d12h, 90m or 45s", param_hint="--older-than")
    return int(sum(float(n) * _UNIT_MS[u] for n, u in parts))


@click.command("gc")
@click.option("--backend-store-uri", default=None, help="Tracking database (default: the local default store).")
@click.option("--older-than", default=None, help="Only runs deleted at least this long ago, e.g. 30d or 1d12h.")
@click.option("--run-ids", default=None, help="Comma-separated ids of deleted runs to remove (default: all deleted).")
@click.option(
    "--artifacts-destination",
    default=None,
    help="Storage behind the server's artifact proxy, for runs with mlflow-artifacts:/ URIs (default: ./mlartifacts).",
)
@click.option("--dry-run", is_flag=True, help="List what would be removed, remove nothing.")
def gc(
    backend_store_uri: str | None,
    older_than: str | None,
    run_ids: str | None,
    artifacts_destination: str | None,
    dry_run: bool,
) -> None:
    """Permanently remove deleted runs: their artifacts, metrics, params and tags."""
    from ..exceptions import MlTrackException
    from ..store.sql.tracking_store import SqlTrackingStore
    from ..tracking._uri import resolve_tracking_uri

    uri = resolve_tracking_uri(backend_store_uri)
    if uri.startswith(("http://", "https://")):
        raise click.UsageError(
            "gc works on the database itself: give --backend-store-uri sqlite:///... or postgresql://..."
        )
    store = SqlTrackingStore(uri)
    deleted = set(store.deleted_run_ids(parse_duration_ms(older_than) if older_than else None))
    wanted = _csv(run_ids)
    if wanted:
        not_deleted = [r for r in wanted if r not in deleted]
        if not_deleted:
            raise click.UsageError(
                f"Runs {', '.join(not_deleted)} are not deleted (or not old enough): delete them first "
                "(hf_mltrack.delete_run) — gc only removes deleted runs"
            )
        targets = list(wanted)
    else:
        targets = sorted(deleted)
    destination = artifacts_destination or os.path.join(os.getcwd(), "mlartifacts")
    for run_id in targets:
        run = store.get_run(run_id)
        if dry_run:
            click.echo(f"would remove run {run_id} ({run.info.artifact_uri})")
            continue
        try:
            _delete_run_artifacts(run.info.artifact_uri, destination)
        except MlTrackException as exc:
            raise click.ClickException(f"Could not delete the artifacts of run {run_id}: {exc.message}") from exc
        store.hard_delete_run(run_id)
        click.echo(f"removed run {run_id}")
    if not targets:
        click.echo("no deleted runs to remove")


def _delete_run_artifacts(artifact_uri: str, destination: str) -> None:
    from ..artifacts.registry import get_artifact_repository
    from ..server.state import PROXY_SCHEME, proxy_path
    from ..tracking._uri import to_artifact_uri

    if not artifact_uri:
        return
    if artifact_uri.split(":", 1)[0].lower() == PROXY_SCHEME:
        rel = proxy_path(artifact_uri)
        get_artifact_repository(to_artifact_uri(destination)).delete_artifacts(rel)
        return
    get_artifact_repository(artifact_uri).delete_artifacts()


if __name__ == "__main__":  # pragma: no cover - `python -m hf_mltrack.cli.server` (tests, before registration)
    server(auto_envvar_prefix="HF_MLTRACK_SERVER")
    sys.exit(0)
