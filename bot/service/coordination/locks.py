"""Per-conversation locks: one message of a conversation at a time, in order.

``ConversationLocks`` holds asyncio locks in memory (the embedded, one-process mode);
``RedisConversationLocks`` holds a lock in Redis with a lifetime, across every worker.

A worker waiting for a lock another worker holds is woken when it is released: a failed
attempt to take it leaves a mark in Redis (in the same script), and a release that finds the
mark publishes the lock's name on a channel every worker listens to. Waiters still poll, more
slowly, in case a wake-up is lost (the subscription broken, Redis restarted).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol, cast

from redis.asyncio import Redis
from redis.asyncio.lock import Lock
from redis.commands.core import AsyncScript
from redis.exceptions import LockError, LockNotOwnedError, RedisError

from bot.service.coordination.redis_client import PREFIX, listen
from bot.service.tasks import stop_task

log = logging.getLogger(__name__)


class Locks(Protocol):
    """Per-conversation mutual exclusion: one message of a conversation at a time."""

    def hold(self, key: str) -> AbstractAsyncContextManager[None]:
        """Hold the conversation's lock for the duration of the block."""
        ...




RELEASED_CHANNEL = PREFIX + "lock-released"
WAITING_SUFFIX = ":waiting"  # the mark a waiter leaves beside a lock's key


class WakingLock(Lock):
    """redis-py's lock, but a failed attempt marks that someone waits for it, and a release
    that finds the mark publishes the lock's name on ``RELEASED_CHANNEL`` (each in one
    script: no more round trips than the plain lock's)."""

    lua_release = None  # this class's own scripts, not the plain lock's
    lua_extend = None
    lua_reacquire = None
    lua_acquire: AsyncScript | None = None
    WAITING_MS = 2000  # how long a waiter's mark lasts (renewed by each failed attempt)

    # KEYS[1] lock, KEYS[2] its waiting mark; ARGV[1] token, ARGV[2] lifetime (ms)
    LUA_ACQUIRE_SCRIPT = """
        if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
            return 1
        end
        redis.call('set', KEYS[2], '1', 'PX', ARGV[3])
        return 0
    """
    # KEYS[1] lock, KEYS[2] its waiting mark; ARGV[1] token, ARGV[2] the channel
    LUA_RELEASE_SCRIPT = """
        local token = redis.call('get', KEYS[1])
        if not token or token ~= ARGV[1] then
            return 0
        end
        redis.call('del', KEYS[1])
        if redis.call('del', KEYS[2]) == 1 then
            redis.call('publish', ARGV[2], KEYS[1])
        end
        return 1
    """

    def register_scripts(self) -> None:
        """Register the plain lock's scripts and the acquiring one."""
        super().register_scripts()  # type: ignore[no-untyped-call]
        cls = type(self)
        if cls.lua_acquire is None:
            cls.lua_acquire = cast(Redis, self.redis).register_script(cls.LUA_ACQUIRE_SCRIPT)

    async def do_acquire(self, token: str | bytes) -> bool:
        """Take the lock, or leave the mark that someone waits for it."""
        assert self.lua_acquire is not None and self.timeout is not None
        taken = await self.lua_acquire(keys=self._keys(),
                                       args=[token, int(self.timeout * 1000), self.WAITING_MS],
                                       client=cast(Redis, self.redis))
        return bool(taken)

    def _keys(self) -> list[str]:
        """The lock's key and its waiting mark's (our locks are named by ``str``)."""
        name = str(self.name)
        return [name, name + WAITING_SUFFIX]

    async def do_release(self, expected_token: bytes) -> None:
        """Release the lock, waking whoever waits for it."""
        assert self.lua_release is not None
        if not await self.lua_release(keys=self._keys(),
                                      args=[expected_token, RELEASED_CHANNEL],
                                      client=cast(Redis, self.redis)):
            raise LockNotOwnedError("Cannot release a lock that's no longer owned")


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
    first, so only one of them waits for Redis at a time. A worker waiting for a lock held
    elsewhere is woken by its release (``WakingLock``) and polls besides. Under a burst the
    worker that holds a busy conversation may keep it while the other waits: that costs
    nothing, as the holder answers every unfinished message of the
    conversation, whoever accepted it (making the holder step aside was measured: 25 % less
    throughput, more CPU per message).
    """

    def __init__(self, redis: Redis, ttl: float = 30.0, poll: float = 0.005,
                 max_poll: float = 0.1) -> None:
        self.redis = redis
        self.ttl = ttl
        self.poll = poll
        self.max_poll = max_poll
        self._local = ConversationLocks()
        self._waiting: dict[str, asyncio.Event] = {}  # lock name -> its one local waiter
        self._listener: asyncio.Task[None] | None = None
        self._held: dict[str, Lock] = {}  # key -> the Redis lock this worker holds for it
        self._renewals: set[asyncio.Task[None]] = set()  # running now (rarely any)

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        """Hold the conversation's lock in this worker and in Redis."""
        async with self._local.hold(key):
            lock = WakingLock(self.redis, PREFIX + "lock:" + key, timeout=self.ttl,
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
        """Stop renewing (at shutdown: held locks then expire by themselves) and listening."""
        for task in list(self._renewals):
            await stop_task(task, timeout=self.ttl / 2)
        if self._listener is not None:
            await stop_task(self._listener)
            self._listener = None

    async def _acquire(self, lock: Lock) -> None:
        """Wait for the lock, woken by its release or polling; while Redis is down, keep
        trying (the message is stored)."""
        if self._listener is None or self._listener.done():
            self._listener = asyncio.get_running_loop().create_task(
                self._listen(), name="conversation lock releases")
        name = str(lock.name)
        woken = self._waiting[name] = asyncio.Event()  # the local lock: one waiter per name
        try:
            await self._wait_for(lock, woken)
        finally:
            del self._waiting[name]

    async def _wait_for(self, lock: Lock, woken: asyncio.Event) -> None:
        delay, outage = self.poll, 0.0
        warn_at = time.monotonic() + 2 * self.ttl
        while True:
            if time.monotonic() > warn_at:
                log.warning("still waiting for conversation lock %s after %.0f s", lock.name,
                            2 * self.ttl)
                warn_at += 2 * self.ttl
            try:
                woken.clear()
                if await lock.acquire(blocking=False):
                    if outage:
                        log.warning("Redis answers again; lock %s taken", lock.name)
                    return
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await woken.wait()
                delay = min(self.max_poll, delay * 1.5)
            except RedisError as exc:
                if not outage:
                    log.error("Redis unavailable for conversation locks (%s); waiting", exc)
                outage = min(2.0, max(0.1, outage * 2))
                await asyncio.sleep(outage * (0.75 + random.random() / 2))

    async def _listen(self) -> None:
        """Wake this worker's waiter of each lock released elsewhere (or here), resubscribing
        after a Redis outage (waiters poll meanwhile)."""
        await listen(self.redis, RELEASED_CHANNEL, self._wake, "lock release")

    async def _wake(self, name: str) -> None:
        waiter = self._waiting.get(name)
        if waiter is not None:
            waiter.set()

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
