"""``/api/2.0/mlflow/webhooks*``: MLflow 3's webhook API (create, list, get, update, delete, test).

The secret is write-only (never in an answer). URLs are checked at creation and update
(`hf_mltrack.server.webhooks.check_url`) and again, on the connected socket, at each delivery.
With basic-auth, managing webhooks is for admins only (a webhook sees every registry event).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request

from ...exceptions import InvalidParameterError
from .._json import JSONResponse
from ..state import ServerState, State
from ..webhooks import (
    MAX_RESULTS,
    NAME_MAX,
    STATUSES,
    Webhook,
    check_url,
    parse_events,
)

router = APIRouter(tags=["webhooks"])


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        raise InvalidParameterError("The request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise InvalidParameterError("The request body must be a JSON object")
    return data


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > NAME_MAX:
        raise InvalidParameterError(f"Webhook name must be a non-empty string of at most {NAME_MAX} characters")
    return value


def _status(value: Any) -> str:
    status = str(value or "ACTIVE").upper()
    if status not in STATUSES:
        raise InvalidParameterError(f"Invalid webhook status {value!r}: give ACTIVE or DISABLED")
    return status


def _allow_private(state: ServerState) -> bool:
    return bool(state.config.webhooks_allow_private_urls)


@router.post("/webhooks")
async def create_webhook(request: Request, state: State) -> JSONResponse:
    body = await _body(request)
    hook = Webhook(
        webhook_id="",
        name=_name(body.get("name")),
        url=check_url(body.get("url"), _allow_private(state)),
        events=parse_events(body.get("events")),
        status=_status(body.get("status")),
        description=body.get("description") or None,
        secret=body.get("secret") or None,
    )
    return JSONResponse({"webhook": state.webhooks().store.create(hook).to_json()})


@router.get("/webhooks")
def list_webhooks(state: State, max_results: int | None = None, page_token: str | None = None) -> JSONResponse:
    from ...tracking.search import decode_page_token, encode_page_token

    size = max_results or 100
    if not 0 < size <= MAX_RESULTS:
        raise InvalidParameterError(f"Invalid max_results {max_results}: give 1 to {MAX_RESULTS}")
    offset = decode_page_token(page_token)
    hooks, more = state.webhooks().store.list(size, offset)
    out: dict[str, Any] = {"webhooks": [h.to_json() for h in hooks]}
    if more:
        out["next_page_token"] = encode_page_token(offset + size)
    return JSONResponse(out)


@router.get("/webhooks/{webhook_id}")
def get_webhook(webhook_id: str, state: State) -> JSONResponse:
    return JSONResponse({"webhook": state.webhooks().store.get(webhook_id).to_json()})


@router.patch("/webhooks/{webhook_id}")
async def update_webhook(webhook_id: str, request: Request, state: State) -> JSONResponse:
    body = await _body(request)
    store = state.webhooks().store
    store.get(webhook_id)  # 404 first, as MLflow
    changes: dict[str, Any] = {}
    if body.get("name") is not None:
        changes["name"] = _name(body["name"])
    if "description" in body:
        changes["description"] = body.get("description") or None
    if body.get("url") is not None:
        changes["url"] = check_url(body["url"], _allow_private(state))
    if body.get("events"):
        changes["events"] = parse_events(body["events"])
    if "secret" in body:
        changes["secret"] = body.get("secret") or None
    if body.get("status"):
        changes["status"] = _status(body["status"])
    return JSONResponse({"webhook": store.update(webhook_id, changes).to_json()})


@router.delete("/webhooks/{webhook_id}")
def delete_webhook(webhook_id: str, state: State) -> JSONResponse:
    state.webhooks().store.delete(webhook_id)
    return JSONResponse({})


@router.post("/webhooks/{webhook_id}/test")
async def test_webhook(webhook_id: str, request: Request, state: State) -> JSONResponse:
    """Send an example payload now and report the outcome (``{"result": {"success", ...}}``)."""
    from starlette.concurrency import run_in_threadpool

    body = await _body(request)
    dispatcher = state.webhooks()
    hook = dispatcher.store.get(webhook_id)
    event = None
    if isinstance(body.get("event"), dict):
        event = parse_events([body["event"]])[0]
    result = await run_in_threadpool(dispatcher.test, hook, event)
    return JSONResponse({"result": result.to_json()})
