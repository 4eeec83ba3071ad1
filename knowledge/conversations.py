"""Conversation state and transcripts in the database. Text is masked here, before storage."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

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

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def load(self, conversation_id: str) -> StoredState | None:
        """The saved state of a conversation, if it exists."""
        async with self.sessions() as session:
            row = await session.get(ConversationRow, conversation_id)
        if row is None:
            return None
        updated = row.updated_at
        if updated.tzinfo is None:  # SQLite returns naive datetimes
            updated = updated.replace(tzinfo=dt.UTC)
        return StoredState(dict(row.state), row.status, updated)

    async def save(self, conversation_id: str, channel: str, user_id: str,
                   state: dict[str, Any], status: str,
                   turns: Sequence[TurnRecord] = ()) -> None:
        """Save the state and append turns in one transaction."""
        now = utcnow()
        async with self.sessions.begin() as session:
            row = await session.get(ConversationRow, conversation_id)
            if row is None:
                row = ConversationRow(id=conversation_id, channel=channel, user_id=user_id,
                                      created_at=now)
                session.add(row)
            row.state = state
            row.status = status
            row.updated_at = now
            await session.flush()
            for turn in turns:
                session.add(
                    TurnRow(
                        conversation_id=conversation_id,
                        at=turn.at,
                        channel=channel,
                        direction=turn.direction,
                        text=mask_personal_data(turn.text),
                        intent=turn.intent,
                        confidence=turn.confidence,
                        entities=[_masked_entity(e) for e in turn.entities],
                        procedure=turn.procedure,
                        action=turn.action,
                        latency_ms=turn.latency_ms,
                    )
                )

    async def set_unreachable(self, conversation_id: str, reason: str | None) -> None:
        """Record that replies cannot reach this user (blocked the bot, outside the window)."""
        async with self.sessions.begin() as session:
            row = await session.get(ConversationRow, conversation_id)
            if row is not None:
                row.unreachable = reason

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
