"""The citizen's place in the dialogue: the answer to "which xã/phường?" and its memory."""

from __future__ import annotations

from bot.core.policy import decide
from bot.core.state import ConversationState
from nlu.types import Entity, IntentScore, ParseResult


def parse(intent: str, confidence: float = 0.9, text: str = "x", **entities: str) -> ParseResult:
    found = tuple(Entity(k, v, 0, 0) for k, v in entities.items())
    return ParseResult(text, IntentScore(intent, confidence), (IntentScore(intent, confidence),),
                       found)


def test_a_place_answers_the_question_waiting_for_it() -> None:
    state = ConversationState(procedure="gpxd-nha-o", awaiting="place",
                              pending_intent="procedure_location")
    decision = decide(parse("out_of_scope", 0.6, "Lê Chân", place="Phường Lê Chân"), state,
                      "bot", text="Lê Chân")
    assert (decision.action, decision.procedure) == ("procedure_location", "gpxd-nha-o")
    office = ConversationState(awaiting="place", pending_intent="office_info")
    decision = decide(parse("greet", 0.5, "Hải An", place="Phường Hải An"), office, "bot",
                      text="Hải An")
    assert decision.action == "office_info"


def test_without_a_place_the_waiting_question_does_not_capture_the_message() -> None:
    state = ConversationState(procedure="gpxd-nha-o", awaiting="place",
                              pending_intent="procedure_location")
    decision = decide(parse("procedure_fee", text="lệ phí bao nhiêu"), state, "bot",
                      text="lệ phí bao nhiêu")
    assert decision.action == "procedure_fee"


def test_an_office_question_with_a_place_is_not_taken_for_the_answer() -> None:
    state = ConversationState(procedure="gpxd-nha-o", awaiting="place",
                              pending_intent="procedure_location")
    decision = decide(parse("office_info", 0.8, "giờ làm việc phường Lê Chân",
                            place="Phường Lê Chân"), state, "bot",
                      text="giờ làm việc phường Lê Chân")
    assert decision.action == "office_info"


def test_the_place_is_remembered_unless_the_action_set_it() -> None:
    state = ConversationState(place="Phường Kiến An")
    assert state.heard({"awaiting": None}, None) == {"awaiting": None}
    assert state.heard({}, "Phường Lê Chân") == {"place": "Phường Lê Chân"}
    assert state.heard({"place": "Phường An Biên"}, "Phường Lê Chân") == {
        "place": "Phường An Biên"}
    assert ConversationState.from_dict({"place": 12}).place is None  # an older state's junk
    assert ConversationState.from_dict(state.to_dict()).place == "Phường Kiến An"
