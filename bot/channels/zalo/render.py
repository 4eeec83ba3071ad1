"""Rendering replies as Zalo OA consultation messages: text parts and at most a few buttons
each."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from actions import texts
from actions.base import Button, Link, Reply
from bot.channels.base import shown_text
from bot.channels.text import split_text

MAX_TITLE_CHARS = 100


MAX_PAYLOAD_CHARS = 1000


def query_button(button: Button) -> dict[str, Any]:
    """A button whose payload comes back as the user's (hidden) message."""
    return {"title": button.title[:MAX_TITLE_CHARS], "type": "oa.query.hide",
            "payload": button.payload}


def url_button(link: Link) -> dict[str, Any]:
    """A button that opens a web page."""
    return {"title": link.title[:MAX_TITLE_CHARS], "type": "oa.open.url",
            "payload": {"url": link.url}}


def with_buttons(text: str, buttons: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """A cs message body: text, plus a button template when there are buttons."""
    message: dict[str, Any] = {"text": text}
    if buttons:
        message["attachment"] = {"type": "template", "payload": {"buttons": list(buttons)}}
    return message


def render(replies: Sequence[Reply], max_chars: int, max_buttons: int) -> list[dict[str, Any]]:
    """The cs ``message`` objects for some replies, in sending order."""
    messages: list[dict[str, Any]] = []
    for reply in replies:
        usable = [b for b in reply.buttons if b.payload and len(b.payload) <= MAX_PAYLOAD_CHARS]
        shown, overflow = usable[:max_buttons], usable[max_buttons:]
        room = max_buttons - len(shown)
        link_buttons, link_lines = reply.links[:room], reply.links[room:]
        text = "\n".join([shown_text(reply),
                          *(f"{link.title}: {link.url}" for link in link_lines)])
        buttons = [query_button(b) for b in shown] + [url_button(link) for link in link_buttons]
        parts = split_text(text, max_chars)
        if not parts:
            parts = [texts.MORE_CHOICES] if buttons else []
        messages += [with_buttons(part, []) for part in parts[:-1]]
        if parts:
            messages.append(with_buttons(parts[-1], buttons))
        for start in range(0, len(overflow), max_buttons):
            chunk = overflow[start:start + max_buttons]
            messages.append(with_buttons(texts.MORE_CHOICES, [query_button(b) for b in chunk]))
    return messages


MAX_TRANSACTION_BUTTONS = 4
MAX_ELEMENT_CHARS = 1000


def transaction_message(reply: Reply, code: str, status: str, template: str) -> dict[str, Any]:
    """A transaction-type message (Zalo OA API v3 ``message/transaction``): a header, the
    reply's text, a table with the dossier's code and status, and the reply's buttons."""
    buttons = [query_button(b) for b in reply.buttons
               if b.payload and len(b.payload) <= MAX_PAYLOAD_CHARS][:MAX_TRANSACTION_BUTTONS]
    elements: list[dict[str, Any]] = [
        {"type": "header", "content": texts.NOTICE_TITLE, "align": "left"},
        {"type": "text", "align": "left", "content": reply.text[:MAX_ELEMENT_CHARS]},
        {"type": "table", "content": [{"key": texts.NOTICE_CODE_KEY, "value": code},
                                      {"key": texts.NOTICE_STATUS_KEY, "value": status}]},
    ]
    return {"attachment": {"type": "template", "payload": {
        "template_type": template, "language": "VI", "elements": elements,
        "buttons": buttons}}}
