"""The catalog in a real browser at phone width (390 px): search without diacritics, open a
national record, add a step and a local alias, see the comparison; and the inbox's search
box labels a question with a national procedure."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from playwright.async_api import Browser, Dialog, expect

from bot.service.app import RUNTIME
from tests.bot.admin.conftest import ADMIN, PASSWORD, STAFF

pytestmark = pytest.mark.slow  # a real chromium

NEW_STEP = "Nộp hồ sơ tại quầy số 7, tầng 1 Trung tâm Phục vụ hành chính công."


async def accept(dialog: Dialog) -> None:
    await dialog.accept()


async def phone_page(client: TestClient[Any, Any], browser: Browser, username: str) -> Any:
    context = await browser.new_context(viewport={"width": 390, "height": 844},
                                        is_mobile=True, has_touch=True)
    page = await context.new_page()
    page.set_default_timeout(10_000)
    page.on("dialog", accept)
    await page.goto(str(client.make_url("/admin/login")))
    await page.get_by_label("Tên đăng nhập").fill(username)
    await page.get_by_label("Mật khẩu").fill(PASSWORD)
    await page.get_by_role("button", name="Đăng nhập").click()
    await page.wait_for_url("**/admin")
    return page


async def no_sideways_scroll(page: Any) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1, f"the page is {width} px wide at 390 px"


async def test_search_and_edit_a_national_record_on_a_phone(
        accounts: TestClient[Any, Any], browser: Browser) -> None:
    page = await phone_page(accounts, browser, ADMIN)
    await page.goto(str(accounts.make_url("/admin/kb")))
    await page.get_by_role("link", name="Danh mục thủ tục (cả bản ghi quốc gia)").click()
    await page.get_by_label("Tìm theo mã, tên, lĩnh vực").fill("khai sinh bien gioi")
    await page.get_by_label("Mức xác minh").select_option("national")
    await page.get_by_role("button", name="Tìm", exact=True).click()
    await expect(page.locator("#catalog-count")).to_contain_text("khớp")
    await no_sideways_scroll(page)
    await page.get_by_role(
        "link", name="Thủ tục đăng ký khai sinh có yếu tố nước ngoài tại khu vực biên giới").click()
    await page.wait_for_url("**/admin/kb/catalog/1.000110")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("khu vực biên giới")

    steps = page.get_by_label("Các bước thực hiện (mỗi dòng một bước)")
    await steps.fill(NEW_STEP + "\n" + await steps.input_value())
    await page.get_by_label("Tên gọi địa phương").fill("khai sinh vùng biên")
    await page.get_by_role("button", name="Lưu sửa đổi").click()
    await expect(page.get_by_role("status")).to_contain_text("Đã lưu sửa đổi")
    edits = page.locator("#edits")
    await expect(edits).to_contain_text("Các bước thực hiện")
    await expect(edits).to_contain_text(NEW_STEP)
    await expect(edits).to_contain_text("khai sinh vùng biên")
    await no_sideways_scroll(page)

    # promote it, then the bot's snapshot has it as verified
    await page.get_by_role("button", name="Xác minh cho thành phố").click()
    await expect(page.locator("#promoted")).to_contain_text(f"Đã xác minh bởi {ADMIN}")
    live = accounts.app[RUNTIME].pipeline.brain.knowledge.procedures["qg-1-000110"]
    assert live.tier == "verified" and live.steps[0] == NEW_STEP

    # an invalid fee keeps what was typed and says why in Vietnamese
    fee = page.get_by_label("Lệ phí dòng 1: số tiền (đồng)")
    await fee.fill("năm nghìn")
    await page.get_by_role("button", name="Lưu sửa đổi").click()
    await expect(page.locator(".field-error").first).to_contain_text("Phải là số nguyên")
    await expect(page.get_by_label("Lệ phí dòng 1: số tiền (đồng)")).to_have_value("năm nghìn")
    await page.context.close()


async def test_inbox_search_box_labels_with_a_national_procedure(
        accounts: TestClient[Any, Any], browser: Browser) -> None:
    for text in ("lệ phí làm hộ chiếu", '/feedback{"value":"down"}'):
        response = await accounts.post("/api/chat", json={"sender": "c", "message": text})
        assert response.status == 200
    page = await phone_page(accounts, browser, STAFF)
    await page.get_by_role("link", name="Cần dạy lại").click()
    card = page.locator(".inbox-group").first
    await card.get_by_label("Ý định đúng").select_option("procedure_fee")
    await card.get_by_label("Tìm thủ tục theo tên hoặc mã").fill("khai sinh bien gioi")
    await card.get_by_role("button", name="khu vực biên giới").first.click()
    await expect(card.get_by_label("Thủ tục (nếu có): mã thủ tục")).to_have_value("qg-1-000110")
    await card.get_by_role("button", name="Lưu nhãn").click()
    await expect(page.get_by_role("status")).to_contain_text("Đã lưu nhãn")
    await expect(page.get_by_role("status")).to_contain_text("khu vực biên giới")
    await page.context.close()
