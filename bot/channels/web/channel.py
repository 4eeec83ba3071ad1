"""The web channel: a Rasa-REST-compatible chat API, staff replies by polling, and the widget.

``POST /api/chat`` takes ``{"sender": "...", "message": "..."}`` (a button payload is sent as
the message) and answers ``[{"recipient_id", "text", "buttons": [{"title", "payload"}]}]``,
the shape of Rasa's REST channel, so existing Rasa front ends work. Replies that arrive later
(from staff, or after a restart) wait in the outbox; ``GET /api/chat/poll`` returns them.

Who may read a conversation: ``POST /api/chat/session`` issues a sender id the server chose,
``w`` + 32 random hex digits, signed: ``"<id>.<HMAC>"``. The conversation is ``web:<id>``; the
signature proves the caller was given that id, so knowing an id (it is shown to staff, logged)
is not enough to read or write the conversation. The widget always uses a signed id. Polling
(staff replies, late answers) needs one; ``POST /api/chat`` also accepts an id the client chose
(Rasa's REST channel lets clients name themselves; ``EGOVBOT_WEB_ALLOW_UNSIGNED_SENDERS=false``
turns that off), except one shaped like an issued id, which must carry its signature.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import itertools
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from aiohttp import web

from actions import texts
from actions.base import MAX_TEXT_CHARS, MessageKind, RateLimiter, Reply
from bot.channels.base import Intake
from bot.channels.http import bad_request, read_body, read_json
from bot.channels.images import image_message, notice_message
from bot.core.messages import IncomingMessage
from bot.receipts import ReceiptLimits
from bot.service import metrics
from bot.storage.key_values import KeyValueStore
from bot.storage.outbox import Outbox
from nlu.dossier_code import find_dossier_codes

log = logging.getLogger(__name__)

NAME = "web"
STATIC_DIR = Path(__file__).parent / "static"
# The chat page is a template (the city is filled in); it is kept out of STATIC_DIR so that
# /static/ cannot serve it raw.
PAGE_TEMPLATE = Path(__file__).parent / "templates" / "index.html"
SENDER_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
ISSUED_ID = re.compile(r"^w[0-9a-f]{32}$")  # ids the server issues: never taken unsigned
LOOKUP_WINDOW_SECONDS = 3600.0
SECRET_KEY = "web.sender_secret"  # the HMAC key, in the key-value store (shared by workers)
# The widget is embedded in other sites (city portals), so the chat API is cross-origin. It uses
# no cookies or credentials (the sender id is in the body), so any origin may call it.
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type",
    "Access-Control-Max-Age": "600",
}
Handler = Callable[[web.Request], Awaitable[web.Response]]


def with_cors(handler: Handler) -> Handler:
    """The handler, with CORS headers added to its answers (errors included)."""
    async def wrapped(request: web.Request) -> web.Response:
        response = await handler(request)
        response.headers.update(CORS_HEADERS)
        return response
    return wrapped


async def preflight(_request: web.Request) -> web.Response:
    """Answer a CORS preflight (``OPTIONS``) for the chat API."""
    return web.Response(status=204, headers=CORS_HEADERS)


def rasa_messages(sender: str, replies: Sequence[Reply]) -> list[dict[str, Any]]:
    """Replies in the Rasa REST channel's answer shape (links become link buttons)."""
    out = []
    for reply in replies:
        item: dict[str, Any] = {"recipient_id": sender, "text": reply.text}
        if reply.buttons:
            item["buttons"] = [{"title": b.title, "payload": b.payload} for b in reply.buttons]
        if reply.links:
            item["links"] = [{"title": link.title, "url": link.url} for link in reply.links]
        if reply.event is not None:  # Rasa's REST channel carries such data in "custom"
            item["custom"] = {"event": str(reply.event)}
        out.append(item)
    return out


def forbidden(message: str) -> web.Response:
    """A 403 with a JSON error message."""
    return web.json_response({"error": message}, status=403)


async def favicon(request: web.Request) -> web.StreamResponse:
    """The site icon of the chat page and the staff pages (drawn by docs/favicon.py)."""
    return web.FileResponse(STATIC_DIR / "favicon.ico",
                            headers={"Cache-Control": "public, max-age=86400"})


class WebChannel:
    """The chat API, the polling endpoint and the widget's files."""

    name = NAME

    def __init__(self, outbox: Outbox, key_values: KeyValueStore | None = None, *,
                 allow_unsigned: bool = True, limiter: RateLimiter | None = None,
                 lookups_per_address: int = 30,
                 receipt_limits: ReceiptLimits | None = None) -> None:
        self.outbox = outbox
        self.key_values = key_values
        self.allow_unsigned = allow_unsigned
        # Sender ids cost nothing to make, so a conversation's lookup limit alone would let
        # one client try every dossier code: lookups are also counted per client address.
        self.limiter, self.lookups_per_address = limiter, lookups_per_address
        self.intake: Intake | None = None
        self.receipt_limits = receipt_limits or ReceiptLimits()
        # Without a store (one process, tests) the key lives as long as the process.
        self._secret = secrets.token_bytes(32)

    def sign(self, conversation: str) -> str:
        """The signed sender id for a conversation's id (``"<id>.<signature>"``)."""
        digest = hmac.new(self._secret, f"web-sender:{conversation}".encode(),
                          hashlib.sha256).digest()[:18]
        return f"{conversation}.{base64.urlsafe_b64encode(digest).decode()}"

    def verified(self, sender: str) -> str | None:
        """The conversation's id if ``sender`` is a correctly signed sender id, else None."""
        conversation, dot, _signature = sender.rpartition(".")
        if not dot or not conversation:
            return None
        return conversation if hmac.compare_digest(self.sign(conversation), sender) else None

    def conversation_of(self, sender: str) -> str | web.Response:
        """Whose conversation a chat message is for, or the 400/403 refusing it."""
        if not SENDER_PATTERN.match(sender):
            return bad_request("'sender' must be 1-128 letters, digits or _.:-")
        conversation = self.verified(sender)
        if conversation is not None:
            return conversation
        if ISSUED_ID.match(sender.split(".", 1)[0]):
            log.warning("web: refused an issued sender id without a valid signature")
            return forbidden("this sender id is not valid; ask /api/chat/session for a new one")
        if not self.allow_unsigned:
            return forbidden("ask /api/chat/session for a sender id")
        return sender

    def register(self, app: web.Application, intake: Intake) -> None:
        """Add the web routes."""
        self.intake = intake
        for path in ("/api/chat", "/webhooks/rest/webhook"):  # ours and Rasa's REST path
            app.router.add_post(path, with_cors(self.chat))
            app.router.add_route("OPTIONS", path, preflight)
        app.router.add_post("/api/chat/image", with_cors(self.image))
        app.router.add_route("OPTIONS", "/api/chat/image", preflight)
        app.router.add_get("/api/chat/poll", with_cors(self.poll))
        app.router.add_route("OPTIONS", "/api/chat/poll", preflight)
        app.router.add_post("/api/chat/session", with_cors(self.session))
        app.router.add_route("OPTIONS", "/api/chat/session", preflight)
        if STATIC_DIR.is_dir():
            app.router.add_get("/", self.page)
            app.router.add_get("/favicon.ico", favicon)  # browsers ask for it on every site
            app.router.add_static("/static/", STATIC_DIR, append_version=True)

    async def start(self) -> None:
        """Load the signing key, creating it on first start (every worker ends with one)."""
        if self.key_values is None:
            return
        stored = await self.key_values.get(SECRET_KEY)
        if stored is None:
            await self.key_values.compare_and_set(
                SECRET_KEY, {"key": secrets.token_hex(32)}, None)  # loses to a faster worker
            stored = await self.key_values.get(SECRET_KEY)
        if stored is None or not isinstance(stored.value.get("key"), str):
            raise RuntimeError("the web channel's signing key could not be stored")
        self._secret = bytes.fromhex(stored.value["key"])

    async def stop(self) -> None:
        """Nothing to close."""

    async def send(self, user_id: str, replies: Sequence[Reply]) -> None:
        """Keep replies until the widget polls for them; the widget labels an officer's."""
        for author, group in itertools.groupby(replies, key=lambda reply: reply.author):
            await self.outbox.push(f"{NAME}:{user_id}", [r.to_dict() for r in group],
                                   sender=author)
        metrics.message_out(NAME, len(replies))

    async def page(self, request: web.Request) -> web.StreamResponse:
        """The chat page, naming the deployment's city (from the knowledge base)."""
        assert self.intake is not None
        city = self.intake.city_name()
        page = PAGE_TEMPLATE.read_text(encoding="utf-8")
        return web.Response(text=page.replace("{{city}}", html.escape(city)),
                            content_type="text/html", charset="utf-8")

    async def chat(self, request: web.Request) -> web.Response:
        """One message in, the replies out (Rasa REST shape)."""
        body = await read_json(request)
        if isinstance(body, web.Response):
            return body
        sender, message = body.get("sender"), body.get("message")
        if not isinstance(sender, str):
            return bad_request("'sender' must be 1-128 letters, digits or _.:-")
        conversation = self.conversation_of(sender)
        if isinstance(conversation, web.Response):
            return conversation
        if not isinstance(message, str) or not message.strip():
            return bad_request("'message' must be a non-empty string")
        if len(message) > MAX_TEXT_CHARS:
            return bad_request(f"'message' is longer than {MAX_TEXT_CHARS} characters")
        message_id = body.get("message_id")
        if message_id is not None and not isinstance(message_id, str):
            return bad_request("'message_id' must be a string")
        assert self.intake is not None
        if not self.intake.accepting():
            return web.json_response({"error": "shutting down"}, status=503)
        if not await self._lookup_allowed(request, message):
            return web.json_response(rasa_messages(sender, [Reply(texts.DOSSIER_ADDRESS_LIMITED)]))
        replies = await self.intake.handle_now(
            IncomingMessage(NAME, conversation, message, message_id))
        if replies is None:
            return web.json_response([])  # a repeated delivery: answered the first time
        metrics.message_out(NAME, len(replies))
        return web.json_response(rasa_messages(sender, replies))

    async def image(self, request: web.Request) -> web.Response:
        """A photo of the receipt: the raw image as the body, ``?sender=`` a signed sender
        id. Answered like ``chat``: the dossier code read as if typed, else the notice that
        fits (an image over the size limit is refused politely, not read)."""
        sender = request.query.get("sender", "")
        conversation = self.verified(sender)
        if conversation is None:
            return forbidden("ask /api/chat/session for a sender id")
        message_id = request.query.get("message_id") or None
        assert self.intake is not None
        if not self.intake.accepting():
            return web.json_response({"error": "shutting down"}, status=503)
        raw = await read_body(request, self.receipt_limits.max_bytes)
        if isinstance(raw, web.Response):  # over the limit: refused without reading it
            message = notice_message(NAME, conversation, message_id, MessageKind.IMAGE_REFUSED)
        else:
            message = await image_message(NAME, conversation, message_id, raw,
                                          self.receipt_limits)
        if not await self._lookup_allowed(request, message.text):
            return web.json_response(rasa_messages(sender, [Reply(texts.DOSSIER_ADDRESS_LIMITED)]))
        replies = await self.intake.handle_now(message)
        if replies is None:
            return web.json_response([])
        metrics.message_out(NAME, len(replies))
        return web.json_response(rasa_messages(sender, replies))

    async def _lookup_allowed(self, request: web.Request, message: str) -> bool:
        """False when the message looks a dossier code up and the client's address has used
        its lookups for the hour."""
        if self.limiter is None or not find_dossier_codes(message):
            return True
        address = request.remote or "unknown"
        allowed = await self.limiter.hit(f"dossier-address:{address}", self.lookups_per_address,
                                         LOOKUP_WINDOW_SECONDS)
        if not allowed:
            log.warning("web: dossier lookups from %s over %d an hour", address,
                        self.lookups_per_address)
        return allowed

    async def session(self, _request: web.Request) -> web.Response:
        """A new conversation: a random id, signed (the caller's proof that it is theirs)."""
        return web.json_response({"sender": self.sign(f"w{secrets.token_hex(16)}")})

    async def poll(self, request: web.Request) -> web.Response:
        """Replies stored for a conversation after a given id (staff replies, late answers).

        Only for a signed sender id: anyone who merely knows (or guesses) a conversation's id
        must not read what staff wrote to it.
        """
        sender = request.query.get("sender", "")
        if not SENDER_PATTERN.match(sender):
            return bad_request("'sender' must be 1-128 letters, digits or _.:-")
        conversation = self.verified(sender)
        if conversation is None:
            return forbidden("polling needs a sender id from /api/chat/session")
        try:
            after = int(request.query.get("after", "0"))
        except ValueError:
            return bad_request("'after' must be a whole number")
        if not 0 <= after < 2**63:  # beyond a database integer (SQLite overflows: a 500)
            return bad_request("'after' must be a whole number")
        items = await self.outbox.after(f"{NAME}:{conversation}", after)
        return web.json_response([
            {"id": item.id, "sender": item.sender, "recipient_id": sender,
             "text": item.reply.get("text", ""), "buttons": item.reply.get("buttons", []),
             "links": item.reply.get("links", [])}
            for item in items
        ])
