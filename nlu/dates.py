"""Dates typed with numbers ("15/11", "ngày 5/12/2026", "ngày 5 tháng 12"), found by pattern.

Why it exists: a date written in digits has a fixed shape, so a pattern finds it surely; the
learned tagger (``nlu.tagger``) finds the worded ones ("hôm qua", "thứ hai tuần sau") and
yields to these where both see one. A day above 31 or a month above 12 is no date, and a run
of digits that continues a longer number (a dossier code's "261120", a fee's "25.000") is
never read as one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_WORD_DAY = r"(?i:ngày|ngay|mùng|mung|hôm|hom)"
_AFTER = r"(?![\w/\-]|[.,]\d)"  # not continuing a longer number or code
NUMERIC_DATE = re.compile(
    rf"(?<![\w.,/\-])(?:(?P<word>{_WORD_DAY})\s+)?(?P<day>\d{{1,2}})\s*[/\-]\s*"
    rf"(?P<month>\d{{1,2}})(?:\s*[/\-]\s*(?P<year>\d{{4}}|\d{{2}}))?{_AFTER}")
WORDED_DATE = re.compile(
    rf"(?<!\w){_WORD_DAY}\s+(?P<day>\d{{1,2}})\s+(?i:tháng|thang)\s+(?P<month>\d{{1,2}})"
    rf"(?:\s+(?i:năm|nam)\s+(?P<year>\d{{4}}))?{_AFTER}")
# "số 12/4", "ngõ 5/2": a house number or an alley, not a date (unless "ngày" says it is)
_NOT_A_DATE_BEFORE = re.compile(
    r"(?i:số|so|ngõ|ngo|ngách|ngach|hẻm|hem|kiệt|kiet|nhà|nha|phòng|phong|lô|lo|tỷ lệ|ty le)"
    r"\s*$")


@dataclass(frozen=True, slots=True)
class DateMatch:
    """A date found in a text: its span and its day, month and year (0 when not said)."""

    start: int
    end: int
    day: int
    month: int
    year: int

    @property
    def value(self) -> str:
        """The date as "DD/MM" or "DD/MM/YYYY" (a two-digit year is in this century)."""
        if not self.year:
            return f"{self.day:02d}/{self.month:02d}"
        year = self.year + 2000 if self.year < 100 else self.year
        return f"{self.day:02d}/{self.month:02d}/{year}"


def find_dates(text: str) -> list[DateMatch]:
    """Every date written in digits in a text, in order."""
    found: list[DateMatch] = []
    for pattern in (WORDED_DATE, NUMERIC_DATE):
        for match in pattern.finditer(text):
            day, month = int(match.group("day")), int(match.group("month"))
            if not (1 <= day <= 31 and 1 <= month <= 12):
                continue
            if pattern is NUMERIC_DATE and match.group("word") is None and \
                    _NOT_A_DATE_BEFORE.search(text[max(0, match.start() - 8):match.start()]):
                continue
            if any(match.start() < d.end and d.start < match.end() for d in found):
                continue
            year = match.group("year")
            found.append(DateMatch(match.start(), match.end(), day, month,
                                   int(year) if year else 0))
    return sorted(found, key=lambda d: d.start)
