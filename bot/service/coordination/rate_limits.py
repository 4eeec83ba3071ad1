"""Rate limits: a sliding window in memory (one process) or a fixed window in Redis (every
worker)."""

from __future__ import annotations

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


# One round trip per event: count it, start the window's expiry with the first one, and take
# it back when it is over the limit (refused events do not count). A MULTI/EXEC pipeline of
# INCR and EXPIRE, then a DECR when refused, cost two round trips for a refusal and the
# parsing of four replies for every event.
_HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
if count > tonumber(ARGV[1]) then
  redis.call('DECR', KEYS[1])
  return 0
end
return 1
"""


class RedisRateLimiter:
    """A fixed-window counter per key shared by every worker (fails open when Redis is down)."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._hit = redis.register_script(_HIT)

    async def hit(self, key: str, limit: int, window_seconds: float) -> bool:
        """Record an event; False when the limit for the current window is reached."""
        window = max(1, int(window_seconds))
        try:
            allowed = await self._hit(keys=[f"{PREFIX}rate:{key}"], args=[limit, window])
        except RedisError as exc:
            log.warning("rate limit not checked, Redis unavailable: %s", exc)
            return True
        return bool(allowed)
