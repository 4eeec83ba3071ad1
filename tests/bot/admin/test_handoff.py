"""Live handoff, ratings, office hours and 👍/👎 feedback, through the whole service.

A citizen talks to the real service on loopback (web chat API, or Telegram webhooks answered
through a fake Bot API); officers work the /admin/handoff pages over HTTP and in Chromium.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp import CookieJar
from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import expect
from sqlalchemy import select, update

from actions import texts
from bot.admin.handoff import DESK
from bot.admin.web import STAFF_STORE
from bot.core.messages import IncomingMessage
from bot.service.app import DISPATCHER, create_app
from bot.service.appkeys import ADMIN_APP, RUNTIME
from bot.service.composition import Runtime
from bot.service.settings import Settings
from bot.storage.db import make_sessionmaker
from bot.storage.handoff_queue import Outcome
from bot.storage.roles import Role
from bot.storage.tables import ConversationRow, TurnRow
from knowledge.office_hours import VN_TIME, OfficeSchedule
from nlu.engine import NluModel
from tests.bot.admin.conftest import ADMIN, PASSWORD, STAFF, LoginAs, http_login
from tests.conftest import prepare_data_dir
from tests.fakes.telegram_api import FakeTelegramApi, callback_update, text_update

Client = TestClient[Any, Any]
ALWAYS_OPEN = "mon-sun 00:00-24:00"
ASK_FOR_PERSON = "cho tôi gặp nhân viên"
HOTLINE = "1800 1096"
UP = '/feedback{"value":"up"}'
DOWN = '/feedback{"value":"down"}'


def handoff_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings for a test service: its own data, officers always at work unless told."""
    values: dict[str, Any] = {"data_dir": tmp_path / "var", "dossier_api_token": "test-token",
                              "dossier_api_timeout": 0.3, "dossier_api_deadline": 1.0,
                              "office_hours_schedule": ALWAYS_OPEN}
    return Settings(**{**values, **overrides})


@pytest.fixture
async def service(tmp_path: Path, shipped_model: NluModel, simulator: str,
                  database_template: Path) -> AsyncIterator[Client]:
    """The whole service, with officers always at work (the messages do not depend on the
    clock); the admin fixtures (accounts, login_as) use this one."""
    settings = handoff_settings(tmp_path)
    prepare_data_dir(settings, database_template, shipped_model)
    client = TestClient(TestServer(await create_app(settings, simulator), host="127.0.0.1"))
    await client.start_server()
    yield client
    await client.close()


@asynccontextmanager
async def another_browser(client: Client) -> AsyncIterator[Client]:
    """A second HTTP client with its own cookies, on the same running server."""
    other: Client = TestClient(client.server, cookie_jar=CookieJar(unsafe=True))
    try:
        yield other
    finally:
        await other.session.close()


async def say(client: Client, sender: str, text: str) -> list[dict[str, Any]]:
    response = await client.post("/api/chat", json={"sender": sender, "message": text})
    assert response.status == 200, await response.text()
    replies: list[dict[str, Any]] = await response.json()
    return replies


async def poll(client: Client, sender: str, after: int = 0) -> list[dict[str, Any]]:
    signed = client.app[DISPATCHER].channels["web"].sign(sender)  # the widget's is signed
    response = await client.get("/api/chat/poll", params={"sender": signed, "after": after})
    assert response.status == 200
    items: list[dict[str, Any]] = await response.json()
    return items


async def post(client: Client, csrf: str, path: str, **form: str) -> Any:
    return await client.post(path, data={"csrf_token": csrf, **form}, allow_redirects=False)


async def conversation(client: Client, conversation_id: str) -> ConversationRow:
    async with make_sessionmaker(client.app[RUNTIME].engine)() as session:
        row = await session.get(ConversationRow, conversation_id)
    assert row is not None
    return row


async def turns(client: Client, conversation_id: str) -> list[TurnRow]:
    runtime: Runtime = client.app[RUNTIME]
    return await runtime.stores.conversations.turns(conversation_id)


def path(conversation_id: str) -> str:
    return "/admin/handoff/" + conversation_id


async def waiting_citizen(client: Client, sender: str) -> str:
    """A web citizen who asked for a person; the conversation id."""
    [reply] = await say(client, sender, ASK_FOR_PERSON)
    assert "đã chuyển cuộc trò chuyện cho nhân viên" in reply["text"]
    return f"web:{sender}"


async def backdate_handoff(client: Client, conversation_id: str, minutes: int) -> None:
    at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes)
    async with make_sessionmaker(client.app[RUNTIME].engine).begin() as session:
        await session.execute(update(ConversationRow).where(ConversationRow.id == conversation_id)
                              .values(handoff_at=at))


# ---------------------------------------------------------------------------------------------
# The queue


async def test_a_citizen_asking_for_a_person_waits_in_the_queue_oldest_first(
        accounts: Client) -> None:
    first = await waiting_citizen(accounts, "citizen-old")
    second = await waiting_citizen(accounts, "citizen-new")
    await say(accounts, "citizen-old", "tôi cần hỏi về sổ đỏ <script>alert(1)</script>")
    await backdate_handoff(accounts, first, 75)
    await backdate_handoff(accounts, second, 12)
    await http_login(accounts, STAFF)
    page = await (await accounts.get("/admin/handoff")).text()
    assert page.index("citizen-old") < page.index("citizen-new")
    assert "1 giờ 15 phút" in page and "12 phút" in page
    assert "Đang chờ nhân viên (2)" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
    fragment = await (await accounts.get("/admin/handoff?fragment=1")).text()
    assert "<html" not in fragment and 'data-waiting="2"' in fragment
    conversation_page = await (await accounts.get(path(first))).text()
    assert "Đã chờ" in conversation_page and ">Nhận</button>" in conversation_page
    assert "&lt;script&gt;" in conversation_page


async def test_the_queue_needs_a_login(accounts: Client) -> None:
    response = await accounts.get("/admin/handoff", allow_redirects=False)
    assert response.status == 303 and "/admin/login" in response.headers["Location"]
    response = await accounts.post(path("web:x") + "/take", allow_redirects=False)
    assert response.status == 303  # not logged in: to the login page, nothing changed


async def test_an_officer_takes_a_conversation_and_the_citizen_is_told(
        accounts: Client) -> None:
    conversation_id = await waiting_citizen(accounts, "citizen-take")
    await backdate_handoff(accounts, conversation_id, 5)
    csrf = await http_login(accounts, STAFF)
    response = await post(accounts, csrf, path(conversation_id) + "/take")
    assert response.status == 303
    assert response.headers["Location"] == path(conversation_id) + "?ok=taken"
    row = await conversation(accounts, conversation_id)
    assert (row.status, row.assigned_to) == ("staff", STAFF)
    [notice] = await poll(accounts, "citizen-take")
    assert notice["text"] == texts.STAFF_TOOK and notice["sender"] == "bot"
    queue = await (await accounts.get("/admin/handoff")).text()
    assert "Không có ai đang chờ." in queue and "citizen-take" in queue  # now "in progress"
    [entry] = await accounts.app[ADMIN_APP][STAFF_STORE].audit_log("handoff", conversation_id)
    assert (entry.username, entry.action) == (STAFF, "take")
    assert entry.after is not None and 290 <= entry.after["waited_seconds"] <= 400
    # taking it again is harmless
    again = await post(accounts, csrf, path(conversation_id) + "/take")
    assert again.headers["Location"].endswith("?ok=mine")


async def test_two_officers_taking_at_once_one_wins(accounts: Client) -> None:
    conversation_id = await waiting_citizen(accounts, "citizen-race")
    staff_csrf = await http_login(accounts, STAFF)
    async with another_browser(accounts) as admin:
        admin_csrf = await http_login(admin, ADMIN)
        responses = await asyncio.gather(
            post(accounts, staff_csrf, path(conversation_id) + "/take"),
            post(admin, admin_csrf, path(conversation_id) + "/take"))
        statuses = sorted(r.status for r in responses)
        assert statuses == [303, 409]
        loser = next(r for r in responses if r.status == 409)
        winner = (await conversation(accounts, conversation_id)).assigned_to
        assert winner in (STAFF, ADMIN)
        assert f"Hội thoại này đã được {winner} nhận trước" in await loser.text()
    assert len(await poll(accounts, "citizen-race")) == 1  # one "someone is here" notice


async def test_taking_is_atomic_in_the_database(accounts: Client) -> None:
    """Without the in-process lock (as on two workers) the conditional UPDATE decides."""
    conversation_id = await waiting_citizen(accounts, "citizen-atomic")
    store = accounts.app[ADMIN_APP][DESK].store
    results = await asyncio.gather(*(store.take(conversation_id, f"officer{i}")
                                     for i in range(5)))
    outcomes = sorted(r.outcome for r in results)
    assert outcomes.count(Outcome.DONE) == 1 and outcomes.count(Outcome.TAKEN) == 4
    row = await conversation(accounts, conversation_id)
    winner = next(r for r in results if r.outcome is Outcome.DONE)
    assert winner.item is not None and row.assigned_to == winner.item.assigned_to


# ---------------------------------------------------------------------------------------------
# Replying, the bot's silence, closing and the rating


async def test_the_reply_reaches_the_web_citizen_and_the_transcript(accounts: Client) -> None:
    conversation_id = await waiting_citizen(accounts, "citizen-reply")
    csrf = await http_login(accounts, STAFF)
    await post(accounts, csrf, path(conversation_id) + "/take")
    text = "Chào bạn, hồ sơ sổ đỏ cần bản vẽ thửa đất. SĐT của bạn là 0912345678 phải không?"
    response = await post(accounts, csrf, path(conversation_id) + "/reply", text=text)
    assert response.status == 303 and response.headers["Location"].endswith("?ok=sent")
    items = await poll(accounts, "citizen-reply")
    assert [i["sender"] for i in items] == ["bot", "staff"]
    assert items[1]["text"] == text  # the citizen sees exactly what the officer wrote
    later = await poll(accounts, "citizen-reply", after=items[-1]["id"])
    assert later == []
    last = (await turns(accounts, conversation_id))[-1]
    assert (last.direction, last.sender, last.action) == ("out", STAFF, "staff_reply")
    assert "0912345678" not in last.text  # the transcript is masked, as every turn
    page = await (await accounts.get(path(conversation_id))).text()
    assert f"Nhân viên {STAFF}" in page and "hồ sơ sổ đỏ cần bản vẽ" in page
    actions = [e.action for e in await accounts.app[ADMIN_APP][STAFF_STORE].audit_log("handoff")]
    assert actions == ["reply", "take"]


async def test_while_staff_has_it_the_bot_stays_silent_and_the_officer_sees_new_messages(
        accounts: Client) -> None:
    conversation_id = await waiting_citizen(accounts, "citizen-quiet")
    csrf = await http_login(accounts, STAFF)
    await post(accounts, csrf, path(conversation_id) + "/take")
    before = (await turns(accounts, conversation_id))[-1].id
    assert await say(accounts, "citizen-quiet", "làm hộ chiếu cần giấy tờ gì") == []
    assert await say(accounts, "citizen-quiet", "bạn ơi") == []
    fresh = await (await accounts.get(path(conversation_id) + f"/turns?after={before}",
                                      headers={"Accept": "application/json"})).json()
    assert "làm hộ chiếu cần giấy tờ gì" in fresh["html"] and "bạn ơi" in fresh["html"]
    assert fresh["status"] == "staff" and fresh["assigned_to"] == STAFF
    assert fresh["last_id"] > before
    bad = await accounts.get(path(conversation_id) + "/turns?after=x")
    assert bad.status == 400


async def test_closing_gives_the_bot_back_and_asks_for_a_rating(accounts: Client) -> None:
    conversation_id = await waiting_citizen(accounts, "citizen-close")
    csrf = await http_login(accounts, STAFF)
    await post(accounts, csrf, path(conversation_id) + "/take")
    response = await post(accounts, csrf, path(conversation_id) + "/close")
    assert response.headers["Location"].endswith("?ok=closed")
    assert (await conversation(accounts, conversation_id)).status == "bot"
    ask = (await poll(accounts, "citizen-close"))[-1]
    assert ask["text"] == texts.ASK_RATING
    payloads = [b["payload"] for b in ask["buttons"]]
    assert payloads == [f'/rate{{"value":"{n}"}}' for n in (5, 4, 3, 2, 1)]
    # the bot answers again
    [answer] = await say(accounts, "citizen-close", "làm hộ chiếu cần giấy tờ gì")
    assert "Giấy tờ cần chuẩn bị cho thủ tục Cấp hộ chiếu" in answer["text"]
    # a rating is stored and thanked
    [thanks] = await say(accounts, "citizen-close", payloads[1])
    assert thanks["text"].startswith("Cảm ơn bạn đã đánh giá 4/5")
    assert (await conversation(accounts, conversation_id)).rating == 4
    [sorry] = await say(accounts, "citizen-close", payloads[4])  # a change of mind
    assert "1/5" in sorry["text"] and HOTLINE in sorry["text"]
    assert (await conversation(accounts, conversation_id)).rating == 1
    [invalid] = await say(accounts, "citizen-close", '/rate{"value":"9"}')
    assert invalid["text"] == texts.RATING_INVALID
    assert (await conversation(accounts, conversation_id)).rating == 1
    entry = (await accounts.app[ADMIN_APP][STAFF_STORE].audit_log("handoff", conversation_id))[0]
    assert (entry.action, entry.username) == ("close", STAFF)


async def test_a_conversation_without_staff_help_cannot_be_rated(accounts: Client) -> None:
    [reply] = await say(accounts, "citizen-norating", '/rate{"value":"5"}')
    assert reply["text"] == texts.RATING_NOTHING
    assert (await conversation(accounts, "web:citizen-norating")).rating is None


async def test_release_returns_to_the_bot_without_a_rating_and_a_new_request_waits_again(
        accounts: Client) -> None:
    conversation_id = await waiting_citizen(accounts, "citizen-release")
    await backdate_handoff(accounts, conversation_id, 30)
    csrf = await http_login(accounts, STAFF)
    await post(accounts, csrf, path(conversation_id) + "/take")
    response = await post(accounts, csrf, path(conversation_id) + "/release")
    assert response.headers["Location"].endswith("?ok=released")
    assert (await poll(accounts, "citizen-release"))[-1]["text"] == texts.STAFF_RELEASED
    assert (await conversation(accounts, conversation_id)).status == "bot"
    [answer] = await say(accounts, "citizen-release", "lệ phí làm hộ chiếu")
    assert "Lệ phí thủ tục Cấp hộ chiếu" in answer["text"]
    # asking again starts a new wait, and the bot reminds once again
    await waiting_citizen(accounts, "citizen-release")
    row = await conversation(accounts, conversation_id)
    assert row.status == "waiting" and row.handoff_at is not None
    handoff_at = row.handoff_at.replace(tzinfo=row.handoff_at.tzinfo or dt.UTC)
    assert dt.datetime.now(dt.UTC) - handoff_at < dt.timedelta(minutes=1)
    [reminder] = await say(accounts, "citizen-release", "còn ai không")
    assert "đang chờ nhân viên hỗ trợ" in reminder["text"]


async def test_only_the_officer_who_took_it_replies_and_closes(accounts: Client) -> None:
    conversation_id = await waiting_citizen(accounts, "citizen-mine")
    async with another_browser(accounts) as colleague:
        store = accounts.app[ADMIN_APP][STAFF_STORE]
        await store.add_user("hotro2", PASSWORD, Role.STAFF)
        colleague_csrf = await http_login(colleague, "hotro2")
        # replying before taking
        response = await post(colleague, colleague_csrf, path(conversation_id) + "/reply",
                              text="Xin chào")
        assert response.status == 409 and "Nhận" in await response.text()
        csrf = await http_login(accounts, STAFF)
        await post(accounts, csrf, path(conversation_id) + "/take")
        for action in ("reply", "close", "release"):
            response = await post(colleague, colleague_csrf, f"{path(conversation_id)}/{action}",
                                  text="Xin chào")
            assert response.status == 409
            assert f"Hội thoại này do {STAFF} đang hỗ trợ" in await response.text()
        page = await (await colleague.get(path(conversation_id))).text()
        assert 'id="reply-form"' not in page and f"Chỉ {STAFF} trả lời được" in page
    # bad replies change nothing
    empty = await post(accounts, csrf, path(conversation_id) + "/reply", text="  \x07 ")
    assert empty.status == 400 and "Bạn chưa nhập nội dung trả lời" in await empty.text()
    huge = await post(accounts, csrf, path(conversation_id) + "/reply", text="a" * 4001)
    assert huge.status == 400
    assert [t.action for t in await turns(accounts, conversation_id)][-1] == "handoff_taken"
    # an administrator may close someone else's conversation
    async with another_browser(accounts) as admin:
        admin_csrf = await http_login(admin, ADMIN)
        response = await post(admin, admin_csrf, path(conversation_id) + "/close")
        assert response.status == 303
    assert (await conversation(accounts, conversation_id)).status == "bot"
    missing = await post(accounts, csrf, path("web:nobody") + "/take")
    assert missing.status == 404


# ---------------------------------------------------------------------------------------------
# Office hours


async def test_outside_office_hours_the_citizen_is_told_when_and_the_hotline(
        runtime: Runtime) -> None:
    pipeline = runtime.pipeline
    pipeline.brain = pipeline.brain.with_services(replace(
        pipeline.brain.services, office_schedule=OfficeSchedule.parse("mon-fri 08:00-11:30")))
    saturday = dt.datetime(2026, 3, 14, 10, 0, tzinfo=VN_TIME)
    [reply] = (await pipeline.handle(IncomingMessage("web", "weekend", ASK_FOR_PERSON,
                                                     received_at=saturday))).replies
    assert "ngoài giờ làm việc (Thứ Hai đến Thứ Sáu, 8:00–11:30)" in reply.text
    assert "từ 8:00 sáng thứ Hai (16/03)" in reply.text and HOTLINE in reply.text
    [reminder] = (await pipeline.handle(IncomingMessage(
        "web", "weekend", "alo", received_at=saturday + dt.timedelta(minutes=5)))).replies
    assert "từ 8:00 sáng thứ Hai (16/03)" in reminder.text and HOTLINE in reminder.text
    monday = dt.datetime(2026, 3, 16, 9, 0, tzinfo=VN_TIME)
    [inside] = (await pipeline.handle(IncomingMessage("web", "weekday", ASK_FOR_PERSON,
                                                      received_at=monday))).replies
    assert "trong giờ làm việc (Thứ Hai đến Thứ Sáu, 8:00–11:30)" in inside.text
    assert "ngoài giờ" not in inside.text and HOTLINE in inside.text


@pytest.mark.slow  # over ~2 s
async def test_the_queue_page_shows_whether_officers_are_at_work(
        tmp_path: Path, shipped_model: NluModel, simulator: str) -> None:
    settings = handoff_settings(tmp_path, office_hours_schedule="", office_holidays="")
    shipped_model.save(settings.model_path)
    client: Client = TestClient(TestServer(await create_app(settings, simulator),
                                           host="127.0.0.1"))
    await client.start_server()
    try:
        await client.app[ADMIN_APP][STAFF_STORE].add_user(STAFF, PASSWORD, Role.STAFF)
        [reply] = await say(client, "never", ASK_FOR_PERSON)
        assert texts.NO_OPENING in reply["text"] and HOTLINE in reply["text"]
        await http_login(client, STAFF)
        page = await (await client.get("/admin/handoff")).text()
        assert "Đang ngoài giờ làm việc (chưa có lịch làm việc)" in page
    finally:
        await client.close()


# ---------------------------------------------------------------------------------------------
# 👍/👎 feedback


def feedback_payloads(reply: dict[str, Any]) -> list[str]:
    return [b["payload"] for b in reply.get("buttons", []) if b["payload"].startswith("/feedb")]


async def test_answers_carry_feedback_buttons_and_a_tap_rates_the_right_turn(
        accounts: Client) -> None:
    sender, conversation_id = "citizen-fb", "web:citizen-fb"
    [greeting] = await say(accounts, sender, "chào bạn")
    assert feedback_payloads(greeting) == []  # small talk is not rated
    [question] = await say(accounts, sender, "bao nhiêu tiền")
    assert "thủ tục nào" in question["text"] and feedback_payloads(question) == []
    [documents] = await say(accounts, sender, "làm hộ chiếu cần giấy tờ gì")
    assert feedback_payloads(documents) == [UP, DOWN]
    assert len(documents["buttons"]) <= 5  # one Zalo message, one short Telegram keyboard
    titles = [b["title"] for b in documents["buttons"]]
    assert {"Xem thêm", "Lệ phí", "👍 Hữu ích", "👎 Chưa hữu ích"} <= set(titles)
    [fee] = await say(accounts, sender, "lệ phí bao nhiêu")
    assert "Lệ phí thủ tục Cấp hộ chiếu" in fee["text"] and feedback_payloads(fee) == [UP, DOWN]

    [thanks] = await say(accounts, sender, UP)
    assert thanks["text"] == texts.FEEDBACK_THANKS
    history = await turns(accounts, conversation_id)
    rated = [t for t in history if t.feedback is not None]
    assert [(t.action, t.feedback) for t in rated] == [("procedure_fee", 1)]
    assert rated[0].text.startswith("Lệ phí thủ tục Cấp hộ chiếu")
    row = await conversation(accounts, conversation_id)
    assert (row.feedback_up, row.feedback_down) == (1, 0)

    [sorry] = await say(accounts, sender, DOWN)  # a change of mind: the vote moves
    assert sorry["text"] == texts.FEEDBACK_SORRY
    assert [b["payload"] for b in sorry["buttons"]] == ["/human_handoff"]
    rated = [t for t in await turns(accounts, conversation_id) if t.feedback is not None]
    assert [(t.action, t.feedback) for t in rated] == [("procedure_fee", -1)]
    row = await conversation(accounts, conversation_id)
    assert (row.feedback_up, row.feedback_down) == (0, 1)
    await say(accounts, sender, DOWN)  # the same vote again counts once
    row = await conversation(accounts, conversation_id)
    assert (row.feedback_up, row.feedback_down) == (0, 1)

    [nothing] = await say(accounts, "citizen-fb-new", UP)
    assert nothing["text"] == texts.FEEDBACK_NOTHING
    [bogus] = await say(accounts, sender, '/feedback{"value":"maybe"}')
    assert bogus["text"] == texts.FEEDBACK_NOTHING
    row = await conversation(accounts, conversation_id)
    assert (row.feedback_up, row.feedback_down) == (0, 1)


async def test_faq_and_dossier_answers_can_be_rated_too(accounts: Client) -> None:
    faq = accounts.app[RUNTIME].pipeline.brain.knowledge.faqs["vneid-la-gi"]
    [answer] = await say(accounts, "citizen-faq", faq.question)
    assert answer["text"] == faq.answer and feedback_payloads(answer) == [UP, DOWN]
    assert len(answer["buttons"]) <= 5
    [dossier] = await say(accounts, "citizen-dossier", "kiểm tra hồ sơ 000.00.12.h31-261110-0003")
    assert "Cần bổ sung" in dossier["text"] and feedback_payloads(dossier) == [UP, DOWN]
    [ask_code] = await say(accounts, "citizen-dossier2", "tra cứu hồ sơ")
    assert feedback_payloads(ask_code) == []  # a question back is not an answer
    await say(accounts, "citizen-dossier", UP)
    [rated] = [t for t in await turns(accounts, "web:citizen-dossier") if t.feedback]
    assert rated.action == "dossier_status" and rated.feedback == 1


# ---------------------------------------------------------------------------------------------
# Telegram: the officer's reply arrives at the (fake) Bot API

TELEGRAM_SECRET = "handoff-secret_0123456789"
CHAT = 5519876543


@pytest.fixture
async def telegram_service(tmp_path: Path, shipped_model: NluModel, simulator: str,
                           telegram_api: FakeTelegramApi) -> AsyncIterator[Client]:
    settings = handoff_settings(
        tmp_path, telegram_token=telegram_api.token, telegram_webhook_secret=TELEGRAM_SECRET,
        telegram_api_url=telegram_api.api_url, telegram_chat_messages_per_second=20.0,
        telegram_retry_backoff=0.05, shutdown_timeout=5.0)
    shipped_model.save(settings.model_path)
    client: Client = TestClient(TestServer(await create_app(settings, simulator),
                                           host="127.0.0.1"))
    await client.start_server()
    await client.app[ADMIN_APP][STAFF_STORE].add_user(STAFF, PASSWORD, Role.STAFF)
    yield client
    await client.close()


async def deliver(client: Client, update: dict[str, Any]) -> None:
    response = await client.post("/webhooks/telegram", json=update,
                                 headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET})
    assert response.status == 200


def callback_data(params: dict[str, Any]) -> list[str]:
    return [button["callback_data"] for row in params["reply_markup"]["inline_keyboard"]
            for button in row if "callback_data" in button]


async def test_a_telegram_citizen_gets_the_officers_reply_and_can_rate(
        telegram_service: Client, telegram_api: FakeTelegramApi) -> None:
    client, conversation_id = telegram_service, f"telegram:{CHAT}"
    await deliver(client, text_update(CHAT, "làm hộ chiếu cần giấy tờ gì"))
    [answer] = await telegram_api.wait_for("sendMessage", chat_id=CHAT)
    assert UP in callback_data(answer.params) and DOWN in callback_data(answer.params)
    await deliver(client, callback_update(CHAT, UP))
    await telegram_api.wait_for("sendMessage", 2, chat_id=CHAT)
    assert (await conversation(client, conversation_id)).feedback_up == 1

    await deliver(client, text_update(CHAT, ASK_FOR_PERSON))
    calls = await telegram_api.wait_for("sendMessage", 3, chat_id=CHAT)
    assert "đã chuyển cuộc trò chuyện" in calls[-1].result["text"]
    csrf = await http_login(client, STAFF)
    for _ in range(100):  # the webhook answers at once; the message is handled just after
        if (await conversation(client, conversation_id)).status == "waiting":
            break
        await asyncio.sleep(0.02)
    response = await post(client, csrf, path(conversation_id) + "/take")
    assert response.status == 303
    reply = "Chào anh/chị, em là cán bộ một cửa. Anh/chị cần hỗ trợ gì ạ? <b>&</b>"
    response = await post(client, csrf, path(conversation_id) + "/reply", text=reply)
    assert response.status == 303, await response.text()
    calls = await telegram_api.wait_for("sendMessage", 5, chat_id=CHAT)
    assert calls[3].result["text"] == texts.STAFF_TOOK
    assert calls[4].params["chat_id"] == CHAT
    assert calls[4].result["text"] == texts.STAFF_SAYS.format(text=reply)
    last = (await turns(client, conversation_id))[-1]
    assert (last.sender, last.text) == (STAFF, reply)

    await post(client, csrf, path(conversation_id) + "/close")
    calls = await telegram_api.wait_for("sendMessage", 6, chat_id=CHAT)
    assert calls[5].result["text"] == texts.ASK_RATING
    assert callback_data(calls[5].params)[0] == '/rate{"value":"5"}'
    await deliver(client, callback_update(CHAT, '/rate{"value":"5"}'))
    calls = await telegram_api.wait_for("sendMessage", 7, chat_id=CHAT)
    assert calls[6].result["text"].startswith("Cảm ơn bạn đã đánh giá 5/5")
    assert (await conversation(client, conversation_id)).rating == 5


async def test_a_blocked_telegram_citizen_is_reported_to_the_officer(
        telegram_service: Client, telegram_api: FakeTelegramApi) -> None:
    client, conversation_id = telegram_service, f"telegram:{CHAT}"
    await deliver(client, text_update(CHAT, ASK_FOR_PERSON))
    await telegram_api.wait_for("sendMessage", chat_id=CHAT)
    csrf = await http_login(client, STAFF)
    for _ in range(100):
        if (await conversation(client, conversation_id)).status == "waiting":
            break
        await asyncio.sleep(0.02)
    await post(client, csrf, path(conversation_id) + "/take")
    telegram_api.block(CHAT)
    response = await post(client, csrf, path(conversation_id) + "/reply", text="Chào bạn")
    assert response.status == 502
    page = await response.text()
    assert "Chưa gửi được trả lời" in page and "Chào bạn</textarea>" in page
    assert [t.action for t in await turns(client, conversation_id)][-1] != "staff_reply"


# ---------------------------------------------------------------------------------------------
# In a browser


async def test_an_officer_takes_and_replies_in_a_browser_and_the_widget_shows_it(
        login_as: LoginAs, accounts: Client) -> None:
    officer = await login_as(STAFF)
    browser = officer.context.browser
    assert browser is not None
    citizen_context = await browser.new_context(locale="vi-VN")
    citizen = await citizen_context.new_page()
    citizen.set_default_timeout(10_000)
    await citizen.goto(str(accounts.make_url("/")))
    box = citizen.get_by_label("Nhập câu hỏi của bạn")
    await box.fill(ASK_FOR_PERSON)
    await box.press("Enter")
    await expect(citizen.locator(".egb-msg-bot").last).to_contain_text(
        "đã chuyển cuộc trò chuyện cho nhân viên")

    await officer.goto(str(accounts.make_url("/admin/handoff")))
    await officer.get_by_role("button", name=re.compile("^Nhận hội thoại")).first.click()
    await officer.wait_for_url(re.compile(r"/admin/handoff/web:.+\?ok=taken"))
    await expect(officer.get_by_role("status")).to_contain_text("Bạn đã nhận hội thoại")
    await expect(officer.locator("#history")).to_contain_text(ASK_FOR_PERSON)
    await officer.get_by_label("Trả lời người dân").fill("Chào bạn, tôi là nhân viên Hoa.")
    await officer.get_by_role("button", name="Gửi", exact=True).click()
    await expect(officer.get_by_role("status")).to_contain_text("Đã gửi trả lời")
    await expect(officer.locator("#history .turn.officer")).to_contain_text("nhân viên Hoa")

    staff_message = citizen.locator(".egb-msg-bot").filter(has_text="nhân viên Hoa")
    await expect(staff_message).to_be_visible(timeout=10_000)  # the widget polls every 3 s
    await expect(staff_message).to_contain_text("Nhân viên hỗ trợ")
    # the citizen writes; the officer's page shows it without reloading
    await box.fill("Cảm ơn chị, tôi muốn hỏi về sổ đỏ")
    await box.press("Enter")
    await expect(officer.locator("#history")).to_contain_text("tôi muốn hỏi về sổ đỏ",
                                                               timeout=10_000)
    await citizen_context.close()


async def test_every_handoff_change_is_audited(accounts: Client) -> None:
    conversation_id = await waiting_citizen(accounts, "citizen-audit")
    csrf = await http_login(accounts, STAFF)
    for action, form in (("take", {}), ("reply", {"text": "Chào bạn"}), ("release", {})):
        await post(accounts, csrf, f"{path(conversation_id)}/{action}", **form)
    log = await accounts.app[ADMIN_APP][STAFF_STORE].audit_log("handoff", conversation_id)
    assert [(e.action, e.username) for e in reversed(log)] == [
        ("take", STAFF), ("reply", STAFF), ("release", STAFF)]
    assert log[1].after == {"text": "Chào bạn"}
    async with make_sessionmaker(accounts.app[RUNTIME].engine)() as session:
        assert await session.scalar(select(ConversationRow.status).where(
            ConversationRow.id == conversation_id)) == "bot"
