"""The status API's request budget for polling, shared by every worker.

A thousand followed dossiers must never hammer the API: every poll first takes a token from a
budget of N requests per second counted in Redis when the service runs several workers (the
same counters as the other rate limits), in memory otherwise.
"""

from __future__ import annotations

import asyncio
import math
import random
import time

from actions.base import RateLimiter
from bot.service.coordination.rate_limits import MemoryRateLimiter

KEY = "follow-poll"


class RequestBudget:
    """At most ``per_second`` requests per second (over windows of whole seconds)."""

    def __init__(self, limiter: RateLimiter, per_second: float) -> None:
        self.limiter = limiter
        self.window = 1 if per_second >= 1 else math.ceil(1 / per_second)
        self.limit = max(1, int(per_second * self.window))
        self.taken = 0

    async def take(self) -> None:
        """Wait until a request may be made."""
        while not await self.limiter.hit(self._key(), self.limit, float(self.window)):
            await asyncio.sleep(random.uniform(0.02, 0.1) * self.window)
        self.taken += 1

    def _key(self) -> str:
        """One counter per window of the wall clock, so that no calendar second (as the API
        counts them) gets more than the budget, on any worker."""
        if isinstance(self.limiter, MemoryRateLimiter):  # one process: a sliding window
            return KEY
        return f"{KEY}:{int(time.time() // self.window)}"
