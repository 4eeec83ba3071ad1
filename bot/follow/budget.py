"""The status API's request budget for polling: a hard limit shared by every worker process.

A thousand followed dossiers must never hammer the API, and the API counts requests by the
second of its clock. So the budget hands out *slots*: at most ``limit`` per window of the
wall clock (one second, or several when the budget is below one request a second), spread
evenly over the first part of the window, the last ``MARGIN`` seconds left free. A poll waits
for its slot and makes its request then, so a request granted in one second cannot arrive in
the next (the old counter granted a token at 0.999 s and the request arrived at 1.001 s: 102
requests in a second against a budget of 100).

With several workers the windows and their counts live in Redis, and one Lua script reads
Redis' own clock (``TIME``), counts and answers in one step, so no two workers can both take
the last slot and their clocks do not matter. When Redis cannot be reached polling waits (a
budget that fails open would let every worker spend it whole). One process without Redis keeps
the same counts in memory.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections.abc import Callable
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.service.coordination.redis_client import PREFIX

log = logging.getLogger(__name__)

KEY = PREFIX + "follow-poll"
MARGIN = 0.1  # seconds at the end of each window with no slot (a request's way to the API)
REDIS_RETRY = 1.0  # seconds between tries while Redis is away

# KEYS[1]: the key prefix. ARGV: limit, window (ms), end of the slots in the window (ms).
# Answers {granted (1/0), ms to wait}: the wait until the slot, or until the next window.
_GRANT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit, window, cut = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local start = now - now % window
local into = now - start
local key = KEYS[1] .. ':' .. start
local taken = tonumber(redis.call('GET', key) or '0')
if taken >= limit or into >= cut then
  return {0, window - into}
end
redis.call('INCR', key)
redis.call('PEXPIRE', key, 2 * window)
return {1, math.max(0, math.floor(taken * cut / limit) - into)}
"""


class Slots(Protocol):
    """Where the windows are counted."""

    async def grant(self, limit: int, window_ms: int, cut_ms: int) -> tuple[bool, float]:
        """Take a slot in the current window: (granted, seconds to wait for it); when not
        granted, the seconds until the next window."""
        ...


def _slot(taken: int, limit: int, into: int, window_ms: int,
          cut_ms: int) -> tuple[bool, float]:
    """The rule of the Lua script, for the memory counter."""
    if taken >= limit or into >= cut_ms:
        return False, (window_ms - into) / 1000
    return True, max(0, taken * cut_ms // limit - into) / 1000


class MemorySlots:
    """The windows counted in this process (one worker, no Redis)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._window_start = -1
        self._taken = 0

    async def grant(self, limit: int, window_ms: int, cut_ms: int) -> tuple[bool, float]:
        """See ``Slots.grant``."""
        now = int(self.clock() * 1000)
        start = now - now % window_ms
        if start != self._window_start:
            self._window_start, self._taken = start, 0
        granted, wait = _slot(self._taken, limit, now - start, window_ms, cut_ms)
        self._taken += granted
        return granted, wait


class RedisSlots:
    """The windows counted in Redis, by Redis' clock, for every worker."""

    def __init__(self, redis: Redis, key: str = KEY) -> None:
        self.redis = redis
        self.key = key
        self._script = redis.register_script(_GRANT)

    async def grant(self, limit: int, window_ms: int, cut_ms: int) -> tuple[bool, float]:
        """See ``Slots.grant``."""
        granted, wait_ms = await self._script(keys=[self.key], args=[limit, window_ms, cut_ms])
        return bool(int(granted)), int(wait_ms) / 1000


class RequestBudget:
    """At most ``per_second`` status-API requests per second of the clock, over all workers
    sharing ``slots`` (below one a second: one request per window of several seconds)."""

    def __init__(self, per_second: float, slots: Slots | None = None) -> None:
        if per_second <= 0:
            raise ValueError("the request budget must be above 0 requests a second")
        self.window = 1 if per_second >= 1 else math.ceil(1 / per_second)  # seconds
        self.limit = max(1, int(per_second * self.window))
        self.slots = slots if slots is not None else MemorySlots()
        self.taken = 0
        self._window_ms = self.window * 1000
        self._cut_ms = self._window_ms - int(MARGIN * 1000)

    @classmethod
    def shared(cls, per_second: float, redis: Redis | None) -> RequestBudget:
        """The budget of the running service: in Redis when there is one."""
        return cls(per_second, RedisSlots(redis) if redis is not None else None)

    async def take(self) -> None:
        """Wait for a slot; return at its time (make the request at once)."""
        while True:
            try:
                granted, wait = await self.slots.grant(self.limit, self._window_ms,
                                                       self._cut_ms)
            except RedisError as exc:
                log.warning("status-API budget not reachable in Redis (%s); polling waits",
                            exc)
                await asyncio.sleep(REDIS_RETRY)
                continue
            if granted:
                if wait > 0:
                    await asyncio.sleep(wait)
                self.taken += 1
                return
            # the window is spent: come back as the next one opens (spread a little)
            await asyncio.sleep(wait + random.uniform(0.0, 0.02))
