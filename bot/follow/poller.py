"""Polling the status API for followed dossiers: each at most once per interval, spread over
time, within the shared request budget, backing off while the API fails.

Work is claimed in the database with a lease (``FollowStore.claim_due``), so several workers
never poll the same dossier at once, and a worker that dies leaves its dossiers to the others
when the lease ends. What a poll learns goes through ``FollowStore.record``, the one place a
change becomes a notice.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
import time

from actions.dossier_source import DossierNotFound, DossierSource, DossierUnavailable
from bot.follow.budget import RequestBudget
from bot.service.tasks import BackgroundLoop
from bot.storage.follows import FollowStore, Observation
from knowledge.clock import utcnow

log = logging.getLogger(__name__)

CONCURRENT = 8  # lookups in flight per worker (a slow API must not stall the budget)
MAX_PAUSE = 60.0  # the longest this worker waits after failures in a row


class Poller(BackgroundLoop):
    """Claims due dossiers and looks them up."""

    TASK_NAME = "follow-poller"

    def __init__(self, store: FollowStore, dossiers: DossierSource, budget: RequestBudget, *,
                 tick: float, retry_after: float, lease: float | None = None,
                 events_kept: float = 3600.0) -> None:
        self.store = store
        self.dossiers = dossiers
        self.budget = budget
        self.tick = tick
        self.retry_after = retry_after
        self.batch = max(1, math.ceil(budget.limit / budget.window * tick))
        self.lease = lease if lease is not None else max(60.0, 10 * tick)
        self.failures_in_row = 0
        self.polls = 0
        self.events_kept = events_kept  # pushed event ids older than this are forgotten
        self._forgot_at = 0.0

    async def run_once(self, now: dt.datetime | None = None) -> int:
        """Poll the dossiers due now (one batch); how many were polled."""
        now = now or utcnow()
        if time.monotonic() - self._forgot_at > self.events_kept:
            self._forgot_at = time.monotonic()
            await self.store.forget_events(now - dt.timedelta(seconds=self.events_kept))
        codes = await self.store.claim_due(now, self.lease, self.batch)
        if not codes:
            return 0
        gate = asyncio.Semaphore(CONCURRENT)

        async def one(code: str) -> None:
            async with gate:
                await self.budget.take()
                await self._poll(code, now)

        await asyncio.gather(*(one(code) for code in codes))
        return len(codes)

    async def _poll(self, code: str, claimed: dt.datetime) -> None:
        self.polls += 1
        try:
            dossier = await self.dossiers.lookup(code)
        except (DossierUnavailable, DossierNotFound) as exc:
            now = max(claimed, utcnow())  # the next poll counts from this one, not the claim
            if isinstance(exc, DossierUnavailable):
                self.failures_in_row += 1
            log.info("polling dossier %s failed: %s", code, type(exc).__name__)
            await self.store.poll_failed(code, now, self.retry_after)
            return
        self.failures_in_row = 0
        now = max(claimed, utcnow())
        await self.store.record(Observation(code, str(dossier.status), dossier.due_at,
                                            dossier.changed_at), now)

    async def _loop(self) -> None:
        while True:
            polled = 0
            try:
                polled = await self.run_once()
            except Exception:
                log.exception("polling followed dossiers failed; trying again later")
                self.failures_in_row += 1
            if self.failures_in_row:
                await asyncio.sleep(min(MAX_PAUSE, self.tick * 2 ** min(self.failures_in_row, 8)))
            elif polled < self.batch:
                await asyncio.sleep(self.tick)
