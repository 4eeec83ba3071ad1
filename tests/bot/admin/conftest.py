"""Fixtures for the admin pages: accounts, a logged-in browser page, a logged-in HTTP client."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from playwright.async_api import Browser, Page

from bot.admin.web import STAFF_STORE
from bot.storage.roles import Role
from tests.browser import launch_chromium

PASSWORD = "mat-khau-rat-dai-1"
ADMIN = "quantri"
STAFF = "hotro"


@pytest.fixture
async def accounts(service: TestClient[Any, Any]) -> TestClient[Any, Any]:
    """The service with one admin (``quantri``) and one staff account (``hotro``)."""
    store = service.app[STAFF_STORE]
    await store.add_user(ADMIN, PASSWORD, Role.ADMIN)
    await store.add_user(STAFF, PASSWORD, Role.STAFF)
    return service


async def http_login(client: TestClient[Any, Any] | aiohttp.ClientSession, username: str) -> str:
    """Log the client (a test client, or a session with a base URL) in through the form;
    returns the session's CSRF token."""
    page = await (await client.get("/admin/login")).text()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    response = await client.post("/admin/login", data={
        "username": username, "password": PASSWORD, "csrf_token": token.group(1),
        "next": "/admin"}, allow_redirects=False)
    assert response.status == 303, await response.text()
    home = await (await client.get("/admin")).text()
    found = re.search(r'name="csrf_token" value="([^"]+)"', home)
    assert found is not None
    return found.group(1)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Headless Debian chromium."""
    async with launch_chromium() as launched:
        yield launched


LoginAs = Callable[[str], Awaitable[Page]]


@pytest.fixture
async def login_as(accounts: TestClient[Any, Any], browser: Browser) -> LoginAs:
    """Open a new browser page logged in as ``quantri`` or ``hotro``."""

    async def open_page(username: str) -> Page:
        context = await browser.new_context(viewport={"width": 1280, "height": 900})
        page = await context.new_page()
        page.set_default_timeout(10_000)
        await page.goto(str(accounts.make_url("/admin/login")))
        await page.get_by_label("Tên đăng nhập").fill(username)
        await page.get_by_label("Mật khẩu").fill(PASSWORD)
        await page.get_by_role("button", name="Đăng nhập").click()
        await page.wait_for_url("**/admin")
        return page

    return open_page
