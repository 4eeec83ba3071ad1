"""The web channel: a Rasa-REST-compatible chat API, staff replies by polling, and the widget.

``POST /api/chat`` takes ``{"sender": "...", "message": "..."}`` (a button payload is sent as
the message) and answers ``[{"recipient_id", "text", "buttons": [{"title", "payload"}]}]``,
the shape of Rasa's REST channel, so existing Rasa front ends work. Replies that arrive later
(from staff, or after a restart) wait in the outbox; ``GET /api/chat/poll`` returns them.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from aiohttp import web

from actions.base import Reply
from bot.dispatcher import Dispatcher
from bot.messages import MAX_TEXT_CHARS, IncomingMessage
from knowledge.outbox import Outbox

NAME = "web"
STATIC_DIR = Path(__file__).parent / "static"
SENDER_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
MAX_BODY_BYTES = 64 * 1024
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
        out.append(item)
    return out


def bad_request(message: str) -> web.Response:
    """A 400 with a JSON error message."""
    return web.json_response({"error": message}, status=400)


async def read_json(request: web.Request) -> dict[str, Any] | web.Response:
    """The request's JSON object, or a 400 response saying what is wrong."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return bad_request("request body too large")
    try:
        raw = await request.content.read(MAX_BODY_BYTES + 1)
        if len(raw) > MAX_BODY_BYTES:
            return bad_request("request body too large")
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return bad_request("the body must be a JSON object")
    if not isinstance(body, dict):
        return bad_request("the body must be a JSON object")
    return body


class WebChannel:
    """The chat API, the polling endpoint and the widget's files."""

    name = NAME

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox
        self.dispatcher: Dispatcher | None = None

    def register(self, app: web.Application, dispatcher: Dispatcher) -> None:
        """Add the web routes."""
        self.dispatcher = dispatcher
        for path in ("/api/chat", "/webhooks/rest/webhook"):  # ours and Rasa's REST path
            app.router.add_post(path, with_cors(self.chat))
            app.router.add_route("OPTIONS", path, preflight)
        app.router.add_get("/api/chat/poll", with_cors(self.poll))
        app.router.add_route("OPTIONS", "/api/chat/poll", preflight)
        if STATIC_DIR.is_dir():
            app.router.add_get("/", self.page)
            app.router.add_static("/static/", STATIC_DIR, append_version=True)

    async def start(self) -> None:
        """Nothing to open."""

    async def stop(self) -> None:
        """Nothing to close."""

    async def send(self, user_id: str, replies: Sequence[Reply]) -> None:
        """Keep replies until the widget polls for them."""
        await self.outbox.push(f"{NAME}:{user_id}", [r.to_dict() for r in replies])

    async def page(self, request: web.Request) -> web.StreamResponse:
        """The chat page, naming the deployment's city (from the knowledge base)."""
        assert self.dispatcher is not None
        city = self.dispatcher.pipeline.services.knowledge.city.name
        page = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
        return web.Response(text=page.replace("{{city}}", html.escape(city)),
                            content_type="text/html", charset="utf-8")

    async def chat(self, request: web.Request) -> web.Response:
        """One message in, the replies out (Rasa REST shape)."""
        body = await read_json(request)
        if isinstance(body, web.Response):
            return body
        sender, message = body.get("sender"), body.get("message")
        if not isinstance(sender, str) or not SENDER_PATTERN.match(sender):
            return bad_request("'sender' must be 1-128 letters, digits or _.:-")
        if not isinstance(message, str) or not message.strip():
            return bad_request("'message' must be a non-empty string")
        if len(message) > MAX_TEXT_CHARS:
            return bad_request(f"'message' is longer than {MAX_TEXT_CHARS} characters")
        message_id = body.get("message_id")
        if message_id is not None and not isinstance(message_id, str):
            return bad_request("'message_id' must be a string")
        assert self.dispatcher is not None
        if not self.dispatcher.accepting:
            return web.json_response({"error": "shutting down"}, status=503)
        handled = await self.dispatcher.handle_now(
            IncomingMessage(NAME, sender, message, message_id))
        if handled is None:
            return web.json_response([])  # a repeated delivery: answered the first time
        return web.json_response(rasa_messages(sender, handled.replies))

    async def poll(self, request: web.Request) -> web.Response:
        """Replies stored for a conversation after a given id (staff replies, late answers)."""
        sender = request.query.get("sender", "")
        if not SENDER_PATTERN.match(sender):
            return bad_request("'sender' must be 1-128 letters, digits or _.:-")
        try:
            after = int(request.query.get("after", "0"))
        except ValueError:
            return bad_request("'after' must be a whole number")
        items = await self.outbox.after(f"{NAME}:{sender}", after)
        return web.json_response([
            {"id": item.id, "sender": item.sender, "recipient_id": sender,
             "text": item.reply.get("text", ""), "buttons": item.reply.get("buttons", []),
             "links": item.reply.get("links", [])}
            for item in items
        ])
