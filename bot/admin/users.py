"""Staff account management (admins only)."""

from __future__ import annotations

from aiohttp import web

from bot.admin.web import STAFF_STORE, current_session, form_data, render
from bot.storage.roles import Role
from bot.storage.staff import AccountError


async def users_page(request: web.Request, flash: str | None = None,
                     flash_error: bool = False) -> web.Response:
    """Every account, and a form to add one."""
    users = await request.app[STAFF_STORE].users()
    return render(request, "users.html", users=users, flash=flash, flash_error=flash_error,
                  status=400 if flash_error else 200)


async def add_user(request: web.Request) -> web.Response:
    """Create an account from the form."""
    form = await form_data(request)
    me = current_session(request).user
    try:
        role = Role(form.get("role", ""))
        user = await request.app[STAFF_STORE].add_user(form.get("username", "").strip().lower(),
                                                       form.get("password", ""), role)
    except ValueError as exc:  # AccountError, or an unknown role
        message = str(exc) if isinstance(exc, AccountError) else "Vai trò không hợp lệ"
        return await users_page(request, message, flash_error=True)
    await request.app[STAFF_STORE].audit(me.username, "user", user.username, "create", None,
                                         {"username": user.username, "role": user.role.value})
    return await users_page(request, f"Đã thêm tài khoản {user.username}")


async def set_active(request: web.Request) -> web.Response:
    """Disable or enable an account."""
    me = current_session(request).user
    username = request.match_info["username"]
    active = request.match_info["action"] == "enable"
    if username == me.username:
        return await users_page(request, "Bạn không thể tự khóa tài khoản của mình",
                                flash_error=True)
    try:
        await request.app[STAFF_STORE].set_active(username, active)
    except AccountError as exc:
        return await users_page(request, str(exc), flash_error=True)
    await request.app[STAFF_STORE].audit(me.username, "user", username,
                                         "enable" if active else "disable", None, None)
    return await users_page(request, f"Đã {'mở khóa' if active else 'khóa'} {username}")


def add_routes(app: web.Application) -> None:
    """Account routes."""
    app.router.add_get("/users", users_page)
    app.router.add_post("/users", add_user)
    app.router.add_post(r"/users/{username}/{action:enable|disable}", set_active)
