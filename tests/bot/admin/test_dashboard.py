"""The dashboard's figures and page."""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiohttp.test_utils import TestClient

from bot.service.appkeys import RUNTIME
from bot.storage.conversations import TurnRecord
from bot.storage.db import make_sessionmaker
from bot.storage.stats import figures
from knowledge.clock import VN_TIME as VN
from tests.bot.admin.conftest import ADMIN, STAFF, LoginAs, http_login


async def test_figures_count_what_happened(service: TestClient[Any, Any]) -> None:
    for sender, text in [("a", "làm hộ chiếu cần giấy tờ gì"), ("a", "bao nhiêu tiền"),
                         ("b", "giá vàng hôm nay"), ("c", "cho tôi gặp nhân viên")]:
        await service.post("/api/chat", json={"sender": sender, "message": text})
    runtime = service.app[RUNTIME]
    now = dt.datetime.now(dt.UTC)
    await runtime.stores.conversations.save("telegram:9", "telegram", "9", {}, "bot", [
        TurnRecord("in", "xin chào", at=now, intent="greet")])
    today = dt.datetime.now(VN).date()
    data = await figures(make_sessionmaker(runtime.engine), today - dt.timedelta(days=6), today)
    assert data.messages == 5
    assert data.conversations_by_day["web"][-1] == 3
    assert data.conversations_by_day["telegram"][-1] == 1
    assert dict(data.top_procedures)["ho-chieu"] == 2
    assert data.misunderstood == 1 and data.unanswered[0][0] == "gia vang hom nay"
    assert data.handoffs == 1 and len(data.handoff_wait_minutes) == 1


async def test_dashboard_page_draws_charts(accounts: TestClient[Any, Any]) -> None:
    await accounts.post("/api/chat", json={"sender": "d", "message": "lam cccd o dau"})
    await http_login(accounts, STAFF)
    page = await (await accounts.get("/admin?days=30")).text()
    assert "Thống kê 30 ngày gần nhất" in page
    assert "<svg" in page and "<rect" in page
    assert "Cấp thẻ căn cước" in page
    bad = await accounts.get("/admin?days=abc")
    assert bad.status == 200 and "14 ngày gần nhất" in await bad.text()


async def test_dashboard_in_a_browser(login_as: LoginAs, accounts: TestClient[Any, Any]) -> None:
    await accounts.post("/api/chat", json={"sender": "e", "message": "chào bạn"})
    page = await login_as(ADMIN)
    from playwright.async_api import expect

    await expect(page.get_by_role("heading", name="Thống kê 14 ngày gần nhất")).to_be_visible()
    await expect(page.get_by_role("img", name="Hội thoại mỗi ngày theo kênh")).to_be_visible()
    await page.screenshot(path="/tmp/admin-dashboard.png", full_page=True)
