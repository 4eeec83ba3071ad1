"""A fake Zalo on loopback: OA OpenAPI v3 messages, OAuth v4 tokens and a signed-webhook pusher.

It behaves like the real service as described in ``shared/reference/channels.md`` section 3:

* ``POST /v3.0/oa/message/{cs,transaction,promotion}`` checks the ``access_token`` header,
  validates the message (text ≤ 2,000 characters, ≤ 5 buttons of known types, both button
  template shapes) and answers ``{"error", "message", "data"}``, failures with HTTP 200 and a
  non-zero ``error``: -216 unknown token, ``expired_error`` (-216 by default) expired token,
  -201 bad parameters, -230 a user outside the reply window, -32 over the rate limit;
* ``POST /v4/oa/access_token`` (form-encoded, ``secret_key`` header) rotates single-use refresh
  tokens: a used one gives ``-14020``, an unknown one ``-14014``; ``expires_in`` is a string;
* ``deliver()`` posts events signed with ``X-ZEvent-Signature`` = SHA-256(app_id + raw body +
  timestamp + OA secret) (or HMAC-SHA256 of the body), with a 2 s timeout like Zalo's.

Tests script it: ``fail_next`` (an HTTP status, an error code or a slow answer),
``expire_access_tokens``, ``unreachable`` users, a rate limit and a slow OAuth endpoint.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

BUTTON_TYPES = frozenset({"oa.open.url", "oa.query.show", "oa.query.hide", "oa.open.phone",
                          "oa.open.sms"})
FREE_REPLIES = 8  # free replies per user message, within 48 h


@dataclass
class SentMessage:
    """A message the fake accepted."""

    kind: str  # cs, transaction, promotion
    user_id: str
    text: str
    buttons: list[dict[str, Any]]
    recipient: dict[str, Any]
    access_token: str
    message_id: str


@dataclass
class Failure:
    """A scripted answer for the next message request."""

    status: int = 200
    error: int | None = None
    delay: float = 0.0


@dataclass
class OAuthCall:
    """One token request and what it got."""

    form: dict[str, str]
    secret_key: str
    error: int  # 0: a new pair was issued


@dataclass
class FakeZalo:
    """The fake service; ``await start()`` then use ``url`` for both the API and OAuth hosts."""

    app_id: str = "1234567890123456789"
    oa_id: str = "579745863508352884"
    app_secret: str = "fake-app-secret"
    oa_secret: str = "fake-oa-secret"
    refresh_token: str = "rt-initial"
    access_ttl: int = 90000
    expired_error: int = -216
    signature_scheme: str = "sha256-concat"  # or "hmac-sha256"
    mac_prefix: bool = False
    rate_limit_per_second: int | None = None
    oauth_delay: float = 0.0

    sent: list[SentMessage] = field(default_factory=list)
    attempts: list[tuple[str, int]] = field(default_factory=list)  # (user or "?", error code)
    oauth_calls: list[OAuthCall] = field(default_factory=list)
    unreachable: set[str] = field(default_factory=set)
    access_tokens: dict[str, float] = field(default_factory=dict)  # token -> expires at
    valid_refresh_tokens: set[str] = field(default_factory=set)
    used_refresh_tokens: set[str] = field(default_factory=set)
    failures: deque[Failure] = field(default_factory=deque)
    quota_used: dict[str, int] = field(default_factory=dict)
    message_ids: dict[str, str] = field(default_factory=dict)  # delivered msg_id -> user
    images: dict[str, bytes] = field(default_factory=dict)  # name -> content (Zalo's CDN)
    _counter: itertools.count[int] = field(default_factory=itertools.count)
    _recent: deque[float] = field(default_factory=deque)
    _server: TestServer | None = None
    _session: aiohttp.ClientSession | None = None

    def __post_init__(self) -> None:
        self.valid_refresh_tokens.add(self.refresh_token)

    # --- lifecycle ------------------------------------------------------------------------

    def app(self) -> web.Application:
        """The fake's routes."""
        app = web.Application()
        app.router.add_post("/v3.0/oa/message/{kind}", self._message)
        app.router.add_post("/v4/oa/access_token", self._oauth)
        app.router.add_get("/cdn/{name}", self._image)
        return app

    async def start(self) -> str:
        """Listen on a loopback port; the base URL."""
        self._server = TestServer(self.app(), host="127.0.0.1")
        await self._server.start_server()
        return self.url

    async def close(self) -> None:
        """Stop listening and close the pusher's session."""
        if self._session is not None:
            await self._session.close()
        if self._server is not None:
            await self._server.close()

    @property
    def url(self) -> str:
        """Base URL of the API and OAuth hosts."""
        assert self._server is not None
        return str(self._server.make_url("")).rstrip("/")

    # --- scripting ------------------------------------------------------------------------

    def fail_next(self, count: int = 1, *, status: int = 200, error: int | None = None,
                  delay: float = 0.0) -> None:
        """The next ``count`` message requests get this answer instead of being sent."""
        self.failures.extend(Failure(status, error, delay) for _ in range(count))

    def expire_access_tokens(self) -> None:
        """Every access token issued so far has expired."""
        for token in self.access_tokens:
            self.access_tokens[token] = 0.0

    @property
    def live_refresh_token(self) -> str:
        """The one refresh token that works now."""
        [token] = self.valid_refresh_tokens
        return token

    def to(self, user_id: str) -> list[SentMessage]:
        """Messages sent to a user."""
        return [m for m in self.sent if m.user_id == user_id]

    async def wait_for(self, count: int, user_id: str | None = None,
                       timeout: float = 5.0) -> list[SentMessage]:
        """Wait until at least ``count`` messages were sent (to a user); those messages."""
        deadline = time.monotonic() + timeout
        while True:
            sent = self.sent if user_id is None else self.to(user_id)
            if len(sent) >= count or time.monotonic() > deadline:
                return sent
            await asyncio.sleep(0.01)

    # --- OpenAPI --------------------------------------------------------------------------

    @staticmethod
    def _error(code: int, message: str) -> web.Response:
        return web.json_response({"error": code, "message": message})

    async def _message(self, request: web.Request) -> web.Response:
        kind = request.match_info["kind"]
        if kind not in ("cs", "transaction", "promotion"):
            return web.json_response({"error": 404, "message": "Not found"}, status=404)
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        user = self._recipient(body)
        if self.failures:
            failure = self.failures.popleft()
            self.attempts.append((user or "?", failure.error or -failure.status))
            if failure.delay:
                await asyncio.sleep(failure.delay)
            if failure.error is not None:
                return self._error(failure.error, "Scripted failure")
            return web.Response(status=failure.status, text="scripted failure")
        code, answer = self._check(request, body, user)
        self.attempts.append((user or "?", code))
        if code:
            return self._error(code, answer)
        assert isinstance(body, dict) and user is not None
        message = body["message"]
        message_id = uuid.uuid4().hex
        self.sent.append(SentMessage(kind, user, _text(message), _buttons(message),
                                     body["recipient"], request.headers["access_token"],
                                     message_id))
        used = self.quota_used.get(user, 0) + 1
        self.quota_used[user] = used
        data: dict[str, Any] = {"message_id": message_id, "user_id": user,
                                "sent_time": str(int(time.time() * 1000))}
        if used <= FREE_REPLIES:
            data["quota"] = {"quota_type": "reply", "remain": str(FREE_REPLIES - used),
                             "total": str(FREE_REPLIES)}
        return web.json_response({"error": 0, "message": "Success", "data": data})

    def _recipient(self, body: Any) -> str | None:
        recipient = body.get("recipient") if isinstance(body, dict) else None
        if not isinstance(recipient, dict):
            return None
        if isinstance(recipient.get("user_id"), str):
            return str(recipient["user_id"])
        if isinstance(recipient.get("message_id"), str):
            return self.message_ids.get(recipient["message_id"])
        return None

    def _check(self, request: web.Request, body: Any, user: str | None) -> tuple[int, str]:
        """Zalo's error code for a message request (0: fine) and its message."""
        token = request.headers.get("access_token", "")
        if token not in self.access_tokens:
            return -216, "Access token is invalid"
        if self.access_tokens[token] <= time.time():
            return self.expired_error, "Access token has expired"
        if self.rate_limit_per_second is not None:
            now = time.monotonic()
            while self._recent and self._recent[0] <= now - 1:
                self._recent.popleft()
            if len(self._recent) >= self.rate_limit_per_second:
                return -32, "Your application reached limit call api"
            self._recent.append(now)
        if not isinstance(body, dict) or user is None:
            return -201, "Parameter recipient is invalid"
        message = body.get("message")
        if request.match_info["kind"] == "transaction":  # on the OA's quota, no reply window
            return _transaction_problem(message)
        if user in self.unreachable:
            return -230, "User has not interacted with the OA in the last 7 days"
        if not isinstance(message, dict):
            return -201, "Parameter message is invalid"
        text = message.get("text")
        if not isinstance(text, str) or not 0 < len(text) <= 2000:
            return -201, "Parameter text is invalid (1-2000 characters)"
        buttons = _buttons(message)
        if len(buttons) > 5:
            return -201, "Only support 5 buttons"
        for button in buttons:
            problem = _button_problem(button)
            if problem:
                return -201, problem
        return 0, ""

    # --- OAuth ----------------------------------------------------------------------------

    async def _oauth(self, request: web.Request) -> web.Response:
        if self.oauth_delay:
            await asyncio.sleep(self.oauth_delay)
        form = {key: str(value) for key, value in (await request.post()).items()}
        secret = request.headers.get("secret_key", "")
        code, answer = self._issue(form, secret)
        self.oauth_calls.append(OAuthCall(form, secret, code))
        return web.json_response(answer)

    def _issue(self, form: dict[str, str], secret: str) -> tuple[int, dict[str, Any]]:
        def error(code: int, name: str) -> tuple[int, dict[str, Any]]:
            return code, {"error": code, "error_name": name, "error_description": name}

        if form.get("app_id") != self.app_id:
            return error(-14001, "Invalid app id")
        if secret != self.app_secret:
            return error(-14002, "Invalid secret key")
        if form.get("grant_type") != "refresh_token":
            return error(-14003, "Invalid grant type")
        token = form.get("refresh_token", "")
        if token in self.used_refresh_tokens:
            return error(-14020, "Refresh token is expired or already used")
        if token not in self.valid_refresh_tokens:
            return error(-14014, "Invalid refresh token")
        self.valid_refresh_tokens.discard(token)
        self.used_refresh_tokens.add(token)
        number = next(self._counter)
        access, refresh = f"at-{number}-{uuid.uuid4().hex[:8]}", f"rt-{number + 1}"
        self.access_tokens[access] = time.time() + self.access_ttl
        self.valid_refresh_tokens.add(refresh)
        return 0, {"access_token": access, "refresh_token": refresh,
                   "expires_in": str(self.access_ttl)}

    # --- webhook pusher -------------------------------------------------------------------

    def sign(self, raw: bytes, event: dict[str, Any]) -> str:
        """The ``X-ZEvent-Signature`` Zalo puts on a delivery."""
        if self.signature_scheme == "hmac-sha256":
            digest = hmac.new(self.oa_secret.encode(), raw, hashlib.sha256).hexdigest()
        else:
            data = (str(event.get("app_id", "")).encode() + raw
                    + str(event.get("timestamp", "")).encode() + self.oa_secret.encode())
            digest = hashlib.sha256(data).hexdigest()
        return f"mac={digest}" if self.mac_prefix else digest

    def event(self, event_name: str, user_id: str, message: dict[str, Any] | None = None
              ) -> dict[str, Any]:
        """An event from a user, in Zalo's envelope."""
        body: dict[str, Any] = {
            "app_id": self.app_id, "user_id_by_app": f"9{user_id}", "event_name": event_name,
            "timestamp": str(int(time.time() * 1000)),
            "sender": {"id": user_id}, "recipient": {"id": self.oa_id},
        }
        if message is not None:
            body["message"] = {"msg_id": uuid.uuid4().hex, **message}
        return body

    def text_event(self, user_id: str, text: str, msg_id: str | None = None,
                   event_name: str = "user_send_text") -> dict[str, Any]:
        """A user's text (or a tapped query button's payload)."""
        body = self.event(event_name, user_id, {"text": text})
        if msg_id is not None:
            body["message"]["msg_id"] = msg_id
        return body

    def image_event(self, user_id: str, content: bytes) -> dict[str, Any]:
        """A user's image, served by this fake at the event's URL (as Zalo's CDN does)."""
        name = f"{uuid.uuid4().hex}.jpg"
        self.images[name] = content
        return self.attachment_event(user_id, "image", url=f"{self.url}/cdn/{name}")

    async def _image(self, request: web.Request) -> web.Response:
        content = self.images.get(request.match_info["name"])
        if content is None:
            return web.Response(status=404)
        return web.Response(body=content, content_type="image/jpeg")

    def attachment_event(self, user_id: str, kind: str = "image",
                         url: str | None = None) -> dict[str, Any]:
        """A user's image, sticker, file …"""
        payload = {"url": url or f"https://example.invalid/{kind}.bin", "thumbnail": ""}
        return self.event(f"user_send_{kind}", user_id,
                          {"attachments": [{"type": kind, "payload": payload}]})

    def follow_event(self, user_id: str) -> dict[str, Any]:
        """A user followed the OA (``follower``/``oa_id`` instead of ``sender``/``recipient``)."""
        return {"app_id": self.app_id, "oa_id": self.oa_id, "user_id_by_app": f"9{user_id}",
                "event_name": "follow", "timestamp": str(int(time.time() * 1000)),
                "follower": {"id": user_id}}

    async def deliver(self, url: str, event: dict[str, Any] | bytes, *,
                      signature: str | None = None, sign: bool = True) -> int:
        """POST an event to the bot like Zalo does; the HTTP status (2 s timeout)."""
        if isinstance(event, bytes):
            raw = event
        else:
            raw = json.dumps(event, ensure_ascii=False).encode("utf-8")
            sender = event.get("sender")
            message = event.get("message")
            if isinstance(sender, dict) and isinstance(message, dict):
                self.message_ids[str(message.get("msg_id"))] = str(sender.get("id"))
                self.quota_used[str(sender.get("id"))] = 0  # a user message resets the quota
        headers = {"Content-Type": "application/json"}
        if signature is None and sign and isinstance(event, dict):
            signature = self.sign(raw, event)
        if signature is not None:
            headers["X-ZEvent-Signature"] = signature
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2))
        async with self._session.post(url, data=raw, headers=headers) as response:
            await response.read()
            return response.status


def _buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The buttons of a message, in either template shape seen in the wild."""
    attachment = message.get("attachment")
    if not isinstance(attachment, dict):
        return []
    payload = attachment.get("payload")
    if not isinstance(payload, dict):
        return []
    buttons = payload.get("buttons")
    return [b for b in buttons if isinstance(b, dict)] if isinstance(buttons, list) else []


def _text(message: dict[str, Any]) -> str:
    """A cs message's text, or a transaction template's header, text and table lines."""
    if "text" in message:
        return str(message["text"])
    lines = []
    for element in message["attachment"]["payload"]["elements"]:
        if element["type"] == "table":
            lines += [f"{row['key']}: {row['value']}" for row in element["content"]]
        elif element["type"] in ("header", "text"):
            lines.append(element["content"])
    return "\n".join(lines)


TRANSACTION_ELEMENTS = ("banner", "header", "text", "table")


def _transaction_problem(message: Any) -> tuple[int, str]:
    """Zalo's checks of a transaction template (API v3 message/transaction), as documented:
    template_type transaction_*, language VI or EN, elements with a header, at most 4 buttons."""
    attachment = message.get("attachment") if isinstance(message, dict) else None
    payload = attachment.get("payload") if isinstance(attachment, dict) else None
    if not isinstance(payload, dict) or attachment.get("type") != "template":
        return -201, "Parameter attachment is invalid"
    if not str(payload.get("template_type", "")).startswith("transaction_"):
        return -201, "Template type is invalid"
    if payload.get("language") not in ("VI", "EN"):
        return -201, "Language is invalid"
    elements = payload.get("elements")
    if not isinstance(elements, list) or not elements or any(
            not isinstance(e, dict) or e.get("type") not in TRANSACTION_ELEMENTS
            for e in elements):
        return -201, "Elements are invalid"
    headers = [e for e in elements if e["type"] == "header"]
    if len(headers) != 1 or not 0 < len(str(headers[0].get("content", ""))) <= 100:
        return -201, "Header is invalid (one, 1-100 characters)"
    for element in elements:
        if element["type"] == "text" and not 0 < len(str(element.get("content", ""))) <= 1000:
            return -201, "Text element is invalid (1-1000 characters)"
    buttons = payload.get("buttons", [])
    if not isinstance(buttons, list) or len(buttons) > 4:
        return -201, "Only support 4 buttons"
    for button in buttons:
        problem = _button_problem(button)
        if problem:
            return -201, problem
    return 0, ""


def _button_problem(button: dict[str, Any]) -> str:
    """Why Zalo would refuse a button ('' when it is fine)."""
    title, kind, payload = button.get("title"), button.get("type"), button.get("payload")
    if not isinstance(title, str) or not 0 < len(title) <= 100:
        return "Button title is invalid (1-100 characters)"
    if kind not in BUTTON_TYPES:
        return f"Button type {kind!r} is not supported"
    if kind in ("oa.query.show", "oa.query.hide"):
        if not isinstance(payload, str) or not 0 < len(payload) <= 1000:
            return "Query payload is invalid (1-1000 characters)"
    elif kind == "oa.open.url" and (not isinstance(payload, dict)
                                    or not str(payload.get("url", "")).startswith("http")):
        return "Url payload is invalid"
    return ""
