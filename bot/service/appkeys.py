"""Typed keys of what the aiohttp application holds (importable without importing the app)."""

from __future__ import annotations

from aiohttp import web

from bot.core.dispatcher import Dispatcher
from bot.service.composition import Runtime
from bot.service.reload import Reloader

RUNTIME = web.AppKey("runtime", Runtime)
DISPATCHER = web.AppKey("dispatcher", Dispatcher)
RELOADER = web.AppKey("reloader", Reloader)
# the staff pages' sub-application mounted at /admin (bot/admin/app.py), for tests and tools
ADMIN_APP = web.AppKey("admin_app", web.Application)
