"""Editing the knowledge base in a real browser: a fee change reaches the citizens' widget,
and a broken upload shows its errors."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient
from playwright.async_api import Dialog, expect

from bot.service.app import RUNTIME
from tests.bot.admin.conftest import ADMIN, LoginAs

pytestmark = pytest.mark.slow  # a real chromium


async def accept(dialog: Dialog) -> None:
    await dialog.accept()


async def test_edit_a_fee_preview_publish_and_the_widget_answers_it(
        login_as: LoginAs, accounts: TestClient[Any, Any]) -> None:
    page = await login_as(ADMIN)
    page.on("dialog", accept)
    await page.get_by_role("link", name="Cơ sở tri thức").click()
    await page.get_by_label("Tìm thủ tục").fill("ho chieu")
    await page.get_by_role("button", name="Tìm", exact=True).click()
    await page.get_by_role("link", name="Cấp hộ chiếu phổ thông ở trong nước").click()

    fee = page.get_by_label("Lệ phí dòng 1: số tiền (đồng)")
    await expect(fee).to_have_value("200000")
    await fee.fill("275.000")
    await page.get_by_label("Câu hỏi thử").fill("làm hộ chiếu hết bao nhiêu tiền")
    await page.get_by_role("button", name="Xem trước").click()
    await expect(page.locator('[data-preview="draft"]')).to_contain_text("275.000 đồng")
    await expect(page.locator('[data-preview="current"]')).to_contain_text("200.000 đồng")

    await page.get_by_role("button", name="Xuất bản").click()
    await expect(page.get_by_role("status")).to_contain_text("Đã xuất bản")

    await page.goto(str(accounts.make_url("/")))
    question = page.get_by_label("Nhập câu hỏi của bạn")
    await question.fill("làm hộ chiếu hết bao nhiêu tiền")
    await question.press("Enter")
    await expect(page.get_by_label("Nội dung trò chuyện")).to_contain_text("275.000 đồng")


async def test_a_broken_upload_shows_the_errors(login_as: LoginAs,
                                                accounts: TestClient[Any, Any]) -> None:
    runtime = accounts.app[RUNTIME]
    bundle = await runtime.stores.knowledge.export_bundle()
    data = yaml.safe_load(yaml.safe_dump(bundle.model_dump(mode="json", exclude_none=True),
                                         allow_unicode=True))
    data["procedures"][0]["fees"][0]["amount_vnd"] = -10
    data["procedures"][0]["steps"] = []
    broken = yaml.safe_dump(data, allow_unicode=True).encode()

    page = await login_as(ADMIN)
    await page.goto(str(accounts.make_url("/admin/kb/import")))
    await page.get_by_label("Tải lên tệp YAML đã sửa").set_input_files(
        files=[{"name": "hong.yaml", "mimeType": "application/x-yaml", "buffer": broken}])
    await page.get_by_role("button", name="Kiểm tra và nạp tệp YAML").click()
    alert = page.get_by_role("alert").filter(has_text="lỗi tìm thấy")
    await expect(alert).to_contain_text("chưa có gì bị thay đổi")
    await expect(alert).to_contain_text("Số tiền (đồng) (fees.0.amount_vnd): Phải lớn hơn "
                                        "hoặc bằng 0")
    await expect(alert).to_contain_text("Các bước thực hiện (steps): Cần ít nhất một mục")
    assert await runtime.stores.knowledge.export_bundle() == bundle


async def test_the_editor_scripts_run_under_the_pages_content_security_policy(
        login_as: LoginAs) -> None:
    page = await login_as(ADMIN)
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text else None)
    asked: list[str] = []

    async def dismiss(dialog: Dialog) -> None:
        asked.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", dismiss)
    await page.get_by_role("link", name="Cơ sở tri thức").click()
    await page.get_by_label("Tìm thủ tục").fill("ho chieu")
    await page.get_by_role("button", name="Tìm", exact=True).click()
    await page.get_by_role("link", name="Cấp hộ chiếu phổ thông ở trong nước").click()
    edit_url = page.url

    fees = page.locator("#rows-fees tr")
    rows = await fees.count()
    await page.get_by_role("button", name="+ Thêm dòng lệ phí").click()  # admin.js
    await expect(fees).to_have_count(rows + 1)

    await page.get_by_label("Lệ phí dòng 1: số tiền (đồng)").fill("275.000")
    await page.get_by_role("button", name="Xuất bản").click()  # asks first (admin.js); "no"
    assert asked == ["Xuất bản ngay? Người dân sẽ nhận câu trả lời theo nội dung này."]
    assert page.url == edit_url
    await page.goto(edit_url)
    await expect(page.get_by_label("Lệ phí dòng 1: số tiền (đồng)")).to_have_value("200000")
    for path in ("/admin", "/admin/handoff", "/admin/conversations", "/admin/kb/audit"):
        await page.goto(edit_url.split("/admin")[0] + path)
    assert refused == []
