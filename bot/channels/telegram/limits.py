"""Telegram's send limits and retries: token buckets per bot and per chat, and how long a 429 or
a network error asks us to wait."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

from telegram.error import (
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.warnings import PTBDeprecationWarning

CHAT_BURST = 3


OVERALL_BURST = 30


def retry_after_seconds(error: RetryAfter) -> float:
    """Seconds Telegram asked us to wait (PTB is moving this from int to timedelta)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


def retry_reason(error: NetworkError) -> str:
    """Why a send is retried, for the metrics: "timeout", "network" (no HTTP answer) or "5xx"
    (Telegram answered with a server error; PTB keeps only its description)."""
    if isinstance(error, TimedOut):
        return "timeout"
    if str(error).startswith(("aiohttp.", "Unknown error in HTTP implementation")):
        return "network"
    return "5xx"


@dataclass(slots=True)
class _Bucket:
    """A generic cell rate algorithm: ``rate`` per second with bursts of ``burst``."""

    interval: float
    tolerance: float
    tat: float = 0.0  # theoretical arrival time of the next send

    def reserve(self, at: float) -> float:
        """Book a send at ``at`` or later; the time it may go."""
        ready = max(at, self.tat - self.tolerance)
        self.tat = max(self.tat, ready) + self.interval
        return ready


def _bucket(rate: float, burst: int) -> _Bucket | None:
    return _Bucket(1.0 / rate, (burst - 1) / rate) if rate > 0 else None


class SendLimiter:
    """Spaces sends out: a rate for the whole bot, one per chat, and a pause after a 429.

    Telegram asks for at most about 30 messages a second overall and one a second per chat
    (short bursts tolerated); PTB's ``AIORateLimiter`` has no per-private-chat limit, hence this.
    Each send books its slot at once, so concurrent senders never race for the same slot.
    """

    def __init__(self, overall_rate: float, chat_rate: float, *,
                 overall_burst: int = OVERALL_BURST, chat_burst: int = CHAT_BURST,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.chat_rate = chat_rate
        self.chat_burst = chat_burst
        self._overall = _bucket(overall_rate, overall_burst)
        self._chats: dict[int, _Bucket] = {}
        self._paused_until = 0.0
        self._bookings = 0

    def _start(self) -> tuple[float, float]:
        now = self.clock()
        return now, max(now, self._paused_until)

    def chat_delay(self, chat_id: int) -> float:
        """Book the chat's next slot; seconds to wait for it (a chat's sends are sequential)."""
        now, at = self._start()
        if self.chat_rate > 0:
            bucket = self._chats.get(chat_id)
            if bucket is None:
                bucket = self._chats[chat_id] = _Bucket(1.0 / self.chat_rate,
                                                        (self.chat_burst - 1) / self.chat_rate)
            at = bucket.reserve(at)
            self._bookings += 1
            if self._bookings % 1024 == 0:  # forget chats whose bucket is full again
                self._chats = {k: b for k, b in self._chats.items() if b.tat > now}
        return at - now

    def overall_delay(self) -> float:
        """Book the bot's next slot, once the chat's slot has come; seconds to wait for it."""
        now, at = self._start()
        if self._overall is not None:
            at = self._overall.reserve(at)
        return at - now

    def pause(self, seconds: float) -> None:
        """Hold every send for ``seconds`` (Telegram answered 429)."""
        self._paused_until = max(self._paused_until, self.clock() + seconds)

    async def wait(self, chat_id: int) -> None:
        """Wait for the chat's next slot, then for the bot's."""
        delay = self.chat_delay(chat_id)
        if delay > 0:
            await asyncio.sleep(delay)
        delay = self.overall_delay()
        if delay > 0:
            await asyncio.sleep(delay)
