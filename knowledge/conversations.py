"""Conversation state and transcripts in the database. Text is masked here, before storage."""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from knowledge.batch import WriteBatcher
from knowledge.models import ConversationRow, TurnRow
from knowledge.redact import mask_personal_data


def utcnow() -> dt.datetime:
    """The current time, timezone-aware."""
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True, slots=True)
class TurnRecord:
    """One message to record in a transcript (its text is masked when stored)."""

    direction: str  # "in" or "out"
    text: str
    at: dt.datetime = field(default_factory=utcnow)
    intent: str | None = None
    confidence: float | None = None
    entities: Sequence[dict[str, Any]] = ()
    procedure: str | None = None
    action: str | None = None
    latency_ms: float | None = None


@dataclass(frozen=True, slots=True)
class StoredState:
    """A conversation's saved dialogue state and handling status."""

    state: dict[str, Any]
    status: str
    updated_at: dt.datetime


class ConversationStore:
    """Dialogue state per conversation and the transcript of every turn."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], cache_size: int = 0,
                 batcher: WriteBatcher | None = None) -> None:
        """``cache_size`` > 0 keeps recent states in memory: only for a single process that
        owns the database (the embedded mode), never when other workers write too.
        ``batcher`` shares transactions between concurrent messages."""
        self.sessions = sessions
        self.batcher = batcher
        self.cache_size = cache_size
        self._cache: OrderedDict[str, StoredState] = OrderedDict()

    def _remember(self, conversation_id: str, stored: StoredState) -> None:
        if self.cache_size:
            self._cache[conversation_id] = stored
            self._cache.move_to_end(conversation_id)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)

    async def load(self, conversation_id: str) -> StoredState | None:
        """The saved state of a conversation, if it exists."""
        cached = self._cache.get(conversation_id)
        if cached is not None:
            return StoredState(dict(cached.state), cached.status, cached.updated_at)
        async with self.sessions() as session:
            row = await session.get(ConversationRow, conversation_id)
        if row is None:
            return None
        updated = row.updated_at
        if updated.tzinfo is None:  # SQLite returns naive datetimes
            updated = updated.replace(tzinfo=dt.UTC)
        stored = StoredState(dict(row.state), row.status, updated)
        self._remember(conversation_id, stored)
        return stored

    async def save(self, conversation_id: str, channel: str, user_id: str,
                   state: dict[str, Any], status: str,
                   turns: Sequence[TurnRecord] = ()) -> None:
        """Save the state and append turns in one transaction (shared with other messages'
        writes when a batcher is configured: this is the hot path of every message)."""
        now = utcnow()
        rows = [
            {
                "conversation_id": conversation_id,
                "at": turn.at,
                "channel": channel,
                "direction": turn.direction,
                "text": mask_personal_data(turn.text),
                "intent": turn.intent,
                "confidence": turn.confidence,
                "entities": [_masked_entity(e) for e in turn.entities],
                "procedure": turn.procedure,
                "action": turn.action,
                "latency_ms": turn.latency_ms,
            }
            for turn in turns
        ]

        async def write(connection: AsyncConnection) -> None:
            result = await connection.execute(
                update(ConversationRow).where(ConversationRow.id == conversation_id)
                .values(state=state, status=status, updated_at=now)
            )
            if not getattr(result, "rowcount", 0):
                await connection.execute(insert(ConversationRow).values(
                    id=conversation_id, channel=channel, user_id=user_id, state=state,
                    status=status, created_at=now, updated_at=now))
            if rows:
                await connection.execute(insert(TurnRow), rows)

        await self._write(write)
        self._remember(conversation_id, StoredState(dict(state), status, now))

    async def _write(self, job: Callable[[AsyncConnection], Awaitable[None]]) -> None:
        if self.batcher is not None:
            await self.batcher.run(job)
            return
        engine = self.sessions.kw["bind"]
        async with engine.begin() as connection:
            await job(connection)

    async def set_unreachable(self, conversation_id: str, reason: str | None) -> None:
        """Record that replies cannot reach this user (blocked the bot, outside the window)."""
        async with self.sessions.begin() as session:
            row = await session.get(ConversationRow, conversation_id)
            if row is not None:
                row.unreachable = reason
        self._cache.pop(conversation_id, None)

    async def unreachable(self, conversation_id: str) -> str | None:
        """Why replies cannot reach this user, if they cannot."""
        async with self.sessions() as session:
            row = await session.get(ConversationRow, conversation_id)
        return row.unreachable if row is not None else None

    async def turns(self, conversation_id: str) -> list[TurnRow]:
        """Every turn of a conversation in order."""
        async with self.sessions() as session:
            result = await session.scalars(
                select(TurnRow).where(TurnRow.conversation_id == conversation_id)
                .order_by(TurnRow.id)
            )
            return list(result.all())


def _masked_entity(entity: dict[str, Any]) -> dict[str, Any]:
    """Entities that are personal data keep their type but not their value."""
    if entity.get("entity") in ("id_number", "phone"):
        return {**entity, "value": mask_personal_data(str(entity.get("value", "")))}
    return dict(entity)
