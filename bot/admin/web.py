"""Shared pieces of the admin pages: the admin sub-app's keys, rendering, the logged-in user,
form helpers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, select_autoescape

from bot.admin.intent_titles import intent_title
from bot.service.composition import Runtime
from bot.service.reload import Reloader
from bot.storage.staff import StaffSession, StaffStore
from knowledge.clock import in_vietnam

TEMPLATES = Path(__file__).parent / "templates"
# What the admin sub-app holds, given when it is built (bot/admin/app.py)
STAFF_STORE = web.AppKey("staff_store", StaffStore)
RUNTIME = web.AppKey("admin_runtime", Runtime)
RELOADER = web.AppKey("admin_reloader", Reloader)
SESSION_KEY = web.RequestKey("staff_session", StaffSession)

environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def local_time(value: dt.datetime | None, fmt: str = "%d/%m/%Y %H:%M") -> str:
    """A timestamp in Vietnam time."""
    if value is None:
        return ""
    return in_vietnam(value).strftime(fmt)


environment.filters["vntime"] = local_time
environment.filters["intent_title"] = intent_title


def current_session(request: web.Request) -> StaffSession:
    """The logged-in staff session (the auth middleware guarantees one under /admin)."""
    return request[SESSION_KEY]


def render(request: web.Request, template: str, status: int = 200,
           **context: Any) -> web.Response:
    """Render a page with the logged-in user and CSRF token available to the template."""
    session: StaffSession | None = request.get(SESSION_KEY)
    html = environment.get_template(template).render(
        request=request, session=session, user=session.user if session else None,
        csrf_token=session.csrf_token if session else context.pop("csrf_token", ""),
        **context,
    )
    return web.Response(text=html, content_type="text/html", status=status,
                        headers={"Cache-Control": "no-store"})


async def form_data(request: web.Request) -> dict[str, str]:
    """The posted form as plain strings (files are ignored here)."""
    data = await request.post()
    return {key: value for key, value in data.items() if isinstance(value, str)}
