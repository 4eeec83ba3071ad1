"""The dialogue policy, rule by rule."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.core.policy import FaqMatch, decide
from bot.core.state import ConversationState
from nlu.types import Entity, IntentScore, ParseResult, ProcedureScore


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


def searched(intent: str, confidence: float, procedure: str, coverage: float,
             text: str = "x") -> ParseResult:
    """A parse whose procedure only procedure search found, with that coverage."""
    entity = Entity("procedure", procedure, 0, 0, coverage, extractor="procedure_search")
    return ParseResult(text, IntentScore(intent, confidence),
                       (IntentScore(intent, confidence), IntentScore("goodbye", 0.2)), (entity,))


@pytest.mark.parametrize("text", ["🙏🙏🙏", "👍", "👍🏻", "🙏 ❤️"])
def test_thanks_in_emoji_are_thanks(text: str) -> None:
    result = ParseResult(text, IntentScore("out_of_scope", 1.0))
    decision = decide(result, ConversationState(fallbacks=1), "bot", None, text)
    assert decision.action == "thank"


@pytest.mark.parametrize("text", ["H31-261120-0001", "h31 - 261120 - 0001", "261120-0001"])
def test_a_partial_dossier_code_goes_to_the_lookup_unasked(text: str) -> None:
    result = ParseResult(text, IntentScore("out_of_scope", 0.35))
    assert decide(result, ConversationState(), "bot", None, text).action == "dossier_status"


def test_a_date_is_not_taken_for_a_dossier_code() -> None:
    text = "12-05-2026"
    result = ParseResult(text, IntentScore("out_of_scope", 0.35))
    assert decide(result, ConversationState(), "bot", None, text).action == "out_of_scope"


@pytest.mark.parametrize(("text", "action"), [
    ("thời gian giải quyết", "procedure_duration"), ("thoi gian giai quyet", "procedure_duration"),
    ("còn lệ phí?", "procedure_fee"), ("con le phi", "procedure_fee"),
    ("online được không", "procedure_online"), ("Nộp ở đâu ạ", "procedure_location"),
])
def test_a_bare_aspect_follows_up_on_the_procedure_under_discussion(text: str,
                                                                   action: str) -> None:
    result = ParseResult(text, IntentScore("out_of_scope", 0.76))
    decision = decide(result, ConversationState(procedure="tam-tru"), "bot", None, text)
    assert (decision.action, decision.procedure) == (action, "tam-tru")
    alone = decide(result, ConversationState(), "bot", None, text)
    assert (alone.action, alone.intent) == ("ask_procedure", action)


@pytest.mark.parametrize("text", ["ko co so do thi dc ko", "không có sổ đỏ thì được không",
                                  "chưa có sổ đỏ thì sao"])
def test_lacking_another_procedures_paper_stays_with_the_procedure(text: str) -> None:
    result = parse("procedure_online", 0.78, text, procedure="so-do-lan-dau")
    decision = decide(result, ConversationState(procedure="tam-tru"), "bot", None, text)
    assert (decision.action, decision.procedure) == ("procedure_documents", "tam-tru")


@pytest.mark.parametrize("text", ["làm sổ đỏ lần đầu cần giấy tờ gì",
                                  "chưa có căn cước thì làm hộ chiếu được không"])
def test_a_clear_new_question_about_another_procedure_switches(text: str) -> None:
    result = parse("procedure_documents", 0.95, text, procedure="ho-chieu")
    decision = decide(result, ConversationState(procedure="tam-tru"), "bot", None, text)
    assert (decision.action, decision.procedure) == ("procedure_documents", "ho-chieu")


def test_an_unsure_question_whose_procedure_is_only_a_guess_says_none_fits() -> None:
    result = searched("procedure_overview", 0.34, "qg-2-001478", 0.9)
    decision = decide(result, ConversationState(fallbacks=1), "bot", None, "x")
    assert (decision.action, decision.procedure) == ("no_procedure", "qg-2-001478")
    sure = searched("procedure_overview", 0.34, "qg-2-001478", 1.0)
    assert decide(sure, ConversationState(), "bot", None, "x").action == "clarify"


def test_content_words_no_procedure_holds_say_none_fits() -> None:
    weak = (ProcedureScore("qg-2-001263", "", "Đăng ký việc nuôi con nuôi", 1.0, 0.46),)
    result = replace(parse("procedure_overview", 0.71), procedure_ranking=weak)
    assert decide(result, ConversationState(), "bot", None, "x").action == "no_procedure"
    strong = (ProcedureScore("khai-sinh", "", "Đăng ký khai sinh", 1.0, 0.8),)
    asked = replace(parse("procedure_overview", 0.71), procedure_ranking=strong)
    assert decide(asked, ConversationState(), "bot", None, "x").action == "ask_procedure"
