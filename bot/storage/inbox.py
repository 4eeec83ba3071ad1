"""The inbox: every accepted message is stored before it is processed, once per delivery id.

``accept`` returns None for a delivery already seen (a webhook retried by the platform), so a
repeated delivery never gets a second reply. A row goes ``pending`` -> ``answered`` (handled:
its replies are stored in the same transaction as the transcript, by ``answered_job``) ->
``done`` (replies sent). Rows not ``done`` after a crash are returned by ``unfinished()``: a
pending one is handled, an answered one only has its stored replies sent again.

``unfinished_for`` (the worker that holds a conversation's lock, in the scale-out mode) reads a
conversation's unfinished rows and its saved state in one statement: the state is what the
next message is handled from, and nobody else changes it while the lock is held.

On PostgreSQL the statements of every message (``accept``, ``unfinished_for``, ``done``) run
straight through asyncpg (``bot/storage/postgres.py``), compiled once from the statements here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from actions.base import MessageKind
from bot.core.messages import IncomingMessage
from bot.storage.batch import WriteBatcher
from bot.storage.batch import write as run_write
from bot.storage.conversations import Gate, StoredState, stored_state
from bot.storage.db import make_autocommit_engine
from bot.storage.direct import Direct, rowcount, scalar
from bot.storage.redact import mask_personal_data
from bot.storage.tables import ConversationRow, InboxRow
from knowledge.clock import as_utc, utcnow

PENDING = "pending"
ANSWERED = "answered"
DONE = "done"
UNFINISHED = (PENDING, ANSWERED)

# Built once: constructing SQL expressions per message costs more than running them.
_ACCEPT = {
    name: insert_(InboxRow).on_conflict_do_nothing(
        index_elements=["channel", "message_id"]).returning(InboxRow.id)
    for name, insert_ in (("sqlite", sqlite_insert), ("postgresql", postgresql_insert))
}
_DONE = (update(InboxRow).where(InboxRow.id == bindparam("inbox_id"))
         .values(status=DONE, processed_at=bindparam("now"), text=bindparam("text")))
_UNFINISHED_FOR = (
    select(*InboxRow.__table__.columns,
           ConversationRow.state.label("conversation_state"),
           ConversationRow.status.label("conversation_status"),
           ConversationRow.updated_at.label("conversation_updated_at"))
    .select_from(InboxRow.__table__.outerjoin(ConversationRow.__table__,
                                              ConversationRow.id == bindparam("cid")))
    .where(InboxRow.channel == bindparam("channel"), InboxRow.user_id == bindparam("user_id"),
           InboxRow.status.in_(UNFINISHED))
    .order_by(InboxRow.id))
_ANSWERED = (update(InboxRow).where(InboxRow.id == bindparam("inbox_id"),
                                    InboxRow.status == PENDING)
             .values(status=ANSWERED, processed_at=bindparam("now"),
                     replies=bindparam("replies")))
_ACCEPT_COLUMNS = ("channel", "message_id", "user_id", "text", "received_at", "kind", "status")
_DIRECT_ACCEPT = Direct.of(_ACCEPT["postgresql"], _ACCEPT_COLUMNS)
_DIRECT_DONE = Direct.of(_DONE)
_DIRECT_UNFINISHED_FOR = Direct.of(_UNFINISHED_FOR)


class AlreadyHandled(Exception):
    """Another worker handled this message first (its transaction is rolled back)."""


@dataclass(frozen=True, slots=True)
class InboxItem:
    """A stored inbound message: the message as the channel made it, and how far it got."""

    id: int
    message: IncomingMessage
    status: str = PENDING
    replies: tuple[dict[str, Any], ...] = ()

    @property
    def channel(self) -> str:
        """The channel it came from."""
        return self.message.channel

    @property
    def user_id(self) -> str:
        """Who sent it."""
        return self.message.user_id

    @property
    def conversation_id(self) -> str:
        """The conversation the message belongs to."""
        return self.message.conversation_id


class Inbox:
    """Stores inbound messages and their processing state."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession],
                 batcher: WriteBatcher | None = None) -> None:
        self.sessions = sessions
        self.reads = make_autocommit_engine(sessions.kw["bind"])
        self.batcher = batcher
        self.postgres = batcher.postgres if batcher is not None else None

    async def accept(self, message: IncomingMessage) -> int | None:
        """Store a message (its ``message_id`` set); its inbox id, or None when this delivery
        was already accepted."""
        if message.message_id is None:
            raise ValueError("a stored message needs its delivery id")
        channel, message_id = message.channel, message.message_id
        if self.postgres is not None:
            inbox_id: int | None = await self.postgres.fetchval(_DIRECT_ACCEPT, {
                "channel": channel, "message_id": message_id, "user_id": message.user_id,
                "text": message.text, "received_at": message.received_at,
                "kind": message.kind, "status": PENDING})
            return inbox_id

        def write(connection: Connection) -> int | None:
            dialect = connection.dialect.name
            values = {"channel": channel, "message_id": message_id,
                      "user_id": message.user_id, "text": message.text,
                      "received_at": message.received_at, "kind": message.kind,
                      "status": PENDING}
            if dialect in _ACCEPT:
                accepted: int | None = scalar(connection, _ACCEPT[dialect], values,
                                              _ACCEPT_COLUMNS)
                return accepted
            exists = connection.scalar(select(InboxRow.id).where(
                InboxRow.channel == channel, InboxRow.message_id == message_id))
            if exists is not None:
                return None
            result = connection.execute(insert(InboxRow).values(**values)
                                        .returning(InboxRow.id))
            return result.scalar_one()

        return await run_write(self.batcher, self.sessions.kw["bind"], write)

    @staticmethod
    def answered_job(inbox_id: int, replies: list[dict[str, Any]]) -> Callable[[Connection], None]:
        """A write that marks a pending message handled and stores its replies; meant to run
        in the transaction that saves the turn. Raises ``AlreadyHandled`` (rolling the whole
        transaction back) when the row is no longer pending."""

        def write(connection: Connection) -> None:
            if not rowcount(connection, _ANSWERED, {"inbox_id": inbox_id, "replies": replies,
                                                    "now": utcnow()}):
                raise AlreadyHandled(inbox_id)

        return write

    @staticmethod
    def answered_gate(inbox_id: int, replies: list[dict[str, Any]]) -> Gate:
        """``answered_job`` as the gate of a turn's save: the turn is saved only if this marks
        the row (nothing is, when another worker handled it first)."""
        return Gate(_ANSWERED, {"inbox_id": inbox_id, "replies": replies, "now": utcnow()})

    async def answered(self, inbox_id: int, replies: list[dict[str, Any]]) -> None:
        """Mark a pending message handled with these replies (when no turn is saved with it)."""
        await run_write(self.batcher, self.sessions.kw["bind"],
                        self.answered_job(inbox_id, replies))

    async def keep_unsent(self, inbox_id: int, replies: list[dict[str, Any]]) -> None:
        """Keep only the replies of an answered message that were not delivered yet (some
        were: they must not go out twice when the rest is sent later)."""

        def write(connection: Connection) -> None:
            connection.execute(update(InboxRow).where(InboxRow.id == inbox_id,
                                                      InboxRow.status == ANSWERED)
                               .values(replies=replies))

        await run_write(self.batcher, self.sessions.kw["bind"], write)

    async def done(self, inbox_id: int, text: str) -> None:
        """Mark a message as finished (its replies were handed to the channel); from now on
        the row keeps the message's masked text only, as the transcript does."""
        masked = mask_personal_data(text)
        if self.postgres is not None:
            await self.postgres.execute(_DIRECT_DONE, {"inbox_id": inbox_id, "now": utcnow(),
                                                       "text": masked})
            return

        def write(connection: Connection) -> None:
            rowcount(connection, _DONE, {"inbox_id": inbox_id, "now": utcnow(), "text": masked})

        await run_write(self.batcher, self.sessions.kw["bind"], write)

    async def get(self, inbox_id: int) -> InboxItem | None:
        """One stored message."""
        async with self.sessions() as session:
            row = await session.get(InboxRow, inbox_id)
        return _item(row) if row is not None else None

    async def unfinished_for(self, channel: str, user_id: str
                             ) -> tuple[list[InboxItem], StoredState | None]:
        """A conversation's messages not yet done, in the order they were accepted, and, when
        there are some, its saved state (None: no conversation yet), in one round trip."""
        params = {"cid": f"{channel}:{user_id}", "channel": channel, "user_id": user_id}
        rows: Sequence[Any]
        if self.postgres is not None:
            rows = [_Fields(record) for record in
                    await self.postgres.fetch(_DIRECT_UNFINISHED_FOR, params)]
        else:
            async with self.reads.connect() as connection:
                rows = (await connection.execute(_UNFINISHED_FOR, params)).all()
        first = rows[0] if rows else None
        state = (stored_state(first.conversation_state, first.conversation_status,
                              first.conversation_updated_at)
                 if first is not None and first.conversation_status is not None else None)
        return [_item(row) for row in rows], state

    async def unfinished(self, limit: int = 10_000,
                         received_before: dt.datetime | None = None) -> list[InboxItem]:
        """Messages not yet done (optionally only those received before a time), oldest
        first."""
        query = select(InboxRow).where(InboxRow.status.in_(UNFINISHED))
        if received_before is not None:
            query = query.where(InboxRow.received_at < received_before)
        async with self.sessions() as session:
            rows = (await session.scalars(query.order_by(InboxRow.id).limit(limit))).all()
        return [_item(row) for row in rows]


class _Fields:
    """An asyncpg record read by attribute, as SQLAlchemy's rows are."""

    __slots__ = ("_record",)

    def __init__(self, record: Mapping[str, Any]) -> None:
        self._record = record

    def __getattr__(self, name: str) -> Any:
        return self._record[name]


def _item(row: InboxRow | Row[*tuple[Any, ...]] | _Fields) -> InboxItem:
    message = IncomingMessage(row.channel, row.user_id, row.text, row.message_id,
                              as_utc(row.received_at), MessageKind(row.kind))
    return InboxItem(row.id, message, row.status, tuple(row.replies or ()))
