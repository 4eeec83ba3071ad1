"""Usage and quality figures for the dashboard, computed with a few aggregate queries.

Days are calendar days in Vietnam time (UTC+7). Every query reads only the chosen period.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.tables import ConversationRow, TurnRow
from knowledge.clock import VN_TIME, as_utc, utcnow


@dataclass(slots=True)
class Figures:
    """Everything the dashboard shows for one period."""

    days: list[dt.date]
    conversations_by_day: dict[str, list[int]]  # channel -> one count per day
    messages_by_day: dict[str, list[int]]
    top_procedures: list[tuple[str, int]]
    top_intents: list[tuple[str, int]]
    messages: int
    misunderstood: int
    handoffs: int
    handoff_wait_minutes: list[float]  # until an officer's first reply (or now)
    ratings: dict[int, int]
    feedback_up: int
    feedback_down: int
    unanswered: list[tuple[str, int]] = field(default_factory=list)

    @property
    def fallback_rate(self) -> float:
        """Share of citizen messages the bot misunderstood."""
        return self.misunderstood / self.messages if self.messages else 0.0

    @property
    def median_wait(self) -> float | None:
        """Median minutes a citizen waited for a person (taken or still waiting)."""
        waits = sorted(self.handoff_wait_minutes)
        return waits[len(waits) // 2] if waits else None




def _day(value: dt.datetime) -> dt.date:
    return as_utc(value).astimezone(VN_TIME).date()


async def figures(sessions: async_sessionmaker[AsyncSession], start: dt.date, end: dt.date,
                  now: dt.datetime | None = None) -> Figures:
    """Figures for the days from ``start`` to ``end`` inclusive (Vietnam time)."""
    # stored times are UTC (SQLite keeps the clock time without an offset)
    begin = dt.datetime.combine(start, dt.time(), VN_TIME).astimezone(dt.UTC)
    finish = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), VN_TIME).astimezone(dt.UTC)
    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    index = {day: i for i, day in enumerate(days)}
    now = now or utcnow()

    conversations: dict[str, list[int]] = {}
    messages_by_day: dict[str, list[int]] = {}
    intents: Counter[str] = Counter()
    procedures: Counter[str] = Counter()
    unanswered: Counter[str] = Counter()
    messages = misunderstood = 0
    async with sessions() as session:
        turns = await session.execute(
            select(TurnRow.at, TurnRow.channel, TurnRow.conversation_id, TurnRow.intent,
                   TurnRow.procedure, TurnRow.misunderstood, TurnRow.folded)
            .where(TurnRow.direction == "in", TurnRow.at >= begin, TurnRow.at < finish)
        )
        seen: set[tuple[str, dt.date]] = set()
        for at, channel, conversation_id, intent, procedure, missed, folded in turns:
            day = _day(at)
            if day not in index:
                continue
            messages += 1
            per_day = messages_by_day.setdefault(channel, [0] * len(days))
            per_day[index[day]] += 1
            if (conversation_id, day) not in seen:
                seen.add((conversation_id, day))
                conversations.setdefault(channel, [0] * len(days))[index[day]] += 1
            if intent:
                intents[intent] += 1
            if procedure:
                procedures[procedure] += 1
            if missed:
                misunderstood += 1
                if folded:
                    unanswered[folded] += 1
        feedback = (await session.execute(
            select(TurnRow.feedback, func.count())
            .where(TurnRow.feedback.is_not(None), TurnRow.at >= begin, TurnRow.at < finish)
            .group_by(TurnRow.feedback)
        )).all()
        first_human_reply = (
            select(func.min(TurnRow.at))
            .where(TurnRow.conversation_id == ConversationRow.id, TurnRow.direction == "out",
                   TurnRow.sender != "bot", TurnRow.at >= ConversationRow.handoff_at)
            .correlate(ConversationRow).scalar_subquery()
        )
        handoffs = (await session.execute(
            select(ConversationRow.handoff_at, first_human_reply)
            .where(ConversationRow.handoff_at >= begin, ConversationRow.handoff_at < finish)
        )).all()
        rated = (await session.execute(
            select(ConversationRow.rating, func.count())
            .where(ConversationRow.rating.is_not(None), ConversationRow.updated_at >= begin,
                   ConversationRow.updated_at < finish)
            .group_by(ConversationRow.rating)
        )).all()

    waits = []  # minutes until an officer first replied (still waiting: until now)
    for handoff_at, replied_at in handoffs:
        if handoff_at is None:
            continue
        started = as_utc(handoff_at)
        ended = now if replied_at is None else as_utc(replied_at)
        waits.append(max(0.0, (ended - started).total_seconds() / 60))
    votes = {int(value): int(count) for value, count in feedback if value is not None}
    return Figures(
        days=days,
        conversations_by_day=conversations,
        messages_by_day=messages_by_day,
        top_procedures=procedures.most_common(10),
        top_intents=intents.most_common(10),
        messages=messages,
        misunderstood=misunderstood,
        handoffs=len(handoffs),
        handoff_wait_minutes=waits,
        ratings={int(value): int(count) for value, count in rated if value is not None},
        feedback_up=votes.get(1, 0),
        feedback_down=votes.get(-1, 0),
        unanswered=unanswered.most_common(10),
    )
