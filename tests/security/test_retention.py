"""Citizens' data is kept no longer than needed: the inbox keeps a message's raw text only
until it is answered and sent, and a conversation untouched for the retention period goes
with its transcript, notes and inbox rows (real SQLite; the real service, or the bot's
dispatcher where the service's own retention pass would get in the way)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select, update

from bot.core.dispatcher import Dispatcher
from bot.core.messages import IncomingMessage
from bot.service.app import RUNTIME
from bot.service.composition import Runtime
from bot.service.retention import RetentionJob
from bot.storage.db import make_sessionmaker
from bot.storage.tables import ConversationRow, InboxRow, TurnRow

Client = TestClient[Any, Any]


async def test_the_inbox_keeps_only_the_masked_text_once_a_message_is_done(
        service: Client) -> None:
    said = "sđt em 0912345678, cccd 031099001234, làm hộ chiếu bao nhiêu tiền"
    response = await service.post("/api/chat", json={"sender": "r1", "message": said,
                                                     "message_id": "r1-1"})
    assert response.status == 200 and await response.json()
    sessions = make_sessionmaker(service.app[RUNTIME].engine)
    async with sessions() as session:
        [row] = (await session.scalars(select(InboxRow).where(
            InboxRow.message_id == "r1-1"))).all()
    assert row.status == "done"
    assert "0912345678" not in row.text and "031099001234" not in row.text
    assert "hộ chiếu" in row.text


async def test_a_conversation_past_retention_is_deleted_with_all_it_holds(
        runtime: Runtime) -> None:
    # the bot without its HTTP service, whose own retention pass at start would race this
    # test's (the deletes are idempotent, but the counts checked here would be split)
    dispatcher = Dispatcher(runtime.pipeline, runtime.stores.inbox)
    for sender in ("old", "new"):
        replies = await dispatcher.handle_now(
            IncomingMessage("web", sender, "lệ phí hộ chiếu", f"{sender}-1"))
        assert replies and "hộ chiếu" in replies[0].text  # answered, so its row is done
    sessions = runtime.stores.sessions
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=400)
    async with sessions.begin() as session:
        await session.execute(update(ConversationRow).where(ConversationRow.id == "web:old")
                              .values(updated_at=long_ago))
        await session.execute(update(InboxRow).where(InboxRow.user_id == "old")
                              .values(received_at=long_ago))
    job = RetentionJob(sessions, days=365, interval=3600)
    forgotten = await job.run_once()
    assert (forgotten.conversations, forgotten.inbox) == (1, 1) and forgotten.turns >= 2
    async with sessions() as session:
        conversations = set((await session.scalars(select(ConversationRow.id))).all())
        turns = set((await session.scalars(select(TurnRow.conversation_id))).all())
        senders = set((await session.scalars(select(InboxRow.user_id))).all())
    assert "web:old" not in conversations and "web:new" in conversations
    assert turns == {"web:new"} and senders == {"new"}
    assert await job.run_once() == type(forgotten)()  # nothing left to delete: idempotent
