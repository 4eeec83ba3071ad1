"""Dossier status: asking for the code, refusing a malformed one, explaining every status, and
what the citizen hears when the dossier is unknown, the API is down or they look up too much."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from actions import texts
from actions.base import Services, payload
from actions.dossier import RETRY_CODE, DossierStatusLookup
from bot.dossier_api.simulator import SEEDED
from bot.service.coordination.rate_limits import MemoryRateLimiter
from knowledge.snapshot import KnowledgeSnapshot
from nlu.intents import Intent
from tests.actions.support import (
    OPEN_TIME,
    CountingDossiers,
    DownDossiers,
    has_feedback_buttons,
    make_context,
    make_services,
    only_reply,
    payloads,
)

SUPPLEMENT_CODE = "000.00.12.H31-261110-0003"  # gpxd-nha-o, need_supplement
UNKNOWN_CODE = "000.00.12.H31-261120-0999"  # well formed, not in the simulator


async def look_up(services: Services, text: str, conversation_id: str = "web:citizen-1",
                  ) -> tuple[str, list[str], dict[str, object]]:
    """Run the lookup on a message; the reply's text, its buttons and the slot changes."""
    result = await DossierStatusLookup().run(
        make_context(services, text, Intent.DOSSIER_STATUS, conversation_id=conversation_id))
    reply = only_reply(result.replies)
    return reply.text, payloads(reply), dict(result.slots)


@pytest.mark.parametrize("seeded", SEEDED, ids=[d["status"] for d in SEEDED])
async def test_every_status_is_explained_with_dates_and_what_to_do(
        services: Services, knowledge: KnowledgeSnapshot, seeded: dict[str, object]) -> None:
    code = str(seeded["code"])
    procedure = knowledge.procedures[str(seeded["procedure"])]
    result = await DossierStatusLookup().run(
        make_context(services, f"tra cứu hồ sơ {code.lower()}", Intent.DOSSIER_STATUS))
    reply = only_reply(result.replies)
    assert f"Hồ sơ {code}" in reply.text
    assert f"Thủ tục: {procedure.name}" in reply.text
    assert f"Tình trạng: {seeded['status_text']}" in reply.text
    assert str(seeded["agency"]) in reply.text
    received = dt.date.fromisoformat(str(seeded["received_at"])[:10])
    assert f"Ngày tiếp nhận: {received:%d/%m/%Y}" in reply.text
    due = dt.date.fromisoformat(str(seeded["due_at"])[:10])
    late = seeded["status"] in ("received", "processing") and due < OPEN_TIME.date()
    advice = (texts.DOSSIER_LATE_NEXT if late
              else texts.DOSSIER_STATUS_NEXT[str(seeded["status"])])
    assert reply.text.endswith(advice.format(hotline="1800 1096"))
    assert has_feedback_buttons(reply)
    assert result.slots == {"awaiting": None, "procedure": procedure.id}


async def test_the_applicants_personal_data_is_never_shown(services: Services) -> None:
    for seeded in SEEDED:
        text, _, _ = await look_up(services, str(seeded["code"]))
        applicant = seeded["applicant"]
        assert isinstance(applicant, dict)
        for value in applicant.values():
            assert value not in text


async def test_a_dossier_to_supplement_says_what_is_missing_and_offers_the_papers(
        services: Services) -> None:
    text, buttons, _ = await look_up(services, f"ho so {SUPPLEMENT_CODE} sao roi")
    assert "Tình trạng: Cần bổ sung hồ sơ" in text
    assert "Cần bổ sung: Bổ sung bản vẽ mặt bằng công trình" in text
    assert "Ngày hẹn trả kết quả: 25/11/2026" in text
    assert buttons[0] == payload(Intent.PROCEDURE_DOCUMENTS, procedure="gpxd-nha-o")


async def test_a_rejected_dossier_gives_the_reason_and_no_papers_button(
        services: Services) -> None:
    text, buttons, _ = await look_up(services, "000.00.12.H31-261101-0007")
    assert "Lý do: Thông tin nhân thân trong tờ khai không khớp" in text
    assert "Ngày có kết quả: 08/11/2026" in text
    assert not any(b.startswith(f"/{Intent.PROCEDURE_DOCUMENTS}") for b in buttons)


async def test_no_code_asks_for_it(services: Services) -> None:
    text, buttons, slots = await look_up(services, "tôi muốn tra cứu hồ sơ")
    assert text == texts.ASK_DOSSIER_CODE
    assert buttons == []
    assert slots == {"awaiting": "dossier_code"}


async def test_a_malformed_code_is_refused_with_the_expected_shape(services: Services) -> None:
    text, _, slots = await look_up(services, "mã của tôi là 000.00.12-2611")
    assert '"000.00.12-2611"' in text
    assert "000.00.12.H31-251103-0042" in text  # the shape the citizen should send
    assert slots == {"awaiting": "dossier_code"}


@pytest.mark.parametrize("code", ["H31-261120-0001", "261120-0001", "h31 - 261120 - 0001"])
async def test_a_code_without_its_agency_part_is_called_incomplete(services: Services,
                                                                   code: str) -> None:
    text, _, slots = await look_up(services, code)
    assert f'"{code}" chưa đúng' in text
    assert "thiếu phần đầu" in text
    assert "000.00.12.H31-261120-0001" in text  # the full shape
    assert slots == {"awaiting": "dossier_code"}


@pytest.mark.parametrize(("code", "problem"), [
    ("000.00.12.H31-261332-0001", "không phải một ngày có thật"),
    ("000.00.12.H31-271201-0001", "nằm ở tương lai"),
])
async def test_a_well_shaped_code_with_an_impossible_date_is_refused_before_any_lookup(
        knowledge: KnowledgeSnapshot, code: str, problem: str) -> None:
    dossiers = CountingDossiers()
    services = make_services(knowledge, dossiers=dossiers)
    text, _, slots = await look_up(services, code)
    assert code in text
    assert problem in text
    assert slots == {"awaiting": "dossier_code"}
    assert dossiers.codes == []


async def test_an_unknown_code_is_not_found_and_the_bot_waits_for_another(
        knowledge: KnowledgeSnapshot) -> None:
    dossiers = CountingDossiers()
    services = make_services(knowledge, dossiers=dossiers)
    text, buttons, slots = await look_up(services, UNKNOWN_CODE)
    assert dossiers.codes == [UNKNOWN_CODE]
    assert f"Không tìm thấy hồ sơ có mã {UNKNOWN_CODE}" in text
    assert "1800 1096" in text
    assert buttons == []
    assert slots == {"awaiting": RETRY_CODE}  # a corrected code is read; anything else is new


async def test_an_unavailable_api_apologises_and_offers_a_person(
        knowledge: KnowledgeSnapshot) -> None:
    services = make_services(knowledge, dossiers=DownDossiers())
    text, buttons, slots = await look_up(services, SUPPLEMENT_CODE)
    assert text == texts.DOSSIER_UNAVAILABLE.format(hotline="1800 1096")
    assert buttons == [payload(Intent.HUMAN_HANDOFF)]
    assert slots == {"awaiting": None}


async def test_lookups_are_limited_per_conversation(knowledge: KnowledgeSnapshot) -> None:
    dossiers = CountingDossiers()
    services = make_services(knowledge, dossiers=dossiers, limiter=MemoryRateLimiter(),
                             lookups_per_hour=2)
    for _ in range(2):
        text, _, _ = await look_up(services, UNKNOWN_CODE, "telegram:1")
        assert "Không tìm thấy" in text
    text, _, slots = await look_up(services, SUPPLEMENT_CODE, "telegram:1")
    assert "quá 2 lần trong một giờ" in text
    assert "1800 1096" in text
    assert slots == {"awaiting": None}
    assert len(dossiers.codes) == 2  # the refused lookup never reached the API
    # another citizen is not affected
    text, _, _ = await look_up(services, SUPPLEMENT_CODE, "telegram:2")
    assert "Cần bổ sung hồ sơ" in text


async def test_a_malformed_code_does_not_use_up_the_limit(knowledge: KnowledgeSnapshot) -> None:
    services = make_services(knowledge, lookups_per_hour=1)
    for _ in range(3):
        await look_up(services, "000.00.12-2611")
    text, _, _ = await look_up(services, SUPPLEMENT_CODE)
    assert "Cần bổ sung hồ sơ" in text


async def test_a_dossier_of_a_procedure_the_knowledge_base_lacks_still_gets_its_status(
        knowledge: KnowledgeSnapshot) -> None:
    procedures = {k: v for k, v in knowledge.procedures.items() if k != "gpxd-nha-o"}
    services = make_services(dataclasses.replace(knowledge, procedures=procedures))
    text, buttons, slots = await look_up(services, SUPPLEMENT_CODE)
    assert "Tình trạng: Cần bổ sung hồ sơ" in text
    assert "Thủ tục:" not in text
    assert not any(b.startswith(f"/{Intent.PROCEDURE_DOCUMENTS}") for b in buttons)
    assert slots == {"awaiting": None, "procedure": None}


PROCESSING_CODE = "000.00.12.H31-261118-0002"  # processing, due 27/11/2026 17:00 (Vietnam)
DUE_0312_CODE = "000.00.12.H31-261124-0008"  # processing, due 03/12/2026 17:00 (Vietnam)
VIETNAM = dt.timezone(dt.timedelta(hours=7))


async def look_up_at(services: Services, code: str, now: dt.datetime) -> str:
    result = await DossierStatusLookup().run(make_context(
        services, f"tra cứu hồ sơ {code}", Intent.DOSSIER_STATUS, now=now))
    return only_reply(result.replies).text


async def test_a_dossier_past_its_date_is_late_and_the_citizen_is_told_what_to_do(
        services: Services) -> None:
    text = await look_up_at(services, PROCESSING_CODE,
                            dt.datetime(2026, 12, 4, 10, 0, tzinfo=VIETNAM))
    assert "Ngày hẹn trả kết quả: 27/11/2026" in text
    assert "Hồ sơ đã trễ hẹn 7 ngày." in text
    assert text.endswith(texts.DOSSIER_LATE_NEXT.format(hotline="1800 1096"))
    assert "Bạn chờ đến ngày hẹn" not in text


@pytest.mark.parametrize(("now", "said"), [
    (dt.datetime(2026, 12, 1, 9, 0, tzinfo=VIETNAM), "Còn 2 ngày nữa đến ngày hẹn trả kết quả."),
    (dt.datetime(2026, 12, 3, 8, 0, tzinfo=VIETNAM), "Hôm nay là ngày hẹn trả kết quả."),
    # 18:30 UTC on 03/12 is already 04/12 in Vietnam: one day late
    (dt.datetime(2026, 12, 3, 18, 30, tzinfo=dt.UTC), "Hồ sơ đã trễ hẹn 1 ngày."),
])
async def test_the_appointment_date_is_compared_with_today_in_vietnam(
        services: Services, now: dt.datetime, said: str) -> None:
    text = await look_up_at(services, DUE_0312_CODE, now)
    assert said in text
    waiting = texts.DOSSIER_STATUS_NEXT["processing"].format(hotline="1800 1096")
    assert text.endswith(waiting) == ("trễ hẹn" not in said)


async def test_a_finished_dossier_gets_no_countdown(services: Services) -> None:
    text = await look_up_at(services, "000.00.12.H31-261105-0005",
                            dt.datetime(2026, 12, 4, 10, 0, tzinfo=VIETNAM))
    assert "Ngày có kết quả: 16/11/2026" in text
    assert "trễ hẹn" not in text and "Còn " not in text and "Hôm nay" not in text
