"""Saving one answered message as a unit of work: the conversation's state, status and
transcript turns and, for a message taken from the inbox, the inbox row marked answered with
its replies, all in one transaction (either everything of the message is saved, or nothing).

A turn that erases (the citizen confirmed "xóa dữ liệu của tôi") first deletes everything of
the conversation (``bot/storage/own_data.py``) in the same transaction, so the conversation
starts again holding only that turn.

The pipeline gets a ``TurnTransaction``, reads the conversation's state through ``load`` and
calls ``commit``; it never sees a connection. A unit made with the state already read (the
dispatcher reads it with the conversation's unfinished inbox rows, under the conversation's
lock) does not read it again.

Marking the inbox row answered is the save's gate (``bot/storage/conversations.py``): on
PostgreSQL the whole turn is then one statement, one round trip.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from sqlalchemy import Connection

from actions.base import Reply
from bot.core.messages import IncomingMessage
from bot.storage.conversations import ConversationStore, StoredState, TurnRecord
from bot.storage.inbox import AlreadyHandled, Inbox
from bot.storage.own_data import erase_job


@dataclass(frozen=True, slots=True)
class AnsweredTurn:
    """What answering one message changed."""

    message: IncomingMessage
    state: dict[str, Any]
    status: str
    turns: Sequence[TurnRecord]
    replies: Sequence[Reply]
    erase: bool = False  # first delete everything stored of the conversation


class Unread(Enum):
    """The state was not read beforehand (None, read beforehand, is "no conversation yet")."""

    UNREAD = "unread"


UNREAD = Unread.UNREAD


class TurnTransaction:
    """Loads the conversation and commits an answered turn; with ``inbox_id``, marks that inbox
    row answered in the same transaction (raising ``AlreadyHandled``, with nothing saved, if
    another worker did)."""

    def __init__(self, conversations: ConversationStore, inbox_id: int | None = None,
                 known: StoredState | Unread | None = UNREAD) -> None:
        """``known``: the conversation's state, read by the caller while holding the
        conversation's lock (so still current)."""
        self.conversations = conversations
        self.inbox_id = inbox_id
        self.known = known
        self.erased: dict[str, int] = {}  # rows deleted per table by an erasing turn

    async def load(self, conversation_id: str) -> StoredState | None:
        """The conversation's saved state (None: none yet)."""
        if self.known is not UNREAD:
            return self.known
        return await self.conversations.load(conversation_id)

    async def commit(self, turn: AnsweredTurn) -> None:
        """Save everything of the turn, or nothing."""
        message = turn.message
        replies = [reply.to_dict() for reply in turn.replies]
        if turn.erase:  # the citizen's deletion: the conversation starts again with this turn
            also = (Inbox.answered_job(self.inbox_id, replies)
                    if self.inbox_id is not None else None)
            await self.conversations.save(
                message.conversation_id, message.channel, message.user_id, turn.state,
                turn.status, turn.turns,
                also=_both(also, erase_job(message.conversation_id, self.inbox_id,
                                           self.erased)))
            return
        gate = Inbox.answered_gate(self.inbox_id, replies) if self.inbox_id is not None else None
        if not await self.conversations.save(message.conversation_id, message.channel,
                                             message.user_id, turn.state, turn.status,
                                             turn.turns, gate=gate):
            raise AlreadyHandled(self.inbox_id)


def _both(first: Callable[[Connection], None] | None,
          then: Callable[[Connection], None]) -> Callable[[Connection], None]:
    """Two writes in one transaction, in order."""

    def write(connection: Connection) -> None:
        if first is not None:
            first(connection)
        then(connection)

    return write
