"""Answers from an administrator-written FAQ."""

from __future__ import annotations

from actions import texts
from actions.base import Services, payload
from actions.faq import AnswerFaq
from knowledge.snapshot import KnowledgeSnapshot
from nlu.intents import Intent
from tests.actions.support import has_feedback_buttons, make_context, only_reply, payloads


async def test_an_faq_about_a_procedure_answers_and_keeps_the_procedure(
        services: Services, knowledge: KnowledgeSnapshot) -> None:
    faq = knowledge.faqs["so-ho-khau"]
    assert faq.procedure == "thuong-tru"
    result = await AnswerFaq().run(make_context(services, "so ho khau con dung khong",
                                                Intent.OUT_OF_SCOPE, faq_id=faq.id))
    reply = only_reply(result.replies)
    assert reply.text == faq.answer
    assert "đăng ký thường trú" in reply.text
    buttons = payloads(reply)
    assert buttons[0] == payload(Intent.PROCEDURE_OVERVIEW, procedure="thuong-tru")
    assert has_feedback_buttons(reply)
    assert len(buttons) == 5
    assert result.slots == {"procedure": "thuong-tru"}


async def test_an_faq_without_a_procedure_leaves_the_conversation_as_it_was(
        services: Services, knowledge: KnowledgeSnapshot) -> None:
    faq = knowledge.faqs["tra-cuu-ho-so-theo-ma"]
    assert faq.procedure is None
    result = await AnswerFaq().run(make_context(services, "tra cuu ho so", Intent.HELP,
                                                procedure="ho-chieu",
                                                slots={"procedure": "ho-chieu"},
                                                faq_id=faq.id))
    reply = only_reply(result.replies)
    assert "https://dichvucong.gov.vn" in reply.text
    assert len(reply.buttons) == 2 and has_feedback_buttons(reply)
    assert result.slots == {}


async def test_every_shipped_faq_answers_with_its_own_text(services: Services,
                                                           knowledge: KnowledgeSnapshot) -> None:
    assert len(knowledge.faqs) >= 10
    for faq in knowledge.faqs.values():
        result = await AnswerFaq().run(make_context(services, faq.question, Intent.HELP,
                                                    faq_id=faq.id))
        assert only_reply(result.replies).text == faq.answer, faq.id


async def test_an_faq_that_is_gone_falls_back_politely(services: Services) -> None:
    result = await AnswerFaq().run(make_context(services, "câu hỏi cũ", Intent.HELP,
                                                faq_id="da-bi-xoa"))
    assert only_reply(result.replies).text == texts.OUT_OF_SCOPE
    assert result.slots == {}
