"""Citizens' opinions: 👍/👎 on the bot's answers and the 1–5 rating of help from staff.

A 👍/👎 is stored on the bot's reply it rates (``turns.feedback`` = +1/-1) and counted on the
conversation (``feedback_up``/``feedback_down``); rating the same reply again changes the vote
instead of counting twice. A 1–5 rating is stored on the conversation (``rating``).
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.tables import ConversationRow, TurnRow

RATINGS = range(1, 6)


class FeedbackStore:
    """Writes feedback and ratings (implements ``actions.base.FeedbackRecorder``)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def rate_answer(self, conversation_id: str, value: int,
                          actions: Collection[str]) -> bool:
        """Put +1/-1 on the latest bot reply made by one of ``actions``; False if none."""
        if value not in (1, -1):
            raise ValueError(f"feedback must be +1 or -1, not {value!r}")
        table = ConversationRow
        async with self.sessions.begin() as session:
            found = (await session.execute(
                select(TurnRow.id, TurnRow.feedback)
                .where(TurnRow.conversation_id == conversation_id, TurnRow.direction == "out",
                       TurnRow.sender == "bot", TurnRow.action.in_(list(actions)))
                .order_by(TurnRow.id.desc()).limit(1)
            )).first()
            if found is None:
                return False
            turn_id, previous = found
            if previous == value:
                return True
            await session.execute(update(TurnRow).where(TurnRow.id == turn_id)
                                  .values(feedback=value))
            up = (value == 1) - (previous == 1)
            down = (value == -1) - (previous == -1)
            await session.execute(
                update(table).where(table.id == conversation_id)
                .values(feedback_up=table.feedback_up + up,
                        feedback_down=table.feedback_down + down))
        return True

    async def rate_help(self, conversation_id: str, rating: int) -> bool:
        """Store a 1–5 rating of staff help; False when no officer ever had the conversation."""
        if rating not in RATINGS:
            raise ValueError(f"a rating is 1 to 5, not {rating!r}")
        table = ConversationRow
        async with self.sessions.begin() as session:
            result = await session.execute(
                update(table).where(table.id == conversation_id,
                                    table.assigned_to.is_not(None))
                .values(rating=rating))
        return bool(getattr(result, "rowcount", 0))
