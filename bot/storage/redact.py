"""Masking of personal data before anything citizen-typed is stored: citizen ID and old ID
card numbers, passport numbers, phone numbers, e-mail addresses, bank accounts and the house
numbers of a home address (the patterns are in ``nlu.patterns``)."""

from __future__ import annotations

import re
from collections.abc import Callable

from nlu.patterns import (
    ADDRESS_NUMBER_PATTERN,
    ALLEY_PATTERN,
    APARTMENT_WORDS,
    BANK_ACCOUNT_PATTERN,
    EMAIL_PATTERN,
    ID_NUMBER_PATTERN,
    OLD_ID_PATTERN,
    PASSPORT_PATTERN,
    PHONE_PATTERN,
    id_digits,
    phone_digits,
)

ADDRESS = "[số nhà]"
_DIGIT = re.compile(r"\d")  # the patterns' digit (any Unicode decimal digit)


def mask_personal_data(text: str) -> str:
    """Replace personal numbers and e-mail addresses with placeholders.

    The last two digits of ID and phone numbers are kept so staff can tell two numbers apart.
    Every pattern but the e-mail one needs a digit: a text without digits or "@" (most
    messages) is returned as it is, without running them.
    """
    if "@" not in text and _DIGIT.search(text) is None:
        return text
    text = EMAIL_PATTERN.sub("[email]", text)
    text = BANK_ACCOUNT_PATTERN.sub(_named("[số tài khoản]"), text)
    text = OLD_ID_PATTERN.sub(_named("[số CMND]"), text)
    text = ID_NUMBER_PATTERN.sub(lambda m: f"[số định danh …{id_digits(m.group())[-2:]}]", text)
    text = PASSPORT_PATTERN.sub("[số hộ chiếu]", text)

    def phone(match: re.Match[str]) -> str:
        digits = phone_digits(match.group())
        return f"[số điện thoại …{digits[-2:]}]" if digits else match.group()

    text = PHONE_PATTERN.sub(phone, text)
    text = ADDRESS_NUMBER_PATTERN.sub(_house_number, text)  # before the alleys it looks at
    return ALLEY_PATTERN.sub(_named(ADDRESS), text)


def _named(placeholder: str) -> Callable[[re.Match[str]], str]:
    """Keep the words that named the number; replace the number."""
    def replace(match: re.Match[str]) -> str:
        start = match.start("number") - match.start()
        return match.group()[:start] + placeholder
    return replace


def _house_number(match: re.Match[str]) -> str:
    """A house number after a word that says "address", or after a weaker one when an alley
    or a street's capitalised name follows it."""
    rest = match.string[match.end():].lstrip(" ,")
    if match.group("weak") and not (rest[:1].isupper() or ALLEY_PATTERN.match(rest)
                                    or rest.lower().startswith(APARTMENT_WORDS)):
        return match.group()
    start = match.start("number") - match.start()
    return match.group()[:start] + ADDRESS
