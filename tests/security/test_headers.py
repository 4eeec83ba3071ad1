"""Response headers against framing, MIME sniffing and version disclosure, and the chat page
template kept out of the static folder; all on the real service on a loopback port."""

from __future__ import annotations

import html
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from bot.service.app import RUNTIME
from tests.bot.admin.conftest import ADMIN, accounts, http_login

__all__ = ["accounts"]  # the fixture, shared with the admin tests

Client = TestClient[Any, Any]


def assert_not_revealing(response: ClientResponse) -> None:
    assert response.headers["Server"] == "egovbot"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def assert_not_frameable(response: ClientResponse) -> None:
    assert_not_revealing(response)
    assert response.headers["X-Frame-Options"] == "DENY"
    policy = {directive.split()[0]: directive.split()[1:]
              for directive in response.headers["Content-Security-Policy"].split(";")
              if directive.strip()}
    assert policy["default-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["script-src"] == ["'self'"]  # no inline scripts on the staff pages
    assert "'unsafe-eval'" not in str(policy)


async def test_admin_pages_cannot_be_framed(accounts: Client) -> None:
    login = await accounts.get("/admin/login")
    assert login.status == 200
    assert_not_frameable(login)
    redirect = await accounts.get("/admin/kb", allow_redirects=False)
    assert redirect.status == 303
    assert_not_frameable(redirect)
    await http_login(accounts, ADMIN)
    for path in ("/admin", "/admin/kb", "/admin/handoff", "/admin/no-such-page"):
        response = await accounts.get(path)
        assert response.status in (200, 404), path
        assert_not_frameable(response)


async def test_citizen_routes_stay_embeddable_and_say_no_version(service: Client) -> None:
    page = await service.get("/")
    assert page.status == 200
    widget = await service.get("/static/widget.js")
    assert widget.status == 200
    chat = await service.post("/api/chat", json={"sender": "c1", "message": "chào"})
    preflight = await service.options("/api/chat", headers={
        "Origin": "https://portal.example", "Access-Control-Request-Method": "POST"})
    missing = await service.get("/no-such-page")
    health = await service.get("/healthz")
    assert missing.status == 404
    for response in (page, widget, chat, preflight, missing, health):
        assert_not_revealing(response)
        assert "X-Frame-Options" not in response.headers
        assert "Content-Security-Policy" not in response.headers


async def test_the_chat_page_template_is_not_served_raw(service: Client) -> None:
    raw = await service.get("/static/index.html")
    assert raw.status == 404
    assert "{{city}}" not in await raw.text()
    page = await service.get("/")
    text = await page.text()
    assert "{{city}}" not in text
    city = service.app[RUNTIME].pipeline.brain.knowledge.city.name
    assert city and html.escape(city) in text


async def test_the_parsers_own_400_names_no_software(service: Client) -> None:
    import asyncio

    assert service.server.port is not None
    for garbage in (b"NOT HTTP AT ALL\r\n\r\n", b"GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n",
                    b"GET / HTTP/1.1\r\nBad Header Line\r\n\r\n"):
        reader, writer = await asyncio.open_connection("127.0.0.1", service.server.port)
        writer.write(garbage)
        raw = await asyncio.wait_for(reader.read(), 20)
        writer.close()
        head = raw.partition(b"\r\n\r\n")[0].decode("latin-1").lower().splitlines()
        assert head[0].split()[1] == "400", garbage
        assert "server: egovbot" in head, garbage
        assert "python" not in raw.decode("latin-1").lower(), garbage
