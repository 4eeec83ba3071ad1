"""The Redis client of the scale-out mode, and its readiness check.

Every piece of coordination through Redis (locks, rate limits, the reload signal) degrades
instead of failing when Redis is briefly unreachable: a lock waits (the message stays safe in
the inbox until Redis answers again), the reload signal is skipped (the version poll still
holds), and a rate limit lets the request through.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

PREFIX = "egovbot:"


def connect(url: str) -> Redis:
    """A client for the configured Redis, with short timeouts so an outage is noticed fast."""
    client: Redis = Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0,
                                   health_check_interval=15, decode_responses=False)
    return client


async def redis_ready(redis: Redis) -> str | None:
    """None when Redis answers a PING, else what went wrong."""
    try:
        await redis.ping()
    except RedisError as exc:
        return type(exc).__name__
    return None


async def listen(redis: Redis, channel: str, on_message: Callable[[str], Awaitable[None]],
                 what: str, retry_seconds: float = 1.0) -> None:
    """Call ``on_message`` with each message published on ``channel``, for ever, subscribing
    again after a Redis outage (``what`` names the subscription in the log)."""
    while True:
        try:
            async with redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                await pubsub.subscribe(channel)
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True,
                                                       timeout=1.0)
                    data = message.get("data") if message else None
                    if isinstance(data, bytes):
                        await on_message(data.decode("utf-8", "replace"))
        except RedisError as exc:
            log.warning("%s subscription lost (%s); resubscribing", what, exc)
            await asyncio.sleep(retry_seconds)
