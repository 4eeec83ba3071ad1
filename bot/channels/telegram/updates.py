"""Reading Telegram updates: which ones the bot answers, the text of a command, a malformed
update."""

from __future__ import annotations

from typing import Any

from telegram import (
    Update,
)

ALLOWED_UPDATES = ("message", "callback_query", "my_chat_member")


COMMANDS = {"start": "/start", "help": "/help", "tracuu": "/tracuu"}


CONTENT_ATTRIBUTES = ("photo", "sticker", "voice", "video", "video_note", "audio", "document",
                      "animation", "location", "venue", "contact", "poll", "dice", "story",
                      "game")


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def plain_text(body: dict[str, Any]) -> tuple[int, str] | None:
    """(chat id, text) of an update that is a text message from a person, read straight from
    the JSON already parsed; None for anything else, which goes through PTB's ``Update``.

    Most updates are text: building PTB's object model (Update, Message, Chat, User) for them
    was a measurable share of the CPU per update (issue 16), and the bot only reads these two
    fields. Only the well-formed shape is taken here; the rest keeps PTB's path and checks."""
    message = body.get("message")
    if not isinstance(message, dict) or len(body) != 2:
        return None
    chat, text, sender = message.get("chat"), message.get("text"), message.get("from")
    if not isinstance(chat, dict) or not _is_id(chat.get("id")) or not isinstance(text, str):
        return None
    if not _is_id(message.get("message_id")) or not _is_id(message.get("date")):
        return None
    if sender is not None and not (isinstance(sender, dict) and sender.get("is_bot") is False):
        return None
    return chat["id"], text


def malformed(update: Update) -> str | None:
    """The field that makes an update unusable (missing, or of the wrong type), or None.

    PTB's ``de_json`` checks no types: a forged or future update can hold a message without a
    chat, a text that is a number, and so on; reading those must not crash the webhook.
    """
    def is_id(value: object) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    if update.callback_query is not None:
        query = update.callback_query
        if not isinstance(query.id, str):
            return "callback_query.id"
        if query.data is not None and not isinstance(query.data, str):
            return "callback_query.data"
        if query.message is not None:
            if not is_id(getattr(getattr(query.message, "chat", None), "id", None)):
                return "callback_query.message.chat.id"
        elif not is_id(getattr(query.from_user, "id", None)):
            return "callback_query.from.id"
    elif update.message is not None:
        message = update.message
        if not is_id(getattr(message.chat, "id", None)):
            return "message.chat.id"
        if message.text is not None and not isinstance(message.text, str):
            return "message.text"
    elif update.my_chat_member is not None:
        change = update.my_chat_member
        if not is_id(getattr(change.chat, "id", None)) or not isinstance(
                getattr(change.chat, "type", None), str):
            return "my_chat_member.chat"
        if not isinstance(getattr(change.new_chat_member, "status", None), str):
            return "my_chat_member.new_chat_member.status"
    return None


def command_text(text: str) -> str:
    """A bot command as the payload it stands for (``/start@bot x`` -> ``/start``)."""
    if not text.startswith("/"):
        return text
    head, _, rest = text.partition(" ")
    name = head[1:].split("@", 1)[0].lower()
    if name not in COMMANDS:
        return text
    if name == "tracuu" and rest.strip():
        return f"tra cứu hồ sơ {rest.strip()}"
    return COMMANDS[name]
