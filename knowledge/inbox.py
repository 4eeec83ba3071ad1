"""The inbox: every accepted message is stored before it is processed, once per delivery id.

``accept`` returns False for a delivery already seen (a webhook retried by the platform), so a
repeated delivery never gets a second reply. Messages still ``pending`` after a crash are
returned by ``pending()`` and processed again at start.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from knowledge.batch import WriteBatcher
from knowledge.batch import write as run_write
from knowledge.models import InboxRow

PENDING = "pending"
DONE = "done"

# Built once: constructing SQL expressions per message costs more than running them.
_ACCEPT = {
    name: insert_(InboxRow).on_conflict_do_nothing(
        index_elements=["channel", "message_id"]).returning(InboxRow.id)
    for name, insert_ in (("sqlite", sqlite_insert), ("postgresql", postgresql_insert))
}
_DONE = (update(InboxRow).where(InboxRow.id == bindparam("inbox_id"))
         .values(status=DONE, processed_at=bindparam("now")))


@dataclass(frozen=True, slots=True)
class InboxItem:
    """A stored inbound message."""

    id: int
    channel: str
    message_id: str
    user_id: str
    text: str
    received_at: dt.datetime


class Inbox:
    """Stores inbound messages and their processing state."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession],
                 batcher: WriteBatcher | None = None) -> None:
        self.sessions = sessions
        self.batcher = batcher

    async def accept(self, channel: str, message_id: str, user_id: str, text: str,
                     received_at: dt.datetime) -> int | None:
        """Store a message; its inbox id, or None when this delivery was already accepted."""

        def write(connection: Connection) -> int | None:
            dialect = connection.dialect.name
            values = {"channel": channel, "message_id": message_id, "user_id": user_id,
                      "text": text, "received_at": received_at, "status": PENDING}
            if dialect in _ACCEPT:
                return connection.execute(_ACCEPT[dialect], values).scalar_one_or_none()
            exists = connection.scalar(select(InboxRow.id).where(
                InboxRow.channel == channel, InboxRow.message_id == message_id))
            if exists is not None:
                return None
            result = connection.execute(insert(InboxRow).values(**values)
                                        .returning(InboxRow.id))
            return result.scalar_one()

        return await run_write(self.batcher, self.sessions.kw["bind"], write)

    async def done(self, inbox_id: int) -> None:
        """Mark a message as processed (its replies were handed to the channel)."""

        def write(connection: Connection) -> None:
            connection.execute(_DONE, {"inbox_id": inbox_id, "now": dt.datetime.now(dt.UTC)})

        await run_write(self.batcher, self.sessions.kw["bind"], write)

    async def pending(self, limit: int = 10_000) -> list[InboxItem]:
        """Messages accepted but not processed, oldest first."""
        async with self.sessions() as session:
            rows = (await session.scalars(
                select(InboxRow).where(InboxRow.status == PENDING).order_by(InboxRow.id)
                .limit(limit)
            )).all()
        return [
            InboxItem(r.id, r.channel, r.message_id, r.user_id, r.text,
                      r.received_at if r.received_at.tzinfo else
                      r.received_at.replace(tzinfo=dt.UTC))
            for r in rows
        ]
