"""Rendering replies for Telegram: parts that fit one message, HTML made safe."""

from __future__ import annotations

import html

from bot.channels.text import split_text as split_by_units

MAX_MESSAGE_UTF16 = 4096  # Telegram's limit; counted in UTF-16 units to be safe


def split_text(text: str, limit: int = MAX_MESSAGE_UTF16) -> list[str]:
    """Parts of a text that each fit one Telegram message."""
    return split_by_units(text, limit, utf16=True)


def escape_html(text: str) -> str:
    """Plain text made safe for ``parse_mode=HTML`` (only < > & need escaping)."""
    return html.escape(text, quote=False)
