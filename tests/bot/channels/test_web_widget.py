"""The web chat widget in a real headless Chromium, against the whole service on loopback.

Playwright drives Debian's chromium (``make test`` installs it); it never downloads a browser.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import Browser, Page, Route, expect

from actions.base import Reply
from bot.service.app import DISPATCHER
from tests.browser import launch_chromium

WAIT_MS = 5000  # every wait is bounded
POLL_WAIT_MS = 8000  # the widget polls every 3 s
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 667}

expect.set_options(timeout=WAIT_MS)

SENDER_JS = """() => {
  for (const key of Object.keys(localStorage)) {
    if (key.startsWith("egovbot:")) return JSON.parse(localStorage.getItem(key)).sender;
  }
  return null;
}"""


def base_url(service: TestClient[Any, Any]) -> str:
    return str(service.make_url("/"))


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Headless Debian chromium; a clear failure when it is not installed."""
    async with launch_chromium() as launched:
        yield launched


async def new_page(browser: Browser, viewport: dict[str, int],
                   **options: Any) -> tuple[Page, list[str]]:
    """A page in a fresh context (its own storage), and the script errors it will raise."""
    context = await browser.new_context(viewport=viewport, locale="vi-VN", **options)
    page = await context.new_page()
    page.set_default_timeout(WAIT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return page, errors


async def ask(page: Page, question: str) -> None:
    box = page.get_by_label("Nhập câu hỏi của bạn")
    await box.fill(question)
    await box.press("Enter")


def bot_messages(page: Page) -> Any:
    return page.locator(".egb-log .egb-msg-bot .egb-bubble")


def user_messages(page: Page) -> Any:
    return page.locator(".egb-log .egb-msg-user .egb-bubble")


async def slow_down(route: Route) -> None:
    """Hold a chat request a little so the typing indicator can be seen."""
    await asyncio.sleep(0.8)
    await route.continue_()


async def test_question_button_reload_and_new_conversation(
        service: TestClient[Any, Any], browser: Browser) -> None:
    page, errors = await new_page(browser, DESKTOP)
    await page.goto(base_url(service))
    assert await page.title() == "Trợ lý thủ tục hành chính — Thành phố Hải Phòng"
    assert await page.get_attribute("html", "lang") == "vi"
    # opened by default, with a greeting and example questions
    await expect(page.get_by_role("dialog", name="Trợ lý thủ tục hành chính")).to_be_visible()
    await expect(page.locator(".egb-welcome")).to_contain_text("Xin chào!")
    await expect(page.get_by_role("button", name="Làm căn cước cần giấy tờ gì?")).to_be_visible()

    await page.route("**/api/chat", slow_down)
    await ask(page, "làm hộ chiếu cần giấy tờ gì")
    await expect(user_messages(page).last).to_have_text("làm hộ chiếu cần giấy tờ gì")
    await expect(page.locator(".egb-typing")).to_be_visible()
    await expect(page.get_by_role("status")).to_contain_text("Trợ lý đang trả lời")
    answer = bot_messages(page).last
    await expect(answer).to_contain_text("Giấy tờ cần chuẩn bị cho thủ tục Cấp hộ chiếu")
    await expect(page.locator(".egb-typing")).to_be_hidden()
    await expect(page.locator(".egb-welcome")).to_be_hidden()
    # line breaks and numbered steps are kept; the source address is a safe link
    assert "\n1. Tờ khai" in await answer.inner_text()
    link = answer.locator("a.egb-inline-link")
    assert (await link.get_attribute("href") or "").startswith(
        "https://dichvucong.gov.vn/thu-tuc-hanh-chinh/")
    assert await link.get_attribute("target") == "_blank"
    assert "noopener" in (await link.get_attribute("rel") or "")
    # the citizen on the right, the bot on the left
    user_box = await user_messages(page).last.bounding_box()
    bot_box = await answer.bounding_box()
    assert user_box and bot_box and user_box["x"] > bot_box["x"]
    await page.screenshot(path="/tmp/widget-desktop.png")

    await page.get_by_role("button", name="Lệ phí", exact=True).click()
    await expect(user_messages(page).last).to_have_text("Lệ phí")
    await expect(bot_messages(page).last).to_contain_text(
        "Lệ phí thủ tục Cấp hộ chiếu phổ thông ở trong nước")
    # the earlier reply's choices are put away once the citizen has answered
    await expect(page.get_by_role("button", name="Kiểm tra giấy tờ")).to_have_count(1)
    sender = await page.evaluate(SENDER_JS)
    assert isinstance(sender, str) and len(sender) >= 20

    await page.reload()
    await expect(user_messages(page)).to_have_text(["làm hộ chiếu cần giấy tờ gì", "Lệ phí"])
    await expect(bot_messages(page)).to_have_count(2)
    await expect(bot_messages(page).last).to_contain_text("Lệ phí thủ tục Cấp hộ chiếu")
    assert await page.evaluate(SENDER_JS) == sender

    await page.get_by_role("button", name="Cuộc trò chuyện mới").click()
    await expect(page.locator(".egb-log .egb-msg")).to_have_count(0)
    await expect(page.locator(".egb-welcome")).to_contain_text("Xin chào!")
    assert await page.evaluate(SENDER_JS) is None  # the server issues one with the 1st message
    await page.reload()
    await expect(page.locator(".egb-welcome")).to_be_visible()
    await expect(page.locator(".egb-log .egb-msg")).to_have_count(0)
    await ask(page, "chào bạn")
    await expect(bot_messages(page)).to_have_count(1)
    assert await page.evaluate(SENDER_JS) not in (None, sender)
    assert errors == []


async def test_markup_is_shown_as_text(service: TestClient[Any, Any], browser: Browser) -> None:
    page, errors = await new_page(browser, DESKTOP)
    await page.goto(base_url(service))
    await ask(page, "<b>xin chào</b>")
    await expect(user_messages(page).last).to_have_text("<b>xin chào</b>")
    await expect(bot_messages(page).last).to_contain_text("Xin chào!")
    assert await page.locator(".egb-root b").count() == 0

    async def hostile_reply(route: Route) -> None:
        await route.fulfill(json=[{
            "recipient_id": "x",
            "text": '<script>window.__pwned = 1</script><img src="x" '
                    'onerror="window.__pwned = 1"> xem https://example.gov.vn/a_(b)).',
            "buttons": [{"title": "<i>Nút</i>", "payload": "/greet"}],
            "links": [{"title": "Lừa", "url": "javascript:window.__pwned = 1"},
                      {"title": "Cổng", "url": "https://dichvucong.gov.vn"}],
        }])

    await page.route("**/api/chat", hostile_reply)
    await ask(page, "thử")
    reply = page.locator(".egb-log .egb-msg-bot").last
    await expect(reply.locator(".egb-bubble")).to_contain_text("<script>window.__pwned = 1")
    await expect(reply.locator(".egb-bubble")).to_contain_text('<img src="x"')
    assert await page.locator(".egb-root script, .egb-root img, .egb-root i").count() == 0
    assert await page.evaluate("() => window.__pwned") is None
    await expect(reply.get_by_role("button", name="<i>Nút</i>")).to_be_visible()
    # a web address inside text becomes a link, the trailing ")." is not part of it
    assert await reply.locator(".egb-inline-link").get_attribute("href") == \
        "https://example.gov.vn/a_(b)"
    # a javascript: link is shown as text, never as a link
    assert await reply.locator("a[href^='javascript']").count() == 0
    await expect(reply.locator(".egb-links")).to_contain_text("Lừa")
    good = reply.get_by_role("link", name="Cổng")
    assert await good.get_attribute("href") == "https://dichvucong.gov.vn/"
    assert await good.get_attribute("target") == "_blank"
    assert "noopener" in (await good.get_attribute("rel") or "")
    assert errors == []


async def test_staff_reply_arrives_by_polling(service: TestClient[Any, Any],
                                              browser: Browser) -> None:
    page, errors = await new_page(browser, DESKTOP)
    await page.goto(base_url(service))
    await ask(page, "cho gặp nhân viên")
    await expect(bot_messages(page)).to_have_count(1)
    sender = await page.evaluate(SENDER_JS)
    web_channel = service.app[DISPATCHER].channels["web"]
    sender = web_channel.verified(sender)  # the widget keeps the signed id; send() takes the id
    assert sender is not None

    await web_channel.send(sender, [Reply("Chào anh/chị, em là nhân viên hỗ trợ.\n"
                                          "Anh/chị cần giúp gì ạ?")])
    await expect(bot_messages(page).last).to_have_text(
        "Chào anh/chị, em là nhân viên hỗ trợ.\nAnh/chị cần giúp gì ạ?", timeout=POLL_WAIT_MS)

    # with the panel closed, the launcher shows an unread count
    await page.get_by_role("button", name="Đóng cửa sổ trò chuyện").click()
    launcher = page.locator(".egb-launcher")
    await expect(launcher).to_be_visible()
    await expect(launcher).to_be_focused()
    await web_channel.send(sender, [Reply("Anh/chị còn ở đó không ạ?")])
    await expect(page.locator(".egb-badge")).to_have_text("1", timeout=POLL_WAIT_MS)
    await expect(page.get_by_role("button", name="Hỏi đáp thủ tục (có tin nhắn mới)")) \
        .to_be_visible()
    await launcher.click()
    await expect(bot_messages(page).last).to_have_text("Anh/chị còn ở đó không ạ?")
    await expect(page.locator(".egb-badge")).to_be_hidden()
    await expect(page.get_by_label("Nhập câu hỏi của bạn")).to_be_focused()

    # after a reload the staff replies are shown once, not fetched again
    await page.reload()
    await expect(bot_messages(page)).to_have_count(3)
    async with page.expect_response(lambda r: "/api/chat/poll" in r.url,
                                    timeout=POLL_WAIT_MS):
        pass
    await page.wait_for_timeout(300)  # let the widget handle that poll's answer
    await expect(bot_messages(page)).to_have_count(3)
    assert errors == []


async def test_unreachable_server_gives_an_error_and_a_retry(
        service: TestClient[Any, Any], browser: Browser) -> None:
    page, errors = await new_page(browser, DESKTOP)
    await page.goto(base_url(service))

    async def refuse(route: Route) -> None:
        await route.abort("connectionrefused")

    await page.route("**/api/chat", refuse)
    await ask(page, "chào bạn")
    error = page.get_by_role("alert")
    await expect(error).to_contain_text("Không kết nối được với máy chủ")
    await expect(page.locator(".egb-typing")).to_be_hidden()
    await expect(bot_messages(page)).to_have_count(0)

    await page.unroute("**/api/chat", refuse)
    await page.get_by_role("button", name="Thử lại").click()
    await expect(bot_messages(page).last).to_contain_text("Xin chào!")
    await expect(page.get_by_role("alert")).to_have_count(0)
    await expect(user_messages(page)).to_have_text(["chào bạn"])
    assert errors == []


async def test_keyboard_and_length_limit(service: TestClient[Any, Any],
                                         browser: Browser) -> None:
    page, errors = await new_page(browser, DESKTOP)
    await page.goto(base_url(service))
    box = page.get_by_label("Nhập câu hỏi của bạn")
    # Escape closes and gives focus back to the launcher; Enter on it opens and focuses the box
    await box.focus()
    await page.keyboard.press("Escape")
    await expect(page.get_by_role("dialog")).to_be_hidden()
    await expect(page.locator(".egb-launcher")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(box).to_be_focused()

    await box.fill("a" * 3600)
    await expect(page.locator(".egb-counter")).to_have_text("3.600/4.000")
    await box.fill("a" * 4100)
    assert len(await box.input_value()) == 4000
    await expect(page.locator(".egb-counter")).to_have_text("Tin nhắn dài tối đa 4.000 ký tự.")
    # Shift+Enter adds a line, Enter sends
    await box.fill("")
    await box.type("thủ tục")
    await box.press("Shift+Enter")
    await box.type("đăng ký kết hôn")
    await box.press("Enter")
    await expect(user_messages(page).last).to_have_text("thủ tục\nđăng ký kết hôn")
    await expect(bot_messages(page).last).to_contain_text("kết hôn")
    await expect(box).to_have_value("")
    await expect(page.locator(".egb-counter")).to_have_text("")
    assert errors == []


async def test_phone_sized_screen(service: TestClient[Any, Any], browser: Browser) -> None:
    page, errors = await new_page(browser, PHONE, is_mobile=True, has_touch=True)
    await page.goto(base_url(service))
    panel = page.get_by_role("dialog")
    await expect(panel).to_be_visible()
    assert await panel.bounding_box() == {"x": 0, "y": 0, "width": 375, "height": 667}
    await page.get_by_role("button", name="Làm hộ chiếu hết bao nhiêu tiền?").tap()
    await expect(bot_messages(page).last).to_contain_text("Lệ phí thủ tục Cấp hộ chiếu")
    for control in (page.get_by_label("Nhập câu hỏi của bạn"), page.get_by_role("button",
                    name="Gửi", exact=True),
                    page.get_by_role("button", name="Gửi ảnh giấy tiếp nhận hồ sơ"),
                    page.get_by_role("button", name="Đóng cửa sổ trò chuyện")):
        found = await control.bounding_box()
        assert found is not None
        assert found["x"] >= 0 and found["x"] + found["width"] <= 375
        assert found["y"] >= 0 and found["y"] + found["height"] <= 667
        assert found["height"] >= 40  # big enough to tap
    # nothing sticks out sideways
    assert await page.evaluate(
        "() => document.querySelector('.egb-scroll').scrollWidth"
        " <= document.querySelector('.egb-scroll').clientWidth")
    await page.screenshot(path="/tmp/widget-phone.png")
    await page.get_by_role("button", name="Đóng cửa sổ trò chuyện").tap()
    await expect(panel).to_be_hidden()
    await page.locator(".egb-launcher").tap()
    await expect(panel).to_be_visible()
    assert errors == []


HOST_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>City portal</title>
<style>
  button {{ background: red; font-size: 30px; }}
  div {{ margin: 20px; }}
  .msg, .panel, .launcher {{ display: none; }}
</style></head>
<body>
  <h1>City portal</h1>
  <button id="host-button">Portal button</button>
  <script src="{widget}" defer></script>
</body></html>"""


@pytest.fixture
async def portal(service: TestClient[Any, Any]) -> AsyncIterator[str]:
    """Another site on another loopback port that embeds the widget by absolute URL."""
    widget = base_url(service) + "static/widget.js"

    async def home(_request: web.Request) -> web.Response:
        return web.Response(text=HOST_PAGE.format(widget=widget), content_type="text/html")

    app = web.Application()
    app.router.add_get("/", home)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield str(server.make_url("/"))
    await server.close()


async def test_embedded_in_another_site(service: TestClient[Any, Any], browser: Browser,
                                        portal: str) -> None:
    page, errors = await new_page(browser, DESKTOP)
    api_requests: list[str] = []
    page.on("request", lambda r: api_requests.append(r.url) if "/api/chat" in r.url else None)
    await page.goto(portal)
    assert not portal.startswith(base_url(service))
    launcher = page.get_by_role("button", name="Hỏi đáp thủ tục")
    await expect(launcher).to_be_visible()
    await expect(page.get_by_role("dialog")).to_be_hidden()  # closed unless data-open
    await launcher.click()
    await ask(page, "làm hộ chiếu cần giấy tờ gì")
    await expect(bot_messages(page).last).to_contain_text("Cấp hộ chiếu")
    await page.get_by_role("button", name="Lệ phí", exact=True).click()
    await expect(bot_messages(page).last).to_contain_text("Lệ phí thủ tục Cấp hộ chiếu")
    # the API calls went to our server, cross-origin
    assert api_requests and all(url.startswith(base_url(service) + "api/chat")
                                for url in api_requests)
    # the conversation is kept in the portal's storage under our server's name
    keys = await page.evaluate("() => Object.keys(localStorage)")
    assert keys == ["egovbot:" + base_url(service).rstrip("/")]
    # neither side restyles the other: the widget only uses egb- classes
    assert await page.evaluate("""() => [...document.querySelectorAll('#egb-root, #egb-root *')]
        .every(e => [...e.classList].every(c => c.startsWith('egb-')))""")
    host_button = page.locator("#host-button")
    assert await host_button.evaluate("e => getComputedStyle(e).fontSize") == "30px"
    choice = page.locator(".egb-choice").first
    assert await choice.evaluate("e => getComputedStyle(e).fontSize") == "14px"
    assert errors == []


async def test_widget_css_is_scoped(service: TestClient[Any, Any], browser: Browser) -> None:
    page, errors = await new_page(browser, DESKTOP)
    await page.goto(base_url(service))
    await expect(page.get_by_role("dialog")).to_be_visible()
    outside = await page.evaluate("""() => {
      const sheet = [...document.styleSheets].find(s => (s.href || '').includes('widget.css'));
      const bad = [];
      const check = rules => { for (const rule of rules) {
        if (rule.selectorText !== undefined) {
          for (const sel of rule.selectorText.split(',')) {
            if (!sel.trim().startsWith('.egb-root')) bad.push(sel);
          }
        } else if (rule.name !== undefined) {
          if (!rule.name.startsWith('egb-')) bad.push(rule.name);
        } else if (rule.cssRules) { check(rule.cssRules); }
      } };
      check(sheet.cssRules);
      return bad;
    }""")
    assert outside == []
    assert errors == []


async def test_chat_api_answers_cross_origin_requests(service: TestClient[Any, Any]) -> None:
    for path in ("/api/chat", "/api/chat/poll", "/webhooks/rest/webhook"):
        preflight = await service.options(path, headers={
            "Origin": "https://portal.example", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type"})
        assert preflight.status == 204
        assert preflight.headers["Access-Control-Allow-Origin"] == "*"
        assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
        assert "content-type" in preflight.headers["Access-Control-Allow-Headers"].lower()
        assert "Access-Control-Allow-Credentials" not in preflight.headers
    origin = {"Origin": "https://portal.example"}
    chat = await service.post("/api/chat", json={"sender": "c1", "message": "chào bạn"},
                              headers=origin)
    assert chat.headers["Access-Control-Allow-Origin"] == "*"
    bad = await service.post("/api/chat", json={"sender": "c1"}, headers=origin)
    assert bad.status == 400 and bad.headers["Access-Control-Allow-Origin"] == "*"
    poll = await service.get("/api/chat/poll", params={"sender": "c1"}, headers=origin)
    assert poll.headers["Access-Control-Allow-Origin"] == "*"
