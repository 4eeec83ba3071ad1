"""Sending replies, as the message core sees it: the one method a channel offers to deliver
them, and what a channel raises when it could not.

The dispatcher and the handoff desk send through a ``ReplySender`` for each channel name and
never import a channel; every channel implements it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from actions.base import Reply


class ReplySender(Protocol):
    """What the core needs of a channel: deliver replies to one of its users."""

    async def send(self, user_id: str, replies: Sequence[Reply]) -> None:
        """Deliver replies (with the platform's retries and limits); raises
        ``DeliveryFailed`` when they could not be delivered."""
        ...


class DeliveryFailed(Exception):
    """Replies could not be delivered after the channel's own retries.

    ``temporary`` failures (the platform unreachable, 5xx, flood control) are worth trying
    again later; ``delivered`` says how many of the replies got through before the failure.
    """

    def __init__(self, reason: str, *, temporary: bool, delivered: int = 0) -> None:
        super().__init__(reason)
        self.temporary = temporary
        self.delivered = delivered
