"""Security headers on every response the service sends, set in one place.

Every response gets ``X-Content-Type-Options: nosniff`` and a ``Server`` header that names no
software versions. The staff pages under /admin also refuse to be framed (clickjacking on the
login and publishing forms) and get a strict Content-Security-Policy: scripts only from our
own origin (the pages' behaviour is in ``bot/admin/static/admin.js``, no inline script or event
handler), nothing embedded from elsewhere. Inline styles stay allowed: the pages and charts use
``style`` attributes, some with computed values, and styles cannot run code.

The chat page, the widget's files and the chat API get neither framing nor CSP headers: city
portals embed the widget, and what a portal allows is the portal's policy, not ours.

The headers are set by an ``on_response_prepare`` signal of the root application, which aiohttp
sends for the sub-application's responses, error pages and static files too. Errors aiohttp's
HTTP parser answers before any routing (a malformed request line) do not pass through it: for
those, ``hide_server_software`` replaces the default ``Server`` value aiohttp reads from
``aiohttp.web_response.SERVER_SOFTWARE`` when it sends a response (aiohttp offers no option for
it; the client's User-Agent is a separate copy and stays as it is).
"""

from __future__ import annotations

import aiohttp.web_response
from aiohttp import web

SERVER_NAME = "egovbot"
ADMIN_PREFIX = "/admin"
ADMIN_CSP = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))


def is_admin_path(path: str) -> bool:
    """Whether a request path is one of the staff pages (the sub-app mounted at /admin)."""
    return path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/")


async def set_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Add the headers above to a response about to be sent."""
    response.headers["Server"] = SERVER_NAME
    response.headers["X-Content-Type-Options"] = "nosniff"
    if is_admin_path(request.path):
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Content-Security-Policy"] = ADMIN_CSP


def hide_server_software() -> None:
    """Make every response of this process, the parser's own 400s included, say only
    ``Server: egovbot`` by default."""
    aiohttp.web_response.SERVER_SOFTWARE = SERVER_NAME  # type: ignore[attr-defined]
