"""A citizen's own data: counting and erasing everything stored about one conversation.

Every table with a ``conversation_id`` column is found in the shared metadata, so a table
added later (by any module that is imported with ``bot.storage.tables``) is counted and erased
without a change here; the conversation row itself goes last, and the inbox (keyed by channel
and user id) with it. ``erase_job`` runs inside the unit of work's transaction
(``bot/storage/turns.py``), so a citizen's deletion is saved with its reply, or not at all;
``erase`` is the staff pages' own transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Table, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.conversations import ConversationStore
from bot.storage.inbox import PENDING
from bot.storage.tables import ConversationRow, InboxRow
from knowledge.tables import Base

CONVERSATIONS = ConversationRow.__tablename__
INBOX = InboxRow.__tablename__


def conversation_tables() -> list[Table]:
    """Every table keyed by a conversation id, children before parents."""
    return [table for table in reversed(Base.metadata.sorted_tables)
            if "conversation_id" in table.c]


def _split(conversation_id: str) -> tuple[str, str]:
    channel, _, user_id = conversation_id.partition(":")
    return channel, user_id


def _inbox_rows(conversation_id: str, keep_inbox_id: int | None) -> Any:
    """The conversation's inbox rows that are handled (a message still pending is newer than
    the request, and is handled after it), except the one being answered."""
    channel, user_id = _split(conversation_id)
    condition = (InboxRow.channel == channel) & (InboxRow.user_id == user_id) & (
        InboxRow.status != PENDING)
    if keep_inbox_id is not None:
        condition = condition & (InboxRow.id != keep_inbox_id)
    return condition


def count_held(connection: Connection, conversation_id: str) -> dict[str, int]:
    """Rows stored about a conversation, per table."""
    held = {table.name: int(connection.execute(
        select(func.count()).select_from(table)
        .where(table.c.conversation_id == conversation_id)).scalar_one())
        for table in conversation_tables()}
    held[CONVERSATIONS] = int(connection.execute(
        select(func.count()).select_from(ConversationRow)
        .where(ConversationRow.id == conversation_id)).scalar_one())
    held[INBOX] = int(connection.execute(
        select(func.count()).select_from(InboxRow)
        .where(_inbox_rows(conversation_id, None))).scalar_one())
    return held


def erase_rows(connection: Connection, conversation_id: str,
               keep_inbox_id: int | None = None) -> dict[str, int]:
    """Delete everything of a conversation; the rows deleted per table."""
    deleted: dict[str, int] = {}
    for table in conversation_tables():
        result = connection.execute(delete(table).where(
            table.c.conversation_id == conversation_id))
        deleted[table.name] = int(result.rowcount or 0)
    result = connection.execute(delete(ConversationRow).where(
        ConversationRow.id == conversation_id))
    deleted[CONVERSATIONS] = int(result.rowcount or 0)
    result = connection.execute(delete(InboxRow).where(
        _inbox_rows(conversation_id, keep_inbox_id)))
    deleted[INBOX] = int(result.rowcount or 0)
    return deleted


def erase_job(conversation_id: str, keep_inbox_id: int | None,
              deleted: dict[str, int]) -> Callable[[Connection], None]:
    """A write for the unit of work: erases the conversation, filling ``deleted``."""

    def write(connection: Connection) -> None:
        deleted.clear()
        deleted.update(erase_rows(connection, conversation_id, keep_inbox_id))

    return write


class PersonalDataStore:
    """Counts (for the citizen's "dữ liệu của tôi") and erases (for staff) one
    conversation's rows."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession],
                 conversations: ConversationStore | None = None) -> None:
        self.sessions = sessions
        self.conversations = conversations  # its state cache is told of an erase

    async def held(self, conversation_id: str) -> dict[str, int]:
        """Rows kept per table."""
        async with self.sessions() as session:
            return await session.run_sync(
                lambda s: count_held(s.connection(), conversation_id))

    async def erase(self, conversation_id: str) -> dict[str, int]:
        """Delete everything of a conversation in one transaction; rows deleted per table."""
        async with self.sessions.begin() as session:
            deleted = await session.run_sync(
                lambda s: erase_rows(s.connection(), conversation_id))
        if self.conversations is not None:
            self.conversations.forget(conversation_id)
        return deleted
