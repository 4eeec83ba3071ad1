"""Dossier codes: finding them in text, their canonical form, and why a code cannot be valid.

A dossier code is ``<receiving agency code>-<YYMMDD>-<4-digit number>``, for example
``000.00.12.H31-251103-0042``. Citizens type them in lower case, with spaces, or without the
dots; all of those are accepted and canonicalised.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

_SEP = r"\s*[.\s]?\s*"
_DASH = r"\s*[-–_/.\s]\s*"
CODE_PATTERN = re.compile(
    r"(?<![\w.])(?P<a>\d{3})" + _SEP + r"(?P<b>[0-9a-z]{2})" + _SEP + r"(?P<c>\d{2})" + _SEP
    + r"(?P<d>[a-z]\d{2})" + _DASH + r"(?P<date>\d{6})" + _DASH + r"(?P<num>\d{4})(?![\w])",
    re.IGNORECASE,
)
# Something that looks like an attempt at a dossier code: an agency-like prefix or a long
# run of digits joined by dots and dashes.
CANDIDATE_PATTERN = re.compile(
    r"(?<![\w])(?=[\w.\-]*\d)(?:[0-9a-z]{1,4}[.\-]){2,}[0-9a-z.\-]*[0-9a-z]|(?<!\d)\d{13,}(?!\d)"
    # the end of a code without its agency prefix: "H31-261120-0001", "261120-0001"
    r"|(?<![\w.])(?:[a-z]\d{2}\s*[-–_/]\s*)?\d{6}\s*[-–_/]\s*\d{1,5}(?![\w.])",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class DossierCodeMatch:
    """A dossier code found in a text."""

    code: str
    start: int
    end: int


def find_dossier_codes(text: str) -> list[DossierCodeMatch]:
    """Every well-shaped dossier code in a text, canonicalised."""
    return [
        DossierCodeMatch(_canonical(m), m.start(), m.end()) for m in CODE_PATTERN.finditer(text)
    ]


def find_code_attempt(text: str) -> str | None:
    """A token that looks like an attempt at a dossier code, even a malformed one."""
    match = CANDIDATE_PATTERN.search(text)
    return match.group() if match else None


def canonical_dossier_code(text: str) -> str | None:
    """The canonical form of a text that is exactly one dossier code, else None."""
    match = CODE_PATTERN.fullmatch(text.strip())
    return _canonical(match) if match else None


def dossier_code_problem(text: str, today: dt.date | None = None) -> str | None:
    """Why a candidate code cannot be valid (in Vietnamese), or None when it can be."""
    match = CODE_PATTERN.fullmatch(text.strip())
    if match is None:
        return (
            "mã hồ sơ phải có dạng 000.00.12.H31-251103-0042 "
            "(mã cơ quan, ngày nhận YYMMDD, số thứ tự 4 chữ số)"
        )
    raw_date = match.group("date")
    try:
        received = dt.datetime.strptime(raw_date, "%y%m%d").date()
    except ValueError:
        return f"phần ngày nhận {raw_date} không phải một ngày có thật (YYMMDD)"
    if received > (today or dt.date.today()):
        return f"ngày nhận {received:%d/%m/%Y} trong mã hồ sơ nằm ở tương lai"
    return None


def _canonical(match: re.Match[str]) -> str:
    return (
        f"{match.group('a')}.{match.group('b').upper()}.{match.group('c')}."
        f"{match.group('d').upper()}-{match.group('date')}-{match.group('num')}"
    )
