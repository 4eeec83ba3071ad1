"""Every staff page on a phone (390×844) in a real chromium, logged in as an administrator with
data present: no page scrolls sideways, and each page's key buttons are visible and inside the
screen (the handoff queue's «Nhận» above all)."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from playwright.async_api import Browser, Page, expect

from tests.bot.admin.conftest import ADMIN, PASSWORD, http_login
from tests.bot.admin.test_inbox import chat

pytestmark = pytest.mark.slow  # a real chromium

WIDTH, HEIGHT = 390, 844
LONG_WORD = "https://dichvucong.gov.vn/p/home/dvc-tra-cuu-ho-so-chi-tiet-rat-dai-khong-co-cho-ngat"

# How far the element's boxes were scrolled sideways to bring it into view.
SIDEWAYS = """element => {
  let sum = 0;
  for (let e = element; e; e = e.parentElement) { sum += e.scrollLeft; }
  return sum;
}"""
# page -> (role, accessible name) of the controls staff must reach there
PAGES: dict[str, list[tuple[str, str]]] = {
    "/admin": [("link", "Hội thoại")],
    "/admin/conversations": [("button", "Lọc"), ("link", "lệ phí làm hộ chiếu")],
    "/admin/conversations/web%3Along": [("button", "Lưu ghi chú")],
    "/admin/inbox": [("button", "Lưu nhãn"), ("button", "Bỏ qua")],
    "/admin/models": [("button", "Huấn luyện lại")],
    "/admin/handoff": [("button", "Nhận hội thoại của waiting"), ("link", "Mở")],
    "/admin/handoff/web%3Ataken": [("button", "Gửi"), ("button", "Đóng")],
    "/admin/kb": [],
    "/admin/kb/procedure/can-cuoc": [("button", "Lưu nháp")],
    "/admin/kb/faq/tra-cuu-ho-so-theo-ma": [("button", "Lưu nháp")],
    "/admin/kb/office/ttpvhcc-thanh-pho": [("button", "Lưu nháp")],
    "/admin/kb/audit": [],
    "/admin/kb/import": [],
    "/admin/kb/catalog": [("button", "Tìm")],
    "/admin/kb/catalog/1.000110": [],
    "/admin/kb/synonyms": [],
    "/admin/users": [],
}


async def seed(client: TestClient[Any, Any]) -> None:
    """Conversations of every kind the pages list: understood, misunderstood, a very long
    unbroken message, one waiting for a person and one an officer has taken."""
    await chat(client, "long", "lệ phí làm hộ chiếu")
    await chat(client, "long", f"cho hỏi {LONG_WORD} {LONG_WORD}")
    await chat(client, "long", '/feedback{"value":"down"}')
    await chat(client, "unsure", "thời tiết hôm nay thế nào")
    await chat(client, "waiting", "cho tôi gặp nhân viên")
    await chat(client, "taken", "cho tôi gặp nhân viên")
    csrf = await http_login(client, ADMIN)
    taken = await client.post("/admin/handoff/web:taken/take", data={"csrf_token": csrf},
                              allow_redirects=False)
    assert taken.status in (200, 303), await taken.text()


async def phone(client: TestClient[Any, Any], browser: Browser) -> Page:
    context = await browser.new_context(viewport={"width": WIDTH, "height": HEIGHT},
                                        is_mobile=True, has_touch=True)
    page = await context.new_page()
    page.set_default_timeout(10_000)
    await page.goto(str(client.make_url("/admin/login")))
    await page.get_by_label("Tên đăng nhập").fill(ADMIN)
    await page.get_by_label("Mật khẩu").fill(PASSWORD)
    await page.get_by_role("button", name="Đăng nhập").click()
    await page.wait_for_url("**/admin")
    return page


async def test_every_staff_page_fits_a_phone(accounts: TestClient[Any, Any],
                                             browser: Browser) -> None:
    await seed(accounts)
    page = await phone(accounts, browser)
    too_wide: dict[str, int] = {}
    off_screen: list[str] = []
    for path, controls in PAGES.items():
        response = await page.goto(str(accounts.make_url(path)))
        assert response is not None and response.status == 200, path
        width = await page.evaluate("document.documentElement.scrollWidth")
        inner = await page.evaluate("window.innerWidth")
        # a phone widens its layout viewport to fit a page too wide for it: the screen width
        # (not only innerWidth) is the bound
        if width > inner or inner != WIDTH:
            too_wide[path] = width
        for role, name in controls:
            control = page.get_by_role(role, name=name, exact=True).first  # type: ignore[arg-type]
            await control.scroll_into_view_if_needed()
            await expect(control).to_be_visible()
            box = await control.bounding_box()
            assert box is not None, (path, name)
            # reachable without scrolling anything sideways (a table's own box included)
            sideways = await control.evaluate(SIDEWAYS)
            if sideways or not (box["x"] >= 0 and box["x"] + box["width"] <= inner):
                off_screen.append(f"{path}: {name}")
    assert not too_wide, f"pages wider than the {WIDTH} px screen: {too_wide}"
    assert not off_screen, f"controls outside the screen: {off_screen}"
