"""The live-handoff queue: conversations waiting for a person, and officers taking them.

Status changes are single conditional UPDATEs (``... WHERE status = 'waiting'``), so two
officers — even on two workers — can never both take the same conversation. Every change goes
through ``ConversationStore.forget`` so the in-memory state cache never serves a stale status.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from actions.base import ConversationStatus
from bot.storage.conversations import ConversationStore
from bot.storage.tables import ConversationRow, TurnRow
from knowledge.clock import as_utc

WAITING = ConversationStatus.WAITING
STAFF = ConversationStatus.STAFF
BOT = ConversationStatus.BOT
QUEUE_LIMIT = 200
HISTORY_LIMIT = 300




@dataclass(frozen=True, slots=True)
class HandoffItem:
    """A conversation as the handoff pages show it."""

    id: str
    channel: str
    user_id: str
    status: str
    assigned_to: str | None
    handoff_at: dt.datetime | None
    updated_at: dt.datetime
    messages: int
    unreachable: str | None
    rating: int | None
    last_text: str = ""  # the citizen's latest message (masked), for the queue

    def waited(self, now: dt.datetime) -> dt.timedelta:
        """How long the citizen has been waiting since asking for a person."""
        if self.handoff_at is None:
            return dt.timedelta(0)
        return max(dt.timedelta(0), now - self.handoff_at)


class Outcome(StrEnum):
    """What became of a request to change a conversation's status."""

    DONE = "done"
    NOT_FOUND = "not_found"
    NOT_WAITING = "not_waiting"  # nobody waits: the citizen went back to the bot, or closed
    TAKEN = "taken"  # another officer has it
    ALREADY_MINE = "already_mine"
    NOT_STAFF = "not_staff"  # no officer has it (so it cannot be closed or released)
    NOT_YOURS = "not_yours"


@dataclass(frozen=True, slots=True)
class Change:
    """The outcome, and the conversation as it is afterwards (None if it does not exist)."""

    outcome: Outcome
    item: HandoffItem | None


def _item(row: ConversationRow, last_text: str = "") -> HandoffItem:
    handoff_at = as_utc(row.handoff_at) if row.handoff_at is not None else None
    return HandoffItem(row.id, row.channel, row.user_id, row.status, row.assigned_to,
                       handoff_at, as_utc(row.updated_at), row.messages, row.unreachable,
                       row.rating, last_text)


class HandoffStore:
    """Queue queries and status changes for live handoff."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession],
                 conversations: ConversationStore) -> None:
        self.sessions = sessions
        self.conversations = conversations

    async def _list(self, condition: ColumnElement[bool], order: Sequence[Any],
                    limit: int) -> list[HandoffItem]:
        async with self.sessions() as session:
            rows = list((await session.scalars(
                select(ConversationRow).where(condition).order_by(*order).limit(limit))).all())
            last = await self._last_citizen_texts(session, [row.id for row in rows])
        return [_item(row, last.get(row.id, "")) for row in rows]

    @staticmethod
    async def _last_citizen_texts(session: AsyncSession,
                                  ids: list[str]) -> Mapping[str, str]:
        if not ids:
            return {}
        latest = (select(func.max(TurnRow.id))
                  .where(TurnRow.conversation_id.in_(ids), TurnRow.direction == "in")
                  .group_by(TurnRow.conversation_id))
        found = await session.execute(
            select(TurnRow.conversation_id, TurnRow.text).where(TurnRow.id.in_(latest)))
        return {conversation_id: text for conversation_id, text in found.all()}

    async def waiting(self, limit: int = QUEUE_LIMIT) -> list[HandoffItem]:
        """Conversations waiting for a person, the longest-waiting first."""
        table = ConversationRow
        return await self._list(table.status == WAITING, (table.handoff_at, table.id), limit)

    async def position(self, conversation_id: str) -> int:
        """Where a conversation stands among those waiting (1: the longest-waiting); one not
        waiting yet comes after every one that is."""
        table = ConversationRow
        async with self.sessions() as session:
            row = await session.get(ConversationRow, conversation_id)
            ahead = and_(table.status == WAITING, table.id != conversation_id)
            if row is not None and row.status == WAITING and row.handoff_at is not None:
                ahead = and_(ahead, or_(table.handoff_at < row.handoff_at,
                                        and_(table.handoff_at == row.handoff_at,
                                             table.id < row.id)))
            count = await session.scalar(select(func.count()).where(ahead))
        return int(count or 0) + 1

    async def in_progress(self, officer: str | None = None,
                          limit: int = QUEUE_LIMIT) -> list[HandoffItem]:
        """Conversations an officer has (one officer's, or everyone's), latest activity first."""
        table = ConversationRow
        condition = and_(table.status == STAFF,
                         table.assigned_to == officer if officer is not None else true())
        return await self._list(condition, (table.updated_at.desc(),), limit)

    async def counts(self) -> dict[str, int]:
        """How many conversations wait and how many are with staff."""
        table = ConversationRow
        async with self.sessions() as session:
            found = await session.execute(
                select(table.status, func.count()).where(table.status.in_([WAITING, STAFF]))
                .group_by(table.status))
            counts = {status: int(count) for status, count in found.all()}
        return {WAITING: counts.get(WAITING, 0), STAFF: counts.get(STAFF, 0)}

    async def get(self, conversation_id: str) -> HandoffItem | None:
        """One conversation, if it exists."""
        async with self.sessions() as session:
            row = await session.get(ConversationRow, conversation_id)
        return _item(row) if row is not None else None

    async def history(self, conversation_id: str, after_id: int = 0,
                      limit: int = HISTORY_LIMIT) -> list[TurnRow]:
        """The latest turns after ``after_id``, in order (at most ``limit``)."""
        async with self.sessions() as session:
            rows = list((await session.scalars(
                select(TurnRow).where(TurnRow.conversation_id == conversation_id,
                                      TurnRow.id > after_id)
                .order_by(TurnRow.id.desc()).limit(limit))).all())
        rows.reverse()
        return rows

    async def take(self, conversation_id: str, officer: str) -> Change:
        """Give a waiting conversation to ``officer``; only one officer can win."""
        table = ConversationRow
        async with self.sessions.begin() as session:
            result = await session.execute(
                update(table).where(table.id == conversation_id, table.status == WAITING)
                .values(status=STAFF, assigned_to=officer))
            won = bool(getattr(result, "rowcount", 0))
        self.conversations.forget(conversation_id)
        item = await self.get(conversation_id)
        if won:
            return Change(Outcome.DONE, item)
        if item is None:
            return Change(Outcome.NOT_FOUND, None)
        if item.status == STAFF:
            mine = item.assigned_to == officer
            return Change(Outcome.ALREADY_MINE if mine else Outcome.TAKEN, item)
        return Change(Outcome.NOT_WAITING, item)

    async def give_back(self, conversation_id: str, officer: str, any_officer: bool,
                        slots: Mapping[str, Any]) -> Change:
        """Return a conversation an officer has to the bot, updating some dialogue slots.

        Only the officer who has it may, unless ``any_officer`` (an administrator).
        """
        table = ConversationRow
        async with self.sessions.begin() as session:
            row = await session.get(table, conversation_id)
            if row is None:
                return Change(Outcome.NOT_FOUND, None)
            if row.status != STAFF:
                return Change(Outcome.NOT_STAFF, _item(row))
            if row.assigned_to != officer and not any_officer:
                return Change(Outcome.NOT_YOURS, _item(row))
            state = {**row.state, **slots}
            result = await session.execute(
                update(table).where(table.id == conversation_id, table.status == STAFF,
                                    table.assigned_to == row.assigned_to)
                .values(status=BOT, state=state))
            changed = bool(getattr(result, "rowcount", 0))
        self.conversations.forget(conversation_id)
        item = await self.get(conversation_id)
        if not changed:  # another worker changed it between our read and write
            return Change(Outcome.NOT_STAFF if item and item.status != STAFF
                          else Outcome.NOT_YOURS, item)
        return Change(Outcome.DONE, item)
