"""Transcripts: filters, accent-insensitive search, keyset paging, one conversation, notes,
tags, CSV export and access rules, over real HTTP and in a browser."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import logging
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from playwright.async_api import expect
from sqlalchemy import update

import bot.storage.transcripts as transcripts_module
from bot.admin.transcripts import TRANSCRIPTS, conversation_url
from bot.admin.web import STAFF_STORE
from bot.service.app import create_app
from bot.service.appkeys import ADMIN_APP, RUNTIME
from bot.service.settings import Settings
from bot.storage.conversations import TurnRecord
from bot.storage.roles import Role
from bot.storage.tables import ConversationRow
from bot.storage.transcripts import (
    ConversationSummary,
    Cursor,
    TranscriptError,
    TranscriptFilter,
    parse_tags,
)
from knowledge.clock import VN_TIME as VN
from nlu.engine import NluModel
from tests.bot.admin.conftest import ADMIN, PASSWORD, STAFF, LoginAs, http_login

LINK = re.compile(r'href="/admin/conversations/([^"/?]*%3A[^"/?]*)"')
OLD = dt.datetime(2025, 1, 10, 3, 0, tzinfo=dt.UTC)  # 10/01/2025 10:00 in Vietnam


async def _set(client: TestClient[Any, Any], conversation_id: str, **values: Any) -> None:
    """Write summary columns directly (dates, feedback) as the bot would have."""
    engine = client.app[RUNTIME].engine
    async with engine.begin() as connection:
        await connection.execute(update(ConversationRow)
                                 .where(ConversationRow.id == conversation_id).values(**values))


@pytest.fixture
async def seeded(accounts: TestClient[Any, Any]) -> TestClient[Any, Any]:
    """Conversations from the web chat, plus Telegram and Zalo ones written directly."""
    for sender, text in [("a", "làm hộ chiếu cần giấy tờ gì"),
                         ("b", "giá vàng hôm nay"),
                         ("c", "cho tôi gặp nhân viên"),
                         ("d", "<script>alert(1)</script> lam cccd o dau"),
                         ("e", "=HYPERLINK(\"http://x\") xin chào")]:
        response = await accounts.post("/api/chat", json={"sender": sender, "message": text})
        assert response.status == 200
    conversations = accounts.app[RUNTIME].stores.conversations
    await conversations.save("telegram:12345", "telegram", "12345", {}, "bot", [
        TurnRecord("in", "đổi bằng lái ở đâu", intent="procedure_location", confidence=0.3,
                   procedure="doi-gplx"),
        TurnRecord("out", "Bạn có thể nộp tại Sở Xây dựng", action="procedure_location")])
    await conversations.save("zalo:777", "zalo", "777", {}, "bot", [
        TurnRecord("in", "đăng ký kết hôn cần gì", intent="procedure_documents",
                   confidence=0.9, procedure="ket-hon"),
        TurnRecord("out", "Giấy tờ cần chuẩn bị: …", action="procedure_documents")])
    await _set(accounts, "zalo:777", updated_at=OLD, created_at=OLD)
    await _set(accounts, "web:a", feedback_down=1)
    return accounts


async def _all(client: TestClient[Any, Any]) -> list[ConversationSummary]:
    page = await client.app[ADMIN_APP][TRANSCRIPTS].page(TranscriptFilter(), size=500)
    return page.items


async def listed(client: TestClient[Any, Any], query: str) -> list[str]:
    """The conversation ids the list page shows for a query string."""
    response = await client.get(f"/admin/conversations?{query}")
    assert response.status == 200, await response.text()
    return [unquote(found) for found in LINK.findall(await response.text())]


FILTERS: list[tuple[str, Callable[[ConversationSummary], bool]]] = [
    ("channel=telegram", lambda c: c.channel == "telegram"),
    ("channel=web", lambda c: c.channel == "web"),
    ("from=2025-01-10&to=2025-01-10", lambda c: c.updated_at.astimezone(VN).date()
     == dt.date(2025, 1, 10)),
    ("from=2025-01-11", lambda c: c.updated_at.astimezone(VN).date() >= dt.date(2025, 1, 11)),
    ("intent=procedure_documents", lambda c: "procedure_documents" in c.intents),
    ("procedure=ho-chieu", lambda c: "ho-chieu" in c.procedures),
    ("procedure=doi-gplx", lambda c: "doi-gplx" in c.procedures),
    ("confidence=0.45", lambda c: c.min_confidence is not None and c.min_confidence < 0.45),
    ("fallback=1", lambda c: c.fallbacks > 0),
    ("handoff=1", lambda c: c.handoff),
    ("negative=1", lambda c: c.feedback_down > 0),
    ("channel=web&procedure=can-cuoc", lambda c: c.channel == "web"
     and "can-cuoc" in c.procedures),
]


async def test_every_filter_narrows_the_list(seeded: TestClient[Any, Any]) -> None:
    await http_login(seeded, STAFF)
    everything = await _all(seeded)
    assert len(everything) == 7
    assert sorted(await listed(seeded, "")) == sorted(c.id for c in everything)
    for query, keep in FILTERS:
        expected = [c.id for c in everything if keep(c)]
        assert 0 < len(expected) < len(everything), query  # the filter really narrows
        assert await listed(seeded, query) == expected, query


async def test_search_ignores_accents_and_case(seeded: TestClient[Any, Any]) -> None:
    await http_login(seeded, STAFF)
    assert await listed(seeded, "q=ho+chieu") == ["web:a"]
    assert await listed(seeded, "q=H%E1%BB%99+CHI%E1%BA%BEU") == ["web:a"]  # HỘ CHIẾU
    assert await listed(seeded, "q=bang+lai") == ["telegram:12345"]
    assert await listed(seeded, "q=cccd") == ["web:d"]  # abbreviations fold the same way
    assert await listed(seeded, "q=hieu") == []  # matches start at a word ("chiếu" is not)
    assert await listed(seeded, "q=ho+chieu&channel=telegram") == []
    page = await (await seeded.get("/admin/conversations?q=ho+chieu")).text()
    assert 'value="ho chieu"' in page  # the form keeps what was typed
    assert "1 hội thoại khớp bộ lọc" in page


async def test_bad_filters_say_what_is_wrong(seeded: TestClient[Any, Any]) -> None:
    await http_login(seeded, STAFF)
    for query, message in [("from=31-12-2025", "Từ ngày không đúng dạng ngày"),
                           ("from=2025-02-01&to=2025-01-01", "đang sau"),
                           ("confidence=7", "Mức độ tin cậy không hợp lệ"),
                           ("q=%21%21%21", "Hãy nhập chữ hoặc số để tìm"),
                           ("intent=x%25y", "Giá trị ý định không hợp lệ"),
                           ("after=not-a-cursor", "Liên kết trang không hợp lệ")]:
        response = await seeded.get(f"/admin/conversations?{query}")
        assert response.status == 400, query
        page = await response.text()
        assert message in page, query
        assert 'id="conversations"' not in page
    response = await seeded.get("/admin/conversations.csv?from=abc")
    assert response.status == 400


async def test_keyset_pages_return_every_conversation_once(
        accounts: TestClient[Any, Any]) -> None:
    conversations = accounts.app[RUNTIME].stores.conversations
    for i in range(130):
        await conversations.save(f"zalo:{i}", "zalo", str(i), {}, "bot", [
            TurnRecord("in", f"câu hỏi số {i}", intent="help", confidence=0.9)])
    same = dt.datetime(2025, 3, 1, 8, 0, tzinfo=dt.UTC)  # ties across a page boundary
    for i in range(30, 90):
        await _set(accounts, f"zalo:{i}", updated_at=same)
    await http_login(accounts, STAFF)
    seen: list[str] = []
    url = "/admin/conversations?channel=zalo"
    pages = 0
    while url:
        page = await (await accounts.get(url)).text()
        seen.extend(unquote(found) for found in LINK.findall(page))
        pages += 1
        following = re.search(r'id="next-page" href="([^"]+)"', page)
        url = following.group(1).replace("&amp;", "&") if following else ""
        assert "channel=zalo" in url or not url  # the filters go along
    assert pages == 3
    assert len(seen) == 130 and set(seen) == {f"zalo:{i}" for i in range(130)}
    first = await (await accounts.get("/admin/conversations?channel=zalo")).text()
    assert "130 hội thoại khớp bộ lọc" in first


async def test_paging_is_exact_when_the_index_walk_stops_early(
        accounts: TestClient[Any, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """With a tiny scan window every page mixes the index walk and the table scan."""
    monkeypatch.setattr(transcripts_module, "SCAN_WINDOW", 7)
    conversations = accounts.app[RUNTIME].stores.conversations
    base = dt.datetime(2025, 4, 1, tzinfo=dt.UTC)
    for i in range(60):
        await conversations.save(f"web:p{i:02d}", "web", f"p{i:02d}", {}, "bot", [
            TurnRecord("in", "hộ chiếu" if i % 3 else "khai sinh", intent="help",
                       confidence=0.9)])
        await _set(accounts, f"web:p{i:02d}", updated_at=base + dt.timedelta(minutes=i // 4),
                   tags=" hiem " if i % 11 == 0 else " ")  # ties of four; a rare tag
    store = accounts.app[ADMIN_APP][TRANSCRIPTS]
    everything = await _all(accounts)
    for wanted, keep in [(TranscriptFilter(), lambda c: True),
                         (TranscriptFilter(tag="hiem"), lambda c: "hiem" in c.tags),
                         (TranscriptFilter(text="khai sinh"), lambda c: int(c.id[-2:]) % 3 == 0),
                         (TranscriptFilter(text="khong co"), lambda c: False)]:
        expected = [c.id for c in everything if keep(c)]
        seen: list[str] = []
        after = None
        while True:
            page = await store.page(wanted, after, size=4)
            seen.extend(item.id for item in page.items)
            if page.next is None:
                break
            after = page.next
        assert seen == expected, wanted


async def test_count_is_capped(accounts: TestClient[Any, Any]) -> None:
    store = accounts.app[ADMIN_APP][TRANSCRIPTS]
    conversations = accounts.app[RUNTIME].stores.conversations
    for i in range(12):
        await conversations.save(f"web:n{i}", "web", f"n{i}", {}, "bot",
                                 [TurnRecord("in", "xin chào")])
    assert await store.count(TranscriptFilter(channel="web"), cap=10) == 11
    assert await store.count(TranscriptFilter(channel="web"), cap=100) == 12


async def test_one_conversation_shows_its_turns_escaped(seeded: TestClient[Any, Any]) -> None:
    await http_login(seeded, STAFF)
    page = await (await seeded.get(conversation_url("web:d"))).text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)" not in page
    assert "Người dân" in page and "Bot" in page
    assert "thủ tục: Cấp thẻ căn cước" in page  # the parse, under the citizen's message
    assert re.search(r"ý định: Nơi nộp hồ sơ, tin cậy \d+%", page)
    assert re.search(r"hành động: [^<·]+ · xử lý \d+ ms", page)  # under the bot's reply
    assert not re.search(r"hành động: [a-z_]+ ", page)  # a title, not the action's id
    listing = await (await seeded.get("/admin/conversations")).text()
    assert "<script>alert(1)" not in listing and "&lt;script&gt;" in listing
    telegram = await (await seeded.get("/admin/conversations/telegram%3A12345")).text()
    assert telegram.index("đổi bằng lái ở đâu") < telegram.index("Bạn có thể nộp tại")
    assert "Nơi nộp hồ sơ" in telegram and "30%" in telegram
    assert "ý định: Nơi nộp hồ sơ" in telegram  # staff read titles, never intent ids
    assert "ý định: procedure_location" not in telegram and "(procedure_location)" not in telegram
    missing = await seeded.get(conversation_url("web:khong-co"))
    assert missing.status == 404 and "Không tìm thấy hội thoại" in await missing.text()


async def test_ids_with_any_character_round_trip(accounts: TestClient[Any, Any]) -> None:
    odd = "web:a/b?c#d%e f"
    await accounts.app[RUNTIME].stores.conversations.save(odd, "web", "a/b?c#d%e f", {}, "bot", [
        TurnRecord("in", "xin chào")])
    csrf = await http_login(accounts, STAFF)
    assert conversation_url(odd) == "/admin/conversations/web%3Aa%2Fb%3Fc%23d%25e%20f"
    assert (await accounts.get(conversation_url(odd))).status == 200
    response = await accounts.post(conversation_url(odd, "/notes"),
                                   data={"csrf_token": csrf, "text": "ghi chú"},
                                   allow_redirects=False)
    assert response.status == 303
    shown = await accounts.get(response.headers["Location"])  # back on the same conversation
    page = await shown.text()
    assert shown.status == 200 and "Đã lưu ghi chú" in page and "Hội thoại web:a/b?c#d%e f" in page


async def test_notes_and_tags_are_saved_and_audited(seeded: TestClient[Any, Any]) -> None:
    csrf = await http_login(seeded, STAFF)
    url = conversation_url("web:a")
    response = await seeded.post(f"{url}/notes", data={
        "csrf_token": csrf, "text": "Người dân cần gọi lại <b>gấp</b>"})
    assert response.status == 200  # followed the redirect
    page = await response.text()
    assert "Đã lưu ghi chú" in page and "gọi lại &lt;b&gt;gấp&lt;/b&gt;" in page
    response = await seeded.post(f"{url}/tags", data={
        "csrf_token": csrf, "tags": "Khiếu nại, cần gọi lại, khiếu nại"})
    assert "Đã lưu nhãn" in await response.text()
    staff = seeded.app[ADMIN_APP][STAFF_STORE]
    log = await staff.audit_log(kind="conversation", entry_id="web:a")
    assert [entry.action for entry in log] == ["tags", "note"]
    assert log[0].username == STAFF and log[0].after == {"tags": ["khieu-nai", "can-goi-lai"]}
    assert log[1].after == {"note": "Người dân cần gọi lại <b>gấp</b>"}
    assert await listed(seeded, "tag=khieu-nai") == ["web:a"]
    assert await listed(seeded, "tag=Khi%E1%BA%BFu+n%E1%BA%A1i") == ["web:a"]  # as typed
    detail = await seeded.app[ADMIN_APP][TRANSCRIPTS].conversation("web:a")
    assert detail is not None and detail.summary.tags == ["khieu-nai", "can-goi-lai"]
    assert detail.summary.messages == 1  # the bot's summary columns are untouched

    # Bad input: a clear message, nothing changes.
    for field, value, message in [("tags", "!!!", "không dùng được"),
                                  ("tags", ",".join(f"n{i}" for i in range(11)), "tối đa"),
                                  ("text", "   ", "Ghi chú đang trống"),
                                  ("text", "x" * 2001, "dài quá")]:
        target = "tags" if field == "tags" else "notes"
        response = await seeded.post(f"{url}/{target}", data={"csrf_token": csrf,
                                                              field: value})
        assert response.status == 400 and message in await response.text(), value
    assert len(await staff.audit_log(kind="conversation", entry_id="web:a")) == 2
    forged = await seeded.post(f"{url}/notes", data={"csrf_token": "x", "text": "a"})
    assert forged.status == 403
    unknown = await seeded.post(conversation_url("web:zzz", "/notes"),
                                data={"csrf_token": csrf, "text": "a"})
    assert unknown.status == 404
    detail = await seeded.app[ADMIN_APP][TRANSCRIPTS].conversation("web:a")
    assert detail is not None and len(detail.notes) == 1


def _csv(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


async def test_csv_export_of_a_filtered_list(seeded: TestClient[Any, Any]) -> None:
    await http_login(seeded, STAFF)
    response = await seeded.get("/admin/conversations.csv?procedure=ho-chieu")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in response.headers["Content-Disposition"]
    rows = _csv(await response.read())
    assert rows[0][:3] == ["Mã hội thoại", "Kênh", "Người dùng"]
    assert [row[0] for row in rows[1:]] == ["web:a"]
    assert rows[1][rows[0].index("Tin nhắn đầu tiên")] == "làm hộ chiếu cần giấy tờ gì"
    everything = _csv(await (await seeded.get("/admin/conversations.csv")).read())
    assert len(everything) == 1 + 7
    injected = next(row for row in everything if row[0] == "web:e")
    assert injected[-1].startswith("'=HYPERLINK")  # no formula runs in a spreadsheet

    turns = _csv(await (await seeded.get("/admin/conversations/turns.csv?channel=telegram"))
                 .read())
    assert turns[0][:4] == ["Mã hội thoại", "Kênh", "Thời điểm (giờ Việt Nam)", "Chiều"]
    assert [(row[0], row[3], row[5]) for row in turns[1:]] == [
        ("telegram:12345", "Người dân", "đổi bằng lái ở đâu"),
        ("telegram:12345", "Bot", "Bạn có thể nộp tại Sở Xây dựng")]
    log = await seeded.app[ADMIN_APP][STAFF_STORE].audit_log(kind="conversation", entry_id="*")
    assert [entry.action for entry in log] == ["export"] * 3


@pytest.fixture
async def served(tmp_path: Path, shipped_model: NluModel,
                 simulator: str) -> AsyncIterator[tuple[web.Application, str]]:
    """The app run as `egovbot serve` runs it (a plain AppRunner: unlike aiohttp's TestServer,
    it does not cancel a handler whose client went away) on a loopback port; the app and its
    base URL, with a staff account."""
    settings = Settings(data_dir=tmp_path / "var", dossier_api_token="test-token")
    shipped_model.save(settings.model_path)
    app = await create_app(settings, simulator)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    await app[ADMIN_APP][STAFF_STORE].add_user(STAFF, PASSWORD, Role.STAFF)
    try:
        yield app, f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


class _RequestEnded(logging.Handler):
    """Sets ``ended`` when the server is done with a request for ``path``: its access-log line,
    or any ERROR record (aiohttp's "Error handling request" comes instead of the access line)."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
        self.ended = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR or (record.name == "aiohttp.access"
                                               and self.path in record.getMessage()):
            self.ended.set()


@pytest.mark.parametrize("path", ["/admin/conversations.csv", "/admin/conversations/turns.csv"])
async def test_a_client_leaving_mid_export_leaves_no_error_in_the_log(
        served: tuple[web.Application, str], path: str, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    app, url = served
    store = app[ADMIN_APP][TRANSCRIPTS]
    real_batches = store.batches
    left = asyncio.Event()

    async def long_export(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        """The first batch, then (once the client has gone) the same again, as a long
        export would go on writing."""
        first = await anext(aiter(real_batches(*args, **kwargs)))
        yield first
        await left.wait()
        for _ in range(100):
            yield first

    monkeypatch.setattr(store, "batches", long_export)
    caplog.set_level(logging.INFO)
    watcher = _RequestEnded(path)
    logging.getLogger().addHandler(watcher)
    try:
        async with aiohttp.ClientSession(url, cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
            chat = await client.post("/api/chat", json={"sender": "a", "message": "chào bạn"})
            assert chat.status == 200
            await http_login(client, STAFF)
            response = await client.get(path)
            assert response.status == 200
            assert await response.content.readexactly(3) == b"\xef\xbb\xbf"  # the BOM
            response.close()  # the download is cancelled: the connection is closed
            left.set()
            await asyncio.wait_for(watcher.ended.wait(), 600)  # only a guard against hanging
    finally:
        left.set()
        logging.getLogger().removeHandler(watcher)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []
    assert any("went away" in r.getMessage() for r in caplog.records
               if r.name == "bot.admin.transcripts")


async def test_logged_out_is_redirected_and_staff_can_read(
        seeded: TestClient[Any, Any]) -> None:
    for url in ("/admin/conversations", conversation_url("web:a"),
                "/admin/conversations.csv", "/admin/conversations/turns.csv"):
        response = await seeded.get(url, allow_redirects=False)
        assert response.status == 303 and response.headers["Location"].startswith(
            "/admin/login"), url
    response = await seeded.post(conversation_url("web:a", "/notes"), data={"text": "a"},
                                 allow_redirects=False)
    assert response.status == 303
    await http_login(seeded, STAFF)
    for url in ("/admin/conversations", conversation_url("web:a"),
                "/admin/conversations.csv"):
        assert (await seeded.get(url)).status == 200, url


async def test_admin_can_read_too(seeded: TestClient[Any, Any]) -> None:
    await http_login(seeded, ADMIN)
    assert await listed(seeded, "handoff=1") == ["web:c"]


def test_tags_and_cursors() -> None:
    assert parse_tags("Khiếu nại, cần gọi lại\nkhieu-nai") == ["khieu-nai", "can-goi-lai"]
    assert parse_tags("  ") == []
    with pytest.raises(TranscriptError):
        parse_tags("???")
    cursor = Cursor(dt.datetime(2025, 5, 1, 1, 2, 3, 456789, tzinfo=dt.UTC), "web:a/b~c")
    assert Cursor.decode(cursor.encode()) == cursor
    for bad in ("", "abc", "e30", "WyJ4IiwgMV0"):
        with pytest.raises(TranscriptError):
            Cursor.decode(bad)


async def test_filter_and_open_a_conversation_in_a_browser(
        login_as: LoginAs, seeded: TestClient[Any, Any]) -> None:
    page = await login_as(STAFF)
    await page.get_by_role("link", name="Hội thoại").click()
    await page.get_by_label("Thủ tục").select_option(label="Cấp hộ chiếu phổ thông ở trong nước")
    await page.get_by_role("button", name="Lọc").click()
    await page.wait_for_url("**procedure=ho-chieu**")
    rows = page.locator("#conversations tbody tr")
    await expect(rows).to_have_count(1)
    await expect(page.get_by_label("Thủ tục")).to_have_value("ho-chieu")
    await page.screenshot(path="/tmp/admin-transcripts.png", full_page=True)
    await page.get_by_role("link", name="làm hộ chiếu cần giấy tờ gì").click()
    await page.wait_for_url("**/admin/conversations/web%3Aa")
    await expect(page.get_by_role("heading", name="Hội thoại web:a")).to_be_visible()
    await expect(page.locator("#turns .turn.in")).to_contain_text("làm hộ chiếu cần giấy tờ gì")
    await page.get_by_label("Ghi chú mới").fill("Đã gọi lại cho người dân")
    await page.get_by_role("button", name="Lưu ghi chú").click()
    await expect(page.get_by_role("status")).to_have_text("Đã lưu ghi chú")
    await expect(page.locator("#notes")).to_contain_text("Đã gọi lại cho người dân")
    await page.screenshot(path="/tmp/admin-transcript.png", full_page=True)
