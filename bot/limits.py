"""In-process rate limiting and per-conversation locks (the embedded, one-process mode), and
the interface conversation locks share with their Redis counterpart (bot/redis_backend.py)."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol


class Locks(Protocol):
    """Per-conversation mutual exclusion: one message of a conversation at a time."""

    def hold(self, key: str) -> AbstractAsyncContextManager[None]:
        """Hold the conversation's lock for the duration of the block."""
        ...


class MemoryRateLimiter:
    """A sliding-window counter per key, kept in memory."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._events: dict[str, deque[float]] = defaultdict(deque)

    async def hit(self, key: str, limit: int, window_seconds: float) -> bool:
        """Record an event; False (and nothing recorded) when the limit is reached."""
        now = self.clock()
        events = self._events[key]
        while events and events[0] <= now - window_seconds:
            events.popleft()
        if len(events) >= limit:
            return False
        events.append(now)
        return True


class ConversationLocks:
    """One asyncio lock per conversation: its messages are handled one at a time, in order."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = defaultdict(int)

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        """Hold the conversation's lock (locks are dropped when nobody waits on them)."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] += 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key]
                self._locks.pop(key, None)
