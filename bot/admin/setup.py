"""Mounts the admin pages on the application."""

from __future__ import annotations

from aiohttp import web

from bot.admin import auth, dashboard, handoff, inbox, kb, transcripts, users
from bot.admin.web import STAFF_STORE
from bot.storage.staff import StaffStore


def setup_admin(app: web.Application, staff: StaffStore) -> None:
    """Add every admin route; the app must have ``auth.admin_guard`` as a middleware."""
    app[STAFF_STORE] = staff
    auth.add_routes(app)
    users.add_routes(app)
    dashboard.add_routes(app)
    transcripts.add_routes(app)
    inbox.add_routes(app)
    handoff.add_routes(app)
    kb.add_routes(app)
