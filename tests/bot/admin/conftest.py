"""Fixtures for the admin pages: accounts, a logged-in browser page, a logged-in HTTP client."""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from playwright.async_api import Browser, Page

from bot.admin.web import STAFF_STORE
from bot.service.appkeys import ADMIN_APP
from bot.storage.db import make_engine, make_sessionmaker
from bot.storage.roles import Role
from bot.storage.staff import StaffStore
from tests.browser import launch_chromium

PASSWORD = "mat-khau-rat-dai-1"
ADMIN = "quantri"
STAFF = "hotro"
ACCOUNTS = ((ADMIN, Role.ADMIN), (STAFF, Role.STAFF))


async def _add_accounts(store: StaffStore) -> None:
    for username, role in ACCOUNTS:
        await store.add_user(username, PASSWORD, role)


@pytest.fixture(scope="session")
def database_template(database_template: Path,
                      tmp_path_factory: pytest.TempPathFactory) -> Path:
    """For the admin tests, the shared template with the two accounts already added: their
    Argon2id hashes (about 0.2 s each, on purpose) are computed once per session, not twice
    per test. ``accounts`` adds them itself to a service built some other way."""
    path = tmp_path_factory.mktemp("admin-template") / "egovbot.db"
    shutil.copyfile(database_template, path)

    async def add() -> None:
        engine = make_engine(f"sqlite+aiosqlite:///{path}")
        await _add_accounts(StaffStore(make_sessionmaker(engine)))
        await engine.dispose()

    asyncio.run(add())
    leftovers = sorted(p.name for p in path.parent.iterdir() if p != path)
    assert not leftovers, f"the template is more than one file: {leftovers}"
    return path


@pytest.fixture
async def accounts(service: TestClient[Any, Any]) -> TestClient[Any, Any]:
    """The service with one admin (``quantri``) and one staff account (``hotro``)."""
    store = service.app[ADMIN_APP][STAFF_STORE]
    existing = {(user.username, user.role) for user in await store.users()}
    if not existing:
        await _add_accounts(store)
    else:
        assert existing == set(ACCOUNTS), existing
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
