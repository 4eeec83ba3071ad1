"""👍/👎 on answers and the 1–5 rating of staff help: what is recorded and what the citizen
is told."""

from __future__ import annotations

import pytest

from actions import texts
from actions.base import Button, Reply, Services, payload
from actions.feedback import (
    FEEDBACK_BUTTONS,
    MAX_BUTTONS,
    RATEABLE_ACTIONS,
    Feedback,
    RateHelp,
    rateable,
)
from bot.core.payloads import parse_payload
from knowledge.snapshot import KnowledgeSnapshot
from nlu.intents import Intent
from tests.actions.support import (
    RecordingFeedback,
    make_context,
    make_services,
    only_reply,
    payloads,
)


async def tap(services: Services, action: Feedback | RateHelp, button_payload: str,
              ) -> tuple[Reply, dict[str, object]]:
    """What tapping a button does: the payload is parsed as the pipeline parses it."""
    parse = parse_payload(button_payload)
    assert parse is not None
    result = await action.run(make_context(services, button_payload, parse.intent.name,
                                           parse=parse, conversation_id="zalo:77"))
    return only_reply(result.replies), dict(result.slots)


def recording(knowledge: KnowledgeSnapshot, found: bool = True,
              ) -> tuple[Services, RecordingFeedback]:
    recorder = RecordingFeedback(found=found)
    return make_services(knowledge, feedback=recorder), recorder


async def test_thumbs_up_is_recorded_on_the_latest_answer_and_thanked(
        knowledge: KnowledgeSnapshot) -> None:
    services, recorder = recording(knowledge)
    reply, _ = await tap(services, Feedback(), FEEDBACK_BUTTONS[0].payload)
    assert reply.text == texts.FEEDBACK_THANKS
    assert recorder.answers == [("zalo:77", 1, RATEABLE_ACTIONS)]
    assert {"faq", Intent.DOSSIER_STATUS, Intent.PROCEDURE_FEE} <= RATEABLE_ACTIONS
    assert "greet" not in RATEABLE_ACTIONS


async def test_thumbs_down_is_recorded_and_offers_a_person(
        knowledge: KnowledgeSnapshot) -> None:
    services, recorder = recording(knowledge)
    reply, _ = await tap(services, Feedback(), FEEDBACK_BUTTONS[1].payload)
    assert reply.text == texts.FEEDBACK_SORRY
    assert payloads(reply) == [payload(Intent.HUMAN_HANDOFF)]
    assert [value for _, value, _ in recorder.answers] == [-1]


async def test_feedback_with_no_answer_to_rate_says_so(knowledge: KnowledgeSnapshot) -> None:
    services, recorder = recording(knowledge, found=False)
    reply, _ = await tap(services, Feedback(), FEEDBACK_BUTTONS[0].payload)
    assert reply.text == texts.FEEDBACK_NOTHING
    assert len(recorder.answers) == 1


@pytest.mark.parametrize("value", ["sideways", ""])
async def test_a_forged_feedback_value_records_nothing(knowledge: KnowledgeSnapshot,
                                                       value: str) -> None:
    services, recorder = recording(knowledge)
    forged = payload("feedback", value=value) if value else "/feedback"
    reply, _ = await tap(services, Feedback(), forged)
    assert reply.text == texts.FEEDBACK_NOTHING
    assert recorder.answers == []


async def test_feedback_without_a_store_records_nothing(services: Services) -> None:
    reply, _ = await tap(services, Feedback(), FEEDBACK_BUTTONS[0].payload)
    assert reply.text == texts.FEEDBACK_NOTHING


@pytest.mark.parametrize(("rating", "pleased"), [(5, True), (3, True), (2, False), (1, False)])
async def test_a_rating_is_recorded_and_answered_by_how_it_went(
        knowledge: KnowledgeSnapshot, rating: int, pleased: bool) -> None:
    services, recorder = recording(knowledge)
    reply, slots = await tap(services, RateHelp(), payload("rate", value=str(rating)))
    assert recorder.ratings == [("zalo:77", rating)]
    assert f"{rating}/5" in reply.text
    assert ("Xin lỗi" in reply.text) is not pleased
    if not pleased:
        assert "1800 1096" in reply.text
    assert slots == {"awaiting": None}


@pytest.mark.parametrize("value", ["0", "6", "năm", "-1", ""])
async def test_a_rating_out_of_range_asks_again_with_the_five_buttons(
        knowledge: KnowledgeSnapshot, value: str) -> None:
    services, recorder = recording(knowledge)
    reply, _ = await tap(services, RateHelp(), payload("rate", value=value))
    assert reply.text == texts.RATING_INVALID
    assert payloads(reply) == [payload("rate", value=str(v)) for v in (5, 4, 3, 2, 1)]
    assert recorder.ratings == []


async def test_a_rating_without_staff_help_to_rate_says_so(knowledge: KnowledgeSnapshot) -> None:
    services, recorder = recording(knowledge, found=False)
    reply, slots = await tap(services, RateHelp(), payload("rate", value="4"))
    assert reply.text == texts.RATING_NOTHING
    assert recorder.ratings == [("zalo:77", 4)]
    assert slots == {"awaiting": None}


def test_rateable_keeps_three_own_buttons_then_thumbs() -> None:
    own = tuple(Button(f"b{i}", f"/help{i}") for i in range(5))
    reply = rateable(Reply("answer", own))
    assert len(reply.buttons) == MAX_BUTTONS
    assert reply.buttons == (*own[:3], *FEEDBACK_BUTTONS)
    assert rateable(Reply("answer")).buttons == FEEDBACK_BUTTONS


def test_feedback_payloads_fit_telegram_callback_data() -> None:
    for b in (*FEEDBACK_BUTTONS, *(Button("", payload("rate", value=str(v))) for v in range(6))):
        assert len(b.payload.encode()) <= 64
