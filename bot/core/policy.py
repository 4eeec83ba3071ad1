"""The dialogue policy: which action answers a message, as ordered rules in one place.

``decide`` is a pure function of the parse, the saved state, an FAQ match and the kind of
message. The first rule that applies wins:

0. a message the bot cannot read (media, a text too long, an expired button) gets its
   notice, and leaves the dialogue state as it was;
1. while staff has the conversation the bot stays silent; while waiting, every message gets
   a short "still waiting" with the place in the queue;
2. thanks and approval emoji ("🙏", "👍") are thanks;
2b. following dossiers ("theo dõi hồ sơ <mã>", "hủy theo dõi", "hồ sơ đang theo dõi", their
   buttons) goes to its action, also with a code in it; a code answering "which dossier to
   follow?" follows it;
3. a dossier code, the answer to "which code?", or a message that is mostly an attempt at a
   code (a partial one: "H31-261120-0001") goes to the dossier lookup;
4. the answer to "which procedure?" (or "which xã/phường?") completes the question that
   was waiting for it;
5. follow-ups stay with the procedure under discussion: a bare aspect ("thời gian giải
   quyết", "còn lệ phí?") asks about it, and "không có sổ đỏ thì được không" asks about its
   papers, not about the procedure another paper belongs to;
6. an admin-written FAQ that matches strongly answers instead of a procedure answer or
   the fallback;
7. a question naming no procedure clearly, where procedure search found a few equally
   likely ones, asks which one with those as buttons (instead of guessing, or answering
   about the procedure under discussion);
8. a procedure question no procedure fits (an unsure parse whose procedure search only
   guessed, or content words no procedure holds enough of) says so honestly, with the
   closest procedures only when close, the hotline and a person;
9. an unsure parse offers the two or three likeliest meanings as buttons;
10. a procedure question uses the procedure named, else the one under discussion, else asks;
11. a second misunderstanding in a row offers a person;
12. everything else goes to the action named after the intent.
"""

from __future__ import annotations

from dataclasses import dataclass

from actions.base import ConversationStatus, MessageKind
from bot.core.cues import bare_aspect, emoji_thanks, lacks_a_paper
from bot.core.state import ConversationState
from nlu.dossier_code import find_code_attempt
from nlu.intents import PROCEDURE_INTENTS, EntityType, Intent
from nlu.types import IntentScore, ParseResult

LOW_CONFIDENCE = 0.45
FAQ_STRONG = 85.0  # whole-text similarity to a question or paraphrase
FALLBACKS_BEFORE_HUMAN = 2
MAX_OPTIONS = 3
SEARCH_EXTRACTOR = "procedure_search"  # nlu.engine's name for a procedure search found
NO_FIT_COVERAGE = 0.6  # below this share of its words, no procedure fits a question
CLEAR_LEAD = 0.8  # a searched procedure this far ahead of the next is found, not guessed
CODE_DIGITS = 10  # an attempt at a dossier code the citizen sends unasked has this many
# An FAQ competes with procedure answers and the fallback, not with the bot's own features.
# An office question too: officers may write an FAQ on the offices' hours.
FOLLOW_INTENTS = frozenset({Intent.FOLLOW_DOSSIER, Intent.UNFOLLOW_DOSSIER,
                            Intent.FOLLOWED_DOSSIERS})
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

    if emoji_thanks(text):
        return Decision(Intent.THANK, Intent.THANK, "thanks in emoji")

    has_code = parse.first(EntityType.DOSSIER_CODE) is not None
    if intent in FOLLOW_INTENTS and confidence >= LOW_CONFIDENCE:
        return Decision(intent, intent, "following dossiers")
    if state.awaiting == "follow_code" and (has_code or find_code_attempt(text) is not None):
        return Decision(Intent.FOLLOW_DOSSIER, Intent.FOLLOW_DOSSIER,
                        "the dossier code to follow")
    if has_code or (state.awaiting == "dossier_code" and
                    (find_code_attempt(text) is not None or intent == Intent.DOSSIER_STATUS)):
        return Decision(Intent.DOSSIER_STATUS, Intent.DOSSIER_STATUS, "a dossier code")
    if _code_attempt(text, intent):
        return Decision(Intent.DOSSIER_STATUS, Intent.DOSSIER_STATUS,
                        "an attempt at a dossier code")

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
    aspect = bare_aspect(text)
    if aspect is not None and procedure is None:
        if state.procedure is None:
            return Decision("ask_procedure", aspect, "a bare aspect, no procedure discussed")
        return Decision(aspect, aspect, "a follow-up on the procedure under discussion",
                        state.procedure)
    if (state.procedure and procedure and procedure != state.procedure
            and len(parse.entity_values(EntityType.PROCEDURE)) == 1 and lacks_a_paper(text)):
        return Decision(Intent.PROCEDURE_DOCUMENTS, Intent.PROCEDURE_DOCUMENTS,
                        "can the procedure under discussion do without a paper",
                        state.procedure)

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

    if _no_procedure_fits(parse, state):
        return _misunderstood(state, Decision("no_procedure", intent, "no procedure fits",
                                              procedure, misunderstood=True), human=False)

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


def _code_attempt(text: str, intent: str) -> bool:
    """Whether a message sent unasked is an attempt at a dossier code: a long enough one that
    is most of the message, or any in a question about a dossier."""
    attempt = find_code_attempt(text)
    if attempt is None or sum(char.isdigit() for char in attempt) < CODE_DIGITS:
        return False
    return intent == Intent.DOSSIER_STATUS or len(attempt) * 2 >= len(text.strip())


def _no_procedure_fits(parse: ParseResult, state: ConversationState) -> bool:
    """A procedure question that no procedure fits: the parse is unsure and its procedure
    only a guess of procedure search, or nothing was named or discussed and the best
    procedure holds too little of what the citizen said."""
    intent, confidence = parse.intent.name, parse.intent.confidence
    named = next((e for e in parse.entities if e.entity == EntityType.PROCEDURE), None)
    if named is not None:
        ranking = parse.procedure_ranking
        clear_lead = (bool(ranking) and ranking[0].id == named.value
                      and (len(ranking) == 1 or ranking[1].score < CLEAR_LEAD * ranking[0].score))
        return (intent in PROCEDURE_INTENTS and confidence < LOW_CONFIDENCE
                and named.extractor == SEARCH_EXTRACTOR and named.confidence < 1.0
                and not clear_lead)
    if intent not in PROCEDURE_INTENTS or state.procedure or parse.procedure_choices:
        return False
    return bool(parse.procedure_ranking) and max(
        s.coverage for s in parse.procedure_ranking) < NO_FIT_COVERAGE


def _misunderstood(state: ConversationState, decision: Decision,
                   human: bool = True) -> Decision:
    """A misunderstanding; the second one in a row offers a person instead (unless the
    answer already offers one: ``human=False``)."""
    if human and state.fallbacks + 1 >= FALLBACKS_BEFORE_HUMAN:
        return Decision("offer_human", decision.intent, "misunderstood twice in a row",
                        misunderstood=True)
    return decision
