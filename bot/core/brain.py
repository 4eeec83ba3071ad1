"""The bot's brain: what it understands and answers from, in one immutable object.

``build_brain`` makes it from a knowledge snapshot, an NLU engine and the services actions
call: the snapshot's procedure and place phrases become the engine's lexicon, and the
services answer from the same snapshot, so the three can never disagree. A reload (a
published knowledge-base change, a new model) builds a new brain and swaps it whole.

``answer(brain, state, status, message)`` is the one answer function: it understands the
message and runs the action the policy picks, and saves nothing. The pipeline calls it for
every citizen's message; the admin preview calls it with a brain built on a draft, so a
preview runs exactly the code citizens get.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from actions import conditions
from actions.base import (
    Action,
    ActionContext,
    ActionResult,
    ConversationStatus,
    MessageKind,
    Services,
)
from bot.core.messages import IncomingMessage
from bot.core.payloads import parse_payload
from bot.core.policy import Decision, FaqMatch, decide
from bot.core.state import ConversationState
from bot.service import metrics
from knowledge.catalog.convert import variant_key
from knowledge.places import city_places
from knowledge.schema import Office, Procedure
from knowledge.snapshot import KnowledgeSnapshot
from knowledge.synonyms import Synonym
from nlu.engine import Lexicon, NluEngine, NluModel
from nlu.intents import EntityType, Intent
from nlu.procedure_search import ProcedureDoc
from nlu.types import IntentScore, ParseResult, parse_async


def build_lexicon(procedures: Sequence[Procedure], offices: Sequence[Office],
                  synonyms: Sequence[Synonym] = ()) -> Lexicon:
    """Procedure and place phrases for the NLU, from knowledge-base entries: the names and
    aliases of curated procedures (and the local aliases of national ones) as phrases, every
    procedure's words for procedure search, and the synonym table."""
    return Lexicon(
        procedures={p.id: [p.name, *p.aliases] if not p.is_national else list(p.aliases)
                    for p in procedures if not p.is_national or p.aliases},
        places=city_places().phrases(),
        documents=tuple(procedure_doc(p) for p in procedures),
        synonyms=tuple((tuple(s.phrases), s.meaning) for s in synonyms),
    )


def procedure_doc(procedure: Procedure) -> ProcedureDoc:
    """What procedure search reads of a procedure: names, field, papers."""
    words = " ".join([procedure.category, *(d.name[:200] for d in procedure.documents[:20])])
    return ProcedureDoc(procedure.id, procedure.code or "", procedure.name,
                        tuple(procedure.aliases), words, not procedure.is_national,
                        procedure.level, variant_key(procedure.name)
                        if procedure.is_national else "")


def lexicon_of(knowledge: KnowledgeSnapshot) -> Lexicon:
    """The lexicon of a knowledge snapshot (the last one's is kept: start-up and a reload ask
    twice for the same snapshot's, and the catalog's takes a tenth of a second and 8 MB)."""
    if _last_lexicon and _last_lexicon[0] is knowledge:
        cached: Lexicon = _last_lexicon[1]
        return cached
    lexicon = build_lexicon(list(knowledge.procedures.values()),
                            list(knowledge.offices.values()), knowledge.synonyms)
    _last_lexicon[:] = [knowledge, lexicon]
    return lexicon


_last_lexicon: list[Any] = []  # [snapshot, its lexicon]


@dataclass(frozen=True, slots=True)
class Brain:
    """The knowledge, the NLU engine that knows its phrases, and the actions with the
    services they call (answering from the same knowledge). Build it with ``build_brain``."""

    knowledge: KnowledgeSnapshot
    nlu: NluEngine
    services: Services
    actions: Mapping[str, Action]

    def with_knowledge(self, knowledge: KnowledgeSnapshot) -> Brain:
        """The same engine and services answering from other knowledge."""
        return build_brain(knowledge, self.nlu, self.services, self.actions)

    def with_model(self, model: NluModel) -> Brain:
        """The same knowledge understood with another trained model."""
        return replace(self, nlu=self.nlu.with_model(model))

    def with_services(self, services: Services) -> Brain:
        """Other services (the knowledge stays this brain's)."""
        return replace(self, services=replace(services, knowledge=self.knowledge))


def build_brain(knowledge: KnowledgeSnapshot, nlu: NluEngine, services: Services,
                actions: Mapping[str, Action]) -> Brain:
    """The one way to make a brain: a new engine with the knowledge's lexicon (the model,
    and a Rasa server's connection, carry over), and the services answering from the same
    knowledge."""
    return Brain(knowledge, nlu.with_lexicon(lexicon_of(knowledge)),
                 replace(services, knowledge=knowledge), actions)


@dataclass(frozen=True, slots=True)
class Turn:
    """How the bot understood a message and what it answered (nothing saved yet)."""

    parse: ParseResult
    decision: Decision
    procedure: str | None  # the procedure the action answered about, when it exists
    result: ActionResult


async def answer(brain: Brain, state: ConversationState, status: ConversationStatus,
                 message: IncomingMessage) -> Turn:
    """Understand a (cleaned) message and run the action it calls for; saves nothing."""
    text = message.text
    if message.kind != MessageKind.TEXT:  # nothing to understand: named, not written
        parse: ParseResult | None = ParseResult(text, IntentScore(Intent.OUT_OF_SCOPE, 1.0),
                                                engine="notice")
    else:
        parse = parse_payload(text)
    if parse is None:
        started = time.perf_counter()
        parse = await parse_async(brain.nlu, text)
        metrics.observe_parse(time.perf_counter() - started)
    said = conditions.read(text, parse)  # the conditions it states, read once for all
    decision = decide(parse, state, status, _faq_match(brain.knowledge, text, parse), text,
                      message.kind, said)
    procedure = decision.procedure
    if procedure is not None and procedure not in brain.knowledge.procedures:
        procedure = None
    ctx = ActionContext(
        text=text, parse=parse, intent=decision.intent, procedure=procedure,
        slots=state.to_dict(), services=brain.services,
        conversation_id=message.conversation_id, channel=message.channel,
        now=message.received_at, faq_id=decision.faq_id, options=decision.options,
        kind=message.kind, said=said,
    )
    result = await brain.actions[decision.action].run(ctx)
    if not decision.keeps_state:  # the unit the citizen named is remembered
        result = replace(result, slots=state.heard(result.slots, _named_unit(parse), said))
    return Turn(parse, decision, procedure, result)


def _named_unit(parse: ParseResult) -> str | None:
    """The one xã/phường/đặc khu a message names (an old name that became one), if any."""
    value = parse.first(EntityType.PLACE)
    units = city_places().units_for(value) if value is not None else ()
    return units[0].name if len(units) == 1 else None


def _faq_match(knowledge: KnowledgeSnapshot, text: str, parse: ParseResult) -> FaqMatch | None:
    """The best whole-question FAQ match, for the policy to weigh against the intent."""
    if parse.engine in ("payload", "notice") or parse.first(EntityType.DOSSIER_CODE) or not text:
        return None
    hits = knowledge.index.search(text, limit=1, kind="faq", whole=True)
    if not hits:
        return None
    faq = knowledge.faqs.get(hits[0].id)
    return FaqMatch(hits[0].id, hits[0].score, faq.procedure if faq else None)
