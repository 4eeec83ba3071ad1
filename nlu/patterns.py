"""Regular expressions for personal data in citizen messages: ID numbers, phones, e-mails,
and (for masking only) old ID card and passport numbers, bank accounts and house numbers.

One definition serves both entity extraction (``nlu.entities``) and transcript masking
(``bot.storage.redact``), so what the bot recognises is exactly what it masks. ``keepable``
says which texts' parses and search hits may be cached (``keep_repeated`` keeps them): none
that could hold such data.

Citizens type numbers the way they read them: in groups (``0012 3456 7804``,
``001.234.567.805``, ``(091) 234-5604``), at the end of a sentence (``…567802.``) or glued to
the word that names them (``CCCD-001234567803``, ``sdt0912345602``, ``sdt.0912345603``). The
patterns accept those forms but stay away from dossier codes (``000.00.12.H31-261120-0001``),
fees (``25.000 đồng``), dates and other numbers: a match may not continue a run of digits, and
a grouped citizen ID number must start with ``0`` (its first three digits are a province code,
001 to 096), which a year or an amount of money does not.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar, cast

P = ParamSpec("P")
T = TypeVar("T")

_SEP = r"[\s.\-]"
# Not inside a longer number: no digit before, and no digit before a dot or dash before.
_NOT_AFTER_DIGITS = r"(?<!\d)(?<!\d[.,\-])"
_NOT_BEFORE_DIGITS = r"(?!\d)(?![.,\-]\d)"
ID_NUMBER_PATTERN = re.compile(
    _NOT_AFTER_DIGITS
    + r"(?:\d{12}"
    + rf"|0\d{{3}}{_SEP}\d{{4}}{_SEP}\d{{4}}"
    + rf"|0\d{{2}}{_SEP}\d{{3}}{_SEP}\d{{3}}{_SEP}\d{{3}})"
    + _NOT_BEFORE_DIGITS
)

# Words a phone number may be glued to ("sdt0912…", "sđt.0912…"); any other letter right
# before a number means it belongs to a code such as a dossier's agency part ("H84-…").
_PHONE_LABELS = ("dt", "đt", "dth", "đth", "tel", "phone", "mobile", "zalo")
_AFTER_LABEL = "|".join(
    rf"(?<=(?i:{label}){sep})" for label in _PHONE_LABELS for sep in ("", r"\.")
)
_PHONE_PREFIX = r"(?:\+84|84|0)"
PHONE_PATTERN = re.compile(
    rf"(?:(?<![\w.+])|{_AFTER_LABEL})"
    + r"(?:"
    # A trunk or area code in brackets: "(091) 234-5604", "(+84) 912 345 678".
    + rf"\(\s?{_PHONE_PREFIX}\d{{0,4}}\s?\)\s?\d(?:{_SEP}?\d){{4,9}}"
    + rf"|{_PHONE_PREFIX}(?:{_SEP}?\d){{8,10}}"
    + r")(?![\w])"
)
EMAIL_PATTERN = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")

KEPT_TEXT_CHARS = 80  # longer texts are seldom sent twice
_DIGIT_OR_AT = re.compile(r"[\d@]")  # codes, ID and phone numbers, dates, e-mails, houses


def keepable(text: str) -> bool:
    """Whether what is worked out from a text (its parse, its search hits) may be kept in
    memory for the next time it is sent: short, with no digit and no e-mail address. So a
    text that may carry personal data (an ID or phone number, a dossier code) is never held
    beyond its own message, and one-off long texts do not push out the common ones."""
    return len(text) <= KEPT_TEXT_CHARS and _DIGIT_OR_AT.search(text) is None


def keep_repeated(work: Callable[Concatenate[str, P], T],
                  size: int) -> Callable[Concatenate[str, P], T]:
    """``work`` on a text (its first argument), keeping the results for up to ``size``
    keepable texts for the next call with the same arguments (``work`` itself when ``size``
    is 0). For work that depends on nothing else that can change: the parse of an engine, the
    search of an index."""
    if not size:
        return work
    # the arguments are a text and plain values (hashable), as lru_cache needs
    kept = cast(Callable[Concatenate[str, P], T], functools.lru_cache(maxsize=size)(work))

    def call(text: str, /, *args: P.args, **kwargs: P.kwargs) -> T:
        if keepable(text):
            return kept(text, *args, **kwargs)
        return work(text, *args, **kwargs)

    return call


def id_digits(raw: str) -> str:
    """The 12 digits of a matched citizen ID number, without the separators it was typed with."""
    return re.sub(r"\D", "", raw)


def phone_digits(raw: str) -> str | None:
    """The national 10- or 11-digit form of a matched phone number, or None if not one."""
    digits = re.sub(r"\D", "", raw)
    if digits.startswith("84"):
        digits = "0" + digits[2:]
    return digits if len(digits) in (10, 11) else None


# For masking only. A word that names the number comes first, so fees, dates and codes are
# never taken for one: "cmnd 031234567", "stk 0451000123456", "tài khoản nhận lương 04510…".
OLD_ID_PATTERN = re.compile(
    r"(?<!\w)(?i:cmnd|cmt|chứng minh(?: nhân dân| thư)?|chung minh(?: nhan dan| thu)?)"
    + r"[^\d\n]{0,12}?"  # "cmnd cũ 0312…", "CMND số: 031 …"
    + r"(?P<number>\d{3}[\s.\-]?\d{3}[\s.\-]?\d{3})(?!\d)")
# A Vietnamese passport number: one capital letter and seven digits ("C1234567").
PASSPORT_PATTERN = re.compile(r"(?<![\w.\-/])[A-Z]\d{7}(?!\w)")
BANK_ACCOUNT_PATTERN = re.compile(
    r"(?<!\w)(?i:stk|s\.t\.k|số tài khoản|so tai khoan|tài khoản|tai khoan|tk|số thẻ|so the"
    r"|thẻ atm|the atm)(?!\w)"
    r"[^\d\n]{0,30}?"  # a few words between: the bank, "nhận lương hưu"
    r"(?P<number>\d(?:[\s.\-]?\d){5,18})(?!\d)")
# House numbers and alleys of a home address ("số 12 ngõ 45 Lạch Tray", "đ/c: 22/156 Đà
# Nẵng", "ngách 12/4"). A word that says "address" is enough ("số nhà 102"); after a weaker
# one ("ở", "số", "phòng"), the number must be followed by an alley, a street's capitalised
# name or a block of flats ("phòng 1205 chung cư …"; "phòng 12" of an office stays).
APARTMENT_WORDS = ("chung cư", "chung cu", "tòa", "toà", "toa", "tầng", "tang", "block")
_HOUSE = r"\d{1,4}[A-Za-z]?(?:/\d{1,4}[A-Za-z]?){0,2}(?![\d/])"
ALLEY_PATTERN = re.compile(
    r"(?<!\w)(?i:ngõ|ngo|ngách|ngach|hẻm|hem|kiệt|kiet)\s*(?:(?i:số|so)\s*)?"
    + rf"(?P<number>{_HOUSE})")
ADDRESS_NUMBER_PATTERN = re.compile(
    r"(?<!\w)(?:(?P<strong>(?i:số nhà|so nha|nhà số|nha so|địa chỉ|dia chi|đ/c|căn hộ"
    r"|can ho))|(?P<weak>(?i:ở|o|tại|tai|về|ve|số|so|nhà|nha|phòng|phong)"
    r"(?:\s+(?i:tôi|toi|em|mình|minh|anh|chị|chi))?))"
    + r"[\s:,]{1,3}(?:(?i:số|so)\s+)?"
    + rf"(?P<number>{_HOUSE})")
