"""Pipeline.handle on a real SQLite database with the shipped NLU model and knowledge base:
what is remembered between turns, what the transcript keeps, and the handoff status."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from actions import texts
from actions.base import Reply
from bot.core.messages import IncomingMessage
from bot.service.composition import Runtime, build_runtime
from bot.service.settings import Settings
from bot.storage.conversations import ConversationStore, StoredState
from bot.storage.db import make_sessionmaker
from bot.storage.inbox import AlreadyHandled
from bot.storage.turns import TurnTransaction
from nlu.engine import NluModel
from tests.conftest import prepare_data_dir

CID = "telegram:4242"


@pytest.fixture
async def runtime(tmp_path: Path, shipped_model: NluModel,
                  database_template: Path) -> AsyncIterator[Runtime]:
    """The bot on its own SQLite file, with the simulator's dossiers in-process."""
    settings = Settings(data_dir=tmp_path / "var")
    prepare_data_dir(settings, database_template, shipped_model)
    bot = await build_runtime(settings)
    yield bot
    await bot.close()


def say(text: str, at: dt.datetime | None = None, user: str = "4242") -> IncomingMessage:
    return IncomingMessage("telegram", user, text, received_at=at or dt.datetime.now(dt.UTC))


async def ask(runtime: Runtime, message: IncomingMessage) -> list[Reply]:
    """The replies the pipeline gives to one message."""
    return (await runtime.pipeline.handle(message)).replies


async def stored(runtime: Runtime, conversation_id: str = CID) -> StoredState:
    """The state as saved in the database (not the pipeline's in-memory cache)."""
    fresh = ConversationStore(make_sessionmaker(runtime.engine))
    state = await fresh.load(conversation_id)
    assert state is not None
    return state


async def test_the_procedure_is_remembered_for_a_follow_up_question(runtime: Runtime) -> None:
    first = await ask(runtime, say("lam ho chieu can giay to gi"))
    assert "Giấy tờ cần chuẩn bị cho thủ tục Cấp hộ chiếu phổ thông" in first[0].text
    follow_up = await ask(runtime, say("bao nhiêu tiền?"))
    assert "Lệ phí thủ tục Cấp hộ chiếu phổ thông" in follow_up[0].text
    assert "200.000 đồng" in follow_up[0].text
    saved = await stored(runtime)
    assert saved.status == "bot"
    assert saved.state["procedure"] == "ho-chieu"
    assert saved.state["last_intent"] == "procedure_fee"


async def test_another_conversation_does_not_share_the_procedure(runtime: Runtime) -> None:
    await ask(runtime, say("lam ho chieu can giay to gi"))
    other = await ask(runtime, say("bao nhiêu tiền?", user="other"))
    assert "Lệ phí thủ tục" not in other[0].text
    assert (await stored(runtime, "telegram:other")).state["awaiting"] == "procedure"


async def test_a_conversation_idle_past_the_state_lifetime_starts_afresh(
        runtime: Runtime) -> None:
    await ask(runtime, say("lam ho chieu can giay to gi"))
    later = dt.datetime.now(dt.UTC) + dt.timedelta(
        minutes=runtime.settings.state_ttl_minutes + 5)
    replies = await ask(runtime, say("bao nhiêu tiền?", at=later))
    assert "Cấp hộ chiếu" not in replies[0].text
    assert (await stored(runtime)).state["pending_intent"] == "procedure_fee"


async def test_the_answer_to_which_procedure_completes_the_waiting_question(
        runtime: Runtime) -> None:
    asked = await ask(runtime, say("bao nhiêu tiền?"))
    assert asked[0].text.startswith("Bạn muốn hỏi về thủ tục nào")
    answer = await ask(runtime, say("hộ chiếu"))
    assert "Lệ phí thủ tục Cấp hộ chiếu phổ thông" in answer[0].text


async def test_a_button_payload_is_understood_without_the_nlu(runtime: Runtime) -> None:
    replies = await ask(runtime, say('/procedure_location{"procedure":"khai-sinh"}'))
    assert "Nơi nộp hồ sơ thủ tục Đăng ký khai sinh" in replies[0].text
    turns = await runtime.stores.conversations.turns(CID)
    assert turns[0].intent == "procedure_location"
    assert turns[0].confidence == 1.0


async def test_a_dossier_code_asked_for_is_looked_up_in_the_next_message(
        runtime: Runtime) -> None:
    asked = await ask(runtime, say("tra cuu ho so"))
    assert asked[0].text == texts.ASK_DOSSIER_CODE
    assert (await stored(runtime)).state["awaiting"] == "dossier_code"
    found = await ask(runtime, say("000.00.12.H31-261110-0003"))
    assert "Tình trạng: Cần bổ sung hồ sơ" in found[0].text
    saved = await stored(runtime)
    assert saved.state["awaiting"] is None
    assert saved.state["procedure"] == "gpxd-nha-o"


async def test_the_transcript_keeps_every_turn_with_personal_data_masked(
        runtime: Runtime) -> None:
    text = "lệ phí hộ chiếu, số tôi 0912345678, căn cước 031095001234"
    replies = await ask(runtime, say(text))
    turns = await runtime.stores.conversations.turns(CID)
    assert [t.direction for t in turns] == ["in", *("out" for _ in replies)]
    incoming = turns[0]
    assert "0912345678" not in incoming.text
    assert "031095001234" not in incoming.text
    assert "[số điện thoại …78]" in incoming.text
    assert "[số định danh …34]" in incoming.text
    assert incoming.intent == "procedure_fee"
    assert incoming.procedure == "ho-chieu"
    assert incoming.action == "procedure_fee"
    for entity in incoming.entities:
        assert "0912345678" not in str(entity.get("value"))
        assert "031095001234" not in str(entity.get("value"))
    assert [t.text for t in turns[1:]] == [reply.text for reply in replies]


async def test_asking_for_a_person_waits_and_answers_each_message_with_the_queue_place(
        runtime: Runtime) -> None:
    handoff = await ask(runtime, say("cho gặp nhân viên"))
    assert "đã chuyển cuộc trò chuyện cho nhân viên hỗ trợ" in handoff[0].text
    assert (await stored(runtime)).status == "waiting"
    reminder = await ask(runtime, say("lệ phí hộ chiếu bao nhiêu"))
    assert len(reminder) == 1 and "đang chờ nhân viên hỗ trợ" in reminder[0].text
    assert "vị trí thứ 1 trong hàng đợi" in reminder[0].text
    again = await ask(runtime, say("alo?"))
    assert len(again) == 1 and "vẫn đang chờ nhân viên hỗ trợ" in again[0].text
    assert "vị trí thứ 1 trong hàng đợi" in again[0].text
    queue = await runtime.stores.handoff.waiting()
    assert [(item.id, item.last_text) for item in queue] == [(CID, "alo?")]  # staff see it
    saved = await stored(runtime)
    assert saved.status == "waiting"
    assert saved.state["reminded"] is True
    turns = await runtime.stores.conversations.turns(CID)
    assert [t.action for t in turns if t.direction == "in"] == [
        "human_handoff", "wait_for_staff", "wait_for_staff"]
    resumed = await ask(runtime, say("/resume_bot"))
    assert resumed[0].text == texts.RESUMED
    assert (await stored(runtime)).status == "bot"


async def test_the_place_in_the_queue_counts_who_asked_for_a_person_earlier(
        runtime: Runtime) -> None:
    first_asks = await ask(runtime, say("cho gặp nhân viên", user="1"))
    assert "vị trí thứ 1 trong hàng đợi" in first_asks[0].text
    second_asks = await ask(runtime, say("cho gặp nhân viên", user="2"))
    assert "vị trí thứ 2 trong hàng đợi" in second_asks[0].text
    second = await ask(runtime, say("alo bot ơi", user="2"))
    assert "vị trí thứ 2 trong hàng đợi" in second[0].text
    first = await ask(runtime, say("alo bot ơi", user="1"))
    assert "vị trí thứ 1 trong hàng đợi" in first[0].text
    await ask(runtime, say("/resume_bot", user="1"))
    moved_up = await ask(runtime, say("còn đó không", user="2"))
    assert "vị trí thứ 1 trong hàng đợi" in moved_up[0].text


async def test_a_failing_unit_of_work_saves_nothing_of_the_message(runtime: Runtime) -> None:
    await ask(runtime, say("lam ho chieu can giay to gi"))
    before = [t.id for t in await runtime.stores.conversations.turns(CID)]
    # the inbox row it should mark answered is not pending (another worker took it)
    taken = TurnTransaction(runtime.stores.conversations, inbox_id=987654)
    with pytest.raises(AlreadyHandled):
        await runtime.pipeline.handle(say("cho gặp nhân viên"), taken)
    assert [t.id for t in await runtime.stores.conversations.turns(CID)] == before
    saved = await stored(runtime)
    assert saved.status == "bot"
    assert saved.state["procedure"] == "ho-chieu"
    # nor does the pipeline remember it: the next message is answered as if it never came
    replies = await ask(runtime, say("bao nhiêu tiền?"))
    assert "Lệ phí thủ tục Cấp hộ chiếu phổ thông" in replies[0].text
