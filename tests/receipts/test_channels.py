"""A receipt photo through each chat channel end to end: Telegram (PTB against the fake Bot
API, getFile and the download) and Zalo (the image fetched from the fake's CDN, allowed hosts
only). The code read is answered as if typed; other images get the notice that fits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from actions import texts
from actions.base import MessageKind
from bot.service.appkeys import RUNTIME
from nlu.engine import NluModel
from tests.bot.channels.test_telegram import (
    CHAT,
    Client,
    deliver,
    serve,
    settle,
    telegram_settings,
)
from tests.bot.channels.test_zalo import USER, ZaloBot, start_bot, zalo_settings
from tests.conftest import prepare_data_dir
from tests.fakes.telegram_api import FakeTelegramApi, document_update, photo_update
from tests.fakes.zalo_api import FakeZalo
from tests.receipts.photos import Conditions, photograph, receipt_page

CODE = "000.00.12.H31-261118-0002"  # a dossier the simulator knows
PHOTO = photograph(receipt_page(CODE, qr="url"), Conditions(rotation=8, scale=0.8, quality=70))
BLANK = photograph(receipt_page(CODE, qr=None, barcode=False), Conditions(quality=70))


@pytest.fixture
async def bot(tmp_path: Path, shipped_model: NluModel, simulator: str,
              telegram_api: FakeTelegramApi, database_template: Path) -> AsyncIterator[Client]:
    """The service with Telegram on, talking to the fake Bot API."""
    settings = telegram_settings(tmp_path, telegram_api)
    prepare_data_dir(settings, database_template)
    client = await serve(settings, shipped_model, simulator)
    yield client
    await client.close()


async def test_telegram_photos_and_files(bot: Client, telegram_api: FakeTelegramApi) -> None:
    receipt = telegram_api.add_file(PHOTO)
    await deliver(bot, photo_update(CHAT, file_id=receipt, file_size=len(PHOTO)))
    [answer] = await telegram_api.wait_for("sendMessage", chat_id=CHAT)
    assert f"Hồ sơ {CODE}" in answer.result["text"]  # looked up as if typed
    blank = telegram_api.add_file(BLANK)
    await deliver(bot, document_update(CHAT, blank, "image/jpeg", len(BLANK)))
    pdf = telegram_api.add_file(b"%PDF-1.7 ...")
    await deliver(bot, document_update(CHAT, pdf, "application/pdf", 12))
    huge = telegram_api.add_file(b"")
    await deliver(bot, document_update(CHAT, huge, "image/jpeg", 50 * 1024 * 1024))
    await telegram_api.wait_for("sendMessage", 4, chat_id=CHAT)
    await settle(bot)
    sent = [call.result["text"] for call in telegram_api.calls_of("sendMessage", chat_id=CHAT)]
    assert sent[1:] == [texts.NOTICES[MessageKind.RECEIPT_NO_CODE],
                        texts.NOTICES[MessageKind.IMAGE_REFUSED],
                        texts.NOTICES[MessageKind.IMAGE_REFUSED]]
    # the oversized file was refused from its announced size, never fetched
    fetched = [call.params["file_id"] for call in telegram_api.calls_of("getFile")]
    assert fetched == [receipt, blank, pdf]


@pytest.fixture
async def zalo(tmp_path: Path, shipped_model: NluModel, simulator: str,
               database_template: Path) -> AsyncIterator[ZaloBot]:
    fake = FakeZalo()
    await fake.start()
    settings = zalo_settings(tmp_path, fake, zalo_image_hosts=["127.0.0.1"])
    prepare_data_dir(settings, database_template, shipped_model)
    running = await start_bot(settings, fake, simulator)
    yield running
    await running.client.close()
    await fake.close()


async def test_zalo_images_from_allowed_hosts_only(zalo: ZaloBot) -> None:
    assert await zalo.deliver(zalo.fake.image_event(USER, PHOTO)) == 200
    await zalo.settle()
    assert await zalo.deliver(zalo.fake.image_event(USER, BLANK)) == 200
    await zalo.settle()
    # an image elsewhere is not fetched: the usual notice
    assert await zalo.deliver(zalo.fake.attachment_event(USER, "image")) == 200
    await zalo.settle()
    answers = [message.text for message in zalo.fake.to(USER)]
    assert f"Hồ sơ {CODE}" in answers[0]
    assert answers[1:] == [texts.NOTICES[MessageKind.RECEIPT_NO_CODE],
                           texts.NOTICES[MessageKind.MEDIA]]
    turns = await zalo.app[RUNTIME].stores.conversations.turns(f"zalo:{USER}")
    assert [turn.text for turn in turns if turn.direction == "in"] == [
        CODE, texts.NOTICE_TRANSCRIPT[MessageKind.RECEIPT_NO_CODE],
        texts.NOTICE_TRANSCRIPT[MessageKind.MEDIA]]
