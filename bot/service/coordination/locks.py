"""Per-conversation locks: one message of a conversation at a time, in order.

``ConversationLocks`` holds asyncio locks in memory (the embedded, one-process mode);
``RedisConversationLocks`` holds a lock in Redis with a lifetime, across every worker.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

from redis.asyncio import Redis
from redis.asyncio.lock import Lock
from redis.exceptions import LockError, LockNotOwnedError, RedisError

from bot.service.coordination.redis_client import PREFIX
from bot.service.tasks import stop_task

log = logging.getLogger(__name__)


class Locks(Protocol):
    """Per-conversation mutual exclusion: one message of a conversation at a time."""

    def hold(self, key: str) -> AbstractAsyncContextManager[None]:
        """Hold the conversation's lock for the duration of the block."""
        ...




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


class RedisConversationLocks:
    """One lock per conversation across every worker, with a lifetime.

    The lock expires ``ttl`` seconds after it was last renewed, so a worker killed while
    holding it blocks the conversation for at most that long. A holder renews it every third
    of the lifetime, from a timer armed when it is taken and cancelled when it is released:
    almost every lock is released long before its first renewal, and a renewer task started
    and stopped for every message cost more. (One task renewing all of a worker's locks in
    rounds was tried: under the 10,000-message load test locks expired before it renewed
    them, a slow round delaying the next.) Waiters of the same worker queue on a local lock
    first, so only one of them polls Redis at a time. Workers poll for a lock held elsewhere,
    so under a burst the worker that holds a busy conversation tends to keep it while the
    other waits: that costs nothing, as the holder answers every unfinished message of the
    conversation, whoever accepted it (making the holder step aside was measured: 25 % less
    throughput, more CPU per message).
    """

    def __init__(self, redis: Redis, ttl: float = 30.0, poll: float = 0.002,
                 max_poll: float = 0.05) -> None:
        self.redis = redis
        self.ttl = ttl
        self.poll = poll
        self.max_poll = max_poll
        self._local = ConversationLocks()
        self._held: dict[str, Lock] = {}  # key -> the Redis lock this worker holds for it
        self._renewals: set[asyncio.Task[None]] = set()  # running now (rarely any)

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        """Hold the conversation's lock in this worker and in Redis."""
        async with self._local.hold(key):
            lock = Lock(self.redis, PREFIX + "lock:" + key, timeout=self.ttl,
                        thread_local=False)
            await self._acquire(lock)
            self._held[key] = lock
            timer = self._renew_later(key, lock)
            try:
                yield
            finally:
                # from here on nothing renews it: the timer is cancelled at once (a timer,
                # unlike a task, cannot miss its cancellation), and a renewal already under
                # way neither re-arms it nor extends it once released (the token is gone)
                del self._held[key]
                timer.cancel()
                await self._release(lock)

    def _renew_later(self, key: str, lock: Lock) -> asyncio.TimerHandle:
        """Arm the lock's renewal a third of its lifetime from now."""
        return asyncio.get_running_loop().call_later(self.ttl / 3, self._start_renewal, key,
                                                     lock)

    def _start_renewal(self, key: str, lock: Lock) -> None:
        if self._held.get(key) is not lock:
            return
        task = asyncio.get_running_loop().create_task(self._renew(key, lock),
                                                      name=f"renew {key}")
        self._renewals.add(task)
        task.add_done_callback(self._renewals.discard)

    async def close(self) -> None:
        """Stop renewing (at shutdown: held locks then expire by themselves)."""
        for task in list(self._renewals):
            await stop_task(task, timeout=self.ttl / 2)

    async def _acquire(self, lock: Lock) -> None:
        """Wait for the lock; while Redis is down, keep trying (the message is stored)."""
        delay, outage = self.poll, 0.0
        warn_at = time.monotonic() + 2 * self.ttl
        while True:
            if time.monotonic() > warn_at:
                log.warning("still waiting for conversation lock %s after %.0f s", lock.name,
                            2 * self.ttl)
                warn_at += 2 * self.ttl
            try:
                if await lock.acquire(blocking=False):
                    if outage:
                        log.warning("Redis answers again; lock %s taken", lock.name)
                    return
                await asyncio.sleep(delay)
                delay = min(self.max_poll, delay * 1.5)
            except RedisError as exc:
                if not outage:
                    log.error("Redis unavailable for conversation locks (%s); waiting", exc)
                outage = min(2.0, max(0.1, outage * 2))
                await asyncio.sleep(outage * (0.75 + random.random() / 2))

    async def _renew(self, key: str, lock: Lock) -> None:
        """Extend the lock's lifetime, and arm the next renewal while it is still held."""
        try:
            await lock.reacquire()
        except LockNotOwnedError:  # expired meanwhile (another worker may hold it now)
            if self._held.get(key) is lock:
                log.warning("conversation lock %s expired before it was renewed", lock.name)
            return
        except (LockError, RedisError) as exc:
            if self._held.get(key) is lock:
                log.warning("could not renew conversation lock %s: %s", lock.name, exc)
        if self._held.get(key) is lock:
            self._renew_later(key, lock)

    @staticmethod
    async def _release(lock: Lock) -> None:
        try:
            await lock.release()
        except (LockError, RedisError) as exc:  # expired or unreachable: it frees itself
            log.warning("conversation lock %s not released cleanly: %s", lock.name, exc)
