"""A followed dossier's notice in the web widget, in a real chromium (desktop and a 390 px
phone): the citizen follows from the widget and leaves, the dossier changes in the simulator
and the service's poller sees it while nobody is there, and when the citizen comes back (the
same browser storage, so the same signed sender id) the notice is shown, once, and stays once
after a reload."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import Browser, Page, expect

from bot.service.app import RUNTIME, create_app
from bot.service.settings import Settings
from nlu.engine import NluModel
from tests.bot.channels.test_web_widget import (  # noqa: F401 (the browser fixture)
    POLL_WAIT_MS,
    SENDER_JS,
    ask,
    base_url,
    bot_messages,
    browser,
    new_page,
)
from tests.conftest import prepare_data_dir
from tests.scale.harness import wait_until

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
# processing and received in the simulator: one per screen size
CODES = {"desktop": "000.00.12.H31-261118-0002", "phone": "000.00.12.H31-261120-0001"}


async def change(simulator: str, code: str, status: str) -> None:
    async with aiohttp.ClientSession() as session, session.post(
            f"{simulator}/_dossiers/{code}", json={"status": status}) as response:
        assert response.status == 200


def notices(page: Page, code: str) -> Any:
    return bot_messages(page).filter(has_text=f"Hồ sơ {code} có cập nhật")


@pytest.mark.slow  # a whole service and a browser
async def test_pending_notices_are_shown_once_when_the_citizen_returns(
        tmp_path: Path, shipped_model: NluModel, simulator: str, database_template: Path,
        browser: Browser) -> None:  # noqa: F811
    settings = Settings(data_dir=tmp_path / "var", dossier_api_token="test-token",
                        follow_tick=0.05, follow_poll_interval=1)
    prepare_data_dir(settings, database_template, shipped_model)
    service = TestClient(TestServer(await create_app(settings, simulator), host="127.0.0.1"))
    await service.start_server()
    follows = service.app[RUNTIME].stores.follows
    try:
        for told, (screen, viewport) in enumerate((("desktop", DESKTOP), ("phone", PHONE)),
                                                  start=1):
            code = CODES[screen]
            page, errors = await new_page(browser, viewport)
            await page.goto(base_url(service))
            await ask(page, f"theo dõi hồ sơ {code}")
            await expect(bot_messages(page).last).to_contain_text("Đã theo dõi")
            sender = await page.evaluate(SENDER_JS)
            stored = await page.context.storage_state()
            await page.context.close()  # the citizen leaves

            await change(simulator, code, "need_supplement")

            async def sent(count: int = told) -> bool:
                return (await follows.notice_counts()).get("sent", 0) == count

            await wait_until(sent, 20, 0.05, "the notice put in the widget's outbox")

            # the citizen comes back: same browser storage, so the same signed sender id
            context = await browser.new_context(viewport=viewport, locale="vi-VN",
                                                storage_state=stored)
            page = await context.new_page()
            page.on("pageerror", lambda error, seen=errors: seen.append(str(error)))
            await page.goto(base_url(service))
            assert await page.evaluate(SENDER_JS) == sender
            notice = notices(page, code)
            await expect(notice).to_have_count(1, timeout=POLL_WAIT_MS)
            await expect(notice).to_contain_text("Tình trạng: Cần bổ sung hồ sơ")
            stop = page.get_by_role("button", name="Hủy theo dõi").last  # under the notice
            await expect(stop).to_be_visible()
            box = await stop.bounding_box()
            assert box is not None and box["x"] + box["width"] <= viewport["width"]
            assert await page.evaluate("() => document.documentElement.scrollWidth"
                                       " <= window.innerWidth")  # nothing wider than a phone

            # a reload shows it from the stored conversation, not fetched a second time
            await page.reload()
            async with page.expect_response(lambda r: "/api/chat/poll" in r.url,
                                            timeout=POLL_WAIT_MS):
                pass
            await page.wait_for_timeout(300)  # let the widget handle that poll's answer
            await expect(notices(page, code)).to_have_count(1)
            assert errors == []
            await context.close()
    finally:
        await service.close()
