"""The Bot API client: PTB's Bot and Application over our aiohttp transport, setting or
deleting the webhook, and hot-path calls that skip PTB's object model.

``call`` sends a Bot API method through PTB's request layer (``BaseRequest.post``: the same
transport, the ``{"ok", "result"}`` envelope, HTTP statuses mapped to ``RetryAfter``,
``Forbidden``, ``BadRequest``, ...), with plain JSON parameters, and returns the raw result.
``Bot.send_message`` would also build ``InlineKeyboardMarkup`` objects going out and a
``Message`` (with its ``Chat``, ``User``, entities) from every answer, which the bot never
reads: measured with bench/webhooks.py, that object model was a large share of the channel's
CPU per update (issue 16)."""

from __future__ import annotations

from typing import Any

from telegram import (
    Bot,
)
from telegram.ext import Application, ApplicationBuilder
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot.channels.telegram.transport import AiohttpRequest
from bot.channels.telegram.updates import ALLOWED_UPDATES
from bot.service.settings import Settings

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

    PTB talks HTTP through aiohttp (``bot.channels.telegram.transport.AiohttpRequest``), not httpx.
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


async def call(bot: Bot, method: str, params: dict[str, Any]) -> Any:
    """One Bot API call with JSON-ready ``params`` (None values left out); the raw result.

    Raises PTB's errors exactly as ``bot.<method>(...)`` would."""
    data = RequestData([RequestParameter(key, value, None) for key, value in params.items()
                        if value is not None])
    return await bot.request.post(f"{bot.base_url}/{method}", request_data=data)


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
