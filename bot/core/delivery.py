"""What a channel raises when replies could not be delivered (kept apart from the channels
package so the dispatcher can catch it without importing every channel)."""

from __future__ import annotations


class DeliveryFailed(Exception):
    """Replies could not be delivered after the channel's own retries.

    ``temporary`` failures (the platform unreachable, 5xx, flood control) are worth trying
    again later; ``delivered`` says how many of the replies got through before the failure.
    """

    def __init__(self, reason: str, *, temporary: bool, delivered: int = 0) -> None:
        super().__init__(reason)
        self.temporary = temporary
        self.delivered = delivered
