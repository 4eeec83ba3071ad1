"""Login, logout, and the admin sub-app's middleware that guards every /admin page and endpoint.

* Every path under /admin except the login page needs a valid session cookie (HttpOnly,
  SameSite=Strict, expiring); otherwise pages redirect to the login and JSON endpoints get 401.
* Every state-changing request (POST) needs the session's CSRF token, from a form field
  ``csrf_token`` or the ``X-CSRF-Token`` header.
* Admin-only paths (knowledge-base editing, users) refuse staff with 403.
* Failed logins are logged, answered slowly and alike (wrong password, unknown name, too many
  tries), and throttled by address and name from that address, never by locking the account.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.admin.web import SESSION_KEY, STAFF_STORE, form_data, render
from bot.storage.login_throttle import LoginThrottle

log = logging.getLogger(__name__)

COOKIE = "egb_session"
LOGIN_CSRF_COOKIE = "egb_login_csrf"
SESSION_LIFETIME = dt.timedelta(hours=8)
FAILED_LOGIN_DELAY = 1.0
LOGIN_FAILED = ("Sai tên đăng nhập hoặc mật khẩu. Sau nhiều lần sai liên tiếp, máy này cần chờ "
                "15 phút mới đăng nhập lại được.")
# Full paths: in the sub-app, request.path still includes the /admin mount point
PUBLIC_PATHS = frozenset({"/admin/login"})
ADMIN_PREFIXES = ("/admin/kb", "/admin/users", "/admin/api/kb")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _wants_json(request: web.Request) -> bool:
    return request.path.startswith("/admin/api/") or "application/json" in request.headers.get(
        "Accept", "")


def _refuse(request: web.Request, status: int, message: str) -> web.StreamResponse:
    if _wants_json(request):
        return web.json_response({"error": message}, status=status)
    if status == 401:
        raise web.HTTPSeeOther(f"/admin/login?next={request.path_qs}")
    return render(request, "error.html", status=status, message=message)


SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
UNREADABLE_FORM = "Biểu mẫu gửi lên không đọc được"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def _form_readable(request: web.Request) -> bool:
    """Parse a posted form once, here (aiohttp keeps it for the handler): False when its
    bytes are not a form (bad UTF-8 or percent-encoding, a broken multipart body), which
    ``request.post()`` in a handler would have turned into a 500."""
    if request.method in SAFE_METHODS or request.content_type not in FORM_TYPES:
        return True
    try:
        await request.post()
    except ValueError as exc:  # UnicodeDecodeError is one
        log.warning("unreadable form on %s %s: %s", request.method, request.path, exc)
        return False
    return True


def _foreign_origin(request: web.Request) -> bool:
    """Whether a browser says the request comes from another site: behind the CSRF token, a
    second check (a browser sends Origin with every form post; other clients may not)."""
    origin = request.headers.get("Origin")
    return origin is not None and origin != f"{request.scheme}://{request.host}"


@web.middleware
async def admin_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Authentication, roles and CSRF for everything under /admin (the admin sub-app's
    middleware, so it sees only /admin requests)."""
    if request.method not in SAFE_METHODS and _foreign_origin(request):
        log.warning("refused %s %s from the foreign origin %r", request.method, request.path,
                    request.headers.get("Origin"))
        return _refuse(request, 403, "Yêu cầu không đến từ trang quản trị")
    if request.path in PUBLIC_PATHS:
        if not await _form_readable(request):
            return _refuse(request, 400, UNREADABLE_FORM)
        return await handler(request)
    token = request.cookies.get(COOKIE)
    session = await request.app[STAFF_STORE].session_for(token) if token else None
    if session is None:
        return _refuse(request, 401, "Bạn cần đăng nhập")
    request[SESSION_KEY] = session
    if request.path.startswith(ADMIN_PREFIXES) and not session.user.is_admin:
        return _refuse(request, 403, "Chỉ quản trị viên được dùng chức năng này")
    if not await _form_readable(request):  # read only once the session is known
        return _refuse(request, 400, UNREADABLE_FORM)
    if request.method not in SAFE_METHODS:
        sent = request.headers.get("X-CSRF-Token")
        if sent is None and request.content_type in FORM_TYPES:
            sent = (await request.post()).get("csrf_token")  # type: ignore[assignment]
        if not isinstance(sent, str) or not hmac.compare_digest(sent, session.csrf_token):
            log.warning("CSRF token missing or wrong for %s %s (user %s)", request.method,
                        request.path, session.user.username)
            return _refuse(request, 403, "Phiên làm việc không hợp lệ, vui lòng tải lại trang")
    return await handler(request)


async def login_page(request: web.Request) -> web.Response:
    """The login form, with a double-submit CSRF token."""
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", csrf_token=token,
                      next=request.query.get("next", "/admin"), error=None)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="Strict",
                        path="/admin/login", max_age=3600)
    return response


async def login(request: web.Request) -> web.StreamResponse:
    """Check the credentials; start a session or say what went wrong."""
    form = await form_data(request)
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    target = form.get("next", "/admin")
    if not target.startswith("/admin") or target.startswith("//"):
        target = "/admin"
    if not expected or not hmac.compare_digest(form.get("csrf_token", ""), expected):
        return await _login_error(request, "Phiên đăng nhập đã hết hạn, vui lòng thử lại",
                                  target)
    username = form.get("username", "").strip().lower()
    password = form.get("password", "")
    store = request.app[STAFF_STORE]
    throttle = LoginThrottle(store.sessions)
    address = request.remote or "?"
    user = None
    if await throttle.admit(username, address):
        user = await store.authenticate(username, password)
    else:
        log.warning("login for %r from %s throttled", username, address)
        store.spend_a_check(password)  # the same time as a wrong password
    if user is None:
        log.warning("failed login for %r from %s", username, address)
        await asyncio.sleep(FAILED_LOGIN_DELAY)
        # one answer for a wrong password, an unknown name and a throttled address alike
        return await _login_error(request, LOGIN_FAILED, target)
    await throttle.succeeded(username, address)
    token, _session = await store.start_session(user, SESSION_LIFETIME)
    log.info("%s logged in", user.username)
    response = web.HTTPSeeOther(target)
    response.set_cookie(COOKIE, token, httponly=True, samesite="Strict", path="/",
                        max_age=int(SESSION_LIFETIME.total_seconds()),
                        secure=request.secure)
    response.del_cookie(LOGIN_CSRF_COOKIE, path="/admin/login")
    raise response


async def _login_error(request: web.Request, message: str, target: str) -> web.Response:
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", status=400, csrf_token=token, next=target,
                      error=message)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="Strict",
                        path="/admin/login", max_age=3600)
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    """End the session."""
    token = request.cookies.get(COOKIE)
    if token:
        await request.app[STAFF_STORE].end_session(token)
    response = web.HTTPSeeOther("/admin/login")
    response.del_cookie(COOKIE, path="/")
    raise response


def add_routes(app: web.Application) -> None:
    """Login and logout."""
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
