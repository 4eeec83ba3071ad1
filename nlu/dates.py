"""Dates typed with numbers ("15/11", "ngày 5/12/2026", "ngày 5 tháng 12"), found by pattern,
and the common worded ones ("ngày mai", "thứ hai tuần sau", "cuối tháng này", "mùng 5 tết").

Why it exists: a date written in digits has a fixed shape, so a pattern finds it surely; so
do the everyday ways of naming a day, week or month relative to today, with or without
diacritics (``find_worded_dates``). The learned tagger (``nlu.tagger``) finds the rest and
yields to these where both see one. A day above 31 or a month above 12 is no date, and a run
of digits that continues a longer number (a dossier code's "261120", a fee's "25.000") is
never read as one.
"""

from __future__ import annotations

import re
import unicodedata
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


def _loose(phrase: str) -> str:
    """A regex for a phrase typed with or without its diacritics (any case)."""
    out = []
    for ch in phrase:
        plain = unicodedata.normalize("NFD", ch)[0].replace("đ", "d")
        out.append(re.escape(ch) if plain == ch else f"[{ch}{plain}]")
    return "".join(out).replace(r"\ ", r"\s+")


def _any(*phrases: str) -> str:
    return "(?:" + "|".join(_loose(p) for p in sorted(phrases, key=len, reverse=True)) + ")"


_PART_OF_DAY = _any("sáng", "chiều", "tối", "trưa", "đêm")
_RELATIVE = _any("này", "nay", "sau", "tới", "trước", "vừa rồi")
_WEEKDAY = (r"(?:" + _any("thứ") + r"\s*(?:[2-7]|" + _any("hai", "ba", "tư", "năm", "sáu",
                                                            "bảy") + r")|"
            + _any("chủ nhật") + r"|cn)")
_DAY_WORDS = _any("hôm nay", "ngày mai", "ngày kia", "ngày mốt", "hôm qua", "hôm kia")
_SAID_DAY = _any("mai", "nay")  # after a part of the day: "sáng mai", "chiều nay"
_SPAN = _any("tuần", "tháng", "năm")
_EDGE = _any("đầu", "cuối", "giữa")
_LUNAR = _any("mùng", "mồng") + r"\s+\d{1,2}(?:\s+" + _any("tết", "tháng giêng") + r")?"
_TET = _any("sau tết", "trước tết", "ra tết", "rằm tháng giêng", "rằm")
WORDED_RELATIVE = re.compile(
    rf"(?<!\w)(?:"
    rf"(?:{_PART_OF_DAY}\s+)?{_DAY_WORDS}"
    rf"|{_PART_OF_DAY}\s+{_SAID_DAY}"
    # a weekday needs a part of the day before it or a "which week" after it: "lần thứ hai"
    # is a second time
    rf"|(?:{_PART_OF_DAY}\s+|(?:{_any('vào', 'hôm', 'ngày')})\s+)?{_WEEKDAY}"
    rf"(?:\s+(?:{_any('tuần')}\s+)?{_RELATIVE})"
    rf"|{_PART_OF_DAY}\s+{_WEEKDAY}"
    rf"|(?:{_EDGE}\s+)?{_SPAN}\s+{_RELATIVE}"
    rf"|{_any('cuối tuần')}"
    rf"|{_LUNAR}"
    rf"|{_TET}"
    rf")(?!\w)", re.IGNORECASE)


def find_worded_dates(text: str) -> list[tuple[int, int]]:
    """The spans of the everyday worded dates of a text, in order (none overlapping a date
    in digits, which ``find_dates`` reads)."""
    digits = find_dates(text)
    return [(m.start(), m.end()) for m in WORDED_RELATIVE.finditer(text)
            if all(m.end() <= d.start or m.start() >= d.end for d in digits)]
