"""The widget's "Xóa dữ liệu của tôi" button in a real headless Chromium (desktop and a
390 px phone): it sends the request, the bot asks to confirm with its own buttons, and "Xóa"
erases the conversation on the server and the copy the browser kept."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from playwright.async_api import Browser, expect

from bot.service.app import RUNTIME
from tests.bot.channels.test_web_widget import (
    DESKTOP,
    SENDER_JS,
    ask,
    base_url,
    bot_messages,
    new_page,
    user_messages,
)
from tests.browser import launch_chromium
from tests.security.test_own_data import rows_left

PHONE_390 = {"width": 390, "height": 844}


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Headless Debian chromium."""
    async with launch_chromium() as launched:
        yield launched


async def test_the_erase_button_deletes_after_confirming(service: TestClient[Any, Any],
                                                         browser: Browser) -> None:
    for viewport in (DESKTOP, PHONE_390):
        page, errors = await new_page(browser, viewport, is_mobile=viewport is PHONE_390)
        await page.goto(base_url(service))
        await ask(page, "lệ phí làm hộ chiếu")
        await expect(bot_messages(page).last).to_contain_text("Lệ phí thủ tục Cấp hộ chiếu")
        erase = page.get_by_role("button", name="Xóa dữ liệu của tôi")
        box = await erase.bounding_box()
        assert box is not None and box["height"] >= 32
        assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"]
        await erase.click()
        await expect(user_messages(page).last).to_have_text("Xóa dữ liệu của tôi")
        await expect(bot_messages(page).last).to_contain_text("Bạn có chắc muốn xóa")
        await page.get_by_role("button", name="Không xóa").last.click()
        await expect(bot_messages(page).last).to_contain_text("Đã hủy")
        await erase.click()
        await page.get_by_role("button", name="Xóa", exact=True).last.click()
        await expect(bot_messages(page).last).to_contain_text("Đã xóa dữ liệu của bạn")
        # nothing of the deleted conversation stays on the device: not shown, not stored
        await expect(bot_messages(page)).to_have_count(1)
        await expect(user_messages(page)).to_have_count(0)
        stored = await page.evaluate("() => JSON.stringify(window.localStorage)")
        assert "hộ chiếu" not in stored and "Bạn có chắc" not in stored
        await page.reload()
        await expect(bot_messages(page)).to_have_count(1)
        await expect(bot_messages(page).last).to_contain_text("Đã xóa dữ liệu của bạn")
        assert await page.evaluate(
            "() => document.querySelector('.egb-header-tools').scrollWidth"
            " <= document.querySelector('.egb-header-tools').clientWidth")
        if viewport is PHONE_390:
            await page.screenshot(path="/tmp/widget-erase-390.png")
        sender = await page.evaluate(SENDER_JS)
        left = await rows_left(service.app[RUNTIME].engine,
                               "web:" + str(sender).split(".", 1)[0])
        assert left["turns"] == 2 and left["conversations"] == 1  # the restart and its reply
        assert errors == []
        await page.context.close()
