"""The Telegram channel: Bot API webhooks (or long polling) in, HTML messages with buttons out.

Updates arrive on ``POST /webhooks/telegram``. The ``X-Telegram-Bot-Api-Secret-Token`` header is
checked in constant time (403 otherwise), the body becomes a python-telegram-bot ``Update``, and a
text message, button tap or unreadable message (by kind) is handed to the intake with the
``update_id`` as its delivery id, so a redelivered update is stored once and answered once. The
platform gets 200 at once; the reply goes out later through ``send``. In polling mode
(development without a public URL) PTB's ``Updater`` calls ``getUpdates`` and feeds the same
``handle_update``.

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
import datetime as dt
import hmac
import logging
import random
from collections.abc import Sequence
from typing import Any

from aiohttp import web
from telegram import (
    Bot,
    Message,
    Update,
)
from telegram.error import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import ContextTypes, TypeHandler

from actions import texts
from actions.base import MAX_TEXT_CHARS, MessageKind, Reply
from bot.channels.base import Intake, shown_text
from bot.channels.http import read_json
from bot.channels.images import image_message, notice_message, receipt_limits
from bot.channels.telegram.api import build_application, call
from bot.channels.telegram.callbacks import MAX_BUTTONS, CallbackCodec
from bot.channels.telegram.limits import SendLimiter, retry_after_seconds, retry_reason
from bot.channels.telegram.render import escape_html, split_text
from bot.channels.telegram.updates import (
    ALLOWED_UPDATES,
    CONTENT_ATTRIBUTES,
    command_text,
    malformed,
    plain_text,
)
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
NO_PREVIEW = {"is_disabled": True}




class DeliveryError(DeliveryFailed):
    """A message could not be delivered to Telegram after the allowed attempts."""

    def __init__(self, reason: str, temporary: bool = False) -> None:
        super().__init__(reason, temporary=temporary)


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
        text = plain_text(body)
        if text is not None:  # the common case, without PTB's object model
            await self._on_text(update_id, *text)
            return web.Response()
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
            await self._on_text(update_id, chat_id, message.text)
        elif message.photo or message.document is not None:
            await self._on_image(update_id, chat_id, message)
        elif any(getattr(message, name, None) for name in CONTENT_ATTRIBUTES):
            await self._notice(update_id, chat_id, MessageKind.MEDIA)
        # service messages (members joined, pinned, ...) need no answer

    async def _on_text(self, update_id: int, chat_id: int, text: str) -> None:
        if len(text) > MAX_TEXT_CHARS:
            await self._notice(update_id, chat_id, MessageKind.TOO_LONG)
        else:
            await self._submit(update_id, chat_id, command_text(text))

    async def _on_image(self, update_id: int, chat_id: int, message: Message) -> None:
        """A photo or a file: the receipt's dossier code in it answered as if typed, else
        the notice that fits. The file is held in memory for this call only."""
        assert self.intake is not None
        limits = receipt_limits(self.settings)
        if message.photo:  # sizes come smallest first: the largest within the byte limit
            fitting = [size for size in message.photo
                       if _bytes(size.file_size) <= limits.max_bytes]
            file_id, size = ((fitting[-1].file_id, fitting[-1].file_size) if fitting
                             else (message.photo[-1].file_id, message.photo[-1].file_size))
        else:
            assert message.document is not None
            file_id, size = message.document.file_id, message.document.file_size
        data: bytes | MessageKind = MessageKind.IMAGE_REFUSED
        if _bytes(size) <= limits.max_bytes:
            data = await self._download(file_id, limits.max_bytes)
        if isinstance(data, MessageKind):
            incoming = notice_message(NAME, str(chat_id), str(update_id), data)
        else:
            incoming = await image_message(NAME, str(chat_id), str(update_id), data, limits)
        await self.intake.submit(incoming)

    async def _download(self, file_id: str, max_bytes: int) -> bytes | MessageKind:
        """A file's content through getFile; else the notice: a refusal for a file over the
        limit, the usual media notice when Telegram would not give it."""
        try:
            async with asyncio.timeout(self.settings.receipt_download_timeout):
                file = await self.bot.get_file(file_id)
                if (file.file_size or 0) > max_bytes:
                    return MessageKind.IMAGE_REFUSED
                return bytes(await file.download_as_bytearray())
        except (TelegramError, TimeoutError, OSError) as exc:
            log.info("Telegram file %s not downloaded: %s", file_id, exc)
            return MessageKind.MEDIA

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

    async def _keyboard(self, reply: Reply) -> dict[str, Any] | None:
        """The Bot API's InlineKeyboardMarkup (as JSON) for the reply's buttons and links."""
        rows: list[list[dict[str, str]]] = []
        for button in reply.buttons:
            data = await self.callbacks.encode(button.payload)
            rows.append([{"text": button.title, "callback_data": data}])
        for link in reply.links:
            if link.url.startswith(("https://", "http://", "tg://")):
                rows.append([{"text": link.title, "url": link.url}])
        return {"inline_keyboard": rows[:MAX_BUTTONS]} if rows else None

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
                            markup: dict[str, Any] | None) -> bool:
        """Send one message with limits and retries; False when the user blocked the bot."""
        attempts = self.settings.telegram_attempts
        plain = False  # after a 400 with HTML, one last try as plain text
        for attempt in range(1, attempts + 1):
            await self.limiter.wait(chat_id)
            try:
                if plain:
                    await call(self.bot, "sendMessage",
                               {"chat_id": chat_id, "text": text, "reply_markup": markup})
                else:
                    await call(self.bot, "sendMessage", {
                        "chat_id": chat_id, "text": escape_html(text), "parse_mode": "HTML",
                        "reply_markup": markup, "link_preview_options": NO_PREVIEW})
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


def _bytes(size: object) -> int:
    """A file size as Telegram announced it; anything but a whole number (a malformed update:
    PTB does not check types) counts as unknown, 0, and the download's own limit decides."""
    return size if isinstance(size, int) and not isinstance(size, bool) else 0
