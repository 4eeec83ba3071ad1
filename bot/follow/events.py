"""``POST /api/dossier-events``: one-stop-shop systems push a dossier's change.

The body is JSON ``{"event_id", "code", "status", "due_at"?, "changed_at"?}``; the request
carries ``X-Egovbot-Timestamp`` (Unix seconds) and ``X-Egovbot-Signature: sha256=<hex>``, the
HMAC-SHA256 with ``EGOVBOT_DOSSIER_EVENTS_SECRET`` of ``"<timestamp>." + body``. A timestamp
outside the replay window, or a wrong signature, is refused (401); an event id seen before is
acknowledged and not applied again (200, ``"duplicate": true``). What an event tells goes
through ``FollowStore.record`` like a poll, so a change pushed and polled is told once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from actions.dossier_source import DossierState
from bot.storage.follows import FollowStore, Observation
from knowledge.clock import utcnow
from nlu.dossier_code import canonical_dossier_code

PATH = "/api/dossier-events"
SIGNATURE_HEADER = "X-Egovbot-Signature"
TIMESTAMP_HEADER = "X-Egovbot-Timestamp"
MAX_BODY = 16 * 1024


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value for a body sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def _refuse(status: int, error: str) -> web.Response:
    return web.json_response({"error": error}, status=status)


def _time(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    parsed = dt.datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def read_event(data: Any, now: dt.datetime) -> tuple[str, Observation] | str:
    """The event id and what it tells, or what is wrong with it."""
    if not isinstance(data, dict):
        return "the body must be a JSON object"
    event_id, code, status = data.get("event_id"), data.get("code"), data.get("status")
    if not isinstance(event_id, str) or not 0 < len(event_id) <= 200:
        return "'event_id' must be a string of 1-200 characters"
    canonical = canonical_dossier_code(code) if isinstance(code, str) and len(code) < 80 else None
    if canonical is None:
        return "'code' is not a dossier code"
    if status not in {s.value for s in DossierState}:
        return "'status' is not a status of the contract"
    try:
        due = _time(data.get("due_at"))
        changed = _time(data.get("changed_at")) or now
    except (TypeError, ValueError):
        return "'due_at' and 'changed_at' must be ISO 8601 times"
    return event_id, Observation(canonical, str(status), due, changed)


def events_handler(store: FollowStore, secret: str, window: float,
                   clock: Callable[[], float] = time.time
                   ) -> Callable[[web.Request], Any]:
    """The route's handler."""

    async def receive(request: web.Request) -> web.Response:
        if not secret:
            return _refuse(404, "not found")
        if request.content_length is not None and request.content_length > MAX_BODY:
            return _refuse(413, "body too large")
        body = await request.read()  # whole and cached (the body-deadline middleware read it)
        if len(body) > MAX_BODY:
            return _refuse(413, "body too large")
        stamp = request.headers.get(TIMESTAMP_HEADER, "")
        if not stamp.isdigit() or len(stamp) > 12 or abs(clock() - int(stamp)) > window:
            return _refuse(401, "timestamp missing or outside the replay window")
        given = request.headers.get(SIGNATURE_HEADER, "")
        if not hmac.compare_digest(given.encode(), sign(secret, stamp, body).encode()):
            return _refuse(401, "bad signature")
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            return _refuse(400, "the body is not JSON")
        event = read_event(data, utcnow())
        if isinstance(event, str):
            return _refuse(400, event)
        event_id, observed = event
        notices = await store.record(observed, utcnow(), event_id=event_id)
        return web.json_response({"event_id": event_id, "duplicate": notices < 0,
                                  "notices": max(notices, 0)})

    return receive
