"""The Telegram channel end to end: our app on a loopback port, PTB talking to a fake Bot API."""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from actions import texts
from actions.base import Button, Link, MessageKind, Reply
from bot.channels import ChannelDeps, build_channels
from bot.channels.telegram.callbacks import CallbackCodec
from bot.channels.telegram.channel import SECRET_HEADER, TelegramChannel
from bot.channels.telegram.limits import SendLimiter
from bot.channels.telegram.render import split_text
from bot.channels.telegram.updates import command_text
from bot.channels.text import utf16_len
from bot.cli import build_parser, telegram_cmd
from bot.service.app import create_app
from bot.service.appkeys import DISPATCHER, RUNTIME
from bot.service.settings import Settings
from bot.storage.db import make_sessionmaker
from bot.storage.key_values import KeyValueStore
from bot.storage.tables import InboxRow
from nlu.engine import NluModel
from tests.conftest import prepare_data_dir
from tests.fakes.telegram_api import (
    TOKEN,
    FakeTelegramApi,
    blocked_update,
    callback_update,
    photo_update,
    sticker_update,
    text_update,
)

EXPIRED_BUTTON = texts.NOTICES[MessageKind.EXPIRED_BUTTON]
TEXT_ONLY = texts.NOTICES[MessageKind.MEDIA]
TOO_LONG = texts.NOTICES[MessageKind.TOO_LONG]

SECRET = "test-secret_0123456789"
CHAT = 5512345678
PATH = "/webhooks/telegram"

Client = TestClient[Any, Any]


def telegram_settings(tmp_path: Path, api: FakeTelegramApi, **overrides: Any) -> Settings:
    """Settings with Telegram on, pointed at the fake, with quick retries."""
    values: dict[str, Any] = {
        "data_dir": tmp_path / "var", "dossier_api_token": "test-token",
        "dossier_api_timeout": 0.3, "dossier_api_deadline": 1.0,
        "telegram_token": TOKEN, "telegram_webhook_secret": SECRET,
        "telegram_api_url": api.api_url, "telegram_chat_messages_per_second": 20.0,
        "telegram_retry_backoff": 0.05, "shutdown_timeout": 5.0,
    }
    return Settings(**{**values, **overrides})


async def serve(settings: Settings, model: NluModel, simulator: str) -> Client:
    """The whole service on a loopback port."""
    model.save(settings.model_path)
    client = TestClient(TestServer(await create_app(settings, simulator), host="127.0.0.1"))
    await client.start_server()
    return client


@pytest.fixture
async def bot(tmp_path: Path, shipped_model: NluModel, simulator: str,
              telegram_api: FakeTelegramApi, database_template: Path) -> AsyncIterator[Client]:
    """The service in webhook mode, talking to the fake Bot API."""
    settings = telegram_settings(tmp_path, telegram_api)
    prepare_data_dir(settings, database_template)
    client = await serve(settings, shipped_model, simulator)
    yield client
    await client.close()


def channel_of(client: Client) -> TelegramChannel:
    channel = client.app[DISPATCHER].channels["telegram"]
    assert isinstance(channel, TelegramChannel)
    return channel


async def deliver(client: Client, update: dict[str, Any], secret: str | None = SECRET) -> int:
    """POST an update like Telegram does; the HTTP status."""
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    response = await client.post(PATH, json=update, headers=headers)
    return response.status


async def settle(client: Client) -> None:
    """Wait until every accepted message is answered and every notice sent."""
    dispatcher = client.app[DISPATCHER]
    for _ in range(500):
        if not dispatcher.in_flight:
            break
        await asyncio.sleep(0.01)
    await channel_of(client).wait_idle(5)


async def inbox_count(client: Client) -> int:
    async with make_sessionmaker(client.app[RUNTIME].engine)() as session:
        return int(await session.scalar(select(func.count()).select_from(InboxRow)) or 0)


async def inbox_statuses(client: Client) -> list[str]:
    """The status of every inbox row (a notice's delivery is recorded as done at once)."""
    async with make_sessionmaker(client.app[RUNTIME].engine)() as session:
        return list(await session.scalars(select(InboxRow.status).order_by(InboxRow.id)))


def callback_data(params: dict[str, Any]) -> list[str]:
    return [button["callback_data"] for row in params["reply_markup"]["inline_keyboard"]
            for button in row if "callback_data" in button]


# ---------------------------------------------------------------------------------------------
# Webhook in, sendMessage out


async def test_a_text_update_gets_an_html_reply_with_short_buttons(
        bot: Client, telegram_api: FakeTelegramApi) -> None:
    assert await deliver(bot, text_update(CHAT, "làm hộ chiếu cần giấy tờ gì")) == 200
    [call] = await telegram_api.wait_for("sendMessage", chat_id=CHAT)
    assert call.params["chat_id"] == CHAT
    assert call.params["parse_mode"] == "HTML"
    assert "Giấy tờ cần chuẩn bị cho thủ tục Cấp hộ chiếu" in call.result["text"]
    data = callback_data(call.params)
    assert data and all(len(d.encode("utf-8")) <= 64 for d in data)
    titles = [b["text"] for row in call.params["reply_markup"]["inline_keyboard"] for b in row]
    assert "Lệ phí" in titles
    turns = await bot.app[RUNTIME].stores.conversations.turns(f"telegram:{CHAT}")
    assert [t.direction for t in turns] == ["in", "out"]


async def test_reply_text_is_html_escaped_and_long_payloads_get_short_ids(
        bot: Client, telegram_api: FakeTelegramApi) -> None:
    place = "phường Hồng Bàng, thành phố Hải Phòng"
    long_payload = f'/procedure_fee{{"procedure":"ho-kinh-doanh","place":"{place}"}}'
    assert len(long_payload.encode("utf-8")) > 64
    text = "Lệ phí <200.000 đồng> & phí <b>khác</b>"
    reply = Reply(text, (Button("Lệ phí hộ kinh doanh", long_payload),),
                  (Link("Cổng Dịch vụ công", "https://dichvucong.gov.vn/"),))
    await channel_of(bot).send(str(CHAT), [reply])
    [call] = await telegram_api.wait_for("sendMessage", chat_id=CHAT)
    assert call.params["text"] == ("Lệ phí &lt;200.000 đồng&gt; &amp; phí "
                                   "&lt;b&gt;khác&lt;/b&gt;")
    assert call.result["text"] == text  # what the citizen sees
    [fee, portal] = call.params["reply_markup"]["inline_keyboard"]
    assert fee[0]["callback_data"].startswith("#")
    assert len(fee[0]["callback_data"].encode("utf-8")) <= 64
    assert portal[0] == {"text": "Cổng Dịch vụ công", "url": "https://dichvucong.gov.vn/"}

    # tapped after a restart: the id is resolved from the database, not from memory
    fresh = CallbackCodec(KeyValueStore(make_sessionmaker(bot.app[RUNTIME].engine)))
    assert await fresh.decode(fee[0]["callback_data"]) == long_payload
    channel_of(bot).callbacks = fresh
    assert await deliver(bot, callback_update(CHAT, fee[0]["callback_data"])) == 200
    replies = await telegram_api.wait_for("sendMessage", 2, chat_id=CHAT)
    assert "Lệ phí thủ tục Đăng ký thành lập hộ kinh doanh" in replies[1].result["text"]


async def test_a_repeated_update_is_answered_once(
        bot: Client, telegram_api: FakeTelegramApi) -> None:
    update = text_update(CHAT, "chào bạn")
    assert await deliver(bot, update) == 200
    assert await deliver(bot, update) == 200
    await telegram_api.wait_for("sendMessage", chat_id=CHAT)
    await settle(bot)
    assert len(telegram_api.sent(CHAT)) == 1
    assert await inbox_count(bot) == 1


async def test_a_wrong_or_missing_secret_is_refused_and_changes_nothing(
        bot: Client, telegram_api: FakeTelegramApi, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="bot.channels.telegram.channel")
    assert await deliver(bot, text_update(CHAT, "chào bạn"), secret=None) == 403
    assert await deliver(bot, text_update(CHAT, "chào bạn"), secret="wrong-secret") == 403
    assert await deliver(bot, text_update(CHAT, "chào bạn"), secret="tiếng việt") == 403
    await settle(bot)
    assert telegram_api.calls_of("sendMessage") == []
    assert await inbox_count(bot) == 0
    assert await bot.app[RUNTIME].stores.conversations.load(f"telegram:{CHAT}") is None
    assert len([r for r in caplog.records if "secret" in r.getMessage()]) == 3


async def test_a_button_tap_is_acknowledged_and_answered(
        bot: Client, telegram_api: FakeTelegramApi) -> None:
    tap = callback_update(CHAT, '/procedure_fee{"procedure":"ho-chieu"}', query_id="q-42")
    assert await deliver(bot, tap) == 200
    [ack] = await telegram_api.wait_for("answerCallbackQuery")
    assert ack.params["callback_query_id"] == "q-42"
    [call] = await telegram_api.wait_for("sendMessage", chat_id=CHAT)
    assert "Lệ phí thủ tục Cấp hộ chiếu" in call.result["text"]


async def test_an_unknown_button_id_gets_a_polite_text(
        bot: Client, telegram_api: FakeTelegramApi) -> None:
    assert await deliver(bot, callback_update(CHAT, "#AAAAAAAAAAAAAAAA")) == 200
    await telegram_api.wait_for("answerCallbackQuery")
    [call] = await telegram_api.wait_for("sendMessage", chat_id=CHAT)
    assert call.result["text"] == EXPIRED_BUTTON
    await settle(bot)
    assert await inbox_statuses(bot) == ["done"]  # through the inbox: sent once, in order


@pytest.mark.parametrize(("command", "expected"), [
    ("/start", "Xin chào"),
    ("/start@dvc_haiphong_test_bot", "Xin chào"),
    ("/help", "Tôi có thể giúp bạn"),
    ("/tracuu", "Bạn vui lòng gửi mã hồ sơ"),
    ("/tracuu 000.00.12.H31-261118-0002", "Hồ sơ 000.00.12.H31-261118-0002"),
])
async def test_commands_become_payloads(bot: Client, telegram_api: FakeTelegramApi,
                                        command: str, expected: str) -> None:
    assert await deliver(bot, text_update(CHAT, command)) == 200
    [call] = await telegram_api.wait_for("sendMessage", chat_id=CHAT)
    assert expected in call.result["text"]


def test_command_text() -> None:
    assert command_text("/start abc") == "/start"
    assert command_text("/HELP@bot") == "/help"
    assert command_text("/tracuu  h31 ") == "tra cứu hồ sơ h31"
    assert command_text("/other") == "/other"
    assert command_text('/procedure_fee{"procedure":"ho-chieu"}') == \
        '/procedure_fee{"procedure":"ho-chieu"}'


async def test_photos_stickers_and_long_texts_get_a_polite_answer(
        bot: Client, telegram_api: FakeTelegramApi) -> None:
    photo = photo_update(CHAT)
    assert await deliver(bot, photo) == 200
    assert await deliver(bot, photo) == 200  # redelivered: still one answer
    assert await deliver(bot, sticker_update(CHAT)) == 200
    assert await deliver(bot, text_update(CHAT, "a" * 4001)) == 200
    calls = await telegram_api.wait_for("sendMessage", 3, chat_id=CHAT)
    await settle(bot)
    assert [c.result["text"] for c in telegram_api.calls_of("sendMessage")] == \
        [TEXT_ONLY, TEXT_ONLY, TOO_LONG]
    assert calls[0].params["parse_mode"] == "HTML"
    assert await inbox_statuses(bot) == ["done"] * 3  # answered through the inbox


async def test_unknown_update_types_are_acknowledged_and_ignored(
        bot: Client, telegram_api: FakeTelegramApi) -> None:
    edited = text_update(CHAT, "sửa tin")
    edited["edited_message"] = edited.pop("message")
    future = {"update_id": 78, "some_future_update": {"id": 1}}
    # a poll without a field PTB requires: acknowledged, or Telegram would redeliver it forever
    poll = {"update_id": 77, "poll": {"id": "1", "question": "?", "options": []}}
    for update in (edited, future, poll):
        assert await deliver(bot, update) == 200
    await settle(bot)
    assert telegram_api.calls_of("sendMessage") == []


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"message": {}}', b"\xff\xfe",
                                  b'{"update_id": "7"}'])
async def test_bad_bodies_get_400(bot: Client, telegram_api: FakeTelegramApi,
                                  body: bytes) -> None:
    response = await bot.post(PATH, data=body, headers={SECRET_HEADER: SECRET,
                                                         "Content-Type": "application/json"})
    assert response.status == 400
    await settle(bot)
    assert telegram_api.calls_of("sendMessage") == []
    assert await inbox_count(bot) == 0


async def test_messages_of_one_chat_are_answered_in_order(
        bot: Client, telegram_api: FakeTelegramApi) -> None:
    texts = ["chào bạn", "làm hộ chiếu cần giấy tờ gì", "bao nhiêu tiền", "cảm ơn"]
    for text in texts:  # Telegram sends a chat's next update once the last one got 200
        assert await deliver(bot, text_update(CHAT, text)) == 200
    other = asyncio.ensure_future(deliver(bot, text_update(CHAT + 1, "chào bạn")))
    calls = await telegram_api.wait_for("sendMessage", 4, chat_id=CHAT)
    answers = [c.result["text"] for c in calls]
    assert answers[0].startswith("Xin chào")
    assert answers[1].startswith("Giấy tờ cần chuẩn bị cho thủ tục Cấp hộ chiếu")
    assert answers[2].startswith("Lệ phí thủ tục Cấp hộ chiếu")  # needs answer 2's context
    assert answers[3].startswith("Rất vui được giúp bạn")
    assert await other == 200
    await telegram_api.wait_for("sendMessage", chat_id=CHAT + 1)


# ---------------------------------------------------------------------------------------------
# Sending: splitting, limits, retries, blocked users


async def test_a_reply_over_4096_characters_is_split_with_buttons_on_the_last_part(
        bot: Client, telegram_api: FakeTelegramApi) -> None:
    sentence = "Bước {}: nộp hồ sơ tại Trung tâm Phục vụ hành chính công & nhận giấy hẹn. "
    text = "\n\n".join((sentence * 12).strip().replace("{}", str(i)) for i in range(12))
    assert len(text) > 2 * 4096
    reply = Reply(text, (Button("Lệ phí", '/procedure_fee{"procedure":"ho-chieu"}'),))
    await channel_of(bot).send(str(CHAT), [reply])
    calls = telegram_api.calls_of("sendMessage", CHAT, ok_only=True)
    assert len(calls) == 3
    assert all(utf16_len(c.result["text"]) <= 4096 for c in calls)
    assert [("reply_markup" in c.params) for c in calls] == [False, False, True]
    assert "\n\n".join(c.result["text"] for c in calls) == text  # cut between paragraphs


def test_split_text_prefers_paragraphs_then_lines_then_words() -> None:
    assert split_text("aaa\n\nbbb ccc", 9) == ["aaa", "bbb ccc"]
    assert split_text("aaa bbb\nccc ddd", 12) == ["aaa bbb", "ccc ddd"]
    assert split_text("aaa bbb ccc", 8) == ["aaa bbb", "ccc"]
    assert split_text("abcdefghij", 4) == ["abcd", "efgh", "ij"]
    assert split_text("😀😀😀", 4) == ["😀😀", "😀"]  # two UTF-16 units each
    decomposed = "ho\u0302\u0300 so\u031b"  # NFD: a letter and its marks stay together
    assert all(not p[0].isspace() for p in split_text(decomposed * 3, 5))
    assert split_text("  ") == []


async def test_a_429_waits_retry_after_then_delivers_once(
        bot: Client, telegram_api: FakeTelegramApi) -> None:
    telegram_api.fail("sendMessage", 429, retry_after=1, chat_id=CHAT)
    assert await deliver(bot, text_update(CHAT, "chào bạn")) == 200
    await telegram_api.wait_for("sendMessage", chat_id=CHAT)
    await settle(bot)
    first, second = telegram_api.calls_of("sendMessage", CHAT)
    assert (first.status, second.status) == (429, 200)
    assert second.at - first.at >= 0.95


async def test_network_errors_and_5xx_are_retried_a_bounded_number_of_times(
        bot: Client, telegram_api: FakeTelegramApi) -> None:
    telegram_api.fail("sendMessage", 502, chat_id=CHAT, times=2)
    assert await deliver(bot, text_update(CHAT, "chào bạn")) == 200
    await telegram_api.wait_for("sendMessage", chat_id=CHAT)
    assert [c.status for c in telegram_api.calls_of("sendMessage", CHAT)] == [502, 502, 200]

    # a longer outage: telegram_attempts (4) quick tries, then the dispatcher tries again a
    # second later, keeping the reply (and the conversation's later ones) until it gets through
    telegram_api.fail("sendMessage", 500, chat_id=CHAT + 1, times=6)
    assert await deliver(bot, text_update(CHAT + 1, "chào bạn")) == 200
    await asyncio.sleep(0.6)
    assert [c.status for c in telegram_api.calls_of("sendMessage", CHAT + 1)] == [500] * 4
    await settle(bot)
    assert [c.status for c in telegram_api.calls_of("sendMessage", CHAT + 1)] == \
        [500] * 6 + [200]


async def test_a_refused_html_message_is_sent_again_as_plain_text(
        bot: Client, telegram_api: FakeTelegramApi) -> None:
    telegram_api.fail("sendMessage", 400, "Bad Request: can't parse entities", chat_id=CHAT)
    await channel_of(bot).send(str(CHAT), [Reply("Lệ phí: 200.000 đồng")])
    refused, plain = telegram_api.calls_of("sendMessage", CHAT)
    assert (refused.status, refused.params["parse_mode"]) == (400, "HTML")
    assert plain.status == 200 and "parse_mode" not in plain.params
    assert plain.result["text"] == "Lệ phí: 200.000 đồng"


async def test_a_blocked_user_is_recorded_unreachable_and_not_retried(
        bot: Client, telegram_api: FakeTelegramApi) -> None:
    telegram_api.block(CHAT)
    assert await deliver(bot, text_update(CHAT, "chào bạn")) == 200
    await settle(bot)
    assert [c.status for c in telegram_api.calls_of("sendMessage", CHAT)] == [403]
    conversations = bot.app[RUNTIME].stores.conversations
    reason = await conversations.unreachable(f"telegram:{CHAT}")
    assert reason is not None and "blocked" in reason
    # the user unblocks the bot: Telegram says so with a my_chat_member update
    assert await deliver(bot, blocked_update(CHAT, "member")) == 200
    assert await conversations.unreachable(f"telegram:{CHAT}") is None
    assert await deliver(bot, blocked_update(CHAT, "kicked")) == 200
    assert await conversations.unreachable(f"telegram:{CHAT}") is not None


def test_the_limiter_spaces_sends_per_chat_and_overall() -> None:
    now = [100.0]
    limiter = SendLimiter(overall_rate=10, chat_rate=1, overall_burst=5, chat_burst=3,
                          clock=lambda: now[0])
    assert [limiter.chat_delay(1) for _ in range(5)] == [0, 0, 0, 1, 2]
    assert limiter.chat_delay(2) == 0  # another chat is not held up by chat 1
    assert [limiter.overall_delay() for _ in range(6)] == [0, 0, 0, 0, 0, pytest.approx(0.1)]
    now[0] += 10
    limiter.pause(1.5)
    assert limiter.chat_delay(1) == pytest.approx(1.5)
    assert limiter.overall_delay() == pytest.approx(1.5)
    unlimited = SendLimiter(0, 0, clock=lambda: now[0])
    assert {unlimited.chat_delay(1) + unlimited.overall_delay() for _ in range(100)} == {0}


# ---------------------------------------------------------------------------------------------
# Polling mode, the webhook command, the registry


@pytest.mark.slow  # over ~2 s
async def test_polling_mode_feeds_updates_from_get_updates(
        tmp_path: Path, shipped_model: NluModel, simulator: str,
        telegram_api: FakeTelegramApi, database_template: Path) -> None:
    settings = telegram_settings(tmp_path, telegram_api, telegram_mode="polling",
                                 telegram_poll_timeout=1)
    prepare_data_dir(settings, database_template)
    client = await serve(settings, shipped_model, simulator)
    try:
        assert (await client.post(PATH, json={})).status == 404  # no webhook route
        update = telegram_api.push_update(text_update(CHAT, "/start"))
        [call] = await telegram_api.wait_for("sendMessage", chat_id=CHAT)
        assert call.result["text"].startswith("Xin chào")
        telegram_api.push_update(photo_update(CHAT))
        await telegram_api.wait_for("sendMessage", 2, chat_id=CHAT)
        assert telegram_api.calls_of("deleteWebhook")  # PTB's bootstrap before polling
    finally:
        await client.close()
    last = telegram_api.calls_of("getUpdates")[-1]
    assert last.params["offset"] > update["update_id"]  # what was fetched is confirmed
    assert telegram_api.updates == []


async def test_the_cli_sets_and_deletes_the_webhook(
        tmp_path: Path, telegram_api: FakeTelegramApi) -> None:
    parsed = build_parser().parse_args(["telegram", "set-webhook", "https://x.vn/webhooks/telegram"])
    assert (parsed.run, parsed.command, parsed.drop_pending_updates) == \
        (telegram_cmd, "set-webhook", False)
    settings = telegram_settings(tmp_path, telegram_api)
    url = "https://bot.example.vn/webhooks/telegram"
    args = argparse.Namespace(command="set-webhook", url=url, drop_pending_updates=False)
    assert await telegram_cmd(args, settings) == 0
    assert telegram_api.webhook is not None
    assert telegram_api.webhook["url"] == url
    assert telegram_api.webhook["secret_token"] == SECRET
    assert set(telegram_api.webhook["allowed_updates"]) >= {"message", "callback_query"}
    args = argparse.Namespace(command="delete-webhook", drop_pending_updates=True)
    assert await telegram_cmd(args, settings) == 0
    assert telegram_api.webhook is None
    no_secret = telegram_settings(tmp_path, telegram_api, telegram_webhook_secret="")
    args = argparse.Namespace(command="set-webhook", url=url, drop_pending_updates=False)
    assert await telegram_cmd(args, no_secret) == 2


async def test_the_channel_runs_only_with_a_token(tmp_path: Path) -> None:
    deps = ChannelDeps(None, None, KeyValueStore(async_sessionmaker()))  # type: ignore[arg-type]
    assert "telegram" not in build_channels(Settings(data_dir=tmp_path), deps)
    enabled = build_channels(Settings(data_dir=tmp_path, telegram_token=TOKEN), deps)
    assert isinstance(enabled["telegram"], TelegramChannel)
    await enabled["telegram"].stop()
