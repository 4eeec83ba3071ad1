"""The check of papers through the real pipeline on SQLite: it survives a restart of the bot,
and it outlives the dialogue's idle reset for days (not for ever)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from actions.base import Reply
from bot.core.messages import IncomingMessage
from bot.core.state import PRECHECK_KEPT
from bot.service.composition import Runtime, build_runtime
from bot.service.settings import Settings
from nlu.engine import NluModel
from tests.conftest import prepare_data_dir

pytestmark = pytest.mark.slow  # two starts of the bot each

START = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def store_clock(monkeypatch: pytest.MonkeyPatch) -> list[dt.datetime]:
    """The store stamps a conversation at the time of the message being answered (days pass
    between the messages of these tests)."""
    now = [START]
    monkeypatch.setattr("bot.storage.conversations.utcnow", lambda: now[0])
    return now


async def _say(bot: Runtime, text: str, at: dt.datetime, clock: list[dt.datetime]) -> str:
    clock[0] = at
    replies: list[Reply] = (await bot.pipeline.handle(
        IncomingMessage("telegram", "77", text, received_at=at))).replies
    return "\n".join(reply.text for reply in replies)


async def test_an_open_check_survives_a_restart_and_days_of_silence(
        tmp_path: Path, shipped_model: NluModel, database_template: Path,
        store_clock: list[dt.datetime]) -> None:
    settings = Settings(data_dir=tmp_path / "var")
    prepare_data_dir(settings, database_template, shipped_model)
    bot = await build_runtime(settings)
    try:
        assert "Giấy 1/5" in await _say(bot, "kiểm tra hồ sơ đăng ký khai tử", START, store_clock)
        assert "Giấy 2/5" in await _say(bot, "có", START + dt.timedelta(seconds=20), store_clock)
        stopped = await _say(bot, "dừng", START + dt.timedelta(seconds=40), store_clock)
        assert "Đã tạm dừng" in stopped
    finally:
        await bot.close()

    bot = await build_runtime(settings)  # the same SQLite file, a new process's objects
    try:
        later = START + dt.timedelta(days=3)  # far past the dialogue's idle lifetime
        assert "Giấy 2/5: Giấy báo tử" in await _say(bot, "tiếp tục kiểm tra", later, store_clock)
        said = await _say(bot, "chưa có", later + dt.timedelta(seconds=10), store_clock)
        assert "Người mất đã lâu" in said
    finally:
        await bot.close()


async def test_a_check_left_longer_than_it_is_kept_is_gone(
        tmp_path: Path, shipped_model: NluModel, database_template: Path,
        store_clock: list[dt.datetime]) -> None:
    settings = Settings(data_dir=tmp_path / "var")
    prepare_data_dir(settings, database_template, shipped_model)
    bot = await build_runtime(settings)
    try:
        assert "Giấy 1/5" in await _say(bot, "kiểm tra hồ sơ đăng ký khai tử", START, store_clock)
        await _say(bot, "dừng", START + dt.timedelta(seconds=5), store_clock)
        gone = START + PRECHECK_KEPT + dt.timedelta(hours=1)
        assert "chưa có lượt kiểm tra giấy tờ nào đang dở" in await _say(
            bot, "tiếp tục kiểm tra", gone, store_clock)
    finally:
        await bot.close()
