"""The Zalo Official Account channel: a signed webhook in, consultation messages out.

``POST /webhooks/zalo`` receives the OA's events. Each delivery is checked against its
``X-ZEvent-Signature`` (by default SHA-256 of app id + raw body + timestamp + OA secret key; the
scheme is a setting because sources disagree), then answered 200 as soon as the message is in
the inbox; the bot's work happens in the background and the replies go out through the v3 "cs"
API (see ``bot.channels.zalo.client``). Repeated deliveries are dropped by the inbox (``msg_id``).

What the citizen sends:

* ``user_send_text`` (and ``user_click_button``, a name one source uses for button taps): the
  text, or the payload of a tapped ``oa.query.hide`` button, goes to the bot;
* images, stickers, files, voice, locations …: a polite answer that only text is understood;
* a text longer than the bot reads: a polite request for a shorter message;
* anything else (follow, seen, the OA's own echoes): 200 and nothing more.

Replies: up to five buttons ride on a message (``oa.query.hide``, whose payload comes back as the
user's text; links become ``oa.open.url`` buttons while there is room, text lines otherwise);
further buttons follow in extra messages of five. Texts over 2,000 characters are split at
paragraph, line or word boundaries, the buttons staying on the last part.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from actions import texts
from actions.base import MAX_TEXT_CHARS, MessageKind, Reply
from bot.channels.base import Intake
from bot.channels.http import bad_request, parse_object, read_body
from bot.channels.images import image_message, receipt_limits
from bot.channels.zalo.client import (
    ZaloAuthError,
    ZaloClient,
    ZaloError,
    ZaloRejected,
    ZaloUnavailable,
    ZaloWindowError,
)
from bot.channels.zalo.render import render, transaction_message
from bot.channels.zalo.signature import signature_ok
from bot.core.delivery import DeliveryFailed
from bot.core.messages import IncomingMessage
from bot.service import metrics
from bot.service.settings import Settings
from bot.service.tasks import BackgroundTasks, stop_task
from bot.storage.conversations import ConversationStore
from bot.storage.key_values import KeyValueStore

log = logging.getLogger(__name__)

NAME = "zalo"
WEBHOOK_PATH = "/webhooks/zalo"
MAX_BODY_BYTES = 256 * 1024  # a 4,000-character text, JSON-escaped, fits with room to spare
TEXT_EVENTS = frozenset({"user_send_text", "user_click_button"})
MEDIA_EVENTS = frozenset({
    "user_send_image", "user_send_gif", "user_send_sticker", "user_send_file",
    "user_send_audio", "user_send_video", "user_send_location", "user_send_link",
    "user_send_business_card",
})
USER_ID_PATTERN = re.compile(r"^[0-9A-Za-z_-]{1,64}$")
REMEMBERED_MESSAGES = 10_000



def image_url(message: dict[str, Any]) -> str | None:
    """The URL of the first image attachment of an event's message."""
    attachments = message.get("attachments")
    for attachment in attachments if isinstance(attachments, list) else ():
        payload = attachment.get("payload") if isinstance(attachment, dict) else None
        url = payload.get("url") if isinstance(payload, dict) else None
        if isinstance(url, str) and attachment.get("type") == "image":
            return url
    return None


def allowed_host(url: str, hosts: Sequence[str]) -> bool:
    """Whether a URL is http(s) on one of ``hosts`` or a subdomain of one."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return parts.scheme in ("http", "https") and any(
        host == allowed or host.endswith("." + allowed) for allowed in hosts)


# --- rendering ---------------------------------------------------------------------------









# --- webhook signature -------------------------------------------------------------------





# --- the channel -------------------------------------------------------------------------

def _id(value: Any) -> str | None:
    """A Zalo id as a string (ids are kept as strings: they exceed 2**53)."""
    if isinstance(value, str | int) and not isinstance(value, bool):
        text = str(value)
        return text if USER_ID_PATTERN.match(text) else None
    return None


class ZaloChannel:
    """Webhook in, OA consultation messages out."""

    name = NAME

    def __init__(self, settings: Settings, conversations: ConversationStore,
                 key_values: KeyValueStore, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.conversations = conversations
        self.client = ZaloClient(settings, key_values, clock)
        self.intake: Intake | None = None
        self._background = BackgroundTasks()
        self._keeper: asyncio.Task[None] | None = None
        self._last_message: OrderedDict[str, str] = OrderedDict()

    def register(self, app: web.Application, intake: Intake) -> None:
        """Add the webhook routes."""
        self.intake = intake
        app.router.add_post(WEBHOOK_PATH, self.webhook)
        app.router.add_get(WEBHOOK_PATH, self.handshake)

    async def start(self) -> None:
        """Keep the token fresh in the background (the refresh token must not lapse either)."""
        self._keeper = asyncio.create_task(self._keep_token_fresh())

    async def stop(self) -> None:
        """Finish the bookkeeping in hand, stop the token keeper, close the HTTP session."""
        if self._keeper is not None:
            await stop_task(self._keeper)
            self._keeper = None
        await self._background.wait(self.settings.shutdown_timeout)
        await self.client.close()

    @property
    def busy(self) -> bool:
        """Background bookkeeping is still running."""
        return self._background.busy

    async def _keep_token_fresh(self) -> None:
        interval = self.settings.zalo_token_check_interval
        while True:
            await asyncio.sleep(interval)
            try:
                await self.client.access_token(within=interval + self.settings.zalo_token_margin)
            except ZaloError as exc:
                log.warning("zalo token check failed: %s", exc)
            except Exception:
                log.exception("zalo token check failed")

    # --- sending -------------------------------------------------------------------------

    def _recipient(self, user_id: str) -> dict[str, str]:
        if self.settings.zalo_recipient == "message_id":
            message_id = self._last_message.get(user_id)
            if message_id is not None:
                return {"message_id": message_id}
        return {"user_id": user_id}

    async def send(self, user_id: str, replies: Sequence[Reply]) -> None:
        """Send replies as cs messages; a user outside the reply window is recorded, not retried.

        Raises ``DeliveryFailed`` (temporary) when nothing more can be sent now: Zalo is
        unreachable or the token cannot be refreshed.
        """
        for delivered, reply in enumerate(replies):
            for message in render([reply], self.settings.zalo_max_text_chars,
                                  self.settings.zalo_max_buttons):
                try:
                    await self.client.send_cs(self._recipient(user_id), message)
                    metrics.message_out(NAME)
                except ZaloWindowError as exc:
                    reason = f"zalo {exc.code}: {exc.message}"
                    log.warning("zalo user %s cannot be messaged now (%s)", user_id, reason)
                    await self.conversations.set_unreachable(f"{NAME}:{user_id}", reason)
                    return
                except ZaloRejected as exc:
                    log.error("zalo refused a message to %s: %s", user_id, exc)
                except (ZaloAuthError, ZaloUnavailable) as exc:  # worth trying again later
                    raise DeliveryFailed(f"zalo:{user_id}: {exc}", temporary=True,
                                         delivered=delivered) from exc

    async def send_transaction(self, user_id: str, reply: Reply, code: str,
                               status: str) -> None:
        """Send a dossier notice as a transaction message (outside the reply window, on the
        OA's quota; bot/follow/notifier.py); raises ``DeliveryFailed``."""
        message = transaction_message(reply, code, texts.DOSSIER_STATUS_NAMES.get(status, status),
                                      self.settings.zalo_transaction_template)
        try:
            await self.client.send_transaction({"user_id": user_id}, message)
        except (ZaloWindowError, ZaloRejected) as exc:
            raise DeliveryFailed(f"zalo:{user_id}: {exc}", temporary=False) from exc
        except (ZaloAuthError, ZaloUnavailable) as exc:
            raise DeliveryFailed(f"zalo:{user_id}: {exc}", temporary=True) from exc
        metrics.message_out(NAME)

    async def _reopen(self, user_id: str) -> None:
        """The user wrote again, so the reply window is open: clear an 'unreachable' mark."""
        conversation_id = f"{NAME}:{user_id}"
        if await self.conversations.unreachable(conversation_id) is not None:
            await self.conversations.set_unreachable(conversation_id, None)

    # --- receiving -----------------------------------------------------------------------

    async def handshake(self, request: web.Request) -> web.Response:
        """A GET on the webhook URL (URL checks while registering it): 200."""
        challenge = request.query.get("hub.challenge", "")
        return web.Response(text=challenge[:200] or "ok")

    async def webhook(self, request: web.Request) -> web.Response:
        """Check, store and acknowledge one event; the bot answers in the background."""
        raw = await read_body(request, MAX_BODY_BYTES)
        if isinstance(raw, web.Response):
            return raw
        body = parse_object(raw)
        if body is None:
            return bad_request("the body must be a JSON object")
        if not signature_ok(self.settings, raw, body, request.headers):
            log.warning("zalo webhook: bad or missing signature (event %r from %s)",
                        str(body.get("event_name"))[:40], request.remote)
            if self.settings.zalo_signature_enforce:
                return web.json_response({"error": "bad signature"}, status=401)
        assert self.intake is not None
        if not self.intake.accepting():
            return web.json_response({"error": "shutting down"}, status=503)
        await self._handle_event(body, raw)
        return web.json_response({"ok": True})

    async def _handle_event(self, body: dict[str, Any], raw: bytes) -> None:
        event = body.get("event_name")
        if not isinstance(event, str) or (event not in TEXT_EVENTS and event not in MEDIA_EVENTS):
            log.debug("zalo event %r ignored", event)
            return
        sender = body.get("sender")
        message = body.get("message")
        user_id = _id(sender.get("id")) if isinstance(sender, dict) else None
        if user_id is None or not isinstance(message, dict):
            log.info("zalo %s without a usable sender or message ignored", event)
            return
        msg_id = (_id(message.get("msg_id"))
                  or "sha256:" + hashlib.sha256(raw).hexdigest()[:40])
        self._remember(user_id, msg_id)
        self._background.spawn(self._reopen(user_id))
        if event == "user_send_image":
            await self._on_image(user_id, msg_id, message)
            return
        if event in MEDIA_EVENTS:
            await self._submit(user_id, msg_id, MessageKind.MEDIA)
            return
        text = message.get("text")
        if not isinstance(text, str) or not text.strip():
            text = message.get("payload")  # a button tap described with a payload field
        if not isinstance(text, str) or not text.strip():
            log.info("zalo %s without text ignored", event)
            return
        if len(text) > MAX_TEXT_CHARS:
            await self._submit(user_id, msg_id, MessageKind.TOO_LONG)
            return
        await self._submit(user_id, msg_id, MessageKind.TEXT, text)

    async def _submit(self, user_id: str, msg_id: str, kind: MessageKind,
                      text: str | None = None) -> None:
        """Hand a message to the intake; one the bot cannot read is named, not written, and
        gets its notice through the pipeline like any answer (once, in order, recorded)."""
        assert self.intake is not None
        await self.intake.submit(IncomingMessage(
            NAME, user_id, text if text is not None else texts.NOTICE_TRANSCRIPT[kind],
            message_id=msg_id, kind=kind))

    async def _on_image(self, user_id: str, msg_id: str, message: dict[str, Any]) -> None:
        """An image: downloaded (only from the allowed hosts) and read for the receipt's
        dossier code; the usual media notice when it cannot be fetched."""
        assert self.intake is not None
        url = image_url(message)
        data = None
        limits = receipt_limits(self.settings)
        if url is not None and allowed_host(url, self.settings.zalo_image_hosts):
            data = await self.client.download(url, limits.max_bytes)
        elif url is not None:
            log.warning("zalo image from a host not allowed ignored: %s", urlsplit(url).hostname)
        if data is None:
            await self._submit(user_id, msg_id, MessageKind.MEDIA)
        else:
            await self.intake.submit(await image_message(NAME, user_id, msg_id, data, limits))

    def _remember(self, user_id: str, msg_id: str) -> None:
        """The latest message of each user (replies may be addressed to it)."""
        self._last_message[user_id] = msg_id
        self._last_message.move_to_end(user_id)
        while len(self._last_message) > REMEMBERED_MESSAGES:
            self._last_message.popitem(last=False)

