"""The dialogue policy, rule by rule."""

from __future__ import annotations

import pytest

from bot.core.policy import FaqMatch, decide
from bot.core.state import ConversationState
from nlu.types import Entity, IntentScore, ParseResult


def parse(intent: str, confidence: float = 0.9, text: str = "x", **entities: str) -> ParseResult:
    found = tuple(Entity(k, v, 0, 0) for k, v in entities.items())
    ranking = (IntentScore(intent, confidence), IntentScore("procedure_fee", 0.05),
               IntentScore("out_of_scope", 0.03), IntentScore("help", 0.02))
    return ParseResult(text, IntentScore(intent, confidence), ranking, found)


@pytest.mark.parametrize(
    ("result", "state", "status", "action", "procedure"),
    [
        (parse("procedure_fee", procedure="ho-chieu"), ConversationState(), "bot",
         "procedure_fee", "ho-chieu"),
        (parse("procedure_fee"), ConversationState(procedure="ho-chieu"), "bot",
         "procedure_fee", "ho-chieu"),
        (parse("procedure_fee"), ConversationState(), "bot", "ask_procedure", None),
        (parse("procedure_fee", 0.3), ConversationState(), "bot", "clarify", None),
        (parse("out_of_scope"), ConversationState(), "bot", "out_of_scope", None),
        (parse("out_of_scope"), ConversationState(fallbacks=1), "bot", "offer_human", None),
        (parse("procedure_fee", 0.3), ConversationState(fallbacks=1), "bot", "offer_human",
         None),
        (parse("out_of_scope", procedure="khai-sinh"), ConversationState(), "bot",
         "procedure_overview", "khai-sinh"),
        (parse("greet"), ConversationState(), "bot", "greet", None),
        (parse("procedure_fee", procedure="ho-chieu"), ConversationState(), "staff",
         "with_staff", None),
        (parse("procedure_fee", procedure="ho-chieu"), ConversationState(), "waiting",
         "wait_for_staff", None),
        (parse("resume_bot"), ConversationState(), "waiting", "resume_bot", None),
        (parse("greet", dossier_code="000.00.12.H31-261120-0001"), ConversationState(), "bot",
         "dossier_status", None),
        (parse("out_of_scope", text="000.00.12.H31-2611"),
         ConversationState(awaiting="dossier_code"), "bot", "dossier_status", None),
        (parse("procedure_overview", text="hộ chiếu", procedure="ho-chieu"),
         ConversationState(awaiting="procedure", pending_intent="procedure_fee"), "bot",
         "procedure_fee", "ho-chieu"),
    ],
)
def test_rules(result: ParseResult, state: ConversationState, status: str, action: str,
               procedure: str | None) -> None:
    decision = decide(result, state, status, None, result.text)
    assert decision.action == action
    assert decision.procedure == procedure


def test_clarify_offers_the_likeliest_meanings_without_out_of_scope() -> None:
    decision = decide(parse("procedure_fee", 0.3), ConversationState(), "bot")
    assert [o.name for o in decision.options] == ["procedure_fee", "procedure_fee", "help"]


def test_a_strong_faq_answers_instead_of_the_fallback() -> None:
    faq = FaqMatch("ho-khau", 95.0, None)
    assert decide(parse("out_of_scope"), ConversationState(), "bot", faq).action == "faq"


def test_an_faq_does_not_take_a_procedure_follow_up() -> None:
    faq = FaqMatch("toan-trinh", 95.0, None)
    state = ConversationState(procedure="doi-gplx")
    decision = decide(parse("procedure_online"), state, "bot", faq)
    assert decision.action == "procedure_online" and decision.procedure == "doi-gplx"


def test_an_faq_does_not_take_the_bots_own_features() -> None:
    faq = FaqMatch("tra-cuu", 99.0, None)
    assert decide(parse("dossier_status"), ConversationState(), "bot", faq).action == (
        "dossier_status")


def test_state_round_trip_ignores_unknown_and_clears_with_none() -> None:
    state = ConversationState.from_dict({"procedure": "ho-chieu", "junk": 1, "fallbacks": "x"})
    assert state.procedure == "ho-chieu" and state.fallbacks == 0
    assert state.updated({"procedure": None, "awaiting": "procedure"}).to_dict() == {
        **ConversationState().to_dict(), "awaiting": "procedure"}
