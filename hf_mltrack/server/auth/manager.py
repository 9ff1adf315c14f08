"""Basic-auth: users, their credentials and permissions, and the cached lookups authorization needs.

Authentication, identity resolution and authorization happen in one ASGI middleware before any handler
runs: `hf_mltrack.server.boundary.Boundary` (read its docstring); this module answers its questions.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from ...exceptions import MlTrackException
from .passwords import DUMMY_HASH, check_password_strength, needs_rehash, verify_password
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
            verify_password(password, DUMMY_HASH)
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
        if needs_rehash(user.password_hash):  # stored at an older, lower cost: upgrade it transparently
            self.store.rehash_password(user, password)
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
        return self.experiments_of_runs([run_id]).get(run_id)

    def experiments_of_runs(self, run_ids: list[str]) -> dict[str, str]:
        """The experiment of each existing run among ``run_ids``: cached answers, then one query per 400 runs
        not yet seen (a run never moves, so the answers are cached)."""
        cache = self._run_experiments
        out = {r: cache[r] for r in run_ids if r in cache}
        missing = [r for r in dict.fromkeys(run_ids) if r not in out]
        if not missing:
            return out
        import sqlalchemy as sa

        from ...store.sql.schema import runs

        with self.state.store.engine.connect() as conn:
            for i in range(0, len(missing), 400):
                query = sa.select(runs.c.run_uuid, runs.c.experiment_id).where(
                    runs.c.run_uuid.in_(missing[i : i + 400])
                )
                out.update((str(run), str(exp)) for run, exp in conn.execute(query))
        for run in missing:
            if run in out:
                cache[run] = out[run]
        while len(cache) > 100_000:
            cache.popitem(last=False)
        return out

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

    def experiments_of_log_batch(self, traces: Any) -> set[str] | None:
        """The experiments a trace log-batch writes to: the one each trace names, and that of any stored
        trace it replaces; None when the batch is malformed (refused)."""
        if not isinstance(traces, list):
            return None
        experiments: set[str] = set()
        request_ids: list[str] = []
        for t in traces:
            info = t.get("info") if isinstance(t, dict) else None
            if not isinstance(info, dict) or not isinstance(info.get("request_id"), str):
                return None
            experiments.add(str(info.get("experiment_id", "0")))  # TraceInfo.from_dict's default
            request_ids.append(info["request_id"])
        experiments.update(self.experiments_of_traces(request_ids).values())
        return experiments

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

    def _readable(self, user: User, kind: str, resources: list[str]) -> set[str]:
        if user.is_admin:
            return set(resources)
        explicit = self.store.permissions_for(kind, resources, user.id)
        default_ok = LEVEL[self.default_permission] >= LEVEL["READ"]
        return {r for r in resources if (LEVEL[explicit[r]] >= LEVEL["READ"] if r in explicit else default_ok)}

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
