"""Masking of personal data before anything citizen-typed is stored."""

from __future__ import annotations

import re

from nlu.patterns import EMAIL_PATTERN, ID_NUMBER_PATTERN, PHONE_PATTERN, id_digits, phone_digits


def mask_personal_data(text: str) -> str:
    """Replace citizen ID numbers, phone numbers and e-mail addresses with placeholders.

    The last two digits of ID and phone numbers are kept so staff can tell two numbers apart.
    """
    text = EMAIL_PATTERN.sub("[email]", text)
    text = ID_NUMBER_PATTERN.sub(lambda m: f"[số định danh …{id_digits(m.group())[-2:]}]", text)

    def phone(match: re.Match[str]) -> str:
        digits = phone_digits(match.group())
        return f"[số điện thoại …{digits[-2:]}]" if digits else match.group()

    return PHONE_PATTERN.sub(phone, text)
