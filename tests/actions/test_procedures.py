"""Procedure answers (steps, papers, fee, time, place, online) built from the shipped data."""

from __future__ import annotations

import re

import pytest

from actions import texts
from actions.base import Services, payload
from actions.feedback import MAX_BUTTONS
from actions.procedures import RENDERERS, SHORT_ITEMS, ProcedureAspect
from bot.core.payloads import parse_payload
from knowledge.snapshot import KnowledgeSnapshot
from nlu.intents import Intent
from tests.actions.support import has_feedback_buttons, make_context, only_reply, payloads

ASPECTS = tuple(RENDERERS)


async def more(services: Services, aspect: str, procedure: str) -> str:
    """The page behind the "Xem thêm" button of a first answer (failing when it has none)."""
    result = await ProcedureAspect(aspect).run(
        make_context(services, "cho tôi hỏi", aspect, procedure=procedure))
    buttons = [b for b in only_reply(result.replies).buttons if b.title == texts.MORE_BUTTON]
    assert buttons, f"no Xem thêm under {aspect} of {procedure}"
    parse = parse_payload(buttons[0].payload)
    assert parse is not None and parse.intent.name == aspect
    tapped = await ProcedureAspect(aspect).run(
        make_context(services, buttons[0].payload, aspect, procedure=procedure, parse=parse))
    page = only_reply(tapped.replies)
    assert texts.MORE_BUTTON not in [b.title for b in page.buttons]
    return page.text


async def answer(services: Services, aspect: str, procedure: str | None,
                 text: str = "cho tôi hỏi") -> tuple[str, list[str], dict[str, object]]:
    """Run one aspect; the reply's text, its button payloads and the slot changes."""
    result = await ProcedureAspect(aspect).run(
        make_context(services, text, aspect, procedure=procedure))
    reply = only_reply(result.replies)
    return reply.text, payloads(reply), dict(result.slots)


@pytest.mark.parametrize("aspect", ASPECTS)
async def test_every_procedure_answers_every_aspect_with_its_name_source_and_buttons(
        services: Services, knowledge: KnowledgeSnapshot, aspect: str) -> None:
    for procedure in knowledge.procedures.values():
        result = await ProcedureAspect(aspect).run(  # a citizen who said where they live
            make_context(services, "hỏi", aspect, procedure=procedure.id,
                         slots={"place": "Phường Lê Chân"}))
        reply = only_reply(result.replies)
        assert procedure.name in reply.text, (procedure.id, aspect)
        if any(s.startswith("http") for s in procedure.sources):
            assert "Nguồn: http" in reply.text, procedure.id
        assert texts.day(procedure.verified) in reply.text, procedure.id
        assert has_feedback_buttons(reply), procedure.id
        assert len(reply.buttons) <= MAX_BUTTONS
        # follow-ups are other aspects of the same procedure, never the one just answered
        # (except "Xem thêm": the rest of this one)
        follow_ups = [b for b in reply.buttons[:-2] if b.title != texts.MORE_BUTTON]
        assert follow_ups, procedure.id
        assert all(f'"procedure":"{procedure.id}"' in b.payload for b in follow_ups)
        assert not any(b.payload.startswith(f"/{aspect}{{") for b in follow_ups)
        slots = dict(result.slots)
        if aspect == Intent.PROCEDURE_LOCATION and "place" in slots:
            assert slots.pop("place") == "Phường Lê Chân"  # the place the answer used
        assert slots == {"procedure": procedure.id, "awaiting": None, "pending_intent": None}


async def test_fee_of_a_passport_names_both_amounts_and_the_legal_source(
        services: Services) -> None:
    text, buttons, _ = await answer(services, Intent.PROCEDURE_FEE, "ho-chieu",
                                    "làm hộ chiếu bao nhiêu tiền")
    assert "Cấp hộ chiếu phổ thông" in text
    assert "200.000 đồng" in text
    assert "400.000 đồng" in text
    assert "Thông tư 25/2021/TT-BTC" in text
    # the online fee is flagged unconfirmed in the data: the citizen is told where to check
    assert "⚠️" in text and "1800 1096" in text
    assert payload(Intent.PROCEDURE_DOCUMENTS, procedure="ho-chieu") in buttons
    assert payload(Intent.PROCEDURE_FEE, procedure="ho-chieu") not in buttons


async def test_every_known_fee_amount_is_given(services: Services,
                                               knowledge: KnowledgeSnapshot) -> None:
    for procedure in knowledge.procedures.values():
        text, _, _ = await answer(services, Intent.PROCEDURE_FEE, procedure.id)
        for fee in procedure.fees:
            assert fee.name in text, (procedure.id, fee.name)
            if fee.amount_vnd is None:  # unknown, or a note's amount said to be unconfirmed
                line = next(line for line in text.splitlines() if fee.name in line)
                assert ("chưa có mức chính thức" in line) != ("khoảng" in line), line
                assert "chưa xác nhận" in line or "chưa có mức chính thức" in line, line
            elif fee.amount_vnd == 0:
                said = re.split(r"[.;] ", fee.note or "")[0].rstrip(".")
                assert "miễn phí" in text or said in text, (procedure.id, fee.name)
            else:
                digits = f"{fee.amount_vnd:,}".replace(",", ".")
                assert digits in text, (procedure.id, fee.name)


async def test_a_free_first_identity_card_is_said_to_be_free(services: Services,
                                                             knowledge: KnowledgeSnapshot
                                                             ) -> None:
    free = [f for f in knowledge.procedures["can-cuoc"].fees if f.amount_vnd == 0]
    assert free, "the shipped data has a free first identity card"
    text, _, _ = await answer(services, Intent.PROCEDURE_FEE, "can-cuoc")
    line = next(line for line in text.splitlines() if free[0].name in line)
    assert f"{free[0].name}: Không thu lệ phí" in line  # the record's own words
    assert " 0 đồng" not in line


async def test_documents_are_a_numbered_checklist_with_copies_and_conditions(
        services: Services, knowledge: KnowledgeSnapshot) -> None:
    procedure = knowledge.procedures["ho-chieu"]
    text, _, _ = await answer(services, Intent.PROCEDURE_DOCUMENTS, "ho-chieu",
                              "làm hộ chiếu cần giấy tờ gì")
    assert text.startswith(f"Giấy tờ cần chuẩn bị cho thủ tục {procedure.name}")
    for number, document in enumerate(procedure.documents[:SHORT_ITEMS], start=1):
        assert f"{number}. {document.name[:40]}" in text
        if document.copies:
            assert document.copies in text
        if document.condition:
            assert document.condition in text
    assert "Ảnh chân dung cỡ 4x6 cm" in text


async def test_overview_numbers_the_steps(services: Services,
                                          knowledge: KnowledgeSnapshot) -> None:
    procedure = knowledge.procedures["khai-sinh"]
    text, _, _ = await answer(services, Intent.PROCEDURE_OVERVIEW, "khai-sinh")
    for number, step in enumerate(procedure.steps[:SHORT_ITEMS], start=1):
        assert f"{number}. {step[:60]}" in text
    # the agency, every step in full and the time are one tap away
    page = await more(services, Intent.PROCEDURE_OVERVIEW, "khai-sinh")
    assert f"Cơ quan giải quyết: {procedure.agency}" in page
    for number, step in enumerate(procedure.steps, start=1):
        assert f"{number}. {step}" in page
    assert procedure.processing_time is not None
    assert procedure.processing_time.text in page
    for law in procedure.legal_basis:
        assert law in page


async def test_duration_adds_working_days_only_when_the_text_lacks_them(
        services: Services, knowledge: KnowledgeSnapshot) -> None:
    for procedure in knowledge.procedures.values():
        text, _, _ = await answer(services, Intent.PROCEDURE_DURATION, procedure.id)
        assert procedure.processing_time.text in text
        days = procedure.processing_time.working_days
        if days is None or days < 1:
            assert "(khoảng" not in text.split("\n\n")[0], procedure.id
            continue
        added = f"(khoảng {texts.days(days)} ngày làm việc)"
        if texts.days(days) in procedure.processing_time.text:
            assert added not in text, procedure.id
        else:
            assert added in text, procedure.id


async def test_location_names_the_citizens_office_with_what_is_known_of_it(
        services: Services, knowledge: KnowledgeSnapshot) -> None:
    procedure = knowledge.procedures["khai-sinh"]
    result = await ProcedureAspect(Intent.PROCEDURE_LOCATION).run(make_context(
        services, "làm khai sinh ở đâu", Intent.PROCEDURE_LOCATION, procedure="khai-sinh",
        slots={"place": "Phường Ngô Quyền"}))
    text = only_reply(result.replies).text
    assert procedure.agency in text
    own = knowledge.offices["ttpvhcc-ngo-quyen"]
    assert own.name in text
    assert "02253.666.122" in text  # the Ngô Quyền centre's phone, from offices.yaml
    assert "chưa có địa chỉ cụ thể" in text  # its address is not in the data
    assert "Cát Hải" not in text  # another unit's centre is never named
    if procedure.online.mode != "none":
        assert "nộp online" in text


async def test_online_gives_the_mode_and_a_link_to_submit(services: Services,
                                                          knowledge: KnowledgeSnapshot) -> None:
    procedure = knowledge.procedures["ho-chieu"]
    result = await ProcedureAspect(Intent.PROCEDURE_ONLINE).run(
        make_context(services, "làm hộ chiếu online được không", Intent.PROCEDURE_ONLINE,
                     procedure="ho-chieu"))
    reply = only_reply(result.replies)
    assert texts.ONLINE_MODES[procedure.online.mode] in reply.text
    assert procedure.online.link is not None
    assert [link.url for link in reply.links] == [str(procedure.online.link)]


async def test_only_the_online_answer_carries_a_link(services: Services) -> None:
    result = await ProcedureAspect(Intent.PROCEDURE_FEE).run(
        make_context(services, "lệ phí", Intent.PROCEDURE_FEE, procedure="ho-chieu"))
    assert only_reply(result.replies).links == ()


@pytest.mark.parametrize("procedure", [None, "khong-co-thu-tuc-nay"])
async def test_an_unknown_procedure_asks_which_one_and_remembers_the_question(
        services: Services, procedure: str | None) -> None:
    text, buttons, slots = await answer(services, Intent.PROCEDURE_FEE, procedure)
    assert text == texts.ASK_PROCEDURE_NO_CANDIDATES
    assert buttons == []
    assert slots == {"procedure": None, "awaiting": "procedure",
                     "pending_intent": Intent.PROCEDURE_FEE}
