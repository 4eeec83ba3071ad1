"""Typed keys of what the aiohttp application holds (importable without importing the app)."""

from __future__ import annotations

from aiohttp import web

from bot.dispatcher import Dispatcher
from bot.reload import Reloader
from bot.runtime import Runtime

RUNTIME = web.AppKey("runtime", Runtime)
DISPATCHER = web.AppKey("dispatcher", Dispatcher)
RELOADER = web.AppKey("reloader", Reloader)
