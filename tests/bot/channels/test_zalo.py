"""The Zalo channel through our real HTTP server, talking to a fake Zalo on loopback."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from actions.base import MAX_TEXT_CHARS, Button, Link, Reply
from bot.channels.text import split_text
from bot.channels.zalo.channel import ZaloChannel
from bot.channels.zalo.client import ZaloUnavailable
from bot.channels.zalo.render import render
from bot.core.delivery import DeliveryFailed
from bot.service.app import DISPATCHER, RUNTIME, create_app
from bot.service.settings import Settings
from bot.storage.db import make_sessionmaker
from bot.storage.inbox import Inbox
from bot.storage.key_values import KeyValueStore
from nlu.engine import NluModel
from tests.conftest import prepare_data_dir
from tests.fakes.zalo_api import FakeZalo

USER = "4311209876543210987"


@dataclass
class ZaloBot:
    """Our service with the Zalo channel on, and the fake Zalo it talks to."""

    client: TestClient[Any, Any]
    fake: FakeZalo
    settings: Settings

    @property
    def app(self) -> web.Application:
        app: web.Application = self.client.app
        return app

    @property
    def channel(self) -> ZaloChannel:
        channel = self.app[DISPATCHER].channels["zalo"]
        assert isinstance(channel, ZaloChannel)
        return channel

    @property
    def key_values(self) -> KeyValueStore:
        return KeyValueStore(make_sessionmaker(self.app[RUNTIME].engine))

    async def deliver(self, event: dict[str, Any] | bytes, **kwargs: Any) -> int:
        return await self.fake.deliver(str(self.client.make_url("/webhooks/zalo")), event,
                                       **kwargs)

    async def settle(self, timeout: float = 10.0) -> None:
        """Wait until every accepted message has been answered."""
        deadline = time.monotonic() + timeout
        while self.app[DISPATCHER].in_flight or self.channel.busy:
            assert time.monotonic() < deadline, "the bot did not finish in time"
            await asyncio.sleep(0.01)

    async def stored_token(self) -> dict[str, Any]:
        stored = await self.key_values.get(self.channel.client.token_key)
        assert stored is not None
        return stored.value


def zalo_settings(tmp_path: Path, fake: FakeZalo, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "var", "dossier_api_token": "test-token",
        "dossier_api_timeout": 0.3, "dossier_api_deadline": 1.0,
        "zalo_app_id": fake.app_id, "zalo_oa_secret": fake.oa_secret,
        "zalo_app_secret": fake.app_secret, "zalo_refresh_token": fake.refresh_token,
        "zalo_api_url": fake.url, "zalo_oauth_url": fake.url,
        "zalo_timeout": 0.5, "zalo_retry_backoff": 0.01,
        **overrides,
    }
    return Settings(**values)


async def start_bot(settings: Settings, fake: FakeZalo, simulator: str) -> ZaloBot:
    client = TestClient(TestServer(await create_app(settings, simulator), host="127.0.0.1"))
    await client.start_server()
    return ZaloBot(client, fake, settings)


@pytest.fixture
async def fake() -> AsyncIterator[FakeZalo]:
    zalo = FakeZalo()
    await zalo.start()
    yield zalo
    await zalo.close()


@pytest.fixture
async def bot(tmp_path: Path, shipped_model: NluModel, simulator: str,
              fake: FakeZalo, database_template: Path) -> AsyncIterator[ZaloBot]:
    settings = zalo_settings(tmp_path, fake)
    prepare_data_dir(settings, database_template, shipped_model)
    running = await start_bot(settings, fake, simulator)
    yield running
    await running.client.close()


async def test_a_signed_text_gets_a_cs_reply_with_quick_replies(bot: ZaloBot) -> None:
    started = time.monotonic()
    assert await bot.deliver(bot.fake.text_event(USER, "lam cccd het bao nhieu tien")) == 200
    assert time.monotonic() - started < 1.0  # acknowledged without waiting for the answer
    await bot.settle()
    [message] = bot.fake.to(USER)
    assert message.kind == "cs"
    assert message.recipient == {"user_id": USER}
    assert "Lệ phí thủ tục Cấp thẻ căn cước" in message.text
    assert 1 <= len(message.buttons) <= 5
    assert {"title": "Giấy tờ cần chuẩn bị", "type": "oa.query.hide",
            "payload": '/procedure_documents{"procedure":"can-cuoc"}'} in message.buttons
    # the token came from OAuth with the settings' refresh token, and was stored
    [call] = bot.fake.oauth_calls
    assert call.form == {"refresh_token": "rt-initial", "app_id": bot.fake.app_id,
                         "grant_type": "refresh_token"}
    assert call.secret_key == bot.fake.app_secret
    assert (await bot.stored_token())["refresh_token"] == bot.fake.live_refresh_token


async def test_a_button_tap_gets_the_answer_for_its_payload(bot: ZaloBot) -> None:
    await bot.deliver(bot.fake.text_event(USER, "làm căn cước bao nhiêu tiền"))
    await bot.settle()
    payload = next(b["payload"] for b in bot.fake.to(USER)[0].buttons
                   if b["title"] == "Giấy tờ cần chuẩn bị")
    # a tapped oa.query.hide button arrives as user_send_text carrying the payload
    await bot.deliver(bot.fake.text_event(USER, payload))
    await bot.settle()
    assert "Giấy tờ cần chuẩn bị cho thủ tục Cấp thẻ căn cước" in bot.fake.to(USER)[1].text
    # the event name one source uses for taps is handled the same way
    tap = bot.fake.text_event(USER, '/procedure_fee{"procedure":"ho-chieu"}',
                              event_name="user_click_button")
    await bot.deliver(tap)
    await bot.settle()
    assert "Lệ phí thủ tục Cấp hộ chiếu" in bot.fake.to(USER)[2].text


async def test_a_bad_or_missing_signature_gets_401_and_changes_nothing(bot: ZaloBot) -> None:
    event = bot.fake.text_event(USER, "chào bạn")
    assert await bot.deliver(event, signature="0" * 64) == 401
    assert await bot.deliver(event, sign=False) == 401
    forged = FakeZalo(oa_secret="someone-else").sign(json.dumps(event).encode(), event)
    assert await bot.deliver(event, signature=forged) == 401
    await bot.settle()
    assert bot.fake.sent == [] and bot.fake.attempts == []
    sessions = make_sessionmaker(bot.app[RUNTIME].engine)
    assert await Inbox(sessions).unfinished() == []
    assert await bot.app[RUNTIME].stores.conversations.load(f"zalo:{USER}") is None
    # the same event correctly signed, with the "mac=" prefix some deliveries carry, is taken
    digest = bot.fake.sign(json.dumps(event, ensure_ascii=False).encode(), event)
    assert await bot.deliver(event, signature=f"mac={digest.upper()}") == 200
    await bot.settle()
    assert len(bot.fake.to(USER)) == 1


async def test_a_repeated_delivery_is_answered_once(bot: ZaloBot) -> None:
    event = bot.fake.text_event(USER, "chào bạn", msg_id="5f0c1e2d3c4b5a69788f")
    statuses = await asyncio.gather(bot.deliver(event), bot.deliver(event))
    assert list(statuses) == [200, 200]
    await bot.settle()
    assert await bot.deliver(event) == 200
    await bot.settle()
    assert len(bot.fake.to(USER)) == 1
    turns = await bot.app[RUNTIME].stores.conversations.turns(f"zalo:{USER}")
    assert [t.direction for t in turns] == ["in", "out"]


async def test_long_replies_are_split_under_2000_characters(bot: ZaloBot) -> None:
    paragraph = "Bước thực hiện: chuẩn bị hồ sơ và nộp tại bộ phận một cửa. " * 8
    text = "\n\n".join(f"{i}. {paragraph.strip()}" for i in range(12))
    buttons = tuple(Button(f"Lựa chọn {i}", f"/help{{\"i\":\"{i}\"}}") for i in range(7))
    reply = Reply(text, buttons, (Link("Cổng dịch vụ công", "https://dichvucong.gov.vn"),))
    await bot.channel.send(USER, [reply])
    sent = bot.fake.to(USER)
    parts = [m for m in sent if m.text != "Các lựa chọn khác:"]
    assert len(parts) >= 3
    assert all(len(m.text) <= 2000 for m in sent)
    assert all(m.text.endswith(".") for m in parts[:-1])  # cut between paragraphs
    assert " ".join(m.text for m in parts).split() == (text + "\nCổng dịch vụ công: "
                                                       "https://dichvucong.gov.vn").split()
    assert [len(m.buttons) for m in sent] == [0] * (len(parts) - 1) + [5, 2]
    assert sent[-1].text == "Các lựa chọn khác:"


def test_split_text_prefers_paragraphs_then_lines_then_words() -> None:
    assert split_text("a" * 50 + "\n\n" + "b" * 50, 60) == ["a" * 50, "b" * 50]
    assert split_text("a" * 50 + "\n" + "b" * 50, 60) == ["a" * 50, "b" * 50]
    words = split_text("xin chào " * 40, 50)
    assert all(len(p) <= 50 for p in words) and all(w in ("xin", "chào")
                                                     for p in words for w in p.split())
    assert split_text("x" * 130, 50) == ["x" * 50, "x" * 50, "x" * 30]
    # a link fits among the buttons while there is room
    [message] = render([Reply("Nộp trực tuyến", (Button("Lệ phí", "/procedure_fee"),),
                              (Link("Nộp hồ sơ", "https://dichvucong.gov.vn"),))], 2000, 5)
    assert message["attachment"]["payload"]["buttons"][1] == {
        "title": "Nộp hồ sơ", "type": "oa.open.url",
        "payload": {"url": "https://dichvucong.gov.vn"}}


async def test_an_expired_access_token_is_refreshed_and_the_message_delivered(
        bot: ZaloBot) -> None:
    bot.fake.expired_error = -220
    await bot.deliver(bot.fake.text_event(USER, "chào bạn"))
    await bot.settle()
    first_token = bot.fake.to(USER)[0].access_token
    bot.fake.expire_access_tokens()
    await bot.deliver(bot.fake.text_event(USER, "cảm ơn"))
    await bot.settle()
    assert len(bot.fake.to(USER)) == 2
    assert [code for _, code in bot.fake.attempts] == [0, -220, 0]
    assert bot.fake.to(USER)[1].access_token != first_token
    assert [c.form["refresh_token"] for c in bot.fake.oauth_calls] == ["rt-initial", "rt-1"]
    stored = await bot.stored_token()
    assert stored["refresh_token"] == bot.fake.live_refresh_token == "rt-2"
    assert stored["access_token"] == bot.fake.to(USER)[1].access_token


async def test_a_token_near_expiry_is_refreshed_before_use(bot: ZaloBot) -> None:
    bot.fake.access_ttl = 200  # shorter than the 300 s margin: refresh before every use
    await bot.channel.send(USER, [Reply("một")])
    await bot.channel.send(USER, [Reply("hai")])
    assert [code for _, code in bot.fake.attempts] == [0, 0]  # never rejected
    assert len(bot.fake.oauth_calls) == 2


async def test_a_restart_uses_the_stored_refresh_token(
        tmp_path: Path, bot: ZaloBot, simulator: str) -> None:
    await bot.deliver(bot.fake.text_event(USER, "chào bạn"))
    await bot.settle()
    await bot.client.close()
    bot.fake.expire_access_tokens()

    again = await start_bot(bot.settings, bot.fake, simulator)  # same database, same settings
    try:
        await again.deliver(again.fake.text_event(USER, "cảm ơn"))
        await again.settle()
        assert len(bot.fake.to(USER)) == 2
        assert [(c.form["refresh_token"], c.error) for c in bot.fake.oauth_calls] == [
            ("rt-initial", 0), ("rt-1", 0)]  # never the used one from settings
        assert (await again.stored_token())["refresh_token"] == bot.fake.live_refresh_token
    finally:
        await again.client.close()


async def test_a_new_refresh_token_in_settings_replaces_the_stored_one(
        tmp_path: Path, bot: ZaloBot, simulator: str) -> None:
    await bot.channel.send(USER, [Reply("một")])
    await bot.client.close()
    # the chain broke (say, unused for months); the operator authorized the app again
    bot.fake.valid_refresh_tokens = {"rt-reauthorized"}
    bot.fake.expire_access_tokens()
    settings = bot.settings.model_copy(update={"zalo_refresh_token": "rt-reauthorized"})
    again = await start_bot(settings, bot.fake, simulator)
    try:
        await again.channel.send(USER, [Reply("hai")])
        assert len(bot.fake.to(USER)) == 2
        assert bot.fake.oauth_calls[-1].form["refresh_token"] == "rt-reauthorized"
        assert (await again.stored_token())["refresh_token"] == bot.fake.live_refresh_token
    finally:
        await again.client.close()


async def test_concurrent_refreshes_do_not_lose_the_refresh_token(bot: ZaloBot) -> None:
    bot.fake.oauth_delay = 0.1  # both workers are in the middle of refreshing at once
    runtime = bot.app[RUNTIME]
    # a second worker: another channel on the same database
    other = ZaloChannel(bot.settings, runtime.stores.conversations, bot.key_values)
    try:
        await asyncio.gather(bot.channel.send(USER, [Reply("một")]),
                             other.send("other-user", [Reply("hai")]),
                             bot.channel.send("third-user", [Reply("ba")]))
        assert len(bot.fake.sent) == 3
        assert [(c.form["refresh_token"], c.error) for c in bot.fake.oauth_calls] == [
            ("rt-initial", 0)]
        # both workers refresh again at the same moment after the token is rejected
        bot.fake.expire_access_tokens()
        await asyncio.gather(bot.channel.send(USER, [Reply("bốn")]),
                             other.send("other-user", [Reply("năm")]))
        assert len(bot.fake.sent) == 5
        assert [c.error for c in bot.fake.oauth_calls] == [0, 0]  # nobody reused a token
        assert (await bot.stored_token())["refresh_token"] == bot.fake.live_refresh_token
    finally:
        await other.stop()


async def test_a_user_outside_the_reply_window_is_recorded_and_not_retried(
        bot: ZaloBot) -> None:
    await bot.deliver(bot.fake.text_event(USER, "chào bạn"))
    await bot.settle()
    bot.fake.unreachable.add(USER)
    await bot.app[DISPATCHER].channels["zalo"].send(USER, [Reply("một"), Reply("hai")])
    assert [code for _, code in bot.fake.attempts] == [0, -230]  # one try, then stop
    reason = await bot.app[RUNTIME].stores.conversations.unreachable(f"zalo:{USER}")
    assert reason is not None and "-230" in reason
    # the user writes again: the window is open and the mark is cleared
    bot.fake.unreachable.discard(USER)
    await bot.deliver(bot.fake.text_event(USER, "cảm ơn"))
    await bot.settle()
    assert await bot.app[RUNTIME].stores.conversations.unreachable(f"zalo:{USER}") is None
    assert len(bot.fake.to(USER)) == 2


async def test_server_errors_and_timeouts_are_retried_a_bounded_number_of_times(
        bot: ZaloBot) -> None:
    bot.fake.fail_next(1, status=502)
    bot.fake.fail_next(1, error=-32)  # rate limited
    await bot.channel.send(USER, [Reply("một")])
    assert [code for _, code in bot.fake.attempts] == [-502, -32, 0]
    bot.fake.fail_next(1, delay=1.0)  # longer than the 0.5 s timeout
    await bot.channel.send(USER, [Reply("hai")])
    assert [m.text for m in bot.fake.to(USER)] == ["một", "hai"]
    bot.fake.fail_next(3, status=500)
    with pytest.raises(DeliveryFailed) as failed:  # the dispatcher tries again later
        await bot.channel.send(USER, [Reply("ba")])
    assert failed.value.temporary and failed.value.delivered == 0
    assert isinstance(failed.value.__cause__, ZaloUnavailable)
    assert len(bot.fake.attempts) == 3 + 2 + 3  # never more than zalo_attempts per message


async def test_invalid_json_gets_400(bot: ZaloBot) -> None:
    assert await bot.deliver(b"{not json", signature="0" * 64) == 400
    assert await bot.deliver(b"[1, 2]", signature="0" * 64) == 400
    assert await bot.deliver(b"\xff\xfe", signature="0" * 64) == 400
    await bot.settle()
    assert bot.fake.sent == []


async def test_images_and_stickers_get_a_polite_text(bot: ZaloBot) -> None:
    image = bot.fake.attachment_event(USER, "image")
    assert await bot.deliver(image) == 200
    assert await bot.deliver(image) == 200  # a repeated delivery: still one answer
    assert await bot.deliver(bot.fake.attachment_event(USER, "sticker")) == 200
    await bot.settle()
    texts = [m.text for m in bot.fake.to(USER)]
    assert len(texts) == 2
    assert all("chỉ đọc được tin nhắn dạng chữ" in t for t in texts)
    # recorded like any message, so staff see what came (the image itself is not kept)
    turns = await bot.app[RUNTIME].stores.conversations.turns(f"zalo:{USER}")
    assert [turn.direction for turn in turns] == ["in", "out", "in", "out"]


async def test_a_too_long_text_gets_a_request_for_a_shorter_one(bot: ZaloBot) -> None:
    await bot.deliver(bot.fake.text_event(USER, "thủ tục " * (MAX_TEXT_CHARS // 7)))
    await bot.settle()
    [message] = bot.fake.to(USER)
    assert "ngắn gọn hơn" in message.text and "4.000 ký tự" in message.text


async def test_other_events_get_200_and_no_reply(bot: ZaloBot) -> None:
    assert await bot.deliver(bot.fake.follow_event(USER)) == 200
    assert await bot.deliver(bot.fake.event("user_seen_message", USER, {})) == 200
    assert await bot.deliver(bot.fake.event("oa_send_text", USER, {"text": "echo"})) == 200
    assert await bot.deliver(bot.fake.text_event(USER, "   ")) == 200
    assert (await bot.client.get("/webhooks/zalo", params={"hub.challenge": "x1"})).status == 200
    await bot.settle()
    assert bot.fake.sent == []


@pytest.mark.slow  # over ~2 s
async def test_the_uncertain_facts_are_settings(
        tmp_path: Path, shipped_model: NluModel, simulator: str, database_template: Path) -> None:
    fake = FakeZalo(signature_scheme="hmac-sha256", mac_prefix=True)
    await fake.start()
    settings = zalo_settings(tmp_path, fake, zalo_signature_scheme="hmac-sha256",
                             zalo_recipient="message_id", zalo_max_text_chars=500)
    prepare_data_dir(settings, database_template, shipped_model)
    running = await start_bot(settings, fake, simulator)
    try:
        event = fake.text_event(USER, "chào bạn")
        assert await running.deliver(event) == 200
        await running.settle()
        [message] = fake.to(USER)
        assert message.recipient == {"message_id": event["message"]["msg_id"]}
        await running.channel.send(USER, [Reply("chữ " * 300)])
        assert all(len(m.text) <= 500 for m in fake.to(USER)) and len(fake.to(USER)) == 4
    finally:
        await running.client.close()
        await fake.close()


async def test_the_channel_is_off_without_an_app_id(service: TestClient[Any, Any]) -> None:
    assert "zalo" not in service.app[DISPATCHER].channels
    assert (await service.post("/webhooks/zalo", data=b"{}")).status in (404, 405)
