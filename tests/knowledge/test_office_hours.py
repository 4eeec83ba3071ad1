"""Office hours: reading the setting, opening times, and saying them in Vietnamese."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from bot.service.settings import Settings
from knowledge.office_hours import VN_TIME, OfficeSchedule, ScheduleError, when

SCHEDULE = OfficeSchedule.parse("mon-fri 07:30-11:30,13:30-17:00; sat 07:30-11:30",
                                "2026-04-30..2026-05-01, 2026-09-02")


def vn(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=VN_TIME)


def test_the_schedule_is_described_in_vietnamese() -> None:
    assert SCHEDULE.describe() == ("Thứ Hai đến Thứ Sáu, 7:30–11:30 và 13:30–17:00; "
                                   "Thứ Bảy, 7:30–11:30")
    assert OfficeSchedule.parse("mon,wed 08:00-12:00").describe() == "Thứ Hai, Thứ Tư, 8:00–12:00"
    assert Settings().office_hours == "Thứ Hai đến Thứ Sáu, 7:30–11:30 và 13:30–17:00"


@pytest.mark.parametrize(("moment", "is_open"), [
    (vn(2026, 3, 9, 7, 29), False),  # Monday, before opening
    (vn(2026, 3, 9, 7, 30), True),
    (vn(2026, 3, 9, 11, 30), False),  # lunch break
    (vn(2026, 3, 9, 16, 59), True),
    (vn(2026, 3, 14, 9, 0), True),  # Saturday morning
    (vn(2026, 3, 15, 9, 0), False),  # Sunday
    (vn(2026, 4, 30, 9, 0), False),  # a holiday
    (dt.datetime(2026, 3, 9, 2, 0, tzinfo=dt.UTC), True),  # 9:00 in Vietnam
])
def test_open_or_closed(moment: dt.datetime, is_open: bool) -> None:
    assert SCHEDULE.is_open(moment) is is_open


def test_the_next_opening_skips_breaks_weekends_and_holidays() -> None:
    assert SCHEDULE.next_opening(vn(2026, 3, 9, 12, 0)) == vn(2026, 3, 9, 13, 30)
    assert SCHEDULE.next_opening(vn(2026, 3, 13, 18, 0)) == vn(2026, 3, 14, 7, 30)
    assert SCHEDULE.next_opening(vn(2026, 3, 14, 12, 0)) == vn(2026, 3, 16, 7, 30)
    # Thursday 30/4 and Friday 1/5 are holidays: the next opening is Saturday 2/5
    assert SCHEDULE.next_opening(vn(2026, 4, 29, 17, 30)) == vn(2026, 5, 2, 7, 30)
    assert OfficeSchedule.parse("").next_opening(vn(2026, 3, 9, 9, 0)) is None


def test_when_says_the_time_as_people_do() -> None:
    now = vn(2026, 3, 13, 18, 0)  # Friday evening
    assert when(vn(2026, 3, 13, 13, 30), now) == "13:30 chiều nay"
    assert when(vn(2026, 3, 14, 7, 30), now) == "7:30 sáng mai"
    assert when(vn(2026, 3, 16, 8, 0), now) == "8:00 sáng thứ Hai (16/03)"
    assert when(vn(2026, 3, 15, 19, 0), now) == "19:00 tối Chủ nhật (15/03)"


@pytest.mark.parametrize(("schedule", "holidays", "problem"), [
    ("mon-fry 07:30-11:30", "", "unknown day"),
    ("mon-fri", "", "no opening hours"),
    ("mon-fri 7h30-11h30", "", "not a time range"),
    ("mon-fri 11:30-07:30", "", "ends before it starts"),
    ("mon-fri 07:30-11:30,11:00-17:00", "", "not overlap"),
    ("mon-fri 07:30-11:30; fri 13:00-17:00", "", "two groups"),
    ("fri-mon 07:30-11:30", "", "backwards"),
    ("mon-fri 07:30-25:00", "", "not a valid time"),
    ("mon-fri 07:30-11:30", "30/04/2026", "not a date"),
    ("mon-fri 07:30-11:30", "2026-05-01..2026-04-30", "forwards"),
])
def test_a_bad_setting_says_what_is_wrong(schedule: str, holidays: str, problem: str) -> None:
    with pytest.raises(ScheduleError, match=problem):
        OfficeSchedule.parse(schedule, holidays)
    with pytest.raises(ValidationError, match=problem):
        Settings(office_hours_schedule=schedule, office_holidays=holidays)


def test_settings_read_the_schedule_from_the_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EGOVBOT_OFFICE_HOURS_SCHEDULE", "mon-sat 08:00-12:00")
    monkeypatch.setenv("EGOVBOT_OFFICE_HOLIDAYS", "2026-01-01")
    settings = Settings()
    assert settings.office_hours == "Thứ Hai đến Thứ Bảy, 8:00–12:00"
    assert not settings.office_schedule.is_open(vn(2026, 1, 1, 9, 0))
    assert settings.office_schedule.is_open(vn(2026, 1, 2, 9, 0))
