"""Following as one piece of the running service: the poller and the notifier of this worker,
started and stopped with it, and the events route."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from aiohttp import web
from redis.asyncio import Redis

from actions.dossier_source import DossierSource
from bot.core.delivery import ReplySender
from bot.follow.budget import RequestBudget
from bot.follow.events import PATH, events_handler
from bot.follow.notifier import Notifier
from bot.follow.poller import Poller
from bot.service.coordination.locks import Locks
from bot.service.settings import Settings
from bot.storage.follows import FollowStore


class Following:
    """This worker's poller and notifier."""

    def __init__(self, settings: Settings, store: FollowStore, dossiers: DossierSource,
                 redis: Redis | None, channels: Mapping[str, ReplySender],
                 hotline: Callable[[], str], locks: Locks) -> None:
        self.settings = settings
        self.store = store
        self.poller = Poller(store, dossiers,
                             RequestBudget.shared(settings.follow_requests_per_second, redis),
                             tick=settings.follow_tick, retry_after=settings.follow_retry_after,
                             events_kept=max(3600.0, 2 * settings.dossier_events_window))
        self.notifier = Notifier(store, channels, hotline, tick=settings.follow_tick,
                                 window_hours=settings.zalo_window_hours,
                                 transactions=settings.zalo_transaction_notices, locks=locks)

    def register(self, app: web.Application) -> None:
        """Add ``POST /api/dossier-events``."""
        app.router.add_post(PATH, events_handler(self.store, self.settings.dossier_events_secret,
                                                 self.settings.dossier_events_window))

    def start(self) -> None:
        """Start polling and notifying (when following is on)."""
        if self.settings.follow_enabled:
            self.poller.start()
            self.notifier.start()

    async def stop(self) -> None:
        """Stop both."""
        await self.poller.stop()
        await self.notifier.stop()
