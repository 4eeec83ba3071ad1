"""Short first answers with the rest one tap away: every curated procedure's first answer fits
about a screen, says each unconfirmed fact once, never contradicts itself about a fee, and
its "Xem thêm" page holds every detail the first answer left out."""

from __future__ import annotations

import re

import pytest

from actions import texts
from actions.base import Reply, Services
from actions.offices import office_note
from actions.procedures import (
    ASPECT_FACTS,
    DETAIL_FACTS,
    RENDERERS,
    SHORT_ITEMS,
    ProcedureAspect,
    fee_amount,
    in_sentence,
)
from bot.core.payloads import parse_payload
from knowledge.office_choice import choose_offices
from knowledge.places import city_places
from knowledge.schema import Fee
from knowledge.snapshot import KnowledgeSnapshot
from nlu.intents import Intent
from tests.actions.support import make_context, only_reply

ASPECTS = tuple(RENDERERS)
LONG = 1500  # characters: a first answer over this must offer "Xem thêm"
AMOUNT = re.compile(r"\d[\d.,]*\s*(?:%|đồng|đ\b|USD)")


async def first(services: Services, aspect: str, procedure: str) -> Reply:
    result = await ProcedureAspect(aspect).run(
        make_context(services, "cho tôi hỏi", aspect, procedure=procedure))
    return only_reply(result.replies)


def more_payload(reply: Reply) -> str | None:
    return next((b.payload for b in reply.buttons if b.title == texts.MORE_BUTTON), None)


async def tap(services: Services, aspect: str, procedure: str, payload: str) -> Reply:
    """What tapping a button does: its payload parsed as the NLU front does, then the action."""
    parse = parse_payload(payload)
    assert parse is not None and parse.intent.name == aspect
    result = await ProcedureAspect(aspect).run(
        make_context(services, payload, aspect, procedure=procedure, parse=parse))
    return only_reply(result.replies)


@pytest.mark.parametrize("aspect", ASPECTS)
async def test_a_first_answer_fits_a_screen_or_two_and_offers_the_rest(
        services: Services, knowledge: KnowledgeSnapshot, aspect: str) -> None:
    for procedure in knowledge.procedures.values():
        reply = await first(services, aspect, procedure.id)
        assert len(reply.text) <= LONG, (procedure.id, aspect, len(reply.text))
        assert reply.text.count(procedure.name) == 1, (procedure.id, aspect)
        listed = {Intent.PROCEDURE_OVERVIEW: procedure.steps,
                  Intent.PROCEDURE_DOCUMENTS: procedure.documents}.get(aspect, [])
        if len(listed) > SHORT_ITEMS:
            assert f"{SHORT_ITEMS + 1}. " not in reply.text, (procedure.id, aspect)
            assert more_payload(reply) is not None, (procedure.id, aspect)


@pytest.mark.parametrize("aspect", ASPECTS)
async def test_an_unconfirmed_fact_is_said_once_and_never_dropped(
        services: Services, knowledge: KnowledgeSnapshot, aspect: str) -> None:
    for procedure in knowledge.procedures.values():
        reply = await first(services, aspect, procedure.id)
        flagged = [procedure.unverified[f] for f in ASPECT_FACTS[aspect]
                   if f in procedure.unverified]
        assert reply.text.count("⚠️") <= 1, (procedure.id, aspect)
        assert reply.text.count(knowledge.city.hotline) <= 1, (procedure.id, aspect)
        for note in flagged:
            assert reply.text.count(note.rstrip(".")) == 1, (procedure.id, aspect, note)
        details = [procedure.unverified[f] for f in DETAIL_FACTS.get(aspect, ())
                   if f in procedure.unverified]
        if aspect == Intent.PROCEDURE_LOCATION:
            # the offices chosen for a citizen whose place is not known yet (never another
            # unit's own office)
            chosen = choose_offices(knowledge, procedure, None, city_places()).offices
            details += [note for entry in chosen if (note := office_note(entry))]
        if not details:
            continue
        # what the first answer leaves out is on the page behind "Xem thêm", once each
        payload = more_payload(reply)
        assert payload is not None, (procedure.id, aspect)
        page = (await tap(services, aspect, procedure.id, payload)).text
        assert page.count("⚠️") == 1, (procedure.id, aspect)
        for note in flagged + details:
            assert page.count(note.rstrip(".")) == 1, (procedure.id, aspect, note)


async def test_where_to_change_a_driving_licence_names_the_office_once(
        services: Services, knowledge: KnowledgeSnapshot) -> None:
    # the example: the police office's full name was said three times, its note
    # (which speaks of the criminal-record office, another procedure) twice; the city police
    # is named by the department that takes the procedure, not by all of its departments
    reply = await first(services, Intent.PROCEDURE_LOCATION, "doi-gplx")
    offices = knowledge.offices_for(knowledge.procedures["doi-gplx"])
    police = next(o for o in offices if "Công an thành phố" in o.name)
    assert police.name.startswith("Phòng Cảnh sát giao thông")
    assert reply.text.count(police.name) == 1
    assert "xuất nhập cảnh" not in reply.text and "trật tự xã hội" not in reply.text
    assert "lý lịch tư pháp" not in reply.text
    assert texts.OFFICES_UNVERIFIED in reply.text
    assert "chưa có địa chỉ cụ thể" in reply.text
    assert len(reply.text) <= 1000
    payload = more_payload(reply)
    assert payload is not None
    page = (await tap(services, Intent.PROCEDURE_LOCATION, "doi-gplx", payload)).text
    for office in offices:
        assert office.unverified is not None and office.unverified.rstrip(".") in page
    assert page.count(police.name) == 2  # in the list, and as the label of its own note


async def test_a_fee_line_never_contradicts_itself(services: Services,
                                                  knowledge: KnowledgeSnapshot) -> None:
    for_city = texts.FOR_CITY.format(city=in_sentence(knowledge.city.name))
    for procedure in knowledge.procedures.values():
        text = (await first(services, Intent.PROCEDURE_FEE, procedure.id)).text
        for line in text.splitlines():
            if "chưa có mức chính thức" in line:
                assert not AMOUNT.search(line), line
        # the city an amount is not confirmed for is named once per answer
        assert text.count(for_city) <= 1, procedure.id
        for fee in procedure.fees:
            if fee.legal_source:
                for source in fee.legal_source.split(";"):
                    assert text.count(source.strip()) == 1, (procedure.id, source)
    text = (await first(services, Intent.PROCEDURE_FEE, "sang-ten-dat")).text
    # the "chưa có mức chính thức cho địa phương. 0,5% giá trị": one plain sentence
    assert f"Thuế thu nhập cá nhân: khoảng 2% giá chuyển nhượng, chưa xác nhận{for_city}\n" in text
    assert "Lệ phí trước bạ: khoảng 0,5% giá trị, chưa xác nhận\n" in text


@pytest.mark.parametrize("aspect", [Intent.PROCEDURE_DOCUMENTS, Intent.PROCEDURE_FEE,
                                    Intent.PROCEDURE_OVERVIEW])
async def test_xem_them_holds_every_note_and_source_of_the_aspect(
        services: Services, knowledge: KnowledgeSnapshot, aspect: str) -> None:
    for procedure in knowledge.procedures.values():
        reply = await first(services, aspect, procedure.id)
        wanted: list[str] = {
            Intent.PROCEDURE_DOCUMENTS: [d.note or "" for d in procedure.documents]
            + [d.name for d in procedure.documents],
            Intent.PROCEDURE_FEE: [f.note or "" for f in procedure.fees],
            Intent.PROCEDURE_OVERVIEW: [procedure.agency, *procedure.steps,
                                        *procedure.legal_basis],
        }[aspect]
        wanted = [w for w in wanted if w]
        missing = [w for w in wanted if w not in reply.text]
        if not missing:
            continue
        payload = more_payload(reply)
        assert payload is not None, (procedure.id, aspect, missing)
        page = await tap(services, aspect, procedure.id, payload)
        for item in wanted:
            assert item in page.text, (procedure.id, aspect, item)
        source = next(s for s in procedure.sources if s.startswith("http"))
        assert source in page.text and source in reply.text
        # the page offers the other aspects and 👍/👎, not itself again
        assert [b for b in page.buttons if b.payload.startswith(f"/{aspect}")] == []
        assert page.buttons


async def test_xem_them_where_nothing_is_left_repeats_the_answer(services: Services) -> None:
    # a button from an older answer (the entry was edited since): the short answer again
    plain = await first(services, Intent.PROCEDURE_DURATION, "ho-chieu")
    assert more_payload(plain) is None
    stale = await tap(services, Intent.PROCEDURE_DURATION, "ho-chieu",
                      '/procedure_duration{"procedure":"ho-chieu","detail":"more"}')
    assert stale.text == plain.text


def test_an_amount_is_read_from_a_note_only_when_it_is_a_price(
        knowledge: KnowledgeSnapshot) -> None:
    procedure = knowledge.procedures["so-do-lan-dau"]
    discount = Fee(name="Lệ phí", note="Giảm 50% cho hộ nghèo; mức do HĐND quyết định.")
    assert fee_amount(discount, procedure, "") == texts.FEE_UNKNOWN.format(city="")
    priced = Fee(name="Lệ phí", note="Cổng hiển thị 10 USD mỗi trường hợp, chưa đối chiếu.")
    assert fee_amount(priced, procedure, "") == texts.FEE_UNCONFIRMED.format(
        amount="10 USD mỗi trường hợp", city="")
