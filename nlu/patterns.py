"""Regular expressions for personal data in citizen messages: ID numbers, phones, e-mails.

One definition serves both entity extraction (``nlu.entities``) and transcript masking
(``knowledge.redact``), so what the bot recognises is exactly what it masks.
"""

from __future__ import annotations

import re

ID_NUMBER_PATTERN = re.compile(r"(?<![\d.\-])\d{12}(?![\d.\-])")
PHONE_PATTERN = re.compile(r"(?<![\w.+])(?:\+84|84|0)(?:[\s.\-]?\d){8,10}(?![\w])")
EMAIL_PATTERN = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def phone_digits(raw: str) -> str | None:
    """The national 10- or 11-digit form of a matched phone number, or None if not one."""
    digits = re.sub(r"\D", "", raw)
    if digits.startswith("84"):
        digits = "0" + digits[2:]
    return digits if len(digits) in (10, 11) else None
