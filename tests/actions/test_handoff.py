"""Handing over to staff: what the citizen is told in and out of office hours, the reminder
while waiting, silence while an officer has the conversation, and going back to the bot."""

from __future__ import annotations

import datetime as dt

from actions import texts
from actions.base import Services
from actions.handoff import RESUME_PAYLOAD, HumanHandoff, ResumeBot, WaitForStaff, WithStaff
from knowledge.office_hours import VN_TIME, OfficeSchedule
from knowledge.snapshot import KnowledgeSnapshot
from nlu.intents import Intent
from tests.actions.support import OPEN_TIME, make_context, make_services, only_reply, payloads

FRIDAY_EVENING = dt.datetime(2026, 12, 4, 19, 0, tzinfo=VN_TIME)
SATURDAY_MORNING_UTC = dt.datetime(2026, 12, 5, 2, 0, tzinfo=dt.UTC)  # 09:00 in Vietnam


async def test_in_office_hours_the_citizen_waits_for_an_officer(services: Services) -> None:
    result = await HumanHandoff().run(make_context(services, "cho gặp nhân viên",
                                                   Intent.HUMAN_HANDOFF, now=OPEN_TIME,
                                                   slots={"fallbacks": 1}))
    reply = only_reply(result.replies)
    assert result.status == "waiting"
    assert "đã chuyển cuộc trò chuyện cho nhân viên" in reply.text
    assert "1800 1096" in reply.text
    assert services.office_hours in reply.text
    assert "ngoài giờ" not in reply.text
    assert payloads(reply) == [RESUME_PAYLOAD]
    assert result.slots == {"awaiting": None, "fallbacks": 0, "reminded": None}


async def test_outside_office_hours_the_citizen_is_told_when_someone_answers(
        services: Services) -> None:
    result = await HumanHandoff().run(make_context(services, "cho gặp nhân viên",
                                                   Intent.HUMAN_HANDOFF, now=FRIDAY_EVENING))
    reply = only_reply(result.replies)
    assert result.status == "waiting"
    assert "ngoài giờ làm việc" in reply.text
    assert "từ 7:30 sáng thứ Hai (07/12)" in reply.text
    assert "1800 1096" in reply.text


async def test_office_hours_are_read_in_vietnam_time(knowledge: KnowledgeSnapshot) -> None:
    saturday = OfficeSchedule.parse("mon-fri 07:30-11:30,13:30-17:00; sat 07:30-11:30")
    services = make_services(knowledge, schedule=saturday)
    result = await HumanHandoff().run(make_context(services, "gặp người", Intent.HUMAN_HANDOFF,
                                                   now=SATURDAY_MORNING_UTC))
    reply = only_reply(result.replies)
    assert "ngoài giờ" not in reply.text
    assert "Thứ Bảy" in reply.text  # the hours as configured


async def test_a_holiday_moves_the_opening_to_the_next_working_day(
        knowledge: KnowledgeSnapshot) -> None:
    schedule = OfficeSchedule.parse("mon-fri 07:30-11:30,13:30-17:00", "2026-12-07")
    services = make_services(knowledge, schedule=schedule)
    result = await HumanHandoff().run(make_context(services, "gặp người", Intent.HUMAN_HANDOFF,
                                                   now=FRIDAY_EVENING))
    assert "từ 7:30 sáng thứ Ba (08/12)" in only_reply(result.replies).text


async def test_a_schedule_without_hours_never_promises_a_time(
        knowledge: KnowledgeSnapshot) -> None:
    services = make_services(knowledge, schedule=OfficeSchedule.parse(""))
    result = await HumanHandoff().run(make_context(services, "gặp người", Intent.HUMAN_HANDOFF,
                                                   now=OPEN_TIME))
    text = only_reply(result.replies).text
    assert texts.NO_OPENING in text
    assert "1800 1096" in text


async def test_waiting_reminds_with_the_hotline_then_answers_every_message_briefly(
        services: Services) -> None:
    first = await WaitForStaff().run(make_context(services, "còn đó không", Intent.GREET,
                                                  now=OPEN_TIME))
    reply = only_reply(first.replies)
    assert reply.text == texts.HANDOFF_STILL_WAITING.format(hotline="1800 1096", place="")
    assert payloads(reply) == [RESUME_PAYLOAD]
    assert first.slots == {"reminded": True}
    assert first.status is None
    again = await WaitForStaff().run(make_context(services, "alo", Intent.GREET,
                                                  slots=first.slots, now=OPEN_TIME))
    short = only_reply(again.replies)
    assert "vẫn đang chờ nhân viên hỗ trợ" in short.text
    assert "1800 1096" not in short.text  # short: the hotline was said already
    assert payloads(short) == [RESUME_PAYLOAD]
    assert again.slots == {}


async def test_waiting_out_of_hours_says_when_an_officer_comes(services: Services) -> None:
    result = await WaitForStaff().run(make_context(services, "alo", Intent.GREET,
                                                   now=FRIDAY_EVENING))
    assert "từ 7:30 sáng thứ Hai (07/12)" in only_reply(result.replies).text


async def test_with_staff_the_bot_says_nothing_and_changes_nothing(services: Services) -> None:
    result = await WithStaff().run(make_context(services, "lệ phí hộ chiếu",
                                                Intent.PROCEDURE_FEE, procedure="ho-chieu"))
    assert result.replies == ()
    assert result.slots == {}
    assert result.status is None


async def test_resuming_gives_the_conversation_back_to_the_bot(services: Services) -> None:
    result = await ResumeBot().run(make_context(services, RESUME_PAYLOAD, "resume_bot",
                                                slots={"reminded": True}))
    assert only_reply(result.replies).text == texts.RESUMED
    assert result.status == "bot"
    assert result.slots == {"reminded": None}
