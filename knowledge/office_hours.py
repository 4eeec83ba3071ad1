"""When support officers answer: the weekly schedule and holidays, in Vietnam time.

The schedule is one setting, ``EGOVBOT_OFFICE_HOURS_SCHEDULE``: day groups separated by ``;``,
each a day range or list and its opening intervals, e.g.
``mon-fri 07:30-11:30,13:30-17:00; sat 07:30-11:30``. Holidays (``EGOVBOT_OFFICE_HOLIDAYS``)
are dates or date ranges: ``2026-01-01, 2026-02-16..2026-02-20``. Every sentence about office
hours is derived from here, so the text and the behaviour never disagree.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from knowledge.clock import VN_TIME

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")
DEFAULT_SCHEDULE = "mon-fri 07:30-11:30,13:30-17:00"
MAX_HOLIDAY_RANGE_DAYS = 366
LOOKAHEAD_DAYS = 400
_INTERVAL = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


class ScheduleError(ValueError):
    """An office-hours setting that cannot be read; the message says what and where."""


@dataclass(frozen=True, slots=True)
class Interval:
    """Opening time within a day, in minutes after midnight (end exclusive, up to 24:00)."""

    start: int
    end: int

    def describe(self) -> str:
        """``7:30–11:30``."""
        return f"{_clock(self.start)}–{_clock(self.end)}"


@dataclass(frozen=True, slots=True)
class DayGroup:
    """Days that share the same opening intervals (as written in the setting)."""

    days: tuple[int, ...]  # 0 = Monday
    intervals: tuple[Interval, ...]


@dataclass(frozen=True, slots=True)
class OfficeSchedule:
    """Weekly opening intervals and holidays; times are read in Vietnam time."""

    groups: tuple[DayGroup, ...]
    holidays: frozenset[dt.date] = frozenset()

    @classmethod
    def parse(cls, schedule: str, holidays: str = "") -> OfficeSchedule:
        """Read the settings' text; raises ScheduleError saying what is wrong."""
        groups: list[DayGroup] = []
        seen: set[int] = set()
        for raw in schedule.split(";"):
            part = raw.strip()
            if not part:
                continue
            days_text, _, times_text = part.partition(" ")
            days = _parse_days(days_text.strip().lower(), part)
            if seen & set(days):
                raise ScheduleError(f"“{part}”: a day appears in two groups")
            seen |= set(days)
            groups.append(DayGroup(days, _parse_intervals(times_text.strip(), part)))
        return cls(tuple(groups), _parse_holidays(holidays))

    def intervals_on(self, day: dt.date) -> tuple[Interval, ...]:
        """Opening intervals of one calendar day (none on a holiday)."""
        if day in self.holidays:
            return ()
        weekday = day.weekday()
        for group in self.groups:
            if weekday in group.days:
                return group.intervals
        return ()

    def is_open(self, at: dt.datetime) -> bool:
        """Whether officers are at work at this moment."""
        local = _local(at)
        minute = local.hour * 60 + local.minute
        return any(i.start <= minute < i.end for i in self.intervals_on(local.date()))

    def next_opening(self, at: dt.datetime) -> dt.datetime | None:
        """The next time officers start work after ``at`` (Vietnam time); None if never."""
        local = _local(at)
        for offset in range(LOOKAHEAD_DAYS):
            day = local.date() + dt.timedelta(days=offset)
            for interval in self.intervals_on(day):
                start = dt.datetime.combine(day, dt.time(), VN_TIME) + dt.timedelta(
                    minutes=interval.start)
                if start > local:
                    return start
        return None

    def describe(self) -> str:
        """The hours in words: ``Thứ Hai đến Thứ Sáu, 7:30–11:30 và 13:30–17:00``."""
        if not self.groups:
            return "chưa có lịch làm việc"
        parts = []
        for group in self.groups:
            times = [i.describe() for i in group.intervals]
            joined = times[0] if len(times) == 1 else ", ".join(times[:-1]) + " và " + times[-1]
            parts.append(f"{_describe_days(group.days)}, {joined}")
        return "; ".join(parts)


def when(moment: dt.datetime, now: dt.datetime) -> str:
    """A time the way a Vietnamese citizen says it: ``13:30 chiều nay``, ``7:30 sáng mai``,
    ``7:30 sáng thứ Hai (09/03)``."""
    local, today = _local(moment), _local(now).date()
    period = _period(local.hour)
    clock = _clock(local.hour * 60 + local.minute)
    days = (local.date() - today).days
    if days == 0:
        return f"{clock} {period} nay"
    if days == 1:
        return f"{clock} {period} mai"
    weekday = DAY_NAMES[local.weekday()]
    weekday = weekday if local.weekday() == 6 else weekday[0].lower() + weekday[1:]
    return f"{clock} {period} {weekday} ({local:%d/%m})"


def _local(at: dt.datetime) -> dt.datetime:
    aware = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
    return aware.astimezone(VN_TIME)


def _clock(minutes: int) -> str:
    return f"{minutes // 60}:{minutes % 60:02d}"


def _period(hour: int) -> str:
    if hour < 11:
        return "sáng"
    if hour < 13:
        return "trưa"
    if hour < 18:
        return "chiều"
    return "tối"


def _day(name: str, part: str) -> int:
    if name not in DAYS:
        raise ScheduleError(f"“{part}”: unknown day “{name}” (use {', '.join(DAYS)})")
    return DAYS.index(name)


def _parse_days(text: str, part: str) -> tuple[int, ...]:
    days: list[int] = []
    for item in text.split(","):
        first, dash, last = item.strip().partition("-")
        start = _day(first, part)
        end = _day(last, part) if dash else start
        if end < start:
            raise ScheduleError(f"“{part}”: the day range “{item}” runs backwards")
        days += [d for d in range(start, end + 1) if d not in days]
    return tuple(days)


def _parse_intervals(text: str, part: str) -> tuple[Interval, ...]:
    if not text:
        raise ScheduleError(f"“{part}”: no opening hours (e.g. mon-fri 07:30-11:30)")
    intervals: list[Interval] = []
    for item in text.replace(" ", "").split(","):
        match = _INTERVAL.match(item)
        if match is None:
            raise ScheduleError(f"“{part}”: “{item}” is not a time range like 07:30-11:30")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
            raise ScheduleError(f"“{part}”: “{item}” is not a valid time")
        interval = Interval(h1 * 60 + m1, h2 * 60 + m2)
        if interval.end <= interval.start:
            raise ScheduleError(f"“{part}”: “{item}” ends before it starts")
        if intervals and interval.start < intervals[-1].end:
            raise ScheduleError(f"“{part}”: the times must be in order and not overlap")
        intervals.append(interval)
    return tuple(intervals)


def _parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise ScheduleError(f"holiday “{text}” is not a date like 2026-04-30") from exc


def _parse_holidays(text: str) -> frozenset[dt.date]:
    dates: set[dt.date] = set()
    for raw in text.replace(";", ",").split(","):
        item = raw.strip()
        if not item:
            continue
        first, dots, last = item.partition("..")
        start = _parse_date(first.strip())
        end = _parse_date(last.strip()) if dots else start
        length = (end - start).days
        if length < 0 or length > MAX_HOLIDAY_RANGE_DAYS:
            raise ScheduleError(f"holiday range “{item}” must run forwards, at most a year")
        dates |= {start + dt.timedelta(days=n) for n in range(length + 1)}
    return frozenset(dates)


def _describe_days(days: tuple[int, ...]) -> str:
    ordered = sorted(days)
    if len(ordered) > 2 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{DAY_NAMES[ordered[0]]} đến {DAY_NAMES[ordered[-1]]}"
    return ", ".join(DAY_NAMES[d] for d in ordered)


DEFAULT_OFFICE_SCHEDULE = OfficeSchedule.parse(DEFAULT_SCHEDULE)
