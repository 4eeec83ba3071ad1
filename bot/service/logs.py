"""Logging setup: plain text or one JSON object per line, with the conversation being handled.

``configure_logging(level, fmt)`` installs one handler on the root logger (``fmt`` is the
``log_format`` setting: "text" or "json"). While a message is handled, ``conversation_context``
(entered by ``Pipeline.process``) names its conversation; a filter adds it to every record as
``conversation_id``, so a log line can be traced to a conversation without quoting it.

Rule for every log call in ``bot/``: a citizen's text is logged at DEBUG level only (and
transcripts, not logs, are where messages are kept, masked).
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

__all__ = ["FORMATS", "ConversationFilter", "JsonFormatter", "TextFormatter",
           "configure_logging", "conversation_context", "current_conversation"]

FORMATS = ("text", "json")

_conversation: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "egovbot_conversation", default=None)


@contextmanager
def conversation_context(conversation_id: str) -> Iterator[None]:
    """Log records made inside (in this task and the tasks it starts) carry the id."""
    token = _conversation.set(conversation_id)
    try:
        yield
    finally:
        _conversation.reset(token)


def current_conversation() -> str | None:
    """The conversation being handled here, if any."""
    return _conversation.get()


class ConversationFilter(logging.Filter):
    """Adds ``conversation_id`` (None outside a conversation) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep the record, with the id."""
        if getattr(record, "conversation_id", None) is None:
            record.conversation_id = _conversation.get()
        return True


class TextFormatter(logging.Formatter):
    """``time LEVEL logger [conversation]: message``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(conversation)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        """The line, naming the conversation when there is one."""
        conversation_id = getattr(record, "conversation_id", None)
        record.conversation = f" [{conversation_id}]" if conversation_id else ""
        return super().formatMessage(record)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, conversation_id when known,
    and the traceback as ``exception`` when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        conversation_id = getattr(record, "conversation_id", None)
        if conversation_id:
            entry["conversation_id"] = conversation_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: int | str = logging.WARNING, fmt: str = "text",
                      stream: IO[str] | None = None) -> logging.Handler:
    """Log to ``stream`` (stderr) at ``level`` in ``fmt`` ("text" or "json").

    Replaces the handler a previous call installed, leaves other handlers alone, and returns
    the new one.
    """
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_egovbot", False)]:
        root.removeHandler(old)
        old.close()
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(ConversationFilter())
    handler._egovbot = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    return handler
