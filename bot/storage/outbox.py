"""Replies waiting for a pull channel: the web widget fetches them by conversation."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.tables import OutboxRow
from knowledge.clock import utcnow


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One stored reply."""

    id: int
    reply: dict[str, Any]
    sender: str
    created_at: dt.datetime


class Outbox:
    """Stores replies per conversation until the client fetches them."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def push(self, conversation_id: str, replies: list[dict[str, Any]],
                   sender: str = "bot") -> None:
        """Store replies for a conversation."""
        now = utcnow()
        async with self.sessions.begin() as session:
            session.add_all(OutboxRow(conversation_id=conversation_id, created_at=now,
                                      reply=reply, sender=sender) for reply in replies)

    async def after(self, conversation_id: str, after_id: int,
                    limit: int = 100) -> list[OutboxItem]:
        """Replies newer than ``after_id``, oldest first."""
        async with self.sessions() as session:
            rows = (await session.scalars(
                select(OutboxRow).where(OutboxRow.conversation_id == conversation_id,
                                        OutboxRow.id > after_id)
                .order_by(OutboxRow.id).limit(limit)
            )).all()
        return [OutboxItem(r.id, dict(r.reply), r.sender, r.created_at) for r in rows]
