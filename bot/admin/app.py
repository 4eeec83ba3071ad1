"""The staff and admin pages as one aiohttp sub-application, which the service mounts at /admin.

The sub-app holds what its pages use, handed over explicitly when it is built (the staff
store, the runtime, the reloader, the dispatcher's channels for the handoff desk), so no page
reaches into the parent application. Its own middleware, ``auth.admin_guard`` (login, roles,
CSRF), therefore runs for /admin requests only. The parent's middlewares run first: behind a
trusted proxy the pages see the forwarded client address and scheme (secure cookies).

Routes are registered relative to the mount point ("/login", "/kb/..."); every URL the pages
write (links, redirects, cookie paths, ``next``) is the full one and assumes the mount at
/admin. Routes must be added before the sub-app is mounted: mounting prefixes the routes that
exist then.

The pages' script is a file under ``static/`` (served at /admin/static/, behind the login like
every other admin path) because their Content-Security-Policy forbids inline scripts.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from bot.admin import auth, catalog, dashboard, erase, handoff, inbox, kb, transcripts, users
from bot.admin.web import RELOADER, RUNTIME, STAFF_STORE
from bot.core.dispatcher import Dispatcher
from bot.service.composition import Runtime
from bot.service.reload import Reloader

STATIC_DIR = Path(__file__).parent / "static"


def create_admin_app(runtime: Runtime, dispatcher: Dispatcher,
                     reloader: Reloader) -> web.Application:
    """Every admin route, guarded by ``auth.admin_guard``; mount it with
    ``app.add_subapp("/admin", ...)``."""
    app = web.Application(middlewares=[auth.admin_guard])
    app[STAFF_STORE] = runtime.stores.staff
    app[RUNTIME] = runtime
    app[RELOADER] = reloader
    auth.add_routes(app)
    users.add_routes(app)
    dashboard.add_routes(app)
    transcripts.add_routes(app)
    erase.add_routes(app)
    inbox.add_routes(app)
    handoff.add_routes(app, dispatcher.channels)
    kb.add_routes(app)
    catalog.add_routes(app)
    app.router.add_static("/static/", STATIC_DIR)
    return app
