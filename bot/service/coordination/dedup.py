"""Delivery deduplication shared by every worker: a fast check in front of the inbox's unique
key."""

from __future__ import annotations

import contextlib

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.service.coordination.redis_client import PREFIX

DEDUP_SECONDS = 24 * 3600  # Telegram and Zalo give up redelivering long before this


class RedisDeliveryDedup:
    """A fast first check for repeated webhook deliveries, shared by every worker.

    The database's unique key on (channel, message id) stays the rule; a delivery is marked
    here only after the database accepted it, so a crash in between cannot drop a message.
    """

    def __init__(self, redis: Redis, seconds: int = DEDUP_SECONDS) -> None:
        self.redis = redis
        self.seconds = seconds

    @staticmethod
    def _key(channel: str, message_id: str) -> str:
        return f"{PREFIX}seen:{channel}:{message_id}"

    async def seen(self, channel: str, message_id: str) -> bool:
        """Whether this delivery was accepted before (False when Redis cannot tell)."""
        try:
            return bool(await self.redis.exists(self._key(channel, message_id)))
        except RedisError:
            return False

    async def remember(self, channel: str, message_id: str) -> None:
        """Mark a delivery as accepted."""
        with contextlib.suppress(RedisError):
            await self.redis.set(self._key(channel, message_id), b"1", ex=self.seconds)
