"""Conversation state and transcripts on a real SQLite database."""

from __future__ import annotations

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
