"""A receipt photo through the web widget: the upload endpoint (signed sender only, size and
type checked) and the camera button in a real chromium, on a desktop and a 390 px phone."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from playwright.async_api import Browser, expect

from actions import texts
from actions.base import MessageKind
from tests.bot.channels.test_web_widget import (  # noqa: F401 (the browser fixture)
    base_url,
    bot_messages,
    browser,
    new_page,
    user_messages,
)
from tests.receipts.photos import Conditions, photograph, receipt_page

CODE = "000.00.12.H31-261105-0005"  # a dossier the simulator knows
PHOTO = photograph(receipt_page(CODE, qr="url"), Conditions(rotation=-6, quality=75))
BLANK = photograph(receipt_page(CODE, qr=None, barcode=False), Conditions(quality=60))


async def upload(service: TestClient[Any, Any], sender: str, body: bytes,
                 content_type: str = "image/jpeg") -> Any:
    response = await service.post("/api/chat/image", params={"sender": sender},
                                  data=io.BytesIO(body),
                                  headers={"Content-Type": content_type})
    return response.status, await response.json()


async def test_the_upload_endpoint(service: TestClient[Any, Any]) -> None:
    sender = (await (await service.post("/api/chat/session")).json())["sender"]
    status, [answer, *_] = await upload(service, sender, PHOTO)
    assert status == 200 and f"Hồ sơ {CODE}" in answer["text"]
    for body, kind in ((BLANK, MessageKind.RECEIPT_NO_CODE),
                       (b"%PDF-1.7 ...", MessageKind.IMAGE_REFUSED),
                       (b"\0" * (10 * 1024 * 1024 + 1), MessageKind.IMAGE_REFUSED)):
        status, [answer] = await upload(service, sender, body)
        assert (status, answer["text"]) == (200, texts.NOTICES[kind])
    # only the conversation's owner, who holds the signed id, may send into it
    forged = sender.rsplit(".", 1)[0] + ".AAAAAAAAAAAAAAAAAAAAAAAA"
    assert (await upload(service, forged, PHOTO))[0] == 403
    assert (await upload(service, "citizen-1", PHOTO))[0] == 403


async def test_the_camera_button(service: TestClient[Any, Any], browser: Browser,  # noqa: F811
                                 tmp_path: Path) -> None:
    photo = tmp_path / "giay-tiep-nhan.jpg"
    photo.write_bytes(PHOTO)
    for viewport in ({"width": 1280, "height": 800}, {"width": 390, "height": 844}):
        page, errors = await new_page(browser, viewport)
        await page.goto(base_url(service))
        button = page.get_by_role("button", name="Gửi ảnh giấy tiếp nhận hồ sơ")
        await expect(button).to_be_visible()
        box = await button.bounding_box()
        assert box is not None and box["x"] + box["width"] <= viewport["width"]
        assert box["height"] >= 40  # big enough to tap
        async with page.expect_file_chooser() as chooser:
            await button.click()
        await (await chooser.value).set_files(str(photo))
        await expect(user_messages(page).last).to_have_text("📷 Ảnh giấy tiếp nhận hồ sơ")
        await expect(bot_messages(page).last).to_contain_text(f"Hồ sơ {CODE}")
        assert await page.evaluate(
            "() => document.querySelector('.egb-form').scrollWidth"
            " <= document.querySelector('.egb-form').clientWidth")
        assert errors == []
        await page.context.close()
