"""Typed keys of what the aiohttp application holds (importable without importing the app)."""

from __future__ import annotations

from aiohttp import web

from bot.core.dispatcher import Dispatcher
from bot.service.composition import Runtime
from bot.service.reload import Reloader

RUNTIME = web.AppKey("runtime", Runtime)
DISPATCHER = web.AppKey("dispatcher", Dispatcher)
RELOADER = web.AppKey("reloader", Reloader)
