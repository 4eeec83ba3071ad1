"""The dialogue policy: which action answers a message, as ordered rules in one place.

``decide`` is a pure function of the parse, the saved state, an FAQ match and the kind of
message. The first rule that applies wins:

0. a message the bot cannot read (media, a text too long, an expired button) gets its
   notice, and leaves the dialogue state as it was;
1. while staff has the conversation the bot stays silent; while waiting, it reminds once;
2. a dossier code, or the answer to "which code?", goes to the dossier lookup;
3. the answer to "which procedure?" (or "which xã/phường?") completes the question that
   was waiting for it;
4. an admin-written FAQ that matches strongly answers instead of a procedure answer or
   the fallback;
5. a question naming no procedure clearly, where procedure search found a few equally
   likely ones, asks which one with those as buttons (instead of guessing, or answering
   about the procedure under discussion);
6. an unsure parse offers the two or three likeliest meanings as buttons;
7. a procedure question uses the procedure named, else the one under discussion, else asks;
8. a second misunderstanding in a row offers a person;
9. everything else goes to the action named after the intent.
"""

from __future__ import annotations

from dataclasses import dataclass

from actions.base import ConversationStatus, MessageKind
from bot.core.state import ConversationState
from nlu.dossier_code import find_code_attempt
from nlu.intents import PROCEDURE_INTENTS, EntityType, Intent
from nlu.types import IntentScore, ParseResult

LOW_CONFIDENCE = 0.45
FAQ_STRONG = 85.0  # whole-text similarity to a question or paraphrase
FALLBACKS_BEFORE_HUMAN = 2
MAX_OPTIONS = 3
# An FAQ competes with procedure answers and the fallback, not with the bot's own features.
# An office question too: officers may write an FAQ on the offices' hours.
FAQ_MAY_ANSWER = PROCEDURE_INTENTS | {Intent.OUT_OF_SCOPE, Intent.HELP, Intent.OFFICE_INFO}


@dataclass(frozen=True, slots=True)
class FaqMatch:
    """The best FAQ for a message and how well it matched (0–100)."""

    faq_id: str
    score: float
    procedure: str | None


@dataclass(frozen=True, slots=True)
class Decision:
    """The action to run, what it is about, and why (for transcripts and debugging)."""

    action: str
    intent: str
    reason: str
    procedure: str | None = None
    faq_id: str | None = None
    options: tuple[IntentScore, ...] = ()
    misunderstood: bool = False
    keeps_state: bool = False  # the turn leaves the dialogue state as it was


def decide(parse: ParseResult, state: ConversationState, status: str,
           faq: FaqMatch | None = None, text: str = "",
           kind: MessageKind = MessageKind.TEXT) -> Decision:
    """Pick the action for one message (see the module docstring for the rules)."""
    intent = parse.intent.name
    confidence = parse.intent.confidence
    procedure = parse.first(EntityType.PROCEDURE)

    if kind != MessageKind.TEXT:
        return Decision("notice", intent, f"a message the bot cannot read ({kind})",
                        keeps_state=True)

    if status == ConversationStatus.STAFF:
        return Decision("with_staff", intent, "an officer has this conversation")
    if status == ConversationStatus.WAITING:
        if intent == "resume_bot":
            return Decision("resume_bot", intent, "the citizen stopped waiting")
        return Decision("wait_for_staff", intent, "waiting for an officer")

    has_code = parse.first(EntityType.DOSSIER_CODE) is not None
    if has_code or (state.awaiting == "dossier_code" and
                    (find_code_attempt(text) is not None or intent == Intent.DOSSIER_STATUS)):
        return Decision(Intent.DOSSIER_STATUS, Intent.DOSSIER_STATUS, "a dossier code")

    answers_question = (intent not in PROCEDURE_INTENTS or confidence < LOW_CONFIDENCE
                        or _words_outside_entities(text, parse) <= 2)
    if (state.awaiting == "procedure" and procedure and state.pending_intent
            and (answers_question or intent == state.pending_intent)):
        return Decision(state.pending_intent, state.pending_intent,
                        "the procedure the bot asked for", procedure)

    asks_office = (intent == Intent.OFFICE_INFO and confidence >= LOW_CONFIDENCE
                   and state.pending_intent != intent)  # a new question, not the answer
    if state.awaiting == "place" and state.pending_intent and parse.first(EntityType.PLACE) \
            and ((answers_question and not asks_office) or intent == state.pending_intent):
        return Decision(state.pending_intent, state.pending_intent,
                        "the place the bot asked for", procedure or state.procedure)

    chosen = procedure or state.procedure
    faq_may_answer = confidence < LOW_CONFIDENCE or (intent in FAQ_MAY_ANSWER and (
        intent not in PROCEDURE_INTENTS or chosen is None or faq is None
        or faq.procedure == chosen))
    if faq is not None and faq.score >= FAQ_STRONG and faq_may_answer and (
            procedure is None or faq.procedure in (None, procedure)):
        return Decision("faq", intent, f"FAQ matched at {faq.score:.0f}",
                        faq.procedure or procedure or state.procedure, faq.faq_id)

    if intent == Intent.OUT_OF_SCOPE and procedure:
        return Decision(Intent.PROCEDURE_OVERVIEW, Intent.PROCEDURE_OVERVIEW,
                        "only a procedure was named", procedure)

    if procedure is None and parse.procedure_choices and (
            intent in PROCEDURE_INTENTS or intent == Intent.OUT_OF_SCOPE
            or confidence < LOW_CONFIDENCE):
        asked = intent if intent in PROCEDURE_INTENTS else Intent.PROCEDURE_OVERVIEW
        return Decision("ask_procedure", asked,
                        f"{len(parse.procedure_choices)} procedures equally likely")

    if intent != Intent.OUT_OF_SCOPE and confidence < LOW_CONFIDENCE:
        options = tuple(s for s in parse.intent_ranking
                        if s.name != Intent.OUT_OF_SCOPE)[:MAX_OPTIONS]
        return _misunderstood(state, Decision("clarify", intent, f"unsure ({confidence:.2f})",
                                              procedure or state.procedure, options=options,
                                              misunderstood=True))

    if intent in PROCEDURE_INTENTS:
        if chosen is None:
            return Decision("ask_procedure", intent, "no procedure named or under discussion")
        reason = "procedure named" if procedure else "procedure under discussion"
        return Decision(intent, intent, reason, chosen)

    if intent == Intent.OUT_OF_SCOPE:
        return _misunderstood(state, Decision(Intent.OUT_OF_SCOPE, intent, "not understood",
                                              misunderstood=True))

    return Decision(intent, intent, "intent", procedure or state.procedure)


def _words_outside_entities(text: str, parse: ParseResult) -> int:
    """How many words the message has besides its entities ("hộ chiếu ạ" has one)."""
    kept = list(text)
    for entity in parse.entities:
        kept[entity.start : entity.end] = [" "] * (entity.end - entity.start)
    return len("".join(kept).split())


def _misunderstood(state: ConversationState, decision: Decision) -> Decision:
    """A misunderstanding; the second one in a row offers a person instead."""
    if state.fallbacks + 1 >= FALLBACKS_BEFORE_HUMAN:
        return Decision("offer_human", decision.intent, "misunderstood twice in a row",
                        misunderstood=True)
    return decision
