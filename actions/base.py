"""What every action shares: the reply type, the context it runs in, the result it returns.

An action reads the context (the parse, the conversation's slots, the knowledge base, the
dossier service) and returns replies and slot changes. It never sends anything itself: the
channel that received the message renders and sends the replies.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from actions.conditions import Conditions
from actions.dossier_source import DossierSource
from actions.follow_book import FollowBook
from knowledge.office_hours import DEFAULT_OFFICE_SCHEDULE, OfficeSchedule
from knowledge.snapshot import KnowledgeSnapshot
from nlu.types import IntentScore, ParseResult


@dataclass(frozen=True, slots=True)
class Button:
    """A quick reply: what the citizen sees, and the payload sent back when tapped."""

    title: str
    payload: str


@dataclass(frozen=True, slots=True)
class Link:
    """A link shown with a reply."""

    title: str
    url: str


class Author(StrEnum):
    """Who wrote a reply."""

    BOT = "bot"
    STAFF = "staff"  # a support officer, through the handoff desk


MAX_TEXT_CHARS = 4000  # the longest text the bot reads; longer ones get a notice


class MessageKind(StrEnum):
    """What a citizen sent: text (or a button tap), or something the bot answers with a fixed
    notice because it cannot read it."""

    TEXT = "text"
    MEDIA = "media"  # a photo, sticker, file, voice message, location ...
    TOO_LONG = "too_long"  # a text over the length the bot reads
    EXPIRED_BUTTON = "expired_button"  # a tap on a button whose payload is no longer known
    RECEIPT_NO_CODE = "receipt_no_code"  # an image in which no dossier code could be read
    IMAGE_REFUSED = "image_refused"  # a file too big, not an image, or with too many pixels


class ConversationStatus(StrEnum):
    """Who answers a conversation now (stored with it; the one definition)."""

    BOT = "bot"  # the bot answers
    WAITING = "waiting"  # the citizen asked for a person; nobody has taken it yet
    STAFF = "staff"  # an officer has the conversation


class ReplyEvent(StrEnum):
    """A signal a reply carries for the client that shows it (the web widget acts on it)."""

    ERASED = "erased"  # the conversation was deleted: forget the copy kept on the device


@dataclass(frozen=True, slots=True)
class Reply:
    """One message to the citizen, channel-neutral: from the bot, or from a support officer
    (``author``), which each channel shows in its own way."""

    text: str
    buttons: tuple[Button, ...] = ()
    links: tuple[Link, ...] = ()
    author: Author = Author.BOT
    event: ReplyEvent | None = None  # what a client must do besides showing the text

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (used by the web channel and transcripts)."""
        data: dict[str, Any] = {
            "text": self.text,
            "buttons": [{"title": b.title, "payload": b.payload} for b in self.buttons],
            "links": [{"title": link.title, "url": link.url} for link in self.links],
        }
        if self.author != Author.BOT:
            data["author"] = str(self.author)
        if self.event is not None:
            data["event"] = str(self.event)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reply:
        """The reply ``to_dict`` described."""
        return cls(str(data.get("text", "")),
                   tuple(Button(str(b["title"]), str(b["payload"]))
                         for b in data.get("buttons", ())),
                   tuple(Link(str(link["title"]), str(link["url"]))
                         for link in data.get("links", ())),
                   Author(data.get("author", Author.BOT)),
                   ReplyEvent(data["event"]) if data.get("event") else None)


def payload(intent: str, **entities: str) -> str:
    """A Rasa-style button payload: ``/intent{"entity": "value"}``."""
    if not entities:
        return f"/{intent}"
    return f"/{intent}{json.dumps(entities, ensure_ascii=False, separators=(',', ':'))}"


class RateLimiter(Protocol):
    """Counts events per key in a sliding window."""

    async def hit(self, key: str, limit: int, window_seconds: float) -> bool:
        """Record an event; False when the key already had ``limit`` events in the window."""
        ...


class FeedbackRecorder(Protocol):
    """Stores what citizens think of the bot's answers and of the help they got from staff."""

    async def rate_answer(self, conversation_id: str, value: int,
                          actions: Collection[str]) -> bool:
        """+1/-1 on the latest bot reply made by one of ``actions``; False if there is none."""
        ...

    async def rate_help(self, conversation_id: str, rating: int) -> bool:
        """A 1–5 rating of staff help; False when the conversation never had staff help."""
        ...


class HandoffQueue(Protocol):
    """Where a conversation waiting for a person stands in the queue."""

    async def position(self, conversation_id: str) -> int:
        """1 for the conversation that has waited longest (a conversation not waiting yet
        would come after every one that is)."""
        ...


class PersonalData(Protocol):
    """What is stored about one conversation (the citizen's own data), by kind."""

    async def held(self, conversation_id: str) -> Mapping[str, int]:
        """Rows kept per table (``turns``, ``inbox``, ...); the conversation's state counts
        as ``conversations``."""
        ...


@dataclass(frozen=True, slots=True)
class Services:
    """What actions may use."""

    knowledge: KnowledgeSnapshot
    dossiers: DossierSource
    limiter: RateLimiter
    dossier_lookups_per_hour: int = 10
    dossier_lookups_per_minute: int = 120  # all conversations together (enumeration cap)
    office_schedule: OfficeSchedule = DEFAULT_OFFICE_SCHEDULE
    feedback: FeedbackRecorder | None = None  # where 👍/👎 and 1–5 ratings are stored
    queue: HandoffQueue | None = None  # the handoff queue (positions while waiting)
    personal_data: PersonalData | None = None  # what is kept about a conversation
    retention_days: int = 365  # how long an untouched conversation is kept
    follows: FollowBook | None = None  # followed dossiers (None: following is off)

    @property
    def office_hours(self) -> str:
        """The office hours in words, for messages."""
        return self.office_schedule.describe()


@dataclass(frozen=True, slots=True)
class ActionContext:
    """Everything an action may read about the current message and conversation."""

    text: str
    parse: ParseResult
    intent: str
    procedure: str | None
    slots: Mapping[str, Any]
    services: Services
    conversation_id: str
    channel: str
    now: dt.datetime
    faq_id: str | None = None
    options: tuple[IntentScore, ...] = ()
    kind: MessageKind = MessageKind.TEXT
    said: Conditions | None = None  # what the message states (``conditions.read``), read once


@dataclass(frozen=True, slots=True)
class ActionResult:
    """Replies plus the slot changes to save (a value of None clears a slot)."""

    replies: tuple[Reply, ...]
    slots: Mapping[str, Any] = field(default_factory=dict)
    status: ConversationStatus | None = None  # a new status (WAITING for a handoff)
    erase: bool = False  # delete everything of the conversation with this turn's commit


class Action(Protocol):
    """One thing the bot can do."""

    name: str

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Do it."""
        ...
