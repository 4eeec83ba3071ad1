"""What every channel provides, and the dispatcher it hands accepted messages to."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from aiohttp import web

from actions.base import Reply

if TYPE_CHECKING:
    from bot.core.dispatcher import Dispatcher


class Channel(Protocol):
    """A messaging platform: receives messages through its routes, sends replies back."""

    name: str

    def register(self, app: web.Application, dispatcher: Dispatcher) -> None:
        """Add the channel's routes to the application."""
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


def text_with_buttons(reply: Reply) -> str:
    """A reply as plain text for platforms without buttons: choices listed by number."""
    lines = [reply.text]
    lines += [f"{link.title}: {link.url}" for link in reply.links]
    if reply.buttons:
        lines.append("")
        lines += [f"{i}. {button.title}" for i, button in enumerate(reply.buttons, start=1)]
    return "\n".join(lines)
