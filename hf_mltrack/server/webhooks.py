"""Webhooks (MLflow 3's model registry webhooks): the ``webhooks`` table, and their delivery.

Events are MLflow's ``(entity, action)`` pairs: ``registered_model.created``, ``model_version.created``,
``model_version_tag.set`` / ``.deleted``, ``model_version_alias.created`` / ``.deleted``, and, as an
hf_mltrack addition, ``model_version.updated`` when a version changes stage.

A delivery is one ``POST`` of ``{"entity", "action", "timestamp", "data"}`` with MLflow's headers:
``X-MLflow-Delivery-Id``, ``X-MLflow-Timestamp`` (Unix seconds) and, when the webhook has a secret,
``X-MLflow-Signature: v1,<base64 HMAC-SHA256 of "<delivery id>.<timestamp>.<body>">``. Deliveries run on a
small thread pool, never on the request that fired them; a connection error, a 429 or a 5xx is retried
with exponential backoff (0.5 s, 1 s, 2 s...). Destinations whose address is not public (private,
loopback, link-local, reserved, multicast) are refused unless the server runs with
``--webhooks-allow-private-urls``: the check is on the peer address of the connected socket, so a
DNS answer that changes between a check and the request (rebinding) cannot slip through.
"""

from __future__ import annotations

import base64
import builtins
import hashlib
import hmac
import ipaddress
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import sqlalchemy as sa

from ..exceptions import InvalidParameterError, ResourceNotFoundError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

_logger = logging.getLogger("hf_mltrack.server.webhooks")

SIGNATURE_HEADER = "X-MLflow-Signature"
TIMESTAMP_HEADER = "X-MLflow-Timestamp"
DELIVERY_ID_HEADER = "X-MLflow-Delivery-Id"

#: entity -> the actions it fires (MLflow's, plus model_version.updated for stage transitions)
EVENTS: dict[str, tuple[str, ...]] = {
    "registered_model": ("created",),
    "model_version": ("created", "updated"),
    "model_version_tag": ("set", "deleted"),
    "model_version_alias": ("created", "deleted"),
}
STATUSES = ("ACTIVE", "DISABLED")
MAX_RESULTS = 1000
NAME_MAX = 256


@dataclass
class Webhook:
    webhook_id: str
    name: str
    url: str
    events: list[tuple[str, str]]
    status: str = "ACTIVE"
    description: str | None = None
    secret: str | None = field(default=None, repr=False)
    creation_timestamp: int = 0
    last_updated_timestamp: int = 0

    def to_json(self) -> dict[str, Any]:
        """MLflow's ``Webhook`` in JSON (the secret is never returned)."""
        out: dict[str, Any] = {
            "webhook_id": self.webhook_id,
            "name": self.name,
            "url": self.url,
            "events": [{"entity": e.upper(), "action": a.upper()} for e, a in self.events],
            "status": self.status,
            "creation_timestamp": self.creation_timestamp,
            "last_updated_timestamp": self.last_updated_timestamp,
        }
        if self.description:
            out["description"] = self.description
        return out


# ---- validation ----------------------------------------------------------------------------------
def parse_events(raw: Any) -> list[tuple[str, str]]:
    """``[{"entity": "MODEL_VERSION", "action": "CREATED"}]`` (names in any case) -> pairs."""
    if not isinstance(raw, list) or not raw:
        raise InvalidParameterError("Webhook events must be a non-empty list of {entity, action}")
    out: list[tuple[str, str]] = []
    for item in raw:
        entity = str((item or {}).get("entity", "")).lower() if isinstance(item, dict) else ""
        action = str((item or {}).get("action", "")).lower() if isinstance(item, dict) else ""
        if action not in EVENTS.get(entity, ()):
            valid = ", ".join(f"{e}.{a}" for e, acts in EVENTS.items() for a in acts)
            raise InvalidParameterError(
                f"Invalid webhook event {entity or '?'}.{action or '?'}: valid events are {valid}"
            )
        if (entity, action) not in out:
            out.append((entity, action))
    return out


def ip_refused(address: str, allow_private: bool) -> bool:
    if allow_private:
        return False
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def check_url(url: Any, allow_private: bool) -> str:
    """An ``http(s)`` URL with a host; a literal address that is not public is refused up front (names are
    checked on each delivery, on the connected socket)."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidParameterError("Webhook URL cannot be empty or just whitespace")
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError as exc:
        raise InvalidParameterError(f"Invalid webhook URL {url!r}: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise InvalidParameterError(f"Invalid webhook URL scheme {parts.scheme!r} in {url!r}: give an http(s) URL")
    if not hostname:
        raise InvalidParameterError(f"Invalid webhook URL {url!r}: it has no host")
    if any(c in url for c in "\r\n\x00 "):
        raise InvalidParameterError(f"Invalid webhook URL {url!r}: it contains whitespace or control characters")
    try:
        literal = ipaddress.ip_address(hostname)
    except ValueError:
        literal = None
    if literal is not None and ip_refused(str(literal), allow_private):
        raise InvalidParameterError(
            f"Invalid webhook url {url!r}: {literal} is not a public address. Start the server with "
            "--webhooks-allow-private-urls to deliver to private or loopback addresses"
        )
    if hostname.lower() == "localhost" and not allow_private:
        raise InvalidParameterError(
            f"Invalid webhook url {url!r}: localhost is not a public address. Start the server with "
            "--webhooks-allow-private-urls to deliver to it"
        )
    return url


# ---- store ---------------------------------------------------------------------------------------
class WebhookStore:
    """Webhooks in the tracking database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @staticmethod
    def _from_row(r: Any) -> Webhook:
        return Webhook(
            webhook_id=r.webhook_id,
            name=r.name,
            url=r.url,
            events=[tuple(e) for e in json.loads(r.events)],  # type: ignore[misc]
            status=r.status,
            description=r.description,
            secret=r.secret,
            creation_timestamp=r.creation_timestamp,
            last_updated_timestamp=r.last_updated_timestamp,
        )

    def create(self, webhook: Webhook) -> Webhook:
        from ..store.sql.webhook_schema import webhooks

        now = int(time.time() * 1000)
        webhook.webhook_id = uuid.uuid4().hex
        webhook.creation_timestamp = webhook.last_updated_timestamp = now
        with self.engine.execution_options(hf_write=True).begin() as conn:
            conn.execute(
                webhooks.insert().values(
                    webhook_id=webhook.webhook_id,
                    name=webhook.name,
                    description=webhook.description,
                    url=webhook.url,
                    events=json.dumps([list(e) for e in webhook.events]),
                    secret=webhook.secret,
                    status=webhook.status,
                    creation_timestamp=now,
                    last_updated_timestamp=now,
                )
            )
        return webhook

    def get(self, webhook_id: str) -> Webhook:
        from ..store.sql.webhook_schema import webhooks

        with self.engine.connect() as conn:
            row = conn.execute(sa.select(webhooks).where(webhooks.c.webhook_id == webhook_id)).first()
        if row is None:
            raise ResourceNotFoundError(f"Webhook with ID {webhook_id} not found.")
        return self._from_row(row)

    def list(self, max_results: int, offset: int) -> tuple[list[Webhook], bool]:
        from ..store.sql.webhook_schema import webhooks

        query = (
            sa.select(webhooks)
            .order_by(webhooks.c.creation_timestamp.desc(), webhooks.c.webhook_id)
            .limit(max_results + 1)
            .offset(offset)
        )
        with self.engine.connect() as conn:
            rows = list(conn.execute(query))
        return [self._from_row(r) for r in rows[:max_results]], len(rows) > max_results

    def update(self, webhook_id: str, changes: dict[str, Any]) -> Webhook:
        from ..store.sql.webhook_schema import webhooks

        values = dict(changes)
        if "events" in values:
            values["events"] = json.dumps([list(e) for e in values["events"]])
        values["last_updated_timestamp"] = int(time.time() * 1000)
        with self.engine.execution_options(hf_write=True).begin() as conn:
            n = conn.execute(webhooks.update().where(webhooks.c.webhook_id == webhook_id).values(**values)).rowcount
        if not n:
            raise ResourceNotFoundError(f"Webhook with ID {webhook_id} not found.")
        return self.get(webhook_id)

    def delete(self, webhook_id: str) -> None:
        from ..store.sql.webhook_schema import webhooks

        with self.engine.execution_options(hf_write=True).begin() as conn:
            n = conn.execute(webhooks.delete().where(webhooks.c.webhook_id == webhook_id)).rowcount
        if not n:
            raise ResourceNotFoundError(f"Webhook with ID {webhook_id} not found.")

    # ``builtins.list``: the method ``list`` above shadows the builtin inside this class body.
    def active_for(self, entity: str, action: str) -> builtins.list[Webhook]:
        from ..store.sql.webhook_schema import webhooks

        with self.engine.connect() as conn:
            rows = list(conn.execute(sa.select(webhooks).where(webhooks.c.status == "ACTIVE")))
        return [w for w in map(self._from_row, rows) if (entity, action) in w.events]


# ---- delivery ------------------------------------------------------------------------------------
def sign(secret: str, delivery_id: str, timestamp: str, body: str) -> str:
    digest = hmac.new(secret.encode(), f"{delivery_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def _guarded_pool(url: str, allow_private: bool, timeout: float) -> Any:
    """A urllib3 connection pool for ``url`` whose connections check the peer address once connected."""
    import urllib3
    from urllib3.connection import HTTPConnection, HTTPSConnection

    def checked(base: type) -> type:
        class Guarded(base):  # type: ignore[misc, valid-type]
            def connect(self) -> None:
                super().connect()
                peer = self.sock.getpeername()[0]
                if ip_refused(peer, allow_private):
                    self.sock.close()
                    raise PermissionError(
                        f"webhook destination {self.host} resolved to {peer}, which is not a public address "
                        "(start the server with --webhooks-allow-private-urls to allow it)"
                    )

        return Guarded

    parts = urlsplit(url)
    host = parts.hostname
    if not host:  # validate_url refuses such URLs when the webhook is saved
        raise ValueError(f"webhook URL {url!r} has no host")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    pool_timeout = urllib3.Timeout(connect=timeout, read=timeout)
    pool: urllib3.HTTPConnectionPool
    if parts.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(host, port, timeout=pool_timeout, retries=False, maxsize=1)
        pool.ConnectionCls = checked(HTTPSConnection)
    else:
        pool = urllib3.HTTPConnectionPool(host, port, timeout=pool_timeout, retries=False, maxsize=1)
        pool.ConnectionCls = checked(HTTPConnection)
    return pool


@dataclass
class DeliveryResult:
    success: bool
    response_status: int | None = None
    response_body: str | None = None
    error_message: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"success": self.success}
        if self.response_status is not None:
            out["response_status"] = self.response_status
        if self.response_body is not None:
            out["response_body"] = self.response_body
        if self.error_message:
            out["error_message"] = self.error_message
        return out


class WebhookDispatcher:
    """Sends events to the webhooks that listen to them, off the request thread.

    Args:
        store (`WebhookStore`).
        allow_private (`bool`): deliver to non-public addresses too (``--webhooks-allow-private-urls``).
        max_attempts (`int`, *optional*, defaults to 3): tries per delivery (retries on connection errors,
            429 and 5xx).
        backoff (`float`, *optional*, defaults to 0.5): seconds before the first retry, doubled each time.
        timeout (`float`, *optional*, defaults to 10): connect and read timeout per try.
    """

    def __init__(
        self,
        store: WebhookStore,
        allow_private: bool = False,
        max_attempts: int = 3,
        backoff: float = 0.5,
        timeout: float = 10.0,
    ) -> None:
        self.store = store
        self.allow_private = allow_private
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.timeout = timeout
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self.sleep: Callable[[float], None] = time.sleep

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="hf_mltrack-webhooks")
            return self._pool

    def fire(self, entity: str, action: str, data: dict[str, Any]) -> None:
        """Queue deliveries of an event (returns at once; failures are logged, never raised)."""
        try:
            self._executor().submit(self._fire, entity, action, data)
        except RuntimeError:  # shutting down
            pass

    def _fire(self, entity: str, action: str, data: dict[str, Any]) -> None:
        try:
            hooks = self.store.active_for(entity, action)
        except Exception:
            _logger.exception("Cannot read webhooks for %s.%s", entity, action)
            return
        for hook in hooks:
            result = self.deliver(hook, entity, action, data)
            if not result.success:
                _logger.warning(
                    "Webhook %s (%s) failed for %s.%s: %s",
                    hook.webhook_id,
                    hook.url,
                    entity,
                    action,
                    result.error_message or f"HTTP {result.response_status}",
                )

    def deliver(self, hook: Webhook, entity: str, action: str, data: dict[str, Any]) -> DeliveryResult:
        """POST one event to one webhook, with retries; the outcome of the last try."""
        body = json.dumps(
            {"entity": entity, "action": action, "timestamp": datetime.now(timezone.utc).isoformat(), "data": data}
        )
        result = DeliveryResult(False, error_message="not sent")
        for attempt in range(self.max_attempts):
            if attempt:
                self.sleep(self.backoff * (2 ** (attempt - 1)))
            result = self._send_once(hook, body)
            retryable = result.response_status is None or result.response_status == 429 or result.response_status >= 500
            if (
                result.success
                or not retryable
                or result.error_message
                and "not a public address" in result.error_message
            ):
                break
        return result

    def _send_once(self, hook: Webhook, body: str) -> DeliveryResult:
        delivery_id = str(uuid.uuid4())
        timestamp = str(int(time.time()))
        headers = {"Content-Type": "application/json", DELIVERY_ID_HEADER: delivery_id, TIMESTAMP_HEADER: timestamp}
        if hook.secret:
            headers[SIGNATURE_HEADER] = sign(hook.secret, delivery_id, timestamp, body)
        parts = urlsplit(hook.url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            pool = _guarded_pool(hook.url, self.allow_private, self.timeout)
            try:
                response = pool.urlopen("POST", target, body=body.encode(), headers=headers, redirect=False)
            finally:
                pool.close()
        except PermissionError as exc:
            return DeliveryResult(False, error_message=str(exc))
        except Exception as exc:
            cause = exc.__context__ if isinstance(exc.__context__, PermissionError) else exc
            return DeliveryResult(False, error_message=f"{type(cause).__name__}: {cause}")
        text = response.data[:4096].decode("utf-8", errors="replace")
        return DeliveryResult(response.status < 400, response.status, text)

    def test(self, hook: Webhook, event: tuple[str, str] | None) -> DeliveryResult:
        """Send an example payload of ``event`` (default: the webhook's first event), synchronously."""
        entity, action = event or hook.events[0]
        return self.deliver(hook, entity, action, example_payload(entity, action))

    def shutdown(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False)
                self._pool = None


def example_payload(entity: str, action: str) -> dict[str, Any]:
    if entity == "registered_model":
        return {"name": "example_model", "tags": {"example_key": "example_value"}, "description": "An example"}
    base = {"name": "example_model", "version": "1"}
    if entity == "model_version" and action == "created":
        return {**base, "source": "models:/123", "run_id": "abcd1234abcd5678", "tags": {}, "description": None}
    if entity == "model_version":
        return {**base, "from_stage": "None", "to_stage": "Staging"}
    if entity == "model_version_tag":
        return {**base, "key": "example_key", **({"value": "example_value"} if action == "set" else {})}
    return {"name": "example_model", "alias": "example_alias", **({"version": "1"} if action == "created" else {})}
