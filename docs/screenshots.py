"""Takes the README's screenshots: the chat widget and the main staff pages, with demo data.

Run ``.venv/bin/python docs/screenshots.py`` (needs Debian's chromium, which ``make test``
installs). It starts the whole service in-process on a free loopback port with a temporary
SQLite database, talks to it as a few citizens, logs in as an administrator and writes PNG
files to ``docs/screenshots/``.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.admin.web import STAFF_STORE
from bot.service.app import create_app
from bot.service.appkeys import ADMIN_APP
from bot.service.settings import Settings
from bot.storage.roles import Role
from tests.browser import launch_chromium

OUT = Path(__file__).parent / "screenshots"
PASSWORD = "mat-khau-demo-2026"
CITIZENS = {
    "demo-lan": ["lam cccd het bao nhieu tien", "nộp ở đâu", "tra cứu hồ sơ 000.00.12.H31-261110-0003"],
    "demo-minh": ["thủ tục đăng ký kết hôn", "cần giấy tờ gì"],
    "demo-hoa": ["cho hỏi cái này với", "giá vàng hôm nay", "cho tôi gặp nhân viên"],
    "demo-tuan": ["xin giay phep xay dung nha o mat bao lau", "lam online dc ko"],
    "demo-thu": ["cho hoi cai nay voi ad", "bao lâu có sổ đỏ"],
}


async def main() -> None:
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(data_dir=Path(data_dir), reload_interval=60,
                            web_allow_unsigned_senders=True)  # it chats as "demo"
        app = await create_app(settings)
        client = TestClient(TestServer(app, host="127.0.0.1"))
        await client.start_server()
        try:
            await app[ADMIN_APP][STAFF_STORE].add_user("quantri", PASSWORD, Role.ADMIN)
            for sender, messages in CITIZENS.items():
                for text in messages:
                    await client.post("/api/chat", json={"sender": sender, "message": text})
            await shoot(str(client.make_url("")).rstrip("/"))
        finally:
            await client.close()


async def shoot(base: str) -> None:
    async with launch_chromium() as browser:
        phone = await browser.new_page(viewport={"width": 390, "height": 760})
        await phone.goto(f"{base}/")
        await phone.get_by_label("Nhập câu hỏi của bạn").fill("làm hộ chiếu cần giấy tờ gì")
        await phone.keyboard.press("Enter")
        await phone.get_by_text("Giấy tờ cần chuẩn bị cho thủ tục").wait_for()
        await phone.screenshot(path=OUT / "widget-phone.png")

        page = await browser.new_page(viewport={"width": 1280, "height": 860})
        await page.goto(f"{base}/admin/login")
        await page.get_by_label("Tên đăng nhập").fill("quantri")
        await page.get_by_label("Mật khẩu").fill(PASSWORD)
        await page.get_by_role("button", name="Đăng nhập").click()
        await page.wait_for_url("**/admin")
        for name, path in [
            ("dashboard", "/admin"),
            ("transcripts", "/admin/conversations"),
            ("handoff", "/admin/handoff"),
            ("inbox", "/admin/inbox"),
            ("models", "/admin/models"),
            ("kb", "/admin/kb"),
            ("kb-edit", "/admin/kb/procedure/ho-chieu"),
        ]:
            await page.goto(f"{base}{path}")
            await page.wait_for_load_state("networkidle")
            await page.screenshot(path=OUT / f"{name}.png")
            print(f"wrote {OUT / (name + '.png')}")


if __name__ == "__main__":
    asyncio.run(main())
