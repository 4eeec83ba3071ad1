"""Building an ActionContext by hand, and small fakes of what actions use.

Action tests run an action on the shipped knowledge base (an in-memory snapshot, no database)
with a parse made here, the way the policy would hand it over.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from actions.base import ActionContext, Button, Reply, Services
from actions.dossier_source import DossierSource, DossierStatus, DossierUnavailable
from actions.feedback import FEEDBACK_BUTTONS
from bot.dossier_api.simulator import SimulatedDossiers
from bot.service.coordination.rate_limits import MemoryRateLimiter
from knowledge.office_hours import DEFAULT_OFFICE_SCHEDULE, VN_TIME, OfficeSchedule
from knowledge.snapshot import KnowledgeSnapshot
from nlu.dossier_code import find_dossier_codes
from nlu.intents import EntityType
from nlu.types import Entity, IntentScore, ParseResult

# A Tuesday in office hours (09:00 Vietnam time), after every seeded dossier was received.
OPEN_TIME = dt.datetime(2026, 12, 1, 9, 0, tzinfo=VN_TIME)


@dataclass
class RecordingFeedback:
    """A FeedbackRecorder that remembers every call and answers as told."""

    found: bool = True
    answers: list[tuple[str, int, frozenset[str]]] = field(default_factory=list)
    ratings: list[tuple[str, int]] = field(default_factory=list)

    async def rate_answer(self, conversation_id: str, value: int,
                          actions: Collection[str]) -> bool:
        self.answers.append((conversation_id, value, frozenset(actions)))
        return self.found

    async def rate_help(self, conversation_id: str, rating: int) -> bool:
        self.ratings.append((conversation_id, rating))
        return self.found


@dataclass
class CountingDossiers:
    """The simulator's dossiers in-process, counting lookups."""

    inner: DossierSource = field(default_factory=SimulatedDossiers)
    codes: list[str] = field(default_factory=list)

    async def lookup(self, code: str) -> DossierStatus:
        self.codes.append(code)
        return await self.inner.lookup(code)


class DownDossiers:
    """A status API that cannot answer."""

    async def lookup(self, code: str) -> DossierStatus:
        raise DossierUnavailable("the status API is down")


def make_parse(text: str, intent: str, confidence: float = 0.95,
               entities: Mapping[str, str] | None = None,
               ranking: tuple[IntentScore, ...] = ()) -> ParseResult:
    """A parse as an engine would return it; dossier codes in the text are found as the
    built-in NLU finds them."""
    found = [Entity(name, value, 0, 0, 1.0, value, "test")
             for name, value in (entities or {}).items()]
    if EntityType.DOSSIER_CODE not in (entities or {}):
        found += [Entity(EntityType.DOSSIER_CODE, m.code, m.start, m.end, 1.0,
                         text[m.start:m.end], "pattern")
                  for m in find_dossier_codes(text)]
    top = IntentScore(intent, confidence)
    return ParseResult(text, top, ranking or (top,), tuple(found), "test")


def make_services(knowledge: KnowledgeSnapshot, *, dossiers: DossierSource | None = None,
                  limiter: MemoryRateLimiter | None = None, lookups_per_hour: int = 10,
                  schedule: OfficeSchedule = DEFAULT_OFFICE_SCHEDULE,
                  feedback: RecordingFeedback | None = None) -> Services:
    """Services over the shipped knowledge, the in-process dossiers and a memory limiter."""
    return Services(knowledge=knowledge,
                    dossiers=dossiers if dossiers is not None else SimulatedDossiers(),
                    limiter=limiter if limiter is not None else MemoryRateLimiter(),
                    dossier_lookups_per_hour=lookups_per_hour, office_schedule=schedule,
                    feedback=feedback)


def make_context(services: Services, text: str, intent: str, *,
                 procedure: str | None = None, slots: Mapping[str, Any] | None = None,
                 parse: ParseResult | None = None, faq_id: str | None = None,
                 options: tuple[IntentScore, ...] = (), now: dt.datetime = OPEN_TIME,
                 conversation_id: str = "web:citizen-1") -> ActionContext:
    """The context the pipeline would build for one message."""
    channel = conversation_id.split(":", 1)[0]
    return ActionContext(
        text=text, parse=parse if parse is not None else make_parse(text, intent),
        intent=intent, procedure=procedure, slots=dict(slots or {}), services=services,
        conversation_id=conversation_id, channel=channel, now=now, faq_id=faq_id,
        options=options)


def only_reply(replies: tuple[Reply, ...]) -> Reply:
    """The single reply an action gave (failing when it gave none or several)."""
    assert len(replies) == 1, replies
    return replies[0]


def payloads(reply: Reply) -> list[str]:
    """The payloads of a reply's buttons, in order."""
    return [button.payload for button in reply.buttons]


def has_feedback_buttons(reply: Reply) -> bool:
    """Whether a reply ends with 👍/👎."""
    return reply.buttons[-len(FEEDBACK_BUTTONS):] == FEEDBACK_BUTTONS


def button(reply: Reply, payload: str) -> Button:
    """The reply's button with this payload."""
    matches = [b for b in reply.buttons if b.payload == payload]
    assert matches, f"no button {payload!r} in {payloads(reply)}"
    return matches[0]
