"""Saving one answered message as a unit of work: the conversation's state, status and
transcript turns and, for a message taken from the inbox, the inbox row marked answered with
its replies, all in one transaction (either everything of the message is saved, or nothing).

The pipeline gets a ``TurnTransaction`` and calls ``commit``; it never sees a connection.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from actions.base import Reply
from bot.core.messages import IncomingMessage
from bot.storage.conversations import ConversationStore, TurnRecord
from bot.storage.inbox import Inbox


@dataclass(frozen=True, slots=True)
class AnsweredTurn:
    """What answering one message changed."""

    message: IncomingMessage
    state: dict[str, Any]
    status: str
    turns: Sequence[TurnRecord]
    replies: Sequence[Reply]


class TurnTransaction:
    """Commits an answered turn; with ``inbox_id``, marks that inbox row answered in the same
    transaction (raising ``AlreadyHandled``, with nothing saved, if another worker did)."""

    def __init__(self, conversations: ConversationStore, inbox_id: int | None = None) -> None:
        self.conversations = conversations
        self.inbox_id = inbox_id

    async def commit(self, turn: AnsweredTurn) -> None:
        """Save everything of the turn, or nothing."""
        message = turn.message
        also = (Inbox.answered_job(self.inbox_id, [reply.to_dict() for reply in turn.replies])
                if self.inbox_id is not None else None)
        await self.conversations.save(message.conversation_id, message.channel,
                                      message.user_id, turn.state, turn.status, turn.turns,
                                      also=also)
