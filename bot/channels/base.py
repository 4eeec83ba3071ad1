"""What every channel provides, and the narrow intake it hands accepted messages to.

A channel never sees the dispatcher or the pipeline: the app gives it an ``Intake`` of plain
callables when it registers its routes, and the core sends through the channel's ``send``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from aiohttp import web

from actions import texts
from actions.base import Author, Reply
from bot.core.messages import IncomingMessage


@dataclass(frozen=True, slots=True)
class Intake:
    """What a channel may do with what it receives."""

    submit: Callable[[IncomingMessage], Awaitable[bool]]
    """Store a message to be answered soon through ``send``; False for a repeated delivery.
    A message the bot cannot read goes here too, as its kind (``MessageKind``)."""
    handle_now: Callable[[IncomingMessage], Awaitable[list[Reply] | None]]
    """Store and answer a message, returning the replies; None for a repeated delivery."""
    accepting: Callable[[], bool]
    """False while the service shuts down (the platform should deliver again later)."""
    city_name: Callable[[], str]
    """The deployment's city, as the knowledge base names it now."""


class Channel(Protocol):
    """A messaging platform: receives messages through its routes, sends replies back."""

    name: str

    def register(self, app: web.Application, intake: Intake) -> None:
        """Add the channel's routes to the application; accepted messages go to ``intake``."""
        ...

    async def start(self) -> None:
        """Open connections (HTTP sessions, polling) once the app runs."""
        ...

    async def stop(self) -> None:
        """Close connections."""
        ...

    async def send(self, user_id: str, replies: Sequence[Reply]) -> None:
        """Deliver replies to a user (with the platform's retries and limits); raises
        ``DeliveryFailed`` when they could not be delivered."""
        ...


def shown_text(reply: Reply) -> str:
    """A reply's text as a chat platform shows it: an officer's reply says who wrote it (the
    platform shows every message as the bot's)."""
    if reply.author == Author.STAFF:
        return texts.STAFF_SAYS.format(text=reply.text)
    return reply.text


def text_with_buttons(reply: Reply) -> str:
    """A reply as plain text for platforms without buttons: choices listed by number."""
    lines = [reply.text]
    lines += [f"{link.title}: {link.url}" for link in reply.links]
    if reply.buttons:
        lines.append("")
        lines += [f"{i}. {button.title}" for i, button in enumerate(reply.buttons, start=1)]
    return "\n".join(lines)
