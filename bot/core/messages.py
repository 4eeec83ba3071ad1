"""The one channel-neutral inbound message type: what a channel makes of a delivery, what the
inbox stores and gives back, and what the pipeline answers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from actions.base import MAX_TEXT_CHARS, MessageKind
from knowledge.clock import utcnow


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    """A citizen's message (or button payload) from any channel."""

    channel: str
    user_id: str
    text: str
    message_id: str | None = None
    received_at: dt.datetime = field(default_factory=utcnow)
    kind: MessageKind = MessageKind.TEXT  # for another kind, ``text`` only names what came

    def __post_init__(self) -> None:
        """Clean the text once, where the message is made (every later step reads it)."""
        object.__setattr__(self, "text", clean_text(self.text))

    @property
    def conversation_id(self) -> str:
        """One conversation per channel and user."""
        return f"{self.channel}:{self.user_id}"


def clean_text(text: str) -> str:
    """Drop control characters (keeping line breaks and tabs) and lone UTF-16 surrogates
    (JSON can carry them, no database can store them), and cap the length."""
    kept = "".join(ch for ch in text if ch in "\n\t" or (
        ch >= " " and ch != "\x7f" and not "\ud800" <= ch <= "\udfff"))
    return kept[:MAX_TEXT_CHARS].strip()
