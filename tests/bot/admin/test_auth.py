"""Admin authentication, roles and CSRF over real HTTP."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.admin.auth import admin_guard
from bot.admin.web import STAFF_STORE
from bot.service.appkeys import ADMIN_APP
from tests.bot.admin.conftest import ADMIN, PASSWORD, STAFF, http_login


async def login(client: TestClient[Any, Any], username: str) -> str:
    """Log in through the form; returns the CSRF token of the session."""
    return await http_login(client, username)


async def test_logged_out_is_sent_to_login(accounts: TestClient[Any, Any]) -> None:
    response = await accounts.get("/admin/users", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"].startswith("/admin/login")


async def test_the_guard_is_the_admin_sub_apps_own(accounts: TestClient[Any, Any]) -> None:
    assert admin_guard not in accounts.app.middlewares
    assert admin_guard in accounts.app[ADMIN_APP].middlewares
    assert (await accounts.get("/admin/", allow_redirects=False)).status == 303  # guarded
    await login(accounts, STAFF)
    assert (await accounts.get("/admin", allow_redirects=False)).status == 200
    assert (await accounts.get("/admin/", allow_redirects=False)).status == 404


async def test_login_sets_a_safe_cookie(accounts: TestClient[Any, Any]) -> None:
    page = await (await accounts.get("/admin/login")).text()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    response = await accounts.post("/admin/login", data={
        "username": ADMIN, "password": PASSWORD, "csrf_token": token.group(1)},
        allow_redirects=False)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Max-Age=" in cookie


@pytest.mark.slow
async def test_wrong_passwords_slow_that_name_from_that_address_with_one_answer(
        accounts: TestClient[Any, Any]) -> None:
    async def attempt(username: str, password: str) -> tuple[int, str]:
        page = await (await accounts.get("/admin/login")).text()
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token is not None
        response = await accounts.post("/admin/login", data={
            "username": username, "password": password, "csrf_token": token.group(1)},
            allow_redirects=False)
        return response.status, await response.text()

    wrong = [await attempt(STAFF, "sai-mat-khau") for _ in range(5)]
    unknown = await attempt("khong-co-ai", "sai-mat-khau")
    throttled = await attempt(STAFF, PASSWORD)  # the right password, too soon
    assert all(status == 400 for status, _ in [*wrong, unknown, throttled])
    # one answer whether the password was wrong, the name unknown or the address throttled
    message = "Sai tên đăng nhập hoặc mật khẩu"
    assert all(message in text for _, text in [*wrong, unknown, throttled])
    assert "tạm khóa" not in throttled[1]
    # another name from the same address is not held up by it
    assert (await attempt(ADMIN, PASSWORD))[0] == 303


async def test_login_without_its_csrf_token_fails(accounts: TestClient[Any, Any]) -> None:
    response = await accounts.post("/admin/login", data={
        "username": ADMIN, "password": PASSWORD, "csrf_token": "forged"})
    assert response.status == 400


async def test_staff_cannot_reach_admin_pages(accounts: TestClient[Any, Any]) -> None:
    await login(accounts, STAFF)
    assert (await accounts.get("/admin/users")).status == 403
    assert (await accounts.get("/admin")).status == 200


async def test_admin_adds_a_user_with_csrf(accounts: TestClient[Any, Any]) -> None:
    csrf = await login(accounts, ADMIN)
    refused = await accounts.post("/admin/users", data={
        "username": "newbie", "password": PASSWORD, "role": "staff"})
    assert refused.status == 403
    added = await accounts.post("/admin/users", data={
        "username": "newbie", "password": PASSWORD, "role": "staff", "csrf_token": csrf})
    assert "Đã thêm tài khoản newbie" in await added.text()
    weak = await accounts.post("/admin/users", data={
        "username": "weak", "password": "short", "role": "staff", "csrf_token": csrf})
    assert weak.status == 400 and "ít nhất 10 ký tự" in await weak.text()
    [entry] = await accounts.app[ADMIN_APP][STAFF_STORE].audit_log(kind="user")
    assert entry.username == ADMIN and entry.entry_id == "newbie"


async def test_disabling_ends_the_session(accounts: TestClient[Any, Any]) -> None:
    await login(accounts, STAFF)
    assert (await accounts.get("/admin")).status == 200
    await accounts.app[ADMIN_APP][STAFF_STORE].set_active(STAFF, False)
    response = await accounts.get("/admin", allow_redirects=False)
    assert response.status == 303


async def test_logout(accounts: TestClient[Any, Any]) -> None:
    csrf = await login(accounts, ADMIN)
    await accounts.post("/admin/logout", data={"csrf_token": csrf})
    assert (await accounts.get("/admin", allow_redirects=False)).status == 303
