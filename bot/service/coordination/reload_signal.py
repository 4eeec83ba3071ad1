"""The reload signal: a Redis channel that tells every worker the knowledge base or the model
moved."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.service.coordination.redis_client import PREFIX, listen

log = logging.getLogger(__name__)


RELOAD_CHANNEL = PREFIX + "reload"


async def publish_reload(redis: Redis, key: str) -> None:
    """Tell every worker that ``key`` (knowledge or model version) moved."""
    try:
        await redis.publish(RELOAD_CHANNEL, key.encode("utf-8"))
    except RedisError as exc:  # workers still notice at their next poll of the database
        log.warning("reload signal not published (%s); workers poll the database instead", exc)


async def listen_for_reload(redis: Redis, on_signal: Callable[[str], Awaitable[None]],
                            retry_seconds: float = 1.0) -> None:
    """Call ``on_signal(key)`` for each reload signal, resubscribing after a Redis outage."""
    await listen(redis, RELOAD_CHANNEL, on_signal, "reload signal", retry_seconds)
