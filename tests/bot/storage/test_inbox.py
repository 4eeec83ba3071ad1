"""The inbox on a real SQLite database: a message stored keeps its form and kind, a delivery
is stored once, an answered message can keep just the replies not yet delivered, and a
conversation's unfinished rows come with its saved state; on PostgreSQL, where a worker's
statements go straight through asyncpg, the same, and a turn is saved whole only while its
row is pending."""

from __future__ import annotations

import datetime as dt

import pytest

from actions.base import MessageKind, Reply
from bot.core.messages import IncomingMessage
from bot.service.settings import Settings
from bot.storage.batch import WriteBatcher
from bot.storage.conversations import ConversationStore, TurnRecord
from bot.storage.db import make_engine, make_sessionmaker
from bot.storage.inbox import ANSWERED, DONE, PENDING, AlreadyHandled, Inbox
from bot.storage.migrate import ensure_schema
from bot.storage.turns import AnsweredTurn, TurnTransaction
from tests.scale.harness import PostgresDatabase


async def test_a_message_comes_back_as_it_was_stored_and_once(settings: Settings) -> None:
    engine = make_engine(settings.effective_database_url)
    await ensure_schema(engine)
    inbox = Inbox(make_sessionmaker(engine))
    sent = IncomingMessage("zalo", "u1", "[ảnh]", "m-1",
                           dt.datetime(2026, 12, 4, 9, 30, tzinfo=dt.UTC), MessageKind.MEDIA)
    inbox_id = await inbox.accept(sent)
    assert inbox_id is not None
    assert await inbox.accept(sent) is None  # the same delivery again
    [item], state = await inbox.unfinished_for("zalo", "u1")
    assert item.id == inbox_id and item.message == sent
    assert state is None  # no conversation saved yet
    await engine.dispose()


async def test_an_answered_message_keeps_only_its_unsent_replies(settings: Settings) -> None:
    engine = make_engine(settings.effective_database_url)
    await ensure_schema(engine)
    inbox = Inbox(make_sessionmaker(engine))
    inbox_id = await inbox.accept(IncomingMessage("telegram", "7", "lệ phí hộ chiếu", "u-1"))
    assert inbox_id is not None
    first, second = Reply("một").to_dict(), Reply("hai").to_dict()
    await inbox.answered(inbox_id, [first, second])
    await inbox.keep_unsent(inbox_id, [second])
    item = await inbox.get(inbox_id)
    assert item is not None and item.status == ANSWERED and item.replies == (second,)
    await engine.dispose()


async def test_a_conversations_unfinished_rows_come_with_its_saved_state(
        settings: Settings) -> None:
    engine = make_engine(settings.effective_database_url)
    await ensure_schema(engine)
    sessions = make_sessionmaker(engine)
    inbox, conversations = Inbox(sessions), ConversationStore(sessions)
    await conversations.save("telegram:7", "telegram", "7", {"procedure": "ho-chieu"}, "bot")
    first = await inbox.accept(IncomingMessage("telegram", "7", "lệ phí", "u-1"))
    await inbox.accept(IncomingMessage("telegram", "7", "ở đâu", "u-2"))
    await inbox.accept(IncomingMessage("telegram", "8", "chào", "u-3"))
    assert first is not None
    await inbox.answered(first, [Reply("một").to_dict()])
    items, state = await inbox.unfinished_for("telegram", "7")
    assert [(item.message.text, item.status) for item in items] == [
        ("lệ phí", ANSWERED), ("ở đâu", PENDING)]
    assert state == await conversations.load("telegram:7")
    assert state is not None and state.state == {"procedure": "ho-chieu"}
    assert await inbox.unfinished_for("telegram", "9") == ([], None)
    await engine.dispose()


@pytest.mark.slow
async def test_a_workers_statements_on_postgresql(database: PostgresDatabase) -> None:
    engine = make_engine(database.url)
    sessions = make_sessionmaker(engine)
    batcher = WriteBatcher(engine)
    inbox, conversations = Inbox(sessions, batcher), ConversationStore(sessions, 0, batcher)
    assert inbox.postgres is not None and conversations.postgres is inbox.postgres
    try:
        message = IncomingMessage("telegram", "7", "lệ phí 0912345678", "u-1")
        first = await inbox.accept(message)
        assert first is not None and await inbox.accept(message) is None
        items, state = await inbox.unfinished_for("telegram", "7")
        assert [(item.id, item.message, item.status) for item in items] == [
            (first, message, PENDING)] and state is None
        turn = AnsweredTurn(message, {"procedure": "ho-chieu"}, "bot", [
            TurnRecord("in", message.text, intent="procedure_fee", confidence=0.7,
                       procedure="ho-chieu"), TurnRecord("out", "200.000 đồng")],
                            [Reply("200.000 đồng")])
        await TurnTransaction(conversations, first, state).commit(turn)  # a new conversation
        with pytest.raises(AlreadyHandled):  # answered already: nothing of it is saved again
            await TurnTransaction(conversations, first, state).commit(turn)
        items, state = await inbox.unfinished_for("telegram", "7")
        assert [(item.status, item.replies) for item in items] == [
            (ANSWERED, (Reply("200.000 đồng").to_dict(),))]
        assert state is not None and state.state == {"procedure": "ho-chieu"}
        await inbox.done(first, message.text)
        second = IncomingMessage("telegram", "7", "cho gặp nhân viên", "u-2")
        second_id = await inbox.accept(second)
        assert second_id is not None
        await TurnTransaction(conversations, second_id, state).commit(AnsweredTurn(
            second, {}, "waiting", [TurnRecord("in", second.text, intent="human_handoff",
                                               confidence=0.4)], [Reply("chờ")]))
        assert await database.fetch(
            "SELECT status, messages, intents, procedures, min_confidence, handoff "
            "FROM conversations") == [("waiting", 2, " procedure_fee human_handoff ",
                                       " ho-chieu ", 0.4, True)]
        assert [row[0] for row in await database.fetch(
            "SELECT text FROM turns ORDER BY id")] == [
            "lệ phí [số điện thoại …78]", "200.000 đồng", "cho gặp nhân viên"]
        assert await database.fetch("SELECT status, text FROM inbox ORDER BY id") == [
            (DONE, "lệ phí [số điện thoại …78]"), (ANSWERED, "cho gặp nhân viên")]
    finally:
        await batcher.close()
        await engine.dispose()
