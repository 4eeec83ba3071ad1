"""The inbox on a real SQLite database: a message stored keeps its form and kind, a delivery
is stored once, an answered message can keep just the replies not yet delivered, and a
conversation's unfinished rows come with its saved state."""

from __future__ import annotations

import datetime as dt

from actions.base import MessageKind, Reply
from bot.core.messages import IncomingMessage
from bot.service.settings import Settings
from bot.storage.conversations import ConversationStore
from bot.storage.db import make_engine, make_sessionmaker
from bot.storage.inbox import ANSWERED, PENDING, Inbox
from bot.storage.migrate import ensure_schema


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
