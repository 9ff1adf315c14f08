"""Basic-auth: who the caller is (authentication) and whether the route's policy lets them in.

Both happen in one ASGI middleware before any handler runs. The route is matched here with the app's
own router, its `Rule` looked up in `policy.POLICIES`, and anything unexpected (no rule, a missing
field, an unreadable body, an error while checking) refuses the request: fail closed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import os
import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, QueryParams
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ...exceptions import MlTrackException
from .._json import dumps
from ..routes import RouteTable
from ..security import SECURITY_HEADERS
from .passwords import check_password_strength, verify_password
from .policy import Rule, rule_for
from .store import LEVEL, AuthStore, User, check_permission

if TYPE_CHECKING:
    from fastapi import Request

    from ..state import ServerState

_logger = logging.getLogger("hf_mltrack.server.auth")
USER_STATE_KEY = "hf_mltrack_user"
_CACHE_TTL_S = 300.0
_CACHE_MAX = 4096


class AuthManager:
    """Users, permissions and the credential cache of one app.

    Args:
        state (`ServerState`): the app state (its store's engine holds the auth tables).
        default_permission (`str`): permission of users on resources they were given nothing on.
        admin_username (`str`): the admin's name.
        admin_password (`str`, *optional*): the admin's password, required when the admin does not exist
            yet; the server refuses to start without it.
    """

    def __init__(
        self, state: ServerState, default_permission: str, admin_username: str, admin_password: str | None
    ) -> None:
        self.state = state
        self.store = AuthStore(state.store.engine)
        self.default_permission = check_permission(default_permission)
        self._cache: OrderedDict[bytes, tuple[float, str]] = OrderedDict()
        self._cache_key = os.urandom(32)
        self._cache_lock = threading.Lock()
        self._run_experiments: OrderedDict[str, str] = OrderedDict()
        if self.store.find_user(admin_username) is None:
            if not admin_password:
                raise MlTrackException(
                    f"basic-auth needs a password for its admin user {admin_username!r} on first start: set "
                    "HF_MLTRACK_AUTH_ADMIN_PASSWORD (at least 12 characters) and start the server again"
                )
            check_password_strength(admin_password, admin_username)
            self.store.create_user(admin_username, admin_password, is_admin=True)
            _logger.info("Created the admin user %r", admin_username)

    # ---- authentication -------------------------------------------------------------------------
    def authenticate(self, authorization: str | None) -> User | None:
        """The user of a ``Basic`` Authorization header, or None (verified hashes are cached briefly)."""
        if not authorization or not authorization[:6].lower() == "basic ":
            return None
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
        username, sep, password = decoded.partition(":")
        if not sep or not username:
            return None
        user = self.store.find_user(username)
        if user is None:
            # Spend the same time as a real check, so response times do not reveal which users exist.
            verify_password(password, _DUMMY_HASH)
            return None
        key = hmac.new(
            self._cache_key, f"{username}\0{password}\0{user.password_hash}".encode(), hashlib.sha256
        ).digest()
        now = time.monotonic()
        with self._cache_lock:
            hit = self._cache.get(key)
            if hit is not None and hit[0] > now:
                self._cache.move_to_end(key)
                return user
        if not verify_password(password, user.password_hash):
            return None
        with self._cache_lock:
            self._cache[key] = (now + _CACHE_TTL_S, username)
            while len(self._cache) > _CACHE_MAX:
                self._cache.popitem(last=False)
        return user

    # ---- permissions ------------------------------------------------------------------------------
    def permission(self, user: User, kind: str, resource: str) -> str:
        if user.is_admin:
            return "MANAGE"
        return self.store.get_permission(kind, resource, user.id) or self.default_permission

    def allows(self, user: User, kind: str, resource: str, needed: str) -> bool:
        return LEVEL[self.permission(user, kind, resource)] >= LEVEL[needed]

    def experiment_of_run(self, run_id: str) -> str | None:
        """A run's experiment (a run never moves, so the answer is cached)."""
        hit = self._run_experiments.get(run_id)
        if hit is not None:
            return hit
        import sqlalchemy as sa

        with self.state.store.engine.connect() as conn:
            row = conn.execute(
                sa.text("SELECT experiment_id FROM runs WHERE run_uuid = :r"), {"r": run_id}
            ).first()
        if row is None:
            return None
        exp = str(row[0])
        self._run_experiments[run_id] = exp
        while len(self._run_experiments) > 100_000:
            self._run_experiments.popitem(last=False)
        return exp

    def experiment_of_logged_model(self, model_id: str) -> str | None:
        """A logged model's experiment (models never move; not cached, the lookup is one primary-key read)."""
        import sqlalchemy as sa

        from ...store.sql.logged_model_schema import logged_models

        with self.state.store.engine.connect() as conn:
            row = conn.execute(
                sa.select(logged_models.c.experiment_id).where(logged_models.c.model_id == model_id)
            ).first()
        return None if row is None else str(row[0])

    def experiments_of_traces(self, request_ids: list[str]) -> dict[str, str]:
        """The experiment of each stored trace among ``request_ids`` (not cached: a trace logged again may
        move to another experiment)."""
        import sqlalchemy as sa

        from ...store.sql.tracing_schema import trace_info

        out: dict[str, str] = {}
        with self.state.store.engine.connect() as conn:
            for i in range(0, len(request_ids), 400):
                chunk = request_ids[i : i + 400]
                query = sa.select(trace_info.c.request_id, trace_info.c.experiment_id).where(
                    trace_info.c.request_id.in_(chunk)
                )
                out.update((str(rid), str(exp)) for rid, exp in conn.execute(query))
        return out

    def _check_log_traces(self, user: User, traces: Any) -> bool:
        """EDIT on the experiment of every trace in a log-batch, and on that of any trace it replaces."""
        if not isinstance(traces, list):
            return False
        experiments: set[str] = set()
        request_ids: list[str] = []
        for t in traces:
            info = t.get("info") if isinstance(t, dict) else None
            if not isinstance(info, dict) or not isinstance(info.get("request_id"), str):
                return False
            experiments.add(str(info.get("experiment_id", "0")))  # TraceInfo.from_dict's default
            request_ids.append(info["request_id"])
        experiments.update(self.experiments_of_traces(request_ids).values())
        return all(self.allows(user, "experiment", exp, "EDIT") for exp in experiments)

    def check(self, user: User, rule: Rule, value: Any) -> bool:
        """Whether ``user`` passes ``rule`` for the resource named by ``value`` (fail closed)."""
        kind = rule.kind
        if kind == "authenticated":
            return True
        if kind == "admin":
            return user.is_admin
        if kind == "self":
            return user.is_admin or (isinstance(value, str) and value == user.username)
        if user.is_admin:
            return True
        if kind == "experiment":
            return isinstance(value, (str, int)) and self.allows(
                user, "experiment", str(value), rule.permission
            )
        if kind == "model":
            return isinstance(value, str) and self.allows(user, "model", value, rule.permission)
        if kind in ("run", "runs"):
            ids = value if isinstance(value, list) else [value]
            if not ids:
                return False
            for run_id in ids:
                if not isinstance(run_id, str):
                    return False
                exp = self.experiment_of_run(run_id)
                # A run that does not exist reveals nothing: the handler answers 404.
                if exp is not None and not self.allows(user, "experiment", exp, rule.permission):
                    return False
            return True
        if kind == "trace":
            if not isinstance(value, str):
                return False
            exp = self.experiments_of_traces([value]).get(value)
            # A trace that does not exist reveals nothing: the handler answers 404.
            return exp is None or self.allows(user, "experiment", exp, rule.permission)
        if kind == "traces":
            return self._check_log_traces(user, value)
        if kind == "logged_model":
            if not isinstance(value, str):
                return False
            exp = self.experiment_of_logged_model(value)
            # A model that does not exist reveals nothing: the handler answers 404.
            return exp is None or self.allows(user, "experiment", exp, rule.permission)
        if kind == "proxy":
            from ..routers.artifacts import safe_server_path

            rel = safe_server_path(value if isinstance(value, str) else "")
            first = rel.split("/", 1)[0]
            if not first.isdigit():
                return False  # only admins reach artifacts outside an experiment's folder
            return self.allows(user, "experiment", first, rule.permission)
        return False

    # ---- hooks used by the routers ------------------------------------------------------------
    @staticmethod
    def user(request: Request) -> User:
        user = request.scope.get("state", {}).get(USER_STATE_KEY)
        if user is None:  # pragma: no cover - the middleware always sets it
            raise MlTrackException("No authenticated user on this request", error_code="UNAUTHENTICATED")
        return user  # type: ignore[no-any-return]

    def username(self, request: Request) -> str:
        return self.user(request).username

    def on_experiment_created(self, request: Request, experiment_id: str) -> None:
        self.store.grant("experiment", experiment_id, self.user(request).id, "MANAGE")

    def on_registered_model_created(self, request: Request, name: str) -> None:
        self.store.grant("model", name, self.user(request).id, "MANAGE")

    def can_read_experiment(self, request: Request, experiment_id: str) -> bool:
        return self.allows(self.user(request), "experiment", experiment_id, "READ")

    def _readable(self, user: User, kind: str, resources: list[str]) -> set[str]:
        if user.is_admin:
            return set(resources)
        explicit = self.store.permissions_for(kind, resources, user.id)
        default_ok = LEVEL[self.default_permission] >= LEVEL["READ"]
        return {
            r for r in resources if (LEVEL[explicit[r]] >= LEVEL["READ"] if r in explicit else default_ok)
        }

    def readable_experiment_ids(self, request: Request, ids: list[str]) -> list[str]:
        ok = self._readable(self.user(request), "experiment", [str(i) for i in ids])
        return [i for i in ids if str(i) in ok]

    def all_readable_experiment_ids(self, request: Request) -> list[str] | None:
        """Every experiment the caller may read, or None for an admin (who reads all)."""
        user = self.user(request)
        if user.is_admin:
            return None
        import sqlalchemy as sa

        with self.state.store.engine.connect() as conn:
            ids = [str(r[0]) for r in conn.execute(sa.text("SELECT experiment_id FROM experiments"))]
        ok = self._readable(user, "experiment", ids)
        return [i for i in ids if i in ok]

    def filter_experiments(self, request: Request, experiments: list) -> list:
        ok = self._readable(self.user(request), "experiment", [e.experiment_id for e in experiments])
        return [e for e in experiments if e.experiment_id in ok]

    def filter_models(self, request: Request, items: list, name_of: Any = lambda m: m.name) -> list:
        ok = self._readable(self.user(request), "model", [name_of(m) for m in items])
        return [m for m in items if name_of(m) in ok]


_DUMMY_HASH = "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="


async def _send_error(send: Send, status: int, code: str, message: str, extra: list | None = None) -> None:
    body = dumps({"error_code": code, "message": message})
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": [*headers, *SECURITY_HEADERS]})
    await send({"type": "http.response.body", "body": body})


class AuthMiddleware:
    """Authenticate every request (except public routes) and apply the route's policy.

    Args:
        app: the FastAPI app (its router is used to match routes).
        manager (`AuthManager`): users and permissions.
    """

    def __init__(self, app: ASGIApp, manager: AuthManager, routes: RouteTable) -> None:
        self.app = app
        self.manager = manager
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        entry, path_params, method_ok = self.routes.match(method, scope["path"])
        rule = rule_for(method, entry.path) if entry is not None and method_ok else None
        if rule is None and entry is not None and method_ok and method == "HEAD":
            rule = rule_for("GET", entry.path)
        if rule is not None and rule.kind == "public":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        user = await run_in_threadpool(self.manager.authenticate, headers.get("authorization"))
        if user is None:
            await _send_error(
                send,
                401,
                "UNAUTHENTICATED",
                "Authentication required: send HTTP basic credentials (HF_MLTRACK_TRACKING_USERNAME and "
                "HF_MLTRACK_TRACKING_PASSWORD for hf_mltrack clients, "
                "MLFLOW_TRACKING_USERNAME/PASSWORD for mlflow)",
                [(b"www-authenticate", b'Basic realm="hf_mltrack"')],
            )
            return
        scope.setdefault("state", {})[USER_STATE_KEY] = user
        if entry is not None and not method_ok:
            await self.app(scope, receive, send)  # a known path with another method: the app answers 405
            return
        if rule is None:  # deny by default, also for unknown paths
            await _send_error(
                send, 403, "PERMISSION_DENIED", f"No access policy covers {method} {scope['path']}: refused"
            )
            return
        body_receive = receive
        value: Any = None
        try:
            if rule.where == "body" and rule.field:
                raw, body_receive = await _read_body(receive)
                try:
                    payload = json.loads(raw) if raw else {}
                except ValueError:
                    await _send_error(
                        send, 400, "INVALID_PARAMETER_VALUE", "The request body is not valid JSON"
                    )
                    return
                value = payload.get(rule.field) if isinstance(payload, dict) else None
                if value is None and rule.field == "run_id" and isinstance(payload, dict):
                    value = payload.get("run_uuid")
            elif rule.where == "query" and rule.field:
                params = QueryParams(scope.get("query_string", b""))
                value = params.getlist(rule.field) if rule.kind == "runs" else params.get(rule.field)
                if value is None and rule.field == "run_id":
                    value = params.get("run_uuid")
            elif rule.where == "path":
                value = path_params.get(rule.field)
            if value is None:
                value = rule.default
            allowed = rule.kind == "authenticated" or (
                (value is not None or rule.kind == "admin")
                and await run_in_threadpool(self.manager.check, user, rule, value)
            )
        except MlTrackException as exc:
            await _send_error(send, exc.get_http_status_code(), exc.error_code, exc.message)
            return
        except Exception:  # fail closed
            _logger.exception("Permission check failed on %s %s", method, scope["path"])
            allowed = False
        if not allowed:
            await _send_error(
                send,
                403,
                "PERMISSION_DENIED",
                f"User {user.username!r} lacks "
                f"{rule.permission if rule.kind not in ('admin', 'self') else rule.kind} "
                f"permission for {method} {scope['path']}",
            )
            return
        await self.app(scope, body_receive, send)


async def _read_body(receive: Receive) -> tuple[bytes, Receive]:
    chunks = []
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    body = b"".join(chunks)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay
