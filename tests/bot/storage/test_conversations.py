"""Conversation state and transcripts on a real SQLite database."""

from __future__ import annotations

import pytest

from bot.service.settings import Settings
from bot.storage.conversations import ConversationStore, TurnRecord
from bot.storage.db import make_engine, make_sessionmaker
from bot.storage.migrate import ensure_schema
from bot.storage.redact import mask_personal_data


async def test_state_and_masked_turns(settings: Settings) -> None:
    engine = make_engine(settings.effective_database_url)
    await ensure_schema(engine)
    store = ConversationStore(make_sessionmaker(engine))
    try:
        assert await store.load("web:a") is None
        turn = TurnRecord("in", "cccd 031095001234, sđt 0912345678, mail an@example.com",
                          intent="dossier_status", entities=[
                              {"entity": "id_number", "value": "031095001234"}])
        await store.save("web:a", "web", "a", {"procedure": "ho-chieu"}, "bot", [turn])
        stored = await store.load("web:a")
        assert stored is not None and stored.state == {"procedure": "ho-chieu"}
        [row] = await store.turns("web:a")
        assert "031095001234" not in row.text and "0912345678" not in row.text
        assert "an@example.com" not in row.text and "[email]" in row.text
        assert "031095001234" not in str(row.entities)
        await store.save("web:a", "web", "a", {}, "waiting", [TurnRecord("out", "ok")])
        again = await store.load("web:a")
        assert again is not None and again.status == "waiting"
        assert [t.direction for t in await store.turns("web:a")] == ["in", "out"]
    finally:
        await engine.dispose()


def test_masking_keeps_dossier_codes_and_ordinary_numbers() -> None:
    text = "hồ sơ 000.00.12.H31-261120-0001, nộp 2 bản, lệ phí 25.000 đồng"
    assert mask_personal_data(text) == text


async def test_bot_replies_keep_public_phone_numbers(settings: Settings) -> None:
    engine = make_engine(settings.effective_database_url)
    await ensure_schema(engine)
    store = ConversationStore(make_sessionmaker(engine))
    try:
        office = "Gọi TTPVHCC phường Ngô Quyền: 02253.666.122"
        await store.save("web:b", "web", "b", {}, "bot", [
            TurnRecord("in", "sđt tôi 0912345678"), TurnRecord("out", office),
            TurnRecord("out", "Chị gọi lại số 0912345678 nhé", sender="lan")])
        texts = [t.text for t in await store.turns("web:b")]
        assert texts[0] == "sđt tôi [số điện thoại …78]"
        assert texts[1] == office
        assert "0912345678" not in texts[2]
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    ("text", "number", "kept"),
    [
        ("Số CCCD của tôi là 001234567802.", "001234567802", "…02]"),
        ("CCCD-001234567803", "001234567803", "…03]"),
        ("CCCD 0012 3456 7804 ạ", "0012 3456 7804", "…04]"),
        ("cccd: 001.234.567.805", "001.234.567.805", "…05]"),
        ("sdt0912345602", "0912345602", "…02]"),
        ("sdt.0912345603", "0912345603", "…03]"),
        ("gọi em (091) 234-5604 nhé", "234-5604", "…04]"),
        ("Sđt: (+84) 912 345 606", "912 345 606", "…06]"),
    ],
)
async def test_citizen_numbers_are_masked_in_common_formats(
        settings: Settings, text: str, number: str, kept: str) -> None:
    engine = make_engine(settings.effective_database_url)
    await ensure_schema(engine)
    store = ConversationStore(make_sessionmaker(engine))
    try:
        await store.save("web:c", "web", "c", {}, "bot", [TurnRecord("in", text)])
        [row] = await store.turns("web:c")
        assert number not in row.text
        assert kept in row.text
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    "text",
    [
        "hồ sơ 000.00.12.H31-261120-0001",
        "mã 000.00.12.H84-261120-0001 ạ",
        "lệ phí 25.000 đồng, 1.000.000 đồng hoặc 100.000.000.000 đồng",
        "hẹn ngày 26/11/2020, 2020-11-26 hoặc 26.11.2020",
        "các năm 2021 2022 2023, nộp 2 bản, phòng 12, số 0012",
        "đường dây nóng (1022), mã bưu chính 180000",
    ],
)
def test_masking_keeps_codes_fees_dates_and_ordinary_numbers(text: str) -> None:
    assert mask_personal_data(text) == text
