"""The inbox: every accepted message is stored before it is processed, once per delivery id.

``accept`` returns False for a delivery already seen (a webhook retried by the platform), so a
repeated delivery never gets a second reply. Messages still ``pending`` after a crash are
returned by ``pending()`` and processed again at start.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from knowledge.models import InboxRow

PENDING = "pending"
DONE = "done"


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

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def accept(self, channel: str, message_id: str, user_id: str, text: str,
                     received_at: dt.datetime) -> int | None:
        """Store a message; its inbox id, or None when this delivery was already accepted."""
        try:
            async with self.sessions.begin() as session:
                row = InboxRow(channel=channel, message_id=message_id, user_id=user_id,
                               text=text, received_at=received_at, status=PENDING)
                session.add(row)
                await session.flush()
                return row.id
        except IntegrityError:
            return None

    async def done(self, inbox_id: int) -> None:
        """Mark a message as processed (its replies were handed to the channel)."""
        async with self.sessions.begin() as session:
            await session.execute(
                update(InboxRow).where(InboxRow.id == inbox_id)
                .values(status=DONE, processed_at=dt.datetime.now(dt.UTC))
            )

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
