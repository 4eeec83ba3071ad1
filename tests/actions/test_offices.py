"""Choosing the citizen's office by their unit, and answering questions about an office."""

from __future__ import annotations

from actions import texts
from actions.base import Services
from actions.offices import OfficeInfo
from actions.procedures import ProcedureAspect
from knowledge.office_choice import choose_offices, office_unit
from knowledge.places import city_places
from knowledge.snapshot import KnowledgeSnapshot
from nlu.intents import EntityType, Intent
from nlu.types import Entity, IntentScore, ParseResult
from tests.actions.support import make_context, only_reply


def test_every_procedure_has_an_office(knowledge: KnowledgeSnapshot) -> None:
    for procedure in knowledge.procedures.values():
        assert knowledge.offices_for(procedure), procedure.id


def test_no_citizen_is_sent_to_another_units_office(knowledge: KnowledgeSnapshot) -> None:
    places = city_places()
    units = [places.find(n) for n in ("Lê Chân", "Ngô Quyền", "Cát Hải", "An Lão")]
    for procedure in knowledge.procedures.values():
        for unit in [None, *units]:
            choice = choose_offices(knowledge, procedure, unit, places)
            assert choice.offices, (procedure.id, unit)
            for entry in choice.offices:
                assert office_unit(entry.office, places) in (None, unit), (procedure.id, unit)
                assert entry.unit in (None, unit)


def test_a_commune_procedure_names_the_wards_centre(knowledge: KnowledgeSnapshot) -> None:
    places = city_places()
    le_chan = places.find("Lê Chân")
    choice = choose_offices(knowledge, knowledge.procedures["gpxd-nha-o"], le_chan, places)
    assert choice.needs_place
    assert choice.offices[0].unit == le_chan  # the template applied to the ward
    ngo_quyen = places.find("Ngô Quyền")
    choice = choose_offices(knowledge, knowledge.procedures["gpxd-nha-o"], ngo_quyen, places)
    assert choice.offices[0].office.id == "ttpvhcc-ngo-quyen"  # the ward's own entry
    city = choose_offices(knowledge, knowledge.procedures["ho-chieu"], None, places)
    assert not city.needs_place


def parse_with_place(text: str, intent: str, place: str) -> ParseResult:
    score = IntentScore(intent, 0.9)
    return ParseResult(text, score, (score,),
                       (Entity(EntityType.PLACE, place, 0, 0, 1.0, place, "gazetteer"),))


async def test_location_without_a_place_asks_it_and_names_no_units_entry(
        services: Services) -> None:
    result = await ProcedureAspect(Intent.PROCEDURE_LOCATION).run(make_context(
        services, "giấy phép xây dựng nộp ở đâu", Intent.PROCEDURE_LOCATION,
        procedure="gpxd-nha-o"))
    reply = only_reply(result.replies)
    assert texts.ASK_PLACE in reply.text
    assert "Cát Hải" not in reply.text.split(texts.ASK_PLACE)[0]
    assert "02253.666.122" not in reply.text
    assert result.slots["awaiting"] == "place"
    assert all('"procedure":"gpxd-nha-o"' in b.payload and '"place"' in b.payload
               for b in reply.buttons if b.title != texts.MORE_BUTTON)


async def test_an_old_district_offers_its_units(services: Services) -> None:
    text = "khai sinh nộp ở đâu, tôi ở quận Lê Chân"
    result = await ProcedureAspect(Intent.PROCEDURE_LOCATION).run(make_context(
        services, text, Intent.PROCEDURE_LOCATION, procedure="khai-sinh",
        parse=parse_with_place(text, Intent.PROCEDURE_LOCATION, "Quận Lê Chân")))
    reply = only_reply(result.replies)
    assert [b.title for b in reply.buttons if b.title != texts.MORE_BUTTON] == [
        "Phường Lê Chân", "Phường An Biên"]


async def test_office_hours_unknown_are_said_unknown(services: Services) -> None:
    text = "giờ làm việc của phường Lê Chân"
    result = await OfficeInfo().run(make_context(
        services, text, Intent.OFFICE_INFO,
        parse=parse_with_place(text, Intent.OFFICE_INFO, "Phường Lê Chân")))
    reply = only_reply(result.replies)
    assert reply.text.startswith(texts.OFFICE_FACT_UNKNOWN.format(
        fact="Giờ làm việc", office="Trung tâm Phục vụ hành chính công phường Lê Chân"))
    assert "Địa chỉ" not in reply.text  # only what was asked
    assert result.slots["place"] == "Phường Lê Chân"


async def test_a_known_phone_is_given_with_its_caveat(services: Services,
                                                      knowledge: KnowledgeSnapshot) -> None:
    text = "số điện thoại một cửa phường Ngô Quyền"
    result = await OfficeInfo().run(make_context(
        services, text, Intent.OFFICE_INFO,
        parse=parse_with_place(text, Intent.OFFICE_INFO, "Phường Ngô Quyền")))
    reply = only_reply(result.replies)
    office = knowledge.offices["ttpvhcc-ngo-quyen"]
    assert office.phone and office.phone in reply.text
    assert office.unverified and office.unverified in reply.text
