"""Cutting a long reply into the parts a platform accepts, one way for every channel.

Telegram counts a message's length in UTF-16 code units, Zalo in characters; both want the
cut where a reader expects it: at a paragraph, else a line, else a word, and never between a
letter and its combining diacritic.
"""

from __future__ import annotations

import unicodedata


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units (what Telegram counts)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2  # in C, not a Python loop


def _fitting(text: str, limit: int, utf16: bool) -> int:
    """How many characters of ``text`` fit in ``limit`` units."""
    if not utf16:
        return min(len(text), limit)
    units = 0
    for index, ch in enumerate(text):
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)


def split_text(text: str, limit: int, *, utf16: bool = False) -> list[str]:
    """Parts of at most ``limit`` units (characters, or UTF-16 units), cut at a paragraph, a
    line or a word when one lies in the last two thirds of the room."""
    parts: list[str] = []
    rest = text.strip()
    while (utf16_len(rest) if utf16 else len(rest)) > limit:
        size = _fitting(rest, limit, utf16)
        window = rest[:size + 1]  # a break right after the room still counts
        cut = 0
        for separator in ("\n\n", "\n", " "):
            at = window.rfind(separator, 0, size + 1)
            if at >= max(1, size // 3):  # never leave a tiny part for a distant break
                cut = at
                break
        if cut <= 0:  # one long word: cut it, but not between a letter and its diacritic
            cut = size
            while cut > 1 and unicodedata.combining(rest[cut]):
                cut -= 1
        part, rest = rest[:cut].rstrip(), rest[cut:].lstrip()
        if part:
            parts.append(part)
    if rest:
        parts.append(rest)
    return parts
