"""Telling citizens that a followed dossier changed, each notice once, on the channel they
followed from, through the channel's own sender (its retries and limits: Telegram's 30
messages a second and one a second per chat hold as for any reply).

Notices are claimed in the database with a lease (``FollowStore.claim_notices``), so two
workers never send the same one; only a worker killed between a send and its record leaves a
notice that goes out again, as for replies (README, "exactly once"). Each notice is sent
holding the conversation's lock (the one the dispatcher and the staff desk hold), so a notice
never lands in the middle of a reply to the same citizen.

Zalo answers freely only within its reply window after the citizen's last message (the last
message received from them, not the conversation's last change: a staff reply does not reopen
the window). Outside it,
a notice goes out as a transaction message when the OA may send them
(``EGOVBOT_ZALO_TRANSACTION_NOTICES``), else it is held and told with the citizen's next
message ("Trong lúc bạn vắng, …"); held notices are counted on the staff dashboard.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Mapping
from typing import Protocol, runtime_checkable

from actions.base import Reply
from actions.follow import notice_reply
from bot.core.delivery import DeliveryFailed, ReplySender
from bot.service.coordination.locks import ConversationLocks, Locks
from bot.service.tasks import BackgroundLoop
from bot.storage.follows import FollowStore, Notice
from knowledge.clock import utcnow

log = logging.getLogger(__name__)

WINDOWED_CHANNELS = frozenset({"zalo"})  # channels that may message only after the citizen
CONCURRENT = 16
MAX_RETRY = 900.0


@runtime_checkable
class TransactionSender(Protocol):
    """A channel that can send a proactive (transaction) message outside its reply window."""

    async def send_transaction(self, user_id: str, reply: Reply, code: str,
                               status: str) -> None:
        """Send one; raises ``DeliveryFailed``."""
        ...


class Notifier(BackgroundLoop):
    """Claims pending notices and delivers them."""

    TASK_NAME = "follow-notifier"

    def __init__(self, store: FollowStore, channels: Mapping[str, ReplySender],
                 hotline: Callable[[], str], *, tick: float, window_hours: float,
                 transactions: bool, lease: float = 120.0, batch: int = 100,
                 locks: Locks | None = None) -> None:
        self.store = store
        self.channels = channels
        self.hotline = hotline
        self.tick = tick
        self.window = dt.timedelta(hours=window_hours)
        self.transactions = transactions
        self.lease = lease
        self.batch = batch
        self.locks: Locks = locks if locks is not None else ConversationLocks()
        self.sent = 0
        self.held = 0

    async def run_once(self, now: dt.datetime | None = None) -> int:
        """Deliver the notices due now (one batch); how many were handled."""
        now = now or utcnow()
        await self.store.release_returned(now)
        notices = await self.store.claim_notices(now, self.lease, self.batch)
        gate = asyncio.Semaphore(CONCURRENT)

        async def one(notice: Notice) -> None:
            async with gate, self.locks.hold(notice.conversation_id):
                await self.deliver(notice)

        await asyncio.gather(*(one(n) for n in notices))
        return len(notices)

    async def deliver(self, notice: Notice) -> None:
        """Send one notice, or hold it, or leave it for a later try (the caller holds the
        conversation's lock)."""
        now = utcnow()
        sender = self.channels.get(notice.channel)
        if sender is None:
            log.warning("dossier notice %d: no channel %r here", notice.id, notice.channel)
            await self.store.mark(notice.id, "failed", now)
            return
        reply = notice_reply(notice.code, notice.status, notice.due_at, notice.changed_at,
                             self.hotline(), late=notice.late)
        way = "late" if notice.late else "message"
        try:
            if notice.channel in WINDOWED_CHANNELS and not notice.late \
                    and not await self._in_window(notice, now):
                if not (self.transactions and isinstance(sender, TransactionSender)):
                    await self.store.mark(notice.id, "held", now)
                    self.held += 1
                    return
                await sender.send_transaction(notice.user_id, reply, notice.code,
                                              notice.status)
                way = "transaction"
            else:
                await sender.send(notice.user_id, [reply])
        except DeliveryFailed as exc:
            if exc.temporary:
                wait = min(MAX_RETRY, 5.0 * 2 ** notice.attempts)
                await self.store.mark(notice.id, "pending", now,
                                      retry_at=now + dt.timedelta(seconds=wait))
            else:
                log.warning("dossier notice %d could not be delivered: %s", notice.id, exc)
                await self.store.mark(notice.id, "failed", now)
            return
        await self.store.mark(notice.id, "sent", utcnow(), way=way)
        self.sent += 1

    async def _in_window(self, notice: Notice, now: dt.datetime) -> bool:
        seen = await self.store.last_message(notice.channel, notice.user_id)
        return seen is not None and now - seen < self.window

    async def _loop(self) -> None:
        while True:
            handled = 0
            try:
                handled = await self.run_once()
            except Exception:
                log.exception("sending dossier notices failed; trying again later")
            if handled < self.batch:
                await asyncio.sleep(self.tick)
