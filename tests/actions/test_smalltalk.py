"""Greeting, goodbye, thanks, help, out of scope and the offer of a person."""

from __future__ import annotations

from actions import texts
from actions.base import Services, payload
from actions.smalltalk import Goodbye, Greet, Help, OfferHuman, OutOfScope, Thank
from bot.core.payloads import parse_payload
from knowledge.snapshot import KnowledgeSnapshot
from nlu.intents import Intent
from tests.actions.support import make_context, only_reply, payloads


def assert_example_buttons(buttons: list[str], knowledge: KnowledgeSnapshot) -> None:
    """The example questions are payloads the bot understands, about procedures it knows."""
    assert len(buttons) == len(texts.HELP_EXAMPLES)
    for button in buttons:
        parse = parse_payload(button)
        assert parse is not None, button
        procedure = parse.first("procedure")
        assert procedure is None or procedure in knowledge.procedures, button
    assert payload(Intent.PROCEDURE_FEE, procedure="ho-chieu") in buttons
    assert payload(Intent.DOSSIER_STATUS) in buttons


async def test_greeting_names_the_city_and_offers_examples(services: Services,
                                                           knowledge: KnowledgeSnapshot) -> None:
    result = await Greet().run(make_context(services, "xin chào", Intent.GREET))
    reply = only_reply(result.replies)
    assert "Thành phố Hải Phòng" in reply.text
    assert_example_buttons(payloads(reply), knowledge)
    assert result.slots == {}


async def test_help_counts_the_procedures_of_the_knowledge_base(
        services: Services, knowledge: KnowledgeSnapshot) -> None:
    result = await Help().run(make_context(services, "bot giúp được gì", Intent.HELP))
    reply = only_reply(result.replies)
    assert len(knowledge.procedures) == 21
    assert "21 thủ tục" in reply.text
    assert_example_buttons(payloads(reply), knowledge)


async def test_goodbye_forgets_the_procedure_under_discussion(services: Services) -> None:
    result = await Goodbye().run(make_context(services, "tạm biệt", Intent.GOODBYE,
                                              procedure="ho-chieu",
                                              slots={"procedure": "ho-chieu"}))
    assert only_reply(result.replies).text == texts.GOODBYE
    assert result.slots == {"procedure": None, "awaiting": None}


async def test_thanks_keep_the_conversation_as_it_was(services: Services) -> None:
    result = await Thank().run(make_context(services, "cảm ơn", Intent.THANK,
                                            slots={"procedure": "ho-chieu"}))
    assert only_reply(result.replies).text == texts.THANK
    assert result.slots == {}


async def test_out_of_scope_apologises_and_shows_what_the_bot_does(
        services: Services, knowledge: KnowledgeSnapshot) -> None:
    result = await OutOfScope().run(make_context(services, "giá vàng hôm nay", Intent.OUT_OF_SCOPE))
    reply = only_reply(result.replies)
    assert reply.text == texts.OUT_OF_SCOPE
    assert_example_buttons(payloads(reply), knowledge)


async def test_offer_human_gives_the_hotline_hours_and_a_handoff_button(
        services: Services) -> None:
    result = await OfferHuman().run(make_context(services, "???", Intent.OUT_OF_SCOPE))
    reply = only_reply(result.replies)
    assert "1800 1096" in reply.text
    assert services.office_hours in reply.text
    assert "Thứ Hai" in services.office_hours
    assert payloads(reply) == [payload(Intent.HUMAN_HANDOFF), payload(Intent.HELP)]
