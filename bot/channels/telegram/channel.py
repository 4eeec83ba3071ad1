"""The Telegram channel: Bot API webhooks (or long polling) in, HTML messages with buttons out.

Updates arrive on ``POST /webhooks/telegram``. The ``X-Telegram-Bot-Api-Secret-Token`` header is
checked in constant time (403 otherwise), the body becomes a python-telegram-bot ``Update``, and a
text message or button tap is handed to the dispatcher with the ``update_id`` as its delivery id,
so a redelivered update is stored once and answered once. The platform gets 200 at once; the
reply goes out later through ``send``. In polling mode (development without a public URL) PTB's
``Updater`` calls ``getUpdates`` and feeds the same ``handle_update``.

Sending follows the Bot API's rules: text is HTML-escaped and sent with ``parse_mode=HTML``;
replies longer than 4,096 characters are split at paragraph, line, then word boundaries (the
buttons go with the last part); buttons become an inline keyboard whose ``callback_data`` is the
payload itself when it fits in 64 bytes, else a short hash whose payload is kept in the key-value
store (so buttons keep working after a restart); sends are spaced per chat and for the whole bot;
a 429 waits ``retry_after`` (everyone waits, as Telegram asks), network errors and 5xx are retried
with backoff, and a 403 (the user blocked the bot) marks the conversation unreachable.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import html
import logging
import random
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler
from telegram.warnings import PTBDeprecationWarning

from actions import texts
from actions.base import MAX_TEXT_CHARS, MessageKind, Reply
from bot.channels.base import Intake, shown_text
from bot.channels.http import read_json
from bot.channels.telegram.transport import AiohttpRequest
from bot.channels.text import split_text as split_by_units
from bot.core.delivery import DeliveryFailed
from bot.core.messages import IncomingMessage
from bot.service import metrics
from bot.service.settings import Settings
from bot.service.tasks import BackgroundTasks, stop_task
from bot.storage.conversations import ConversationStore
from bot.storage.key_values import KeyValueStore

log = logging.getLogger(__name__)

NAME = "telegram"
WEBHOOK_PATH = "/webhooks/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ("message", "callback_query", "my_chat_member")
MAX_MESSAGE_UTF16 = 4096  # Telegram's limit; counted in UTF-16 units to be safe
MAX_CALLBACK_BYTES = 64
MAX_BUTTONS = 100
CALLBACK_PREFIX = "#"
CALLBACK_KEY = "telegram:callback:"
CHAT_BURST = 3
OVERALL_BURST = 30
RECENT_UPDATES = 10_000

COMMANDS = {"start": "/start", "help": "/help", "tracuu": "/tracuu"}
CONTENT_ATTRIBUTES = ("photo", "sticker", "voice", "video", "video_note", "audio", "document",
                      "animation", "location", "venue", "contact", "poll", "dice", "story",
                      "game")



class DeliveryError(DeliveryFailed):
    """A message could not be delivered to Telegram after the allowed attempts."""

    def __init__(self, reason: str, temporary: bool = False) -> None:
        super().__init__(reason, temporary=temporary)


# ---------------------------------------------------------------------------------------------
# Text: commands, escaping, splitting


def malformed(update: Update) -> str | None:
    """The field that makes an update unusable (missing, or of the wrong type), or None.

    PTB's ``de_json`` checks no types: a forged or future update can hold a message without a
    chat, a text that is a number, and so on; reading those must not crash the webhook.
    """
    def is_id(value: object) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    if update.callback_query is not None:
        query = update.callback_query
        if not isinstance(query.id, str):
            return "callback_query.id"
        if query.data is not None and not isinstance(query.data, str):
            return "callback_query.data"
        if query.message is not None:
            if not is_id(getattr(getattr(query.message, "chat", None), "id", None)):
                return "callback_query.message.chat.id"
        elif not is_id(getattr(query.from_user, "id", None)):
            return "callback_query.from.id"
    elif update.message is not None:
        message = update.message
        if not is_id(getattr(message.chat, "id", None)):
            return "message.chat.id"
        if message.text is not None and not isinstance(message.text, str):
            return "message.text"
    elif update.my_chat_member is not None:
        change = update.my_chat_member
        if not is_id(getattr(change.chat, "id", None)) or not isinstance(
                getattr(change.chat, "type", None), str):
            return "my_chat_member.chat"
        if not isinstance(getattr(change.new_chat_member, "status", None), str):
            return "my_chat_member.new_chat_member.status"
    return None


def command_text(text: str) -> str:
    """A bot command as the payload it stands for (``/start@bot x`` -> ``/start``)."""
    if not text.startswith("/"):
        return text
    head, _, rest = text.partition(" ")
    name = head[1:].split("@", 1)[0].lower()
    if name not in COMMANDS:
        return text
    if name == "tracuu" and rest.strip():
        return f"tra cứu hồ sơ {rest.strip()}"
    return COMMANDS[name]


def split_text(text: str, limit: int = MAX_MESSAGE_UTF16) -> list[str]:
    """Parts of a text that each fit one Telegram message."""
    return split_by_units(text, limit, utf16=True)


def escape_html(text: str) -> str:
    """Plain text made safe for ``parse_mode=HTML`` (only < > & need escaping)."""
    return html.escape(text, quote=False)


def retry_after_seconds(error: RetryAfter) -> float:
    """Seconds Telegram asked us to wait (PTB is moving this from int to timedelta)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


# ---------------------------------------------------------------------------------------------
# Button payloads as callback_data


def retry_reason(error: NetworkError) -> str:
    """Why a send is retried, for the metrics: "timeout", "network" (no HTTP answer) or "5xx"
    (Telegram answered with a server error; PTB keeps only its description)."""
    if isinstance(error, TimedOut):
        return "timeout"
    if str(error).startswith(("aiohttp.", "Unknown error in HTTP implementation")):
        return "network"
    return "5xx"


class CallbackCodec:
    """Button payloads as ``callback_data`` of at most 64 bytes.

    A payload that is a Rasa-style ``/intent{...}`` and fits in 64 UTF-8 bytes is sent as it is.
    Anything else becomes ``#`` plus 16 characters of its SHA-256: deterministic, so the same
    button always gets the same id and the store holds each payload once, and stored in the
    key-value table, so buttons sent before a restart (or by another worker) still work.
    """

    def __init__(self, store: KeyValueStore, cache_size: int = 4096) -> None:
        self.store = store
        self.cache_size = cache_size
        self._known: OrderedDict[str, str] = OrderedDict()

    @staticmethod
    def short_id(payload: str) -> str:
        """The deterministic short id of a payload."""
        digest = hashlib.sha256(payload.encode("utf-8")).digest()[:12]
        return CALLBACK_PREFIX + base64.urlsafe_b64encode(digest).decode("ascii")

    def _remember(self, data: str, payload: str) -> None:
        self._known[data] = payload
        self._known.move_to_end(data)
        while len(self._known) > self.cache_size:
            self._known.popitem(last=False)

    async def encode(self, payload: str) -> str:
        """The ``callback_data`` for a payload."""
        if payload.startswith("/") and len(payload.encode("utf-8")) <= MAX_CALLBACK_BYTES:
            return payload
        data = self.short_id(payload)
        if data not in self._known:
            # False when it is stored already (same payload, same id): nothing to do
            await self.store.compare_and_set(CALLBACK_KEY + data[1:], {"payload": payload}, None)
        self._remember(data, payload)
        return data

    async def decode(self, data: str | None) -> str | None:
        """The payload a button stands for; None when the id is unknown or expired."""
        if not data:
            return None
        if not data.startswith(CALLBACK_PREFIX):
            return data
        if data in self._known:
            return self._known[data]
        stored = await self.store.get(CALLBACK_KEY + data[1:])
        payload = stored.value.get("payload") if stored is not None else None
        if not isinstance(payload, str):
            return None
        self._remember(data, payload)
        return payload


# ---------------------------------------------------------------------------------------------
# Rate limits


@dataclass(slots=True)
class _Bucket:
    """A generic cell rate algorithm: ``rate`` per second with bursts of ``burst``."""

    interval: float
    tolerance: float
    tat: float = 0.0  # theoretical arrival time of the next send

    def reserve(self, at: float) -> float:
        """Book a send at ``at`` or later; the time it may go."""
        ready = max(at, self.tat - self.tolerance)
        self.tat = max(self.tat, ready) + self.interval
        return ready


def _bucket(rate: float, burst: int) -> _Bucket | None:
    return _Bucket(1.0 / rate, (burst - 1) / rate) if rate > 0 else None


class SendLimiter:
    """Spaces sends out: a rate for the whole bot, one per chat, and a pause after a 429.

    Telegram asks for at most about 30 messages a second overall and one a second per chat
    (short bursts tolerated); PTB's ``AIORateLimiter`` has no per-private-chat limit, hence this.
    Each send books its slot at once, so concurrent senders never race for the same slot.
    """

    def __init__(self, overall_rate: float, chat_rate: float, *,
                 overall_burst: int = OVERALL_BURST, chat_burst: int = CHAT_BURST,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.chat_rate = chat_rate
        self.chat_burst = chat_burst
        self._overall = _bucket(overall_rate, overall_burst)
        self._chats: dict[int, _Bucket] = {}
        self._paused_until = 0.0
        self._bookings = 0

    def _start(self) -> tuple[float, float]:
        now = self.clock()
        return now, max(now, self._paused_until)

    def chat_delay(self, chat_id: int) -> float:
        """Book the chat's next slot; seconds to wait for it (a chat's sends are sequential)."""
        now, at = self._start()
        if self.chat_rate > 0:
            bucket = self._chats.get(chat_id)
            if bucket is None:
                bucket = self._chats[chat_id] = _Bucket(1.0 / self.chat_rate,
                                                        (self.chat_burst - 1) / self.chat_rate)
            at = bucket.reserve(at)
            self._bookings += 1
            if self._bookings % 1024 == 0:  # forget chats whose bucket is full again
                self._chats = {k: b for k, b in self._chats.items() if b.tat > now}
        return at - now

    def overall_delay(self) -> float:
        """Book the bot's next slot, once the chat's slot has come; seconds to wait for it."""
        now, at = self._start()
        if self._overall is not None:
            at = self._overall.reserve(at)
        return at - now

    def pause(self, seconds: float) -> None:
        """Hold every send for ``seconds`` (Telegram answered 429)."""
        self._paused_until = max(self._paused_until, self.clock() + seconds)

    async def wait(self, chat_id: int) -> None:
        """Wait for the chat's next slot, then for the bot's."""
        delay = self.chat_delay(chat_id)
        if delay > 0:
            await asyncio.sleep(delay)
        delay = self.overall_delay()
        if delay > 0:
            await asyncio.sleep(delay)


# ---------------------------------------------------------------------------------------------
# PTB wiring

TelegramApplication = Application[Any, Any, Any, Any, Any, Any]


def file_url(api_url: str) -> str:
    """The file-download base that goes with a Bot API base URL."""
    if api_url.endswith("/bot"):
        return api_url[: -len("/bot")] + "/file/bot"
    return api_url.replace("/bot{token}", "/file/bot{token}")


def build_bot(settings: Settings) -> Bot:
    """A bare Bot for one-off calls (the CLI)."""
    return Bot(settings.telegram_token, base_url=settings.telegram_api_url,
               base_file_url=file_url(settings.telegram_api_url),
               request=AiohttpRequest(connections=4),
               get_updates_request=AiohttpRequest(connections=1))


def build_application(settings: Settings) -> TelegramApplication:
    """PTB's Application for the configured API URL; with an Updater only in polling mode.

    PTB talks HTTP through aiohttp (``telegram_request.AiohttpRequest``), not httpx.
    """
    builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = (
        Application.builder()
        .token(settings.telegram_token)
        .base_url(settings.telegram_api_url)
        .base_file_url(file_url(settings.telegram_api_url))
        .request(AiohttpRequest(connections=256))
        .get_updates_request(AiohttpRequest(connections=1))
    )
    if settings.telegram_mode != "polling":
        builder = builder.updater(None)
    application: TelegramApplication = builder.build()
    return application


async def set_webhook(settings: Settings, url: str, drop_pending_updates: bool = False) -> bool:
    """Register our webhook URL (with the secret) at Telegram."""
    if not settings.telegram_webhook_secret:
        raise ValueError("set EGOVBOT_TELEGRAM_WEBHOOK_SECRET before registering a webhook")
    async with build_bot(settings) as bot:
        return await bot.set_webhook(url, secret_token=settings.telegram_webhook_secret,
                                     allowed_updates=list(ALLOWED_UPDATES),
                                     drop_pending_updates=drop_pending_updates)


async def delete_webhook(settings: Settings, drop_pending_updates: bool = False) -> bool:
    """Remove the webhook (needed before polling)."""
    async with build_bot(settings) as bot:
        return await bot.delete_webhook(drop_pending_updates=drop_pending_updates)


# ---------------------------------------------------------------------------------------------
# The channel


class TelegramChannel:
    """Telegram through the Bot API: webhook or polling in, rate-limited sends with retries out."""

    name = NAME

    def __init__(self, settings: Settings, conversations: ConversationStore,
                 key_values: KeyValueStore) -> None:
        self.settings = settings
        self.conversations = conversations
        self.callbacks = CallbackCodec(key_values)
        self.limiter = SendLimiter(settings.telegram_messages_per_second,
                                   settings.telegram_chat_messages_per_second)
        self.polling = settings.telegram_mode == "polling"
        self.application = build_application(settings)
        self.intake: Intake | None = None
        self._secret = settings.telegram_webhook_secret.encode("ascii")
        self._background = BackgroundTasks()
        self._initialized = False
        self._poller: asyncio.Task[None] | None = None
        if self.polling:
            self.application.add_handler(TypeHandler(Update, self._on_polled_update))

    @property
    def bot(self) -> Bot:
        """The PTB bot every call goes through."""
        bot: Bot = self.application.bot
        return bot

    # -- lifecycle -------------------------------------------------------------------------

    def register(self, app: web.Application, intake: Intake) -> None:
        """Add the webhook route (webhook mode only)."""
        self.intake = intake
        if not self.polling:
            app.router.add_post(WEBHOOK_PATH, self.webhook)

    async def start(self) -> None:
        """Initialise PTB (getMe); in polling mode start getUpdates in the background."""
        if self.polling:
            self._poller = asyncio.create_task(self._start_polling())
            return
        if not self._secret:
            log.error("EGOVBOT_TELEGRAM_WEBHOOK_SECRET is not set: every Telegram webhook "
                      "delivery will be refused")
        try:
            await self.application.initialize()
            self._initialized = True
        except TelegramError as exc:  # the web channel still works; sends retry per message
            log.error("Telegram did not answer getMe: %s", exc)

    async def _start_polling(self) -> None:
        """Initialise and start polling, retrying while Telegram cannot be reached."""
        delay = 1.0
        while not self._initialized:
            try:
                await self.application.initialize()
                self._initialized = True
            except TelegramError as exc:
                log.error("Telegram did not answer getMe (%s); retrying in %.0f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(60.0, delay * 2)
        updater = self.application.updater
        assert updater is not None
        await updater.start_polling(
            timeout=dt.timedelta(seconds=self.settings.telegram_poll_timeout),
            allowed_updates=list(ALLOWED_UPDATES))
        await self.application.start()
        log.info("polling Telegram for updates")

    async def stop(self) -> None:
        """Stop polling, let callback answers go out, close PTB's connections."""
        if self._poller is not None and not self._poller.done():
            await stop_task(self._poller)
        updater = self.application.updater
        if updater is not None and updater.running:
            await updater.stop()
        if self.application.running:
            await self.application.stop()
        await self.wait_idle(self.settings.shutdown_timeout)
        if self._initialized:
            await self.application.shutdown()
            self._initialized = False
        else:
            await self.bot.shutdown()

    async def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait (bounded) for callback answers still being sent."""
        await self._background.wait(timeout)

    # -- inbound ---------------------------------------------------------------------------

    def _secret_ok(self, given: str | None) -> bool:
        if not self._secret or given is None:
            return False
        return hmac.compare_digest(given.encode("utf-8", "replace"), self._secret)

    async def webhook(self, request: web.Request) -> web.Response:
        """``POST /webhooks/telegram``: check the secret, accept the update, answer 200."""
        if not self._secret_ok(request.headers.get(SECRET_HEADER)):
            log.warning("telegram webhook: missing or wrong secret token from %s", request.remote)
            return web.Response(status=403)
        body = await read_json(request)
        if isinstance(body, web.Response):
            return body
        assert self.intake is not None
        if not self.intake.accepting():
            return web.Response(status=503)  # Telegram delivers it again later
        update_id = body.get("update_id")
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            return web.json_response({"error": "not a Telegram update: no update_id"},
                                     status=400)
        try:
            update = Update.de_json(body, self.bot)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            # a shape this PTB version does not know: refusing it would only make Telegram
            # redeliver it (and hold back the chat's later updates), so acknowledge and skip
            log.warning("ignoring Telegram update %s that PTB cannot read: %s", update_id, exc)
            return web.Response()
        await self.handle_update(update)
        return web.Response()

    async def _on_polled_update(self, update: object, _context: ContextTypes.DEFAULT_TYPE) -> None:
        if isinstance(update, Update):
            await self.handle_update(update)

    async def handle_update(self, update: Update) -> None:
        """Turn one update into a message for the dispatcher (or a polite notice)."""
        problem = malformed(update)
        if problem is not None:
            log.warning("ignoring Telegram update %s with a bad %s", update.update_id, problem)
            return
        if update.callback_query is not None:
            await self._on_callback(update)
        elif update.message is not None:
            await self._on_message(update.update_id, update.message)
        elif update.my_chat_member is not None:
            await self._on_membership(update)
        else:
            log.debug("ignoring Telegram update %s of another type", update.update_id)

    async def _submit(self, update_id: int, chat_id: int, text: str,
                      kind: MessageKind = MessageKind.TEXT) -> bool:
        assert self.intake is not None
        return await self.intake.submit(IncomingMessage(NAME, str(chat_id), text,
                                                        message_id=str(update_id), kind=kind))

    async def _notice(self, update_id: int, chat_id: int, kind: MessageKind) -> None:
        """A message the bot cannot read: it goes through the inbox and the pipeline like
        text (answered once, in order, recorded), named rather than written."""
        await self._submit(update_id, chat_id, texts.NOTICE_TRANSCRIPT[kind], kind)

    async def _on_message(self, update_id: int, message: Message) -> None:
        if message.from_user is not None and message.from_user.is_bot:
            return
        chat_id = message.chat.id
        if message.text is not None:
            if len(message.text) > MAX_TEXT_CHARS:
                await self._notice(update_id, chat_id, MessageKind.TOO_LONG)
            else:
                await self._submit(update_id, chat_id, command_text(message.text))
        elif any(getattr(message, name, None) for name in CONTENT_ATTRIBUTES):
            await self._notice(update_id, chat_id, MessageKind.MEDIA)
        # service messages (members joined, pinned, ...) need no answer

    async def _on_callback(self, update: Update) -> None:
        query = update.callback_query
        assert query is not None
        chat_id = query.message.chat.id if query.message is not None else query.from_user.id
        self._background.spawn(self._answer_callback(query.id))  # stop the spinner first
        payload = await self.callbacks.decode(query.data)
        if payload is None:
            await self._notice(update.update_id, chat_id, MessageKind.EXPIRED_BUTTON)
        else:
            await self._submit(update.update_id, chat_id, payload)

    async def _on_membership(self, update: Update) -> None:
        change = update.my_chat_member
        assert change is not None
        if change.chat.type != "private":
            return
        status = change.new_chat_member.status
        conversation_id = f"{NAME}:{change.chat.id}"
        if status == "kicked":
            await self.conversations.set_unreachable(conversation_id,
                                                     "telegram: the user blocked the bot")
        elif status == "member":
            await self.conversations.set_unreachable(conversation_id, None)

    async def _answer_callback(self, query_id: str) -> None:
        try:
            await self.bot.answer_callback_query(query_id)
        except TelegramError as exc:
            log.info("answerCallbackQuery failed: %s", exc)

    # -- outbound --------------------------------------------------------------------------

    async def _keyboard(self, reply: Reply) -> InlineKeyboardMarkup | None:
        rows: list[list[InlineKeyboardButton]] = []
        for button in reply.buttons:
            data = await self.callbacks.encode(button.payload)
            rows.append([InlineKeyboardButton(button.title, callback_data=data)])
        for link in reply.links:
            if link.url.startswith(("https://", "http://", "tg://")):
                rows.append([InlineKeyboardButton(link.title, url=link.url)])
        return InlineKeyboardMarkup(rows[:MAX_BUTTONS]) if rows else None

    @staticmethod
    def _text(reply: Reply) -> str:
        """The reply's text, with links that cannot be URL buttons written out."""
        lines = [shown_text(reply).strip()]
        lines += [f"{link.title}: {link.url}" for link in reply.links
                  if not link.url.startswith(("https://", "http://", "tg://"))]
        text = "\n".join(line for line in lines if line)
        if not text and (reply.buttons or reply.links):
            return texts.CHOOSE
        return text

    async def send(self, user_id: str, replies: Sequence[Reply]) -> None:
        """Deliver replies to a chat; stops quietly when the user blocked the bot.

        Raises ``DeliveryError`` when Telegram could not be reached after the allowed attempts
        or refused a message.
        """
        try:
            chat_id = int(user_id)
        except ValueError as exc:
            raise DeliveryError(f"not a Telegram chat id: {user_id!r}") from exc
        for delivered, reply in enumerate(replies):
            parts = split_text(self._text(reply))
            markup = await self._keyboard(reply)
            for index, part in enumerate(parts):
                last = index == len(parts) - 1
                try:
                    sent = await self._send_message(chat_id, part, markup if last else None)
                except DeliveryError as exc:
                    exc.delivered = delivered
                    raise
                if not sent:
                    return

    async def _send_message(self, chat_id: int, text: str,
                            markup: InlineKeyboardMarkup | None) -> bool:
        """Send one message with limits and retries; False when the user blocked the bot."""
        attempts = self.settings.telegram_attempts
        plain = False  # after a 400 with HTML, one last try as plain text
        for attempt in range(1, attempts + 1):
            await self.limiter.wait(chat_id)
            try:
                if plain:
                    await self.bot.send_message(chat_id, text, reply_markup=markup)
                else:
                    await self.bot.send_message(
                        chat_id, escape_html(text), parse_mode=ParseMode.HTML,
                        reply_markup=markup,
                        link_preview_options=LinkPreviewOptions(is_disabled=True))
                metrics.message_out(NAME)
                return True
            except Forbidden as exc:
                log.info("telegram:%s cannot be reached: %s", chat_id, exc.message)
                await self.conversations.set_unreachable(f"{NAME}:{chat_id}",
                                                         f"telegram: {exc.message}"[:200])
                return False
            except RetryAfter as exc:
                delay = retry_after_seconds(exc)
                if attempt == attempts or delay > self.settings.telegram_max_retry_after:
                    raise DeliveryError(f"telegram:{chat_id}: flood control, {exc}",
                                        temporary=True) from exc
                log.warning("Telegram asked to wait %.1f s before sending again", delay)
                metrics.send_retry(NAME, "429")
                self.limiter.pause(delay)
            except BadRequest as exc:  # a subclass of NetworkError: never retried as is
                if plain or attempt == attempts:
                    raise DeliveryError(f"telegram:{chat_id}: refused: {exc.message}") from exc
                log.error("Telegram refused a message to %s (%s); trying plain text",
                          chat_id, exc.message)
                metrics.send_retry(NAME, "400")
                plain, markup = True, None
            except NetworkError as exc:  # connection errors, timeouts, 5xx
                if attempt == attempts:
                    raise DeliveryError(f"telegram:{chat_id}: {exc}", temporary=True) from exc
                delay = self.settings.telegram_retry_backoff * 2 ** (attempt - 1)
                log.warning("sending to Telegram failed (%s); retrying in %.2f s", exc, delay)
                metrics.send_retry(NAME, retry_reason(exc))
                await asyncio.sleep(delay * (1 + random.random() / 4))
            except TelegramError as exc:  # invalid token, chat migrated, ...
                raise DeliveryError(f"telegram:{chat_id}: {exc}") from exc
        raise DeliveryError(f"telegram:{chat_id}: not delivered")  # pragma: no cover
