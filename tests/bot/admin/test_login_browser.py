"""Logging in with a real browser."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from playwright.async_api import Browser, expect

from tests.bot.admin.conftest import ADMIN, STAFF, LoginAs

pytestmark = pytest.mark.slow  # a real chromium


async def test_login_and_roles_in_a_browser(login_as: LoginAs,
                                            accounts: TestClient[Any, Any]) -> None:
    page = await login_as(ADMIN)
    await expect(page.get_by_role("link", name="Tài khoản")).to_be_visible()
    staff_page = await login_as(STAFF)
    await expect(staff_page.get_by_role("link", name="Tài khoản")).to_have_count(0)
    await staff_page.goto(str(accounts.make_url("/admin/users")))
    await expect(staff_page.get_by_text("Chỉ quản trị viên")).to_be_visible()


async def test_wrong_password_in_a_browser(accounts: TestClient[Any, Any],
                                           browser: Browser) -> None:
    page = await browser.new_page()
    await page.goto(str(accounts.make_url("/admin/users")))
    await page.wait_for_url("**/admin/login**")
    await page.get_by_label("Tên đăng nhập").fill(ADMIN)
    await page.get_by_label("Mật khẩu").fill("sai-mat-khau-roi")
    await page.get_by_role("button", name="Đăng nhập").click()
    await expect(page.get_by_role("alert")).to_contain_text("Sai tên đăng nhập hoặc mật khẩu")
