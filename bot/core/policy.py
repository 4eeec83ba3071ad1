"""The dialogue policy: which action answers a message, as ordered rules in one place.

``decide`` is a pure function of the parse, the saved state, an FAQ match and the kind of
message. The first rule that applies wins:

The procedure named is one the age the message states allows ("… cho con 7 tuổi" is no
procedure "cho trẻ em dưới 6 tuổi"; see ``_for_the_age``).

0. a message the bot cannot read (media, a text too long, an expired button) gets its
   notice, and leaves the dialogue state as it was;
1. a citizen's own data: "dữ liệu của tôi", "xóa dữ liệu của tôi" and a typed yes/no right
   after the deletion question go to their actions, also while waiting for a person (while
   an officer has the conversation, a deletion request is told it must wait for the end);
1a. while staff has the conversation the bot stays silent; while waiting, every message gets
   a short "still waiting" with the place in the queue;
2. thanks and approval emoji ("🙏", "👍") are thanks;
2b. following dossiers ("theo dõi hồ sơ <mã>", "hủy theo dõi", "hồ sơ đang theo dõi", their
   buttons) goes to its action, also with a code in it; a code answering "which dossier to
   follow?" follows it;
3. a dossier code, the answer to "which code?", or a message that is mostly an attempt at a
   code (a partial one: "H31-261120-0001") goes to the dossier lookup; so does any answer
   to "which code?" that is clearly nothing else ("tôi không nhớ", "mã chưa đúng"): the
   lookup says it is not a valid code and where the code is printed (a goodbye, a person,
   a new question naming a procedure go their own way);
3b. inside a check of papers, a short answer ("có", "chưa", "không áp dụng", "quay lại",
   "dừng") goes to the walk; "tiếp tục kiểm tra" resumes it; anything else leaves it open;
4. the answer to "which procedure?" (or "which xã/phường?") completes the question that
   was waiting for it, also typed: a message procedure search ranks first for one of the
   procedures offered (kept in the state's ``options``) is about that one; a question about
   the code the bot asked for ("mã nằm ở đâu") goes to the dossier lookup again;
5. follow-ups stay with the procedure under discussion: a bare aspect ("thời gian giải
   quyết", "còn lệ phí?") asks about it, and "không có sổ đỏ thì được không" asks about its
   papers, not about the procedure another paper belongs to; a message that only states
   the citizen's case ("con 15 tuổi thì sao", "bị mất thì sao") asks the last question
   again for that case; "có phải thi lại không" (does it require …, no aspect named) asks
   for its steps, "có cần hộ khẩu không" for its papers;
   A change of mind ("thôi không làm hộ chiếu nữa, …", "em nhầm, ý em là …") moves to the
   other procedure; a procedure only procedure search guessed, in a message that does not
   read as a new question ("thủ tục …", "đăng ký …", "xin …"), does not replace the one
   under discussion; a message holding a procedure's whole name ("đăng ký lại khai sinh")
   is about it, and a neighbour whose qualifier ("quốc tế", "nước ngoài") the message has
   (or lacks) replaces one that lacks (or has) it;
6. an admin-written FAQ that matches strongly answers instead of a procedure answer or
   the fallback; a fair match answers when nothing else fits (no procedure, an unsure or
   general question); "what now" after a dossier status offers a person;
7. a question naming no procedure clearly, where procedure search found a few equally
   likely ones, asks which one with those as buttons (instead of guessing) — unless a
   procedure is under discussion and the message does not read as a new question: then it
   is a follow-up; choices holding too little of the message are no fit (rule 8);
8. a procedure question no procedure fits (an unsure parse whose procedure search only
   guessed, or content words no procedure holds enough of) says so honestly, with the
   closest procedures only when close, the hotline and a person;
9. an unsure parse whose words plainly name one aspect ("… đổi ở đâu vậy") asks that
   aspect; otherwise it offers the two or three likeliest meanings as buttons;
10. a procedure question uses the procedure named, else the one under discussion, else asks;
    "… cho bé 6 tuổi được không" (a condition, no aspect) asks for the steps, not online;
11. a second misunderstanding in a row offers a person;
12. everything else goes to the action named after the intent.
"""

from __future__ import annotations

from dataclasses import dataclass

from actions import conditions
from actions.base import ConversationStatus, MessageKind
from actions.dossier import ASKED_CODE, RETRY_CODE
from actions.fitting import for_the_age
from actions.precheck import RESUME, walk_answer
from bot.core.cues import (
    asks_a_requirement,
    asks_about_code,
    asks_if_possible,
    aspect_named,
    bare_aspect,
    changes_mind,
    emoji_thanks,
    lacks_a_paper,
    new_question,
    states_a_case,
    what_now,
)
from bot.core.state import ConversationState
from nlu.dossier_code import find_code_attempt
from nlu.intents import ABOUT_A_PROCEDURE, PROCEDURE_INTENTS, EntityType, Intent
from nlu.normalize import fold
from nlu.types import IntentScore, ParseResult
from nlu.yes_no import yes_or_no

LOW_CONFIDENCE = 0.45
FAQ_STRONG = 85.0  # whole-text similarity to a question or paraphrase
FAQ_FAIR = 65.0  # enough when no procedure is named or discussed and the intent is unsure
CLOSE_INTENTS = 0.1  # an intent this close to the top one is as likely
WHOLE_NAME_WORDS = 3  # a procedure's name this long, said whole, names it
WHOLE_NAME_POOL = 5  # among this many of procedure search's candidates
# Words that make a procedure a different one ("giấy phép lái xe quốc tế", "nuôi con nuôi có
# yếu tố nước ngoài"): a neighbour has them in its name exactly when the message does.
QUALIFIERS = ("quoc te", "nuoc ngoai")
CHOICES_COVERAGE = 0.4  # choices holding less of the message than this are no fit
NEIGHBOUR_SCORE = 0.6  # a neighbour this close to search's first candidate may be meant
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
# after "which code?", these are no other question: the answer is just not a code
NOT_ANOTHER = frozenset({Intent.OUT_OF_SCOPE, Intent.DOSSIER_STATUS})


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
           kind: MessageKind = MessageKind.TEXT,
           said: conditions.Conditions | None = None) -> Decision:
    """Pick the action for one message (see the module docstring for the rules); ``said``:
    the conditions the message states, when the caller read them already."""
    intent = parse.intent.name
    confidence = parse.intent.confidence
    procedure = _for_the_age(parse, said if said is not None else conditions.read(text, parse))

    if kind != MessageKind.TEXT:
        return Decision("notice", intent, f"a message the bot cannot read ({kind})",
                        keeps_state=True)

    own_data = _own_data(parse, state, status, text)
    if own_data is not None:
        return own_data
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
    if has_code or (state.awaiting in (ASKED_CODE, RETRY_CODE) and
                    (find_code_attempt(text) is not None or intent == Intent.DOSSIER_STATUS)):
        return Decision(Intent.DOSSIER_STATUS, Intent.DOSSIER_STATUS, "a dossier code")
    if _code_attempt(text, intent):
        return Decision(Intent.DOSSIER_STATUS, Intent.DOSSIER_STATUS,
                        "an attempt at a dossier code")
    if state.awaiting in (ASKED_CODE, RETRY_CODE) and asks_about_code(text):
        return Decision(Intent.DOSSIER_STATUS, Intent.DOSSIER_STATUS,
                        "a question about the code the bot asked for")
    if state.awaiting == ASKED_CODE and not _clearly_another(parse):
        return Decision(Intent.DOSSIER_STATUS, Intent.DOSSIER_STATUS,
                        "not a dossier code, right after the bot asked for one")

    if state.precheck is not None and (cue := walk_answer(text)) is not None and (
            cue == RESUME or (state.last_intent == Intent.CHECK_PAPERS
                              and not state.precheck.get("stopped"))):
        return Decision(Intent.CHECK_PAPERS, Intent.CHECK_PAPERS,
                        "an answer in the check of papers", state.precheck.get("procedure"))

    answers_question = (intent not in PROCEDURE_INTENTS or confidence < LOW_CONFIDENCE
                        or _words_outside_entities(text, parse) <= 2)
    if (state.awaiting == "procedure" and procedure and state.pending_intent
            and (answers_question or intent == state.pending_intent)):
        return Decision(state.pending_intent, state.pending_intent,
                        "the procedure the bot asked for", procedure)
    offered = _offered_fit(parse, state)
    if offered is not None and procedure is None and (
            intent in PROCEDURE_INTENTS or intent == Intent.OUT_OF_SCOPE
            or confidence < LOW_CONFIDENCE):
        asked = (intent if intent in PROCEDURE_INTENTS and confidence >= LOW_CONFIDENCE
                 and not answers_question else state.pending_intent or intent)
        if asked not in PROCEDURE_INTENTS:
            asked = Intent.PROCEDURE_OVERVIEW
        return Decision(asked, asked, "the answer fits a procedure the bot offered", offered)

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
    if ((procedure is None or _searched(parse)) and state.procedure and states_a_case(text)
            and (intent == Intent.OUT_OF_SCOPE or confidence < LOW_CONFIDENCE)):
        asked = (state.last_intent if state.last_intent in PROCEDURE_INTENTS
                 else Intent.PROCEDURE_OVERVIEW)
        return Decision(asked, asked, "the same question, for the case the citizen states",
                        state.procedure)
    required = asks_a_requirement(text)
    if ((procedure is None or _searched(parse)) and state.procedure and required
            and state.last_intent in PROCEDURE_INTENTS
            and (intent in PROCEDURE_INTENTS or intent == Intent.OUT_OF_SCOPE
                 or confidence < LOW_CONFIDENCE)):
        return Decision(required, required,
                        "does the procedure under discussion require it", state.procedure)
    if (state.procedure and procedure and procedure != state.procedure
            and len(parse.entity_values(EntityType.PROCEDURE)) == 1 and lacks_a_paper(text)):
        return Decision(Intent.PROCEDURE_DOCUMENTS, Intent.PROCEDURE_DOCUMENTS,
                        "can the procedure under discussion do without a paper",
                        state.procedure)

    if (state.procedure and procedure and procedure != state.procedure and _searched(parse)
            and intent in PROCEDURE_INTENTS and not new_question(text)):
        return Decision(intent, intent, "a follow-up: a procedure search only guessed",
                        state.procedure)

    qualified = _qualified_neighbour(parse, text, procedure)
    if qualified is not None:
        asked = _asked(parse, text)
        return Decision(asked, asked, "the neighbour whose qualifier the message has",
                        qualified)

    whole = _whole_name(parse, text)
    if whole is not None and (whole != procedure or _searched(parse)):
        asked = _asked(parse, text)
        return Decision(asked, asked, "the message holds a procedure's whole name", whole)

    chosen = procedure or state.procedure
    faq_may_answer = confidence < LOW_CONFIDENCE or (intent in FAQ_MAY_ANSWER and (
        intent not in PROCEDURE_INTENTS or chosen is None or faq is None
        or faq.procedure == chosen))
    if faq is not None and faq.score >= FAQ_STRONG and faq_may_answer and (
            procedure is None or faq.procedure in (None, procedure)):
        return Decision("faq", intent, f"FAQ matched at {faq.score:.0f}",
                        faq.procedure or procedure or state.procedure, faq.faq_id)

    if (faq is not None and faq.score >= FAQ_FAIR and faq.procedure is None
            and procedure is None and (confidence < LOW_CONFIDENCE or (
                intent in (Intent.HELP, Intent.OUT_OF_SCOPE)))):
        return Decision("faq", intent, f"FAQ matched at {faq.score:.0f}, nothing else fits",
                        None, faq.faq_id)

    if (state.last_intent == Intent.DOSSIER_STATUS and procedure is None
            and what_now(text)):
        return Decision("offer_human", intent, "what to do about the dossier just looked up")

    if intent == Intent.OUT_OF_SCOPE and procedure:
        return Decision(Intent.PROCEDURE_OVERVIEW, Intent.PROCEDURE_OVERVIEW,
                        "only a procedure was named", procedure)

    if (procedure is not None and state.procedure and procedure != state.procedure
            and changes_mind(text) and confidence < LOW_CONFIDENCE):
        asked = (state.last_intent if state.last_intent in PROCEDURE_INTENTS
                 else Intent.PROCEDURE_OVERVIEW)
        return Decision(asked, asked, "a change of mind: the same question, another procedure",
                        procedure)
    if state.procedure and changes_mind(text):
        other = next((p for p in [*parse.entity_values(EntityType.PROCEDURE),
                                  *(c.id for c in parse.procedure_choices)]
                      if p != state.procedure), None)
        if other is not None:
            asked = _asked(parse, text)
            return Decision(asked, asked, "a change of mind: another procedure", other)

    if procedure is None and parse.procedure_choices and state.procedure is None and max(
            c.coverage for c in parse.procedure_choices) < CHOICES_COVERAGE and (
            intent in PROCEDURE_INTENTS):
        return _misunderstood(state, Decision("no_procedure", intent,
                                              "the procedures found hold too little of it",
                                              misunderstood=True), human=False)

    if procedure is None and parse.procedure_choices and (
            state.procedure is None or new_question(text)) and (
            intent in ABOUT_A_PROCEDURE or intent == Intent.OUT_OF_SCOPE
            or confidence < LOW_CONFIDENCE):
        asked = intent if intent in ABOUT_A_PROCEDURE else Intent.PROCEDURE_OVERVIEW
        return Decision("ask_procedure", asked,
                        f"{len(parse.procedure_choices)} procedures equally likely")

    if _no_procedure_fits(parse, state):
        return _misunderstood(state, Decision("no_procedure", intent, "no procedure fits",
                                              procedure, misunderstood=True), human=False)

    close = [s.name for s in parse.intent_ranking[:MAX_OPTIONS]
             if s.confidence >= confidence - CLOSE_INTENTS]
    unsure = confidence < LOW_CONFIDENCE or len(close) > 1
    cued = aspect_named(text) if unsure and chosen and intent in PROCEDURE_INTENTS else None
    if cued is not None and (cued in close or (confidence < LOW_CONFIDENCE and cued in {
            s.name for s in parse.intent_ranking[:MAX_OPTIONS]})):
        return Decision(cued, cued, "an unsure parse whose words name the aspect", chosen)
    if chosen and intent == Intent.PROCEDURE_ONLINE and asks_if_possible(text):
        # "… cho bé 6 tuổi được không", sure or not: whether it can be done for that case
        return Decision(Intent.PROCEDURE_OVERVIEW, Intent.PROCEDURE_OVERVIEW,
                        "can it be done for the case the citizen states", chosen)

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


def _own_data(parse: ParseResult, state: ConversationState, status: str,
              text: str) -> Decision | None:
    """Rule 1: the citizen's own data (see the module docstring)."""
    intent = parse.intent.name
    asked = intent in (Intent.MY_DATA, Intent.DELETE_MY_DATA) and (
        parse.intent.confidence >= LOW_CONFIDENCE)
    if status == ConversationStatus.STAFF and asked and intent == Intent.DELETE_MY_DATA:
        return Decision("delete_my_data_with_staff", intent,
                        "deleting is refused while an officer has the conversation")
    if asked:
        return Decision(intent, intent, "the citizen's own data")
    if (status != ConversationStatus.STAFF and state.erase_token
            and state.last_intent == Intent.DELETE_MY_DATA
            and yes_or_no(text) is not None):
        return Decision(Intent.DELETE_MY_DATA, Intent.DELETE_MY_DATA,
                        "the answer to the deletion question")
    return None


def _words_outside_entities(text: str, parse: ParseResult) -> int:
    """How many words the message has besides its entities ("hộ chiếu ạ" has one)."""
    kept = list(text)
    for entity in parse.entities:
        kept[entity.start : entity.end] = [" "] * (entity.end - entity.start)
    return len("".join(kept).split())


def _asked(parse: ParseResult, text: str) -> str:
    """The aspect a message asks about: the intent when sure, else the aspect its words
    name, else the steps."""
    intent, confidence = parse.intent.name, parse.intent.confidence
    if intent in PROCEDURE_INTENTS and confidence >= LOW_CONFIDENCE:
        return intent
    return aspect_named(text) or Intent.PROCEDURE_OVERVIEW


AGE_CANDIDATE_SCORE = 0.2  # a candidate of procedure search this likely may replace one


def _for_the_age(parse: ParseResult, said: conditions.Conditions) -> str | None:
    """The procedure named, unless its name's ages exclude the age the message states
    ("đăng ký thường trú cho con 7 tuổi" is no "liên thông … cho trẻ em dưới 6 tuổi"): then
    procedure search's likeliest candidate that can be meant for that age."""
    named = parse.first(EntityType.PROCEDURE)
    names = {c.id: c.name for c in parse.procedure_ranking}
    if named is None or said.age_months is None or named not in names or for_the_age(
            names[named], said):
        return named
    return next((c.id for c in parse.procedure_ranking if c.id != named
                 and c.score >= AGE_CANDIDATE_SCORE and for_the_age(c.name, said)), named)


def _searched(parse: ParseResult) -> bool:
    """Whether the message's procedure is procedure search's guess, not a phrase's."""
    named = next((e for e in parse.entities if e.entity == EntityType.PROCEDURE), None)
    return named is not None and named.extractor == SEARCH_EXTRACTOR


def _qualifiers(text: str) -> frozenset[str]:
    words = f" {fold(text)} "
    return frozenset(q for q in QUALIFIERS if f" {q} " in words)


def _qualified_neighbour(parse: ParseResult, text: str, procedure: str | None) -> str | None:
    """When the procedure found has a qualifier the message lacks ("… có yếu tố nước ngoài"
    for "đăng ký nuôi con nuôi") or lacks one it has ("bằng lái quốc tế"), the close
    neighbour of procedure search whose name matches the message's qualifiers."""
    ranking = parse.procedure_ranking[:WHOLE_NAME_POOL]
    if procedure is None or not ranking:
        return None
    said = _qualifiers(text)
    named = next((c for c in ranking if c.id == procedure), None)
    if named is None or _qualifiers(named.name) == said:
        return None
    return next((c.id for c in ranking if c.id != procedure
                 and c.score >= NEIGHBOUR_SCORE * ranking[0].score
                 and _qualifiers(c.name) == said), None)


def _whole_name(parse: ParseResult, text: str) -> str | None:
    """A candidate of procedure search whose whole name (at least ``WHOLE_NAME_WORDS`` words,
    without "Thủ tục", or without a leading "đăng ký") the message holds: "đăng ký lại khai
    sinh" names that procedure, not "khai sinh"; "khai báo tạm vắng" names that one."""
    words = f" {fold(text)} "
    for candidate in parse.procedure_ranking[:WHOLE_NAME_POOL]:
        name = fold(candidate.name).removeprefix("thu tuc ").strip()
        forms = [name, name.removeprefix("dang ky ").strip()]
        if any(len(form.split()) >= WHOLE_NAME_WORDS and f" {form} " in words
               for form in forms):
            return candidate.id
    return None


def _offered_fit(parse: ParseResult, state: ConversationState) -> str | None:
    """While "which procedure?" waits for its answer: the procedure of the offered ones that
    procedure search ranks first for the message, if it is one of them."""
    if state.awaiting != "procedure" or not state.options or not parse.procedure_ranking:
        return None
    best = parse.procedure_ranking[0].id
    return best if best in state.options else None


def _clearly_another(parse: ParseResult) -> bool:
    """Whether a message the bot cannot read as a dossier code is clearly something else: a
    sure intent other than the lookup and "I don't understand" (goodbye, thanks, a person, an
    office), or a sure question about a procedure it names."""
    intent = parse.intent.name
    if parse.intent.confidence < LOW_CONFIDENCE or intent in NOT_ANOTHER:
        return False
    return intent not in PROCEDURE_INTENTS or parse.first(EntityType.PROCEDURE) is not None \
        or bool(parse.procedure_choices)


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
