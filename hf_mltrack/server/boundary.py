"""The server boundary: one identity per request, resolved before authorization, seen alone by handlers.

Every request passes through one ASGI middleware, `Boundary`, installed with or without basic-auth.
For the route it matches (the app's own `RouteTable`), it takes the route's declaration from
`hf_mltrack.server.auth.policy.POLICIES` and, before any handler runs:

1. **authenticates** the caller (basic-auth only; a 401 comes before anything else is revealed);
2. **reads every alias once**: each `Target` of the rule names a canonical field, where it is (path,
   query or body) and the other names the same object may arrive under (``run_id``/``run_uuid``,
   ``request_id``/``trace_id``...). An empty value, two different values (across aliases, or a query
   field repeated), a value of the wrong type, or a missing required field is a **400 that names the
   fields**, whether or not auth is on;
3. **rewrites the request to the canonical form**: aliases are removed and the canonical field holds
   the one value (query string and JSON body; ``content-length`` follows). Handlers declare only the
   canonical field, so no handler can fall back to another name. The canonical values are also left
   on ``request.scope["state"]["hf_mltrack_identity"]`` (a dict: field -> value), and the parsed JSON
   body on ``"hf_mltrack_json"`` so hot handlers (log-batch) need not parse it twice;
4. **resolves and authorizes** (basic-auth only): each target's value is resolved by the resolver of
   its kind (`RESOLVERS`) to the resources permissions are kept on (a run -> its experiment, cached
   as runs never move; a model version -> its registered model; a model source -> the run,
   experiment or model it points at; an artifact path -> the experiment of its first segment), and
   the caller needs the target's permission on every one. Anything unexpected refuses: fail closed.

So a route's identity and permission are one entry in `POLICIES`; a new kind of object (a logged
model, say) also registers how to resolve it::

    from hf_mltrack.server.boundary import register_resolver

    def _logged_model(ctx, value, values):          # -> [(resource kind, id)], [] or None
        exp = ctx.scalar("SELECT experiment_id FROM logged_models WHERE model_id = :v", v=value)
        return [] if exp is None else [("experiment", str(exp))]   # [] = unknown: the handler 404s

    register_resolver("logged_model", _logged_model)

A resolver returns the resources to check, ``[]`` when the object does not exist (nothing to reveal:
the handler answers 404), or ``None`` when the object cannot be attributed (only admins pass).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, QueryParams
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..exceptions import InvalidParameterError, MlTrackException
from ._json import dumps
from .auth.manager import USER_STATE_KEY
from .auth.policy import Rule, Target, rule_for
from .errors import shown_value
from .routes import RouteTable
from .security import SECURITY_HEADERS

if TYPE_CHECKING:
    from .auth.manager import AuthManager
    from .auth.store import User

_logger = logging.getLogger("hf_mltrack.server.boundary")

IDENTITY_STATE_KEY = "hf_mltrack_identity"
JSON_STATE_KEY = "hf_mltrack_json"

#: Kinds whose value may be a JSON number (sent as one by some clients); it is handed on as a string.
_NUMERIC_KINDS = frozenset({"experiment", "version_source"})
#: Kinds whose empty value means something (the root of the artifact store).
_EMPTY_OK_KINDS = frozenset({"proxy"})
#: Kinds whose value is a structure the resolver reads as is (no aliases).
_RAW_KINDS = frozenset({"traces", "logged_models", "metric_models"})

Resources = list[tuple[str, str]]
Resolver = Callable[["ResolveContext", Any, Mapping[str, Any]], "Resources | None"]
RESOLVERS: dict[str, Resolver] = {}


def register_resolver(kind: str, resolver: Resolver) -> None:
    """Teach the boundary how to resolve targets of ``kind`` (see the module docstring)."""
    RESOLVERS[kind] = resolver


class ResolveContext:
    """What resolvers may use: the auth manager (cached lookups) and the server state."""

    def __init__(self, manager: AuthManager) -> None:
        self.manager = manager
        self.state = manager.state

    def scalar(self, sql: str, **params: Any) -> Any:
        import sqlalchemy as sa

        with self.state.store.engine.connect() as conn:
            row = conn.execute(sa.text(sql), params).first()
        return None if row is None else row[0]


class BadIdentity(InvalidParameterError):
    """An empty, conflicting, ill-typed or missing identifier: a 400 naming the fields."""


# ---- step 2 and 3: read every alias once, canonicalize -----------------------------------------------
def _one_value(target: Target, found: list[tuple[str, Any]]) -> Any:
    """The single value of ``target`` among the (name, value) pairs the request carries."""
    names = " / ".join(target.names)
    values: list[Any] = []
    for name, raw in found:
        if target.kind in _RAW_KINDS:
            values.append(raw)
            continue
        if isinstance(raw, int) and not isinstance(raw, bool) and target.kind in _NUMERIC_KINDS:
            raw = str(raw)
        if target.is_list:
            items = raw if isinstance(raw, list) else [raw]
            if not all(isinstance(x, str) and x for x in items):
                raise BadIdentity(
                    f"Invalid value {shown_value(raw, 100)} for parameter '{name}' supplied: "
                    "give a list of non-empty ids"
                )
            values.append(list(items))
            continue
        if not isinstance(raw, str):
            # MLflow's wording (its tests look for it), then what is expected
            raise BadIdentity(
                f"Invalid value {shown_value(raw, 100)} for parameter '{name}' supplied: it must be a string id, "
                f"not {type(raw).__name__}"
            )
        if "\x00" in raw:  # no stored id or name holds one (PostgreSQL refuses it): never resolved
            raise BadIdentity(
                f"Invalid value {shown_value(raw, 100)} for parameter '{name}' supplied: it contains a NUL character "
                "(\\x00), which no id or name holds; remove it"
            )
        if not raw.isascii():
            try:
                raw.encode("utf-8")
            except UnicodeEncodeError:
                raise BadIdentity(f"{name} holds a lone surrogate (\\ud800-\\udfff): not a valid id") from None
        if raw == "" and target.kind not in _EMPTY_OK_KINDS:
            others = [n for n in target.names if n != name]
            also = f" (or its alias {' / '.join(others)})" if others else ""
            raise BadIdentity(f"{name} is empty: give the id in {target.field}{also}, once, not empty")
        values.append(raw)
    if target.is_list:
        merged = [x for v in values for x in v]
        return merged or None
    distinct = []
    for v in values:
        if v not in distinct:
            distinct.append(v)
    if len(distinct) > 1:
        shown = ", ".join(f"{n}={str(v)[:80]!r}" for n, v in found)
        raise BadIdentity(
            f"Conflicting values for {names}: {shown}. They name the same object: send {target.field} once"
        )
    return distinct[0] if distinct else None


def _missing(target: Target) -> BadIdentity:
    where = {"query": "in the query string", "body": "in the JSON body", "path": "in the path"}[target.where]
    aliases = f" (or {' / '.join(target.names[1:])})" if len(target.names) > 1 else ""
    # MLflow's wording (its clients and tests look for it), then where to put it
    return BadIdentity(f"Missing value for required parameter '{target.field}'. Give {target.field}{aliases} {where}")


def canonicalize_query(targets: Iterable[Target], query_string: bytes, values: dict[str, Any]) -> bytes | None:
    """Fill ``values`` from the query targets; the rewritten query string, or None when unchanged."""
    items = QueryParams(query_string.decode("latin-1")).multi_items()
    rewrite = False
    drop: set[str] = set()
    add: list[tuple[str, str]] = []
    for t in targets:
        names = t.names
        found = [(k, v) for k, v in items if k in names]
        value = _one_value(t, found)
        if value is None and t.default is None and not t.optional and t.kind not in _EMPTY_OK_KINDS:
            raise _missing(t)
        values[t.field] = value if value is not None else t.default
        if any(k != t.field for k, _ in found) or (not t.is_list and len(found) > 1):
            rewrite = True
        drop.update(names)
        if value is not None:
            add += [(t.field, x) for x in value] if t.is_list else [(t.field, value)]
    if not rewrite:
        return None
    kept = [(k, v) for k, v in items if k not in drop]
    return urlencode(kept + add).encode("latin-1")


def canonicalize_body(targets: Iterable[Target], payload: Any, values: dict[str, Any]) -> bool:
    """Fill ``values`` from the body targets, rewriting ``payload`` in place; whether it changed."""
    if not isinstance(payload, dict):
        raise BadIdentity(f"The request body must be a JSON object, got {type(payload).__name__}")
    changed = False
    for t in targets:
        found = [(n, payload[n]) for n in t.names if n in payload and payload[n] is not None]
        value = _one_value(t, found)
        if value is None and t.default is None and not t.optional:
            raise _missing(t)
        values[t.field] = value if value is not None else t.default
        for n in t.names[1:]:
            if n in payload:
                del payload[n]
                changed = True
        if value is not None and payload.get(t.field) != value:
            payload[t.field] = value
            changed = True
    return changed


# ---- step 4: resolve and authorize ---------------------------------------------------------------------
def _experiment(ctx: ResolveContext, value: Any, values: Mapping[str, Any]) -> Resources | None:
    return [("experiment", str(value))]


def _model(ctx: ResolveContext, value: Any, values: Mapping[str, Any]) -> Resources | None:
    return [("model", value)]


def _run(ctx: ResolveContext, value: Any, values: Mapping[str, Any]) -> Resources | None:
    exp = ctx.manager.experiment_of_run(value)
    # A run that does not exist reveals nothing: the handler answers 404.
    return [] if exp is None else [("experiment", exp)]


def _runs(ctx: ResolveContext, value: Any, values: Mapping[str, Any]) -> Resources | None:
    # One query for the runs not seen before; a run that does not exist reveals nothing (the handler's 404).
    return [("experiment", exp) for exp in set(ctx.manager.experiments_of_runs(list(value)).values())]


def _trace(ctx: ResolveContext, value: Any, values: Mapping[str, Any]) -> Resources | None:
    exp = ctx.manager.experiments_of_traces([value]).get(value)
    return [] if exp is None else [("experiment", exp)]


def _traces(ctx: ResolveContext, value: Any, values: Mapping[str, Any]) -> Resources | None:
    experiments = ctx.manager.experiments_of_log_batch(value)
    return None if experiments is None else [("experiment", e) for e in experiments]


def _proxy(ctx: ResolveContext, value: Any, values: Mapping[str, Any]) -> Resources | None:
    from .routers.artifacts import safe_server_path

    first = safe_server_path(value or "").split("/", 1)[0]
    # only admins reach artifacts outside an experiment's folder
    return [("experiment", first)] if first.isdigit() else None


def _source(ctx: ResolveContext, value: Any, values: Mapping[str, Any]) -> Resources | None:
    from .auth.sources import resources_of_source

    return resources_of_source(ctx, value)


def _version_source(ctx: ResolveContext, value: Any, values: Mapping[str, Any]) -> Resources | None:
    from .auth.sources import resources_of_version

    return resources_of_version(ctx, values.get("name"), value)


def _logged_model(ctx: ResolveContext, value: Any, values: Mapping[str, Any]) -> Resources | None:
    exp = ctx.manager.experiment_of_logged_model(value)
    # A logged model that does not exist reveals nothing: the handler answers 404.
    return [] if exp is None else [("experiment", exp)]


def _logged_models(ctx: ResolveContext, value: Any, values: Mapping[str, Any]) -> Resources | None:
    # A malformed entry is the request model's 400 to answer, a missing model the handler's 404.
    out: Resources = []
    for item in value if isinstance(value, list) else []:
        model_id = item.get("model_id") if isinstance(item, dict) else None
        if isinstance(model_id, str) and model_id:
            out += _logged_model(ctx, model_id, values) or []
    return out


def _metric_models(ctx: ResolveContext, value: Any, values: Mapping[str, Any]) -> Resources | None:
    # log-batch's hot path: a scan of the points, no query unless one names a logged model. A malformed
    # point is the handler's 400 to answer, a missing model its 404.
    if type(value) is not list:
        return []
    out: Resources = []
    for model_id in {m["model_id"] for m in value if type(m) is dict and type(m.get("model_id")) is str}:
        if model_id:
            out += _logged_model(ctx, model_id, values) or []
    return out


def _experiment_name(ctx: ResolveContext, value: Any, values: Mapping[str, Any]) -> Resources | None:
    exp = ctx.scalar("SELECT experiment_id FROM experiments WHERE name = :name", name=value)
    return [] if exp is None else [("experiment", str(exp))]


for _kind, _fn in {
    "experiment": _experiment,
    "model": _model,
    "run": _run,
    "runs": _runs,
    "trace": _trace,
    "traces": _traces,
    "proxy": _proxy,
    "source": _source,
    "version_source": _version_source,
    "logged_model": _logged_model,
    "logged_models": _logged_models,
    "metric_models": _metric_models,
    "experiment_name": _experiment_name,
}.items():
    register_resolver(_kind, _fn)


_WHAT = {
    "run": "the run's experiment",
    "runs": "the experiment of every listed run",
    "experiment": "the experiment",
    "model": "the registered model",
    "trace": "the trace's experiment",
    "traces": "the experiment of every trace (and of any trace it replaces)",
    "proxy": "the experiment whose folder holds the artifact path",
    "source": "what the model source points at (its run's experiment, or its model)",
    "version_source": "what the model version's source points at",
    "logged_model": "the logged model's experiment",
    "logged_models": "the experiment of every listed logged model",
    "metric_models": "the experiment of every logged model a metric is written to",
    "experiment_name": "the experiment",
}


def refusal(manager: AuthManager, user: User, rule: Rule, values: Mapping[str, Any]) -> str | None:
    """Why ``user`` may not pass ``rule`` for the canonical ``values`` of the request; None if they may.
    Fails closed: an object no resolver can attribute is refused (except to admins)."""
    if rule.kind == "authenticated":
        return None
    if rule.kind == "admin":
        return None if user.is_admin else "only admins may do this"
    ctx = ResolveContext(manager)
    for t in rule.targets:
        value = values.get(t.field)
        if t.kind == "self":
            if not (user.is_admin or (isinstance(value, str) and value == user.username)):
                return f"{t.field} must be the caller's own (or the caller an admin)"
            continue
        if user.is_admin:
            continue
        what = f"{_WHAT.get(t.kind, t.kind)} named by {t.field}"
        if value is None:
            if t.optional:
                continue
            if t.kind not in _EMPTY_OK_KINDS:
                return f"{t.field} is missing"
        resolver = RESOLVERS.get(t.kind)
        resources = None if resolver is None else resolver(ctx, value, values)
        if resources is None:
            return f"only admins may act on {what} (it belongs to no experiment or model they can be granted)"
        if not all(manager.allows(user, kind, rid, t.permission) for kind, rid in dict.fromkeys(resources)):
            return f"{t.permission} permission is needed on {what}"
    return None


# ---- the middleware ------------------------------------------------------------------------------------
async def send_error(send: Send, status: int, code: str, message: str, extra: list | None = None) -> None:
    body = dumps({"error_code": code, "message": message})
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": [*headers, *SECURITY_HEADERS]})
    await send({"type": "http.response.body", "body": body})


async def read_body(receive: Receive) -> bytes:
    chunks = []
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def _receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return _receive


def _with_content_length(scope: Scope, length: int) -> None:
    headers = [(k, v) for k, v in scope.get("headers", []) if k.lower() != b"content-length"]
    headers.append((b"content-length", str(length).encode()))
    scope["headers"] = headers


class Boundary:
    """Authenticate (with basic-auth), canonicalize every route's identifiers, authorize, then hand on.

    Args:
        app: the ASGI app behind.
        routes (`RouteTable`): the app's routes (to find a request's route and its rule).
        manager (`AuthManager`, *optional*): users and permissions; ``None`` without basic-auth (the
            identifiers are still canonicalized and checked).
    """

    def __init__(self, app: ASGIApp, routes: RouteTable, manager: AuthManager | None = None) -> None:
        self.app = app
        self.routes = routes
        self.manager = manager

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        entry, path_params, method_ok = self.routes.match(method, scope["path"])
        rule = rule_for(method, entry.path) if entry is not None and method_ok else None
        if rule is None and entry is not None and method_ok and method == "HEAD":
            rule = rule_for("GET", entry.path)
        manager = self.manager
        user = None
        if manager is not None and not (rule is not None and rule.kind == "public"):
            headers = Headers(scope=scope)
            user = await run_in_threadpool(manager.authenticate, headers.get("authorization"))
            if user is None:
                await send_error(
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
        if entry is None or not method_ok or rule is None:
            if manager is not None and rule is None and entry is not None and method_ok:
                # deny by default: a route without a declaration is refused, also for admins
                await send_error(
                    send,
                    403,
                    "PERMISSION_DENIED",
                    f"No access policy covers {method} {scope['path']}: refused",
                )
                return
            if manager is not None and entry is None:
                await send_error(
                    send,
                    403,
                    "PERMISSION_DENIED",
                    f"No access policy covers {method} {scope['path']}: refused",
                )
                return
            await self.app(scope, receive, send)  # unknown path (404) or method (405): the app answers
            return
        if not rule.targets and (manager is None or rule.kind in ("public", "authenticated")):
            await self.app(scope, receive, send)
            return

        values: dict[str, Any] = {}
        try:
            receive = await self._canonicalize(rule, scope, receive, path_params, values)
        except _BadJson:
            await send_error(send, 400, "INVALID_PARAMETER_VALUE", "The request body is not valid JSON")
            return
        except MlTrackException as exc:
            await send_error(send, exc.get_http_status_code(), exc.error_code, exc.message)
            return
        except Exception:  # never a 5xx from what a client sent
            _logger.exception("Could not read the identifiers of %s %s", method, scope["path"])
            await send_error(send, 400, "INVALID_PARAMETER_VALUE", "The request's identifiers could not be read")
            return
        scope.setdefault("state", {})[IDENTITY_STATE_KEY] = values

        if manager is not None and user is not None:
            try:
                why = await run_in_threadpool(refusal, manager, user, rule, values)
            except MlTrackException as exc:
                await send_error(send, exc.get_http_status_code(), exc.error_code, exc.message)
                return
            except Exception:  # fail closed
                _logger.exception("Permission check failed on %s %s", method, scope["path"])
                why = "the permission check failed"
            if why is not None:
                await send_error(
                    send,
                    403,
                    "PERMISSION_DENIED",
                    f"User {user.username!r} may not {method} {scope['path']}: {why}",
                )
                return
        await self.app(scope, receive, send)

    async def _canonicalize(
        self,
        rule: Rule,
        scope: Scope,
        receive: Receive,
        path_params: Mapping[str, Any],
        values: dict[str, Any],
    ) -> Receive:
        query_targets = [t for t in rule.targets if t.where == "query"]
        body_targets = [t for t in rule.targets if t.where == "body"]
        if self.manager is None:
            # a raw structure (a trace batch, possibly megabytes) has no aliases: without auth there is
            # nothing to read it for, and the handler parses it anyway
            body_targets = [t for t in body_targets if t.kind not in _RAW_KINDS]
        for t in rule.targets:
            if t.where == "path":
                value = path_params.get(t.field)
                if (value is None or value == "") and t.kind not in _EMPTY_OK_KINDS and not t.optional:
                    raise _missing(t)
                values[t.field] = value
        if query_targets:
            rewritten = canonicalize_query(query_targets, scope.get("query_string", b""), values)
            if rewritten is not None:
                scope["query_string"] = rewritten
        if body_targets:
            from ..utils.fast_json import loads

            raw = await read_body(receive)
            try:
                payload = loads(raw) if raw.strip() else {}
            except (ValueError, RecursionError):  # RecursionError: nesting deeper than Python's stack
                raise _BadJson from None
            if canonicalize_body(body_targets, payload, values):
                raw = json.dumps(payload).encode()  # ASCII escapes: lone surrogates stay encodable
                _with_content_length(scope, len(raw))
            scope.setdefault("state", {})[JSON_STATE_KEY] = payload
            receive = replay(raw, receive)
        return receive


class _BadJson(Exception):
    pass
