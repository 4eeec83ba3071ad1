"""A citizen's own data (issue 17): "dữ liệu của tôi" says what is kept and for how long;
"xóa dữ liệu của tôi" erases the whole conversation after a confirmation carrying a one-time
token (a forged or old button erases nothing), atomically with the reply, through the whole
service on real SQLite, and once on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import inspect, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from actions import texts
from actions.base import ConversationStatus, Reply
from bot.core.messages import IncomingMessage
from bot.service.app import RUNTIME
from bot.service.composition import Runtime
from bot.storage.conversations import ConversationStore, TurnRecord
from bot.storage.db import make_sessionmaker
from bot.storage.inbox import AlreadyHandled, Inbox
from bot.storage.outbox import Outbox
from bot.storage.own_data import PersonalDataStore
from bot.storage.tables import ConversationNoteRow, ConversationRow, InboxRow, TurnRow
from bot.storage.turns import AnsweredTurn, TurnTransaction
from tests.scale.harness import PostgresDatabase

Client = TestClient[Any, Any]
ID_NUMBER = "031099001234"
KNOWN_TABLES = {"turns", "outbox", "conversation_notes"}


async def tables_keyed_by_conversation(engine: AsyncEngine) -> list[str]:
    """Every table of the live database with a conversation-id column: read from the
    database, not from our metadata, so a table a migration adds later is caught."""
    async with engine.connect() as connection:
        def names(sync: Any) -> list[str]:
            found = inspect(sync)
            return sorted(name for name in found.get_table_names()
                          if any(c["name"] == "conversation_id"
                                 for c in found.get_columns(name)))
        return await connection.run_sync(names)


async def rows_left(engine: AsyncEngine, conversation_id: str) -> dict[str, int]:
    """Rows still held about a conversation, per table (every conversation-keyed table, the
    conversation itself and the inbox)."""
    channel, _, user = conversation_id.partition(":")
    counts: dict[str, int] = {}
    tables = await tables_keyed_by_conversation(engine)
    assert set(tables) >= KNOWN_TABLES, tables
    async with engine.connect() as connection:
        for table in tables:
            counts[table] = (await connection.execute(text(
                f"SELECT count(*) FROM {table} WHERE conversation_id = :c"),
                {"c": conversation_id})).scalar_one()
        counts["conversations"] = (await connection.execute(text(
            "SELECT count(*) FROM conversations WHERE id = :c"), {"c": conversation_id})
        ).scalar_one()
        counts["inbox"] = (await connection.execute(text(
            "SELECT count(*) FROM inbox WHERE channel = :ch AND user_id = :u"),
            {"ch": channel, "u": user})).scalar_one()
    return counts


async def chat(service: Client, sender: str, message: str) -> list[dict[str, Any]]:
    chat.counter += 1  # type: ignore[attr-defined]
    response = await service.post("/api/chat", json={
        "sender": sender, "message": message,
        "message_id": f"{sender}-{chat.counter}"})  # type: ignore[attr-defined]
    assert response.status == 200, await response.text()
    replies: list[dict[str, Any]] = await response.json()
    return replies


chat.counter = 0  # type: ignore[attr-defined]


def button(replies: list[dict[str, Any]], title: str) -> str:
    payloads = [b["payload"] for r in replies for b in r.get("buttons", ())
                if b["title"] == title]
    assert payloads, f"no button {title!r} in {replies}"
    return str(payloads[0])


async def test_delete_my_data_erases_everything_and_the_reply_says_what(
        service: Client) -> None:
    runtime: Runtime = service.app[RUNTIME]
    engine, stores = runtime.engine, runtime.stores
    cid = "web:own1"
    await chat(service, "own1", f"làm căn cước cần gì, số của tôi {ID_NUMBER}")
    replies = await chat(service, "own1", "lệ phí làm hộ chiếu")
    await chat(service, "own1", button(replies, texts.FEEDBACK_UP_BUTTON))  # feedback
    await stores.transcripts.add_note(cid, "hotro", f"người dân gửi số {ID_NUMBER}")
    await stores.outbox.push(cid, [Reply("trả lời chờ gửi").to_dict()], sender="staff")
    await chat(service, "own1", "cho tôi gặp nhân viên")  # the handoff queue
    assert (await stores.conversations.load(cid)).status == ConversationStatus.WAITING  # type: ignore[union-attr]
    before = await rows_left(engine, cid)
    assert before["turns"] >= 8 and before["conversation_notes"] == 1 and before["outbox"] == 1

    said = await chat(service, "own1", "dữ liệu của tôi")  # answered while waiting
    assert "365 ngày" in said[0]["text"] and "Ghi chú của cán bộ hỗ trợ: 1" in said[0]["text"]
    asked = await chat(service, "own1", "xoa het tin nhan cua toi")
    assert "Bạn có chắc muốn xóa" in asked[0]["text"]
    done = await chat(service, "own1", button(asked, texts.DELETE_BUTTON))
    reply = done[0]["text"]
    assert reply.startswith("Đã xóa dữ liệu của bạn")
    assert "Ghi chú của cán bộ hỗ trợ: 1" in reply and "Câu trả lời chờ gửi: 1" in reply
    turns_said = re.search(r"Tin nhắn trong lịch sử trò chuyện \(.*\): (\d+)", reply)
    assert turns_said and int(turns_said.group(1)) == before["turns"] + 4  # two more asked

    left = await rows_left(engine, cid)
    # The conversation starts again holding only the confirmation and its reply.
    assert left == {**{table: 0 for table in left}, "turns": 2, "conversations": 1,
                    "inbox": 1}, left
    sessions = make_sessionmaker(engine)
    async with sessions() as session:
        row = await session.get(ConversationRow, cid)
        kept = [t.text for t in (await session.scalars(
            select(TurnRow).where(TurnRow.conversation_id == cid))).all()]
        inbox = (await session.scalars(select(InboxRow.text).where(
            InboxRow.user_id == "own1"))).all()
    assert row is not None and row.status == ConversationStatus.BOT and not row.handoff
    assert (row.feedback_up, row.messages, row.state.get("procedure")) == (0, 1, None)
    assert not any("031099" in t or "căn cước" in t for t in [*kept, *inbox])
    assert await stores.handoff.position(cid) == 1 and not await stores.handoff.waiting()


async def test_a_forged_an_old_or_a_cancelled_button_erases_nothing(
        runtime: Runtime) -> None:
    async def say(words: str) -> list[Reply]:
        return (await runtime.pipeline.handle(IncomingMessage("test", "own2", words))).replies

    await say("lệ phí làm hộ chiếu")
    first = await say("xóa dữ liệu của tôi")
    old = next(b.payload for b in first[0].buttons if b.title == texts.DELETE_BUTTON)
    second = await say("xóa dữ liệu của tôi")
    keep = next(b.payload for b in second[0].buttons if b.title == texts.KEEP_BUTTON)
    assert (await say(old))[0].text == texts.DELETE_STALE  # an older question's button
    assert (await say('/delete_my_data{"confirm":"forged"}'))[0].text == texts.DELETE_STALE
    assert (await say('/delete_my_data{"confirm":""}'))[0].text == texts.DELETE_STALE
    third = await say("xóa dữ liệu của tôi")
    current = next(b.payload for b in third[0].buttons if b.title == texts.DELETE_BUTTON)
    assert (await say(keep.replace(keep.split('"')[3], current.split('"')[3])))[0].text \
        == texts.DELETE_KEPT  # "Không xóa" of the current question
    assert (await say(current))[0].text == texts.DELETE_STALE  # its token is used up
    assert (await say("có"))[0].text != texts.DELETE_KEPT  # a later "có" is not an answer
    left = await rows_left(runtime.engine, "test:own2")
    assert left["turns"] >= 20 and left["conversations"] == 1


async def test_a_typed_yes_confirms_only_right_after_the_question(runtime: Runtime) -> None:
    async def say(words: str) -> str:
        replies = (await runtime.pipeline.handle(IncomingMessage("test", "own3", words)))
        return replies.replies[0].text

    await say("le phi ho chieu")
    assert "Bạn có chắc" in await say("xoa du lieu cua toi")
    assert "Đã xóa dữ liệu" in await say("Đồng ý")
    assert (await rows_left(runtime.engine, "test:own3"))["turns"] == 2


async def test_deleting_is_refused_clearly_while_an_officer_has_the_conversation(
        runtime: Runtime) -> None:
    pipeline = runtime.pipeline
    await pipeline.handle(IncomingMessage("test", "own4", "gặp nhân viên"))
    await runtime.stores.handoff.take("test:own4", "hotro")
    replies = (await pipeline.handle(IncomingMessage("test", "own4", "xóa dữ liệu của tôi")))
    assert replies.replies[0].text == texts.DELETE_WITH_STAFF
    stored = await runtime.stores.conversations.load("test:own4")
    assert stored is not None and stored.status == ConversationStatus.STAFF


async def test_the_erase_is_atomic_with_the_reply(runtime: Runtime) -> None:
    """If the turn cannot be committed (another worker answered it), nothing is erased."""
    pipeline = runtime.pipeline
    await pipeline.handle(IncomingMessage("test", "own5", "lệ phí làm hộ chiếu"))
    asked = (await pipeline.handle(IncomingMessage("test", "own5", "xóa dữ liệu của tôi")))
    confirm = next(b.payload for b in asked.replies[0].buttons
                   if b.title == texts.DELETE_BUTTON)
    before = await rows_left(runtime.engine, "test:own5")
    unit = TurnTransaction(runtime.stores.conversations, inbox_id=987654321)
    with pytest.raises(AlreadyHandled):
        await pipeline.handle(IncomingMessage("test", "own5", confirm), unit)
    assert await rows_left(runtime.engine, "test:own5") == before
    done = await pipeline.handle(IncomingMessage("test", "own5", confirm))
    assert done.replies[0].text.startswith("Đã xóa")


@pytest.mark.slow
async def test_the_unit_of_work_erases_on_postgresql(database: PostgresDatabase) -> None:
    sessions = make_sessionmaker(database.engine)
    conversations = ConversationStore(sessions)
    cid = "zalo:own6"
    await conversations.save(cid, "zalo", "own6", {"procedure": "ho-chieu"},
                             ConversationStatus.WAITING,
                             [TurnRecord("in", f"số {ID_NUMBER}"), TurnRecord("out", "vâng")])
    async with sessions.begin() as session:
        session.add(ConversationNoteRow(conversation_id=cid, at=dt.datetime.now(dt.UTC),
                                        username="hotro", text="ghi chú"))
    await Outbox(sessions).push(cid, [Reply("chờ").to_dict()])
    inbox = Inbox(sessions)
    old = await inbox.accept(IncomingMessage("zalo", "own6", "cũ", message_id="m1"))
    assert old is not None
    await inbox.done(old, "cũ")
    now = await inbox.accept(IncomingMessage("zalo", "own6", "có", message_id="m2"))
    held = await PersonalDataStore(sessions).held(cid)
    assert held == {"turns": 2, "conversation_notes": 1, "outbox": 1, "conversations": 1,
                    "inbox": 1, **{t: 0 for t in held if t not in KNOWN_TABLES | {
                        "conversations", "inbox"}}}
    unit = TurnTransaction(conversations, inbox_id=now)
    await unit.commit(AnsweredTurn(IncomingMessage("zalo", "own6", "có"), {}, "bot",
                                   [TurnRecord("out", "Đã xóa")], [Reply("Đã xóa")],
                                   erase=True))
    assert unit.erased["turns"] == 2 and unit.erased["inbox"] == 1
    left = await rows_left(database.engine, cid)
    assert left == {**{table: 0 for table in left}, "turns": 1, "conversations": 1,
                    "inbox": 1}, left
    async with sessions.begin() as session:  # staff erase: nothing at all is left
        await session.execute(update(InboxRow).values(status="done"))
    assert (await PersonalDataStore(sessions).erase(cid))["conversations"] == 1
    assert set((await rows_left(database.engine, cid)).values()) == {0}
