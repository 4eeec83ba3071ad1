"""Rate limits: a sliding window in memory (one process) or a fixed window in Redis (every
worker)."""

from __future__ import annotations

import contextlib
import logging
import time
from collections import defaultdict, deque
from collections.abc import Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.service.coordination.redis_client import PREFIX

log = logging.getLogger(__name__)


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


class RedisRateLimiter:
    """A fixed-window counter per key shared by every worker (fails open when Redis is down)."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def hit(self, key: str, limit: int, window_seconds: float) -> bool:
        """Record an event; False when the limit for the current window is reached."""
        window = max(1, int(window_seconds))
        name = f"{PREFIX}rate:{key}"
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.incr(name)
                pipe.expire(name, window, nx=True)
                count, _ = await pipe.execute()
        except RedisError as exc:
            log.warning("rate limit not checked, Redis unavailable: %s", exc)
            return True
        if int(count) > limit:
            with contextlib.suppress(RedisError):
                await self.redis.decr(name)  # refused events do not count
            return False
        return True
