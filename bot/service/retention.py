"""The scheduled deletion of data past its retention period, in every worker (the deletes
are idempotent: two workers running at once delete each row once)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.service.tasks import BackgroundLoop
from bot.storage.retention import Forgotten, forget_before
from knowledge.clock import utcnow

log = logging.getLogger(__name__)


class RetentionJob(BackgroundLoop):
    """Deletes what is older than ``days`` at start and then every ``interval`` seconds."""

    TASK_NAME = "retention"

    def __init__(self, sessions: async_sessionmaker[AsyncSession], days: int,
                 interval: float) -> None:
        self.sessions, self.days, self.interval = sessions, days, interval

    async def run_once(self) -> Forgotten:
        """One pass now."""
        forgotten = await forget_before(self.sessions, utcnow() - dt.timedelta(days=self.days))
        if forgotten != Forgotten():
            log.info("deleted what was older than %d days: %d conversations, %d turns, %d "
                     "inbox rows", self.days, forgotten.conversations, forgotten.turns,
                     forgotten.inbox)
        return forgotten


    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:
                log.exception("deleting data past retention failed; trying again later")
            await asyncio.sleep(self.interval)
