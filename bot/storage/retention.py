"""Deleting what is past its retention period: citizens' data is kept no longer than needed.

A conversation nobody wrote in for ``retention_days`` goes with everything about it: its
transcript (turns), staff notes, replies waiting in the outbox, its followed dossiers and their
notices, and its accepted messages in the inbox. Deletes are idempotent, so several workers
may run them at once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.inbox import DONE
from bot.storage.tables import (
    ConversationNoteRow,
    ConversationRow,
    DossierFollowRow,
    DossierNoticeRow,
    InboxRow,
    OutboxRow,
    TurnRow,
)

BATCH = 500  # conversations per transaction: a long first run does not hold one huge lock


@dataclass(frozen=True, slots=True)
class Forgotten:
    """How much one run deleted."""

    conversations: int = 0
    turns: int = 0
    inbox: int = 0

    def __add__(self, other: Forgotten) -> Forgotten:
        return Forgotten(self.conversations + other.conversations, self.turns + other.turns,
                         self.inbox + other.inbox)


async def forget_before(sessions: async_sessionmaker[AsyncSession],
                        cutoff: dt.datetime) -> Forgotten:
    """Delete conversations last updated before ``cutoff`` with all that belongs to them,
    and inbox rows received before it that are done."""
    total = Forgotten()
    while True:
        async with sessions.begin() as session:
            ids = list((await session.scalars(
                select(ConversationRow.id).where(ConversationRow.updated_at < cutoff)
                .limit(BATCH))).all())
            if not ids:
                break
            turns = await session.execute(delete(TurnRow).where(
                TurnRow.conversation_id.in_(ids)))
            await session.execute(delete(ConversationNoteRow).where(
                ConversationNoteRow.conversation_id.in_(ids)))
            await session.execute(delete(OutboxRow).where(OutboxRow.conversation_id.in_(ids)))
            await session.execute(delete(DossierNoticeRow).where(
                DossierNoticeRow.conversation_id.in_(ids)))
            await session.execute(delete(DossierFollowRow).where(
                DossierFollowRow.conversation_id.in_(ids)))
            gone = await session.execute(delete(ConversationRow).where(
                ConversationRow.id.in_(ids), ConversationRow.updated_at < cutoff))
            total += Forgotten(_count(gone), _count(turns))
    async with sessions.begin() as session:
        inbox = await session.execute(delete(InboxRow).where(
            InboxRow.received_at < cutoff, InboxRow.status == DONE))
    return total + Forgotten(inbox=_count(inbox))


def _count(result: object) -> int:
    """The rows a DELETE touched."""
    return int(getattr(result, "rowcount", 0) or 0)
