"""Following through the real service on loopback: the signed events endpoint (HMAC, replay
window, idempotency), and the notice reaching the citizen on the web widget, on Telegram (the
fake Bot API, with the stop button tapped) and on Zalo (held outside the reply window and told
with the next answer, or sent as a transaction message when the OA may)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import update

from bot.follow.events import PATH, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from bot.service.app import RUNTIME, create_app
from bot.service.settings import Settings
from bot.storage.tables import ConversationRow, InboxRow
from nlu.engine import NluModel
from tests.bot.channels.test_telegram import CHAT, deliver, telegram_settings
from tests.bot.channels.test_zalo import USER, zalo_settings
from tests.conftest import prepare_data_dir
from tests.fakes.telegram_api import FakeTelegramApi, callback_update, text_update
from tests.fakes.zalo_api import FakeZalo
from tests.scale.harness import wait_until

SECRET = "events-secret"
CODE = "000.00.12.H31-261118-0002"  # processing
FAST = {"follow_tick": 0.05, "dossier_events_secret": SECRET}

Client = TestClient[Any, Any]


async def serve(settings: Settings, model: NluModel, template: Path, simulator: str) -> Client:
    prepare_data_dir(settings, template, model)
    client = TestClient(TestServer(await create_app(settings, simulator), host="127.0.0.1"))
    await client.start_server()
    return client


async def change(simulator: str, status: str) -> dict[str, Any]:
    """Change the dossier in the simulator; the event a one-stop shop would push for it."""
    async with aiohttp.ClientSession() as session, session.post(
            f"{simulator}/_dossiers/{CODE}", json={"status": status}) as response:
        assert response.status == 200
        dossier = await response.json()
    return {"event_id": f"ev-{status}", "code": CODE, "status": status,
            "due_at": dossier["due_at"], "changed_at": dossier["history"][-1]["at"]}


async def push(client: Client, event: dict[str, Any], *, secret: str = SECRET,
               at: float | None = None) -> tuple[int, dict[str, Any]]:
    body = json.dumps(event).encode()
    stamp = str(int(at if at is not None else time.time()))
    response = await client.post(PATH, data=body, headers={
        TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: sign(secret, stamp, body),
        "Content-Type": "application/json"})
    return response.status, await response.json()


@pytest.mark.slow  # a whole service each (~5 s)
async def test_signed_events_on_the_web_widget(tmp_path: Path, shipped_model: NluModel,
                                               simulator: str, database_template: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var", dossier_api_token="test-token", **FAST)
    client = await serve(settings, shipped_model, database_template, simulator)
    try:
        answer = await client.post("/api/chat", json={"sender": "w1",
                                                      "message": f"theo dõi hồ sơ {CODE}"})
        assert "Đã theo dõi" in (await answer.json())[0]["text"]
        event = await change(simulator, "need_supplement")
        # refused: a wrong key, a stale timestamp, a replayed body from outside the window
        assert (await push(client, event, secret="wrong"))[0] == 401
        assert (await push(client, event, at=time.time() - 3600))[0] == 401
        assert (await push(client, {**event, "status": "nonsense"}))[0] == 400
        status, first = await push(client, event)
        assert (status, first["notices"], first["duplicate"]) == (200, 1, False)
        status, again = await push(client, event)
        assert (status, again["duplicate"]) == (200, True)
        outbox = client.app[RUNTIME].stores.outbox

        async def notices() -> list[dict[str, Any]]:
            return [i.reply for i in await outbox.after("web:w1", 0)]

        await wait_until(notices, 10, 0.05, "the notice in the widget's outbox")
        [notice] = await notices()
        assert "Hồ sơ 000.00.12.H31-261118-0002 có cập nhật" in notice["text"]
        assert "Cần bổ sung hồ sơ" in notice["text"]
        assert notice["buttons"][0]["title"] == "Hủy theo dõi"
        assert "Nguyễn Văn Mẫu" not in notice["text"]  # nothing a lookup does not show
        follows = client.app[RUNTIME].stores.follows
        assert await follows.notice_counts() == {"sent": 1}
    finally:
        await client.close()


async def test_events_are_refused_without_a_secret(service: Client) -> None:
    assert (await push(service, {"event_id": "x"}))[0] == 404


@pytest.mark.slow  # a whole service each (~5 s)
async def test_telegram_notice_and_its_stop_button(
        tmp_path: Path, shipped_model: NluModel, simulator: str, database_template: Path,
        telegram_api: FakeTelegramApi) -> None:
    settings = telegram_settings(tmp_path, telegram_api, **FAST)
    client = await serve(settings, shipped_model, database_template, simulator)
    try:
        assert await deliver(client, text_update(CHAT, f"theo doi ho so {CODE}")) == 200
        await telegram_api.wait_for("sendMessage", 1, chat_id=CHAT)
        event = await change(simulator, "done")
        assert (await push(client, event))[0] == 200
        [_, notice] = await telegram_api.wait_for("sendMessage", 2, chat_id=CHAT)
        assert "Đã có kết quả" in notice.params["text"]
        assert "dừng theo dõi" in notice.params["text"]  # a final status ends the follow
        assert await client.app[RUNTIME].stores.follows.followed(f"telegram:{CHAT}") == []
        # follow another, then stop it with the button under the answer
        other = "000.00.12.H31-261120-0001"
        assert await deliver(client, text_update(CHAT, f"theo dõi hồ sơ {other}")) == 200
        [*_, followed] = await telegram_api.wait_for("sendMessage", 3, chat_id=CHAT)
        markup = followed.params["reply_markup"]
        markup = json.loads(markup) if isinstance(markup, str) else markup
        [[stop]] = markup["inline_keyboard"]
        assert stop["text"] == "Hủy theo dõi"
        assert await deliver(client, callback_update(CHAT, stop["callback_data"])) == 200
        [*_, stopped] = await telegram_api.wait_for("sendMessage", 4, chat_id=CHAT)
        assert f"Đã hủy theo dõi hồ sơ {other}" in stopped.params["text"]
    finally:
        await client.close()


async def _zalo_follow_then_leave(client: Client, fake: FakeZalo, simulator: str) -> None:
    hook = str(client.make_url("/webhooks/zalo"))
    assert await fake.deliver(hook, fake.text_event(USER, f"theo dõi hồ sơ {CODE}")) == 200
    await fake.wait_for(1, USER)
    async with client.app[RUNTIME].stores.sessions.begin() as session:
        # three days pass since the citizen wrote; the conversation itself changed just now
        # (as when staff write to it): the window counts from the citizen's message
        await session.execute(update(InboxRow).where(
            InboxRow.channel == "zalo", InboxRow.user_id == USER).values(
            received_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=3)))
        await session.execute(update(ConversationRow).where(
            ConversationRow.id == f"zalo:{USER}").values(updated_at=dt.datetime.now(dt.UTC)))
    assert (await push(client, await change(simulator, "need_supplement")))[0] == 200


@pytest.mark.slow  # a whole service each (~5 s)
async def test_zalo_holds_a_notice_outside_the_window_and_tells_it_with_the_next_answer(
        tmp_path: Path, shipped_model: NluModel, simulator: str, database_template: Path,
        fake: FakeZalo) -> None:
    settings = zalo_settings(tmp_path, fake, **FAST)
    client = await serve(settings, shipped_model, database_template, simulator)
    try:
        await _zalo_follow_then_leave(client, fake, simulator)
        follows = client.app[RUNTIME].stores.follows

        async def held() -> bool:
            return await follows.notice_counts() == {"held": 1}

        await wait_until(held, 10, 0.05, "the notice held")
        await asyncio.sleep(10 * FAST["follow_tick"])  # ticks pass: it stays held
        assert len(fake.to(USER)) == 1  # nothing sent outside the window
        assert await held()
        hook = str(client.make_url("/webhooks/zalo"))
        assert await fake.deliver(hook, fake.text_event(USER, "chào bạn")) == 200
        # the answer, then the held notice (its own tick: allow a slow, busy machine)
        got = await fake.wait_for(3, USER, timeout=30)
        assert len(got) == 3, [m.text[:60] for m in got]
        late = got[-1]
        assert late.kind == "cs"
        assert late.text.startswith("🔔 Trong lúc bạn vắng, hồ sơ 000.00.12.H31-261118-0002 "
                                    "đã chuyển sang: Cần bổ sung hồ sơ"), [m.text for m in got]

        async def sent() -> bool:  # marked sent just after the send returns
            return await follows.notice_counts() == {"sent": 1}

        await wait_until(sent, 10, 0.05, "the held notice marked sent")
    finally:
        await client.close()


@pytest.mark.slow  # a whole service each (~5 s)
async def test_zalo_sends_a_transaction_message_when_the_oa_may(
        tmp_path: Path, shipped_model: NluModel, simulator: str, database_template: Path,
        fake: FakeZalo) -> None:
    settings = zalo_settings(tmp_path, fake, zalo_transaction_notices=True, **FAST)
    client = await serve(settings, shipped_model, database_template, simulator)
    try:
        await _zalo_follow_then_leave(client, fake, simulator)
        await fake.wait_for(2, USER)
        notice = fake.to(USER)[-1]
        assert notice.kind == "transaction"
        assert "Cập nhật hồ sơ" in notice.text
        assert f"Mã hồ sơ: {CODE}" in notice.text
        assert "Tình trạng: Cần bổ sung hồ sơ" in notice.text
        assert [b["title"] for b in notice.buttons] == ["Hủy theo dõi"]
    finally:
        await client.close()
