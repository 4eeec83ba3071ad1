"""Accepted messages: stored, deduplicated, handled one at a time per conversation, answered
exactly once, in order, by whichever worker holds the conversation's lock.

A channel calls ``submit`` for a message it will answer later (a webhook: the platform gets 200
at once) or ``handle_now`` when the reply goes back in the same HTTP response (the web API).
Either way the message is in the inbox before anything else happens and a repeated delivery is
dropped: the inbox's unique key on (channel, delivery id) decides, in the same statement that
stores the message (a shared check in Redis in front of it cost every new message two round
trips and saved a duplicate one).

Claim and drain: whoever takes a conversation's lock answers *all* of that conversation's
unfinished inbox rows, oldest first, whichever worker accepted them. So with several workers
(and a load balancer sending one citizen's messages to different ones) replies still follow the
order of the messages. Handling a row commits its transcript and marks it ``answered`` with
its replies in one transaction; sending them and marking it ``done`` follow. A worker that dies
in between leaves ``answered`` rows whose replies the next holder sends again (the only replies
that can ever go out twice: those whose sending was in doubt), and ``pending`` rows that are
handled then. Rows left behind by a dead worker are found by the sweeper and at start by
``recover``. In the one-process mode (no Redis) every row was accepted by this process, so the
unfinished rows are kept in memory instead of being read back for every message.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import replace

from actions.base import Reply
from bot.core.delivery import DeliveryFailed, ReplySender
from bot.core.messages import IncomingMessage
from bot.core.pipeline import Pipeline
from bot.service import metrics
from bot.service.logs import conversation_context
from bot.service.tasks import stop_task
from bot.storage.conversations import StoredState
from bot.storage.db import DATABASE_AWAY
from bot.storage.inbox import ANSWERED, AlreadyHandled, Inbox, InboxItem
from bot.storage.turns import UNREAD, TurnTransaction, Unread
from knowledge.clock import utcnow

log = logging.getLogger(__name__)

# Conversations this process handles at once from submitted messages (the rest stay stored in
# the inbox and wait their turn): a burst of webhooks then costs bounded memory and database
# connections. handle_now (the web chat waiting on its HTTP response) does not wait for it.
DRAINING_AT_ONCE = 64
RETRY_SECONDS = 30.0  # replies kept after a failed delivery are tried again this much later
APOLOGY = Reply("Xin lỗi, hệ thống đang gặp sự cố khi xử lý tin nhắn của bạn. "
                "Bạn vui lòng thử lại sau ít phút.")


class Dispatcher:
    """Runs accepted messages through the pipeline and hands replies to their channel."""

    def __init__(self, pipeline: Pipeline, inbox: Inbox, orphan_after: float = 60.0,
                 give_up_after: float = 900.0, shared: bool = False,
                 handle_timeout: float = 60.0) -> None:
        """``shared``: other workers accept messages into the same inbox (scale-out), so a
        conversation's unfinished rows are read from the database; otherwise this process
        knows them all and keeps them in memory."""
        self.pipeline = pipeline
        self.inbox = inbox
        self.shared = shared
        self._queues: dict[str, list[InboxItem]] = {}
        self.orphan_after = orphan_after
        self.give_up_after = give_up_after
        self.handle_timeout = handle_timeout
        self._answering_now = 0
        self.channels: dict[str, ReplySender] = {}
        self.accepting = True
        self._drains: dict[str, asyncio.Task[None]] = {}
        self._gate = asyncio.Semaphore(DRAINING_AT_ONCE)
        self._again: set[str] = set()
        self._sweeper: asyncio.Task[None] | None = None
        metrics.watch_queue(self)

    def add_channels(self, channels: Mapping[str, ReplySender]) -> None:
        """Channels replies are sent through, by name."""
        self.channels.update(channels)

    @property
    def in_flight(self) -> int:
        """Conversations with messages being answered by this process (the queue depth)."""
        return len(self._drains) + self._answering_now

    # -- accepting ---------------------------------------------------------------------------

    async def _accept(self, message: IncomingMessage) -> int | None:
        """Store a message (None for a repeated delivery); queued here unless shared."""
        delivered_id = message.message_id  # None: the channel has no delivery id for it
        if delivered_id is None:
            message = replace(message, message_id=uuid.uuid4().hex)
        inbox_id = await self.inbox.accept(message)
        if inbox_id is None:
            metrics.duplicate(message.channel)
            return None
        metrics.message_in(message.channel)
        if not self.shared:
            self._queues.setdefault(message.conversation_id, []).append(
                InboxItem(inbox_id, message))
        return inbox_id

    async def submit(self, message: IncomingMessage) -> bool:
        """Store a message and have it answered soon; False when the delivery was seen
        before."""
        if await self._accept(message) is None:
            return False
        self._kick(message.channel, message.user_id)
        return True

    async def handle_now(self, message: IncomingMessage) -> list[Reply] | None:
        """Store and answer a message, returning its replies; None for a repeated delivery."""
        inbox_id = await self._accept(message)
        if inbox_id is None:
            return None
        self._answering_now += 1
        try:
            async with self.pipeline.locks.hold(message.conversation_id):
                replies = await self._drain_locked(message.channel, message.user_id,
                                                   own=inbox_id)
        finally:
            self._answering_now -= 1
        if replies is None:  # another worker answered it already: its replies are stored
            item = await self.inbox.get(inbox_id)
            replies = [Reply.from_dict(r) for r in item.replies] if item is not None else []
        return replies

    # -- answering ---------------------------------------------------------------------------

    def _kick(self, channel: str, user_id: str) -> None:
        """Make sure this process drains the conversation (again, if a drain is running)."""
        key = f"{channel}:{user_id}"
        if key in self._drains:
            self._again.add(key)
            return
        self._drains[key] = asyncio.create_task(self._drain(channel, user_id),
                                                name=f"drain {key}")

    async def _drain(self, channel: str, user_id: str) -> None:
        key = f"{channel}:{user_id}"
        try:
            while True:
                self._again.discard(key)
                try:
                    async with self._gate, self.pipeline.locks.hold(key):
                        await self._drain_locked(channel, user_id)
                except DATABASE_AWAY as exc:  # the rows stay for later
                    log.warning("answering conversation %s waits for the database (%s)", key,
                                type(exc).__name__)
                    await asyncio.sleep(1.0)
                    self._again.add(key)
                except Exception:
                    log.exception("answering conversation %s failed; retrying later", key)
                    await asyncio.sleep(1.0)
                    self._again.add(key)
                if key not in self._again:
                    break
        finally:
            self._drains.pop(key, None)

    async def _drain_locked(self, channel: str, user_id: str,
                            own: int | None = None) -> list[Reply] | None:
        """Answer the conversation's unfinished messages in order (the caller holds its lock);
        the replies to ``own`` are returned instead of sent."""
        result: list[Reply] | None = None
        async with asyncio.timeout(self.handle_timeout):
            items, known = await self._unfinished(channel, user_id)
        index = 0
        try:
            for index, item in enumerate(items):
                with conversation_context(item.conversation_id):
                    async with asyncio.timeout(self.handle_timeout):  # never hold a lock forever
                        replies = await self._handle(item, known)
                if item.status != ANSWERED:
                    known = UNREAD  # the state read with the rows is the first turn's only
                if replies is None:
                    continue
                if item.id == own:
                    result = replies
                elif (unsent := await self._send(item, replies)) is not None:
                    # kept 'answered' with what did not go out: sent again, before anything
                    # newer, by a later drain (never what the platform already has)
                    kept = tuple(reply.to_dict() for reply in unsent)
                    if len(unsent) < len(replies):
                        await self.inbox.keep_unsent(item.id, list(kept))
                    self._put_back([replace(item, status=ANSWERED, replies=kept),
                                    *items[index + 1:]])
                    asyncio.get_running_loop().call_later(RETRY_SECONDS, self._kick, channel,
                                                          user_id)
                    return result
                await self._mark_done(item)
        except BaseException:
            self._put_back(items[index:])  # not answered yet: the next drain tries again
            raise
        return result

    async def _mark_done(self, item: InboxItem) -> None:
        """Mark a row done, retrying while the database is away: the replies went out, and
        releasing the lock before the row says so would let the next holder send them again."""
        delay = 0.25
        while True:
            try:
                async with asyncio.timeout(self.handle_timeout):
                    await self.inbox.done(item.id, item.message.text)
                return
            except Exception as exc:
                if not self.accepting and delay > 4:  # shutting down: the row stays in doubt
                    raise
                log.warning("message %d of %s answered but not yet marked done (%s); "
                            "retrying", item.id, item.conversation_id, type(exc).__name__)
                await asyncio.sleep(delay)
                delay = min(5.0, delay * 2)

    async def _unfinished(self, channel: str, user_id: str
                          ) -> tuple[list[InboxItem], StoredState | Unread | None]:
        """The conversation's messages to answer now, oldest first, and its state when it was
        read with them (in the scale-out mode: one round trip instead of two)."""
        if self.shared:
            return await self.inbox.unfinished_for(channel, user_id)
        return self._queues.pop(f"{channel}:{user_id}", []), UNREAD

    def _put_back(self, items: list[InboxItem]) -> None:
        """Keep unanswered items for the next drain, ahead of newer ones (the database keeps
        them in shared mode)."""
        if not self.shared and items:
            key = items[0].conversation_id
            self._queues[key] = [*items, *self._queues.get(key, [])]

    async def _handle(self, item: InboxItem, known: StoredState | Unread | None = UNREAD
                      ) -> list[Reply] | None:
        """The replies to an inbox row: stored ones for an answered row, new ones for a pending
        row (committed with its turn, handled from ``known`` when the state was read already);
        None when another worker handled it meanwhile."""
        if item.status == ANSWERED:
            log.info("re-sending stored replies of message %d of %s", item.id,
                     item.conversation_id)
            return [Reply.from_dict(reply) for reply in item.replies]
        message = item.message

        try:
            return (await self.pipeline.handle(
                message, TurnTransaction(self.pipeline.conversations, item.id, known))).replies
        except AlreadyHandled:
            return await self._stored_replies(item.id)
        except DATABASE_AWAY:
            raise  # nothing was saved: the row stays pending and the drain tries again
        except Exception:
            log.exception("handling message %d of %s failed", item.id, item.conversation_id)
        try:
            await self.inbox.answered(item.id, [APOLOGY.to_dict()])
        except AlreadyHandled:
            return await self._stored_replies(item.id)
        return [APOLOGY]

    async def _stored_replies(self, inbox_id: int) -> list[Reply] | None:
        """The replies of a row found handled already (a commit whose success the database
        did not confirm, or a lost lock): to send now, in order, unless it is done."""
        stored = await self.inbox.get(inbox_id)
        if stored is None or stored.status != ANSWERED:
            return None
        return [Reply.from_dict(reply) for reply in stored.replies]

    async def _send(self, item: InboxItem, replies: list[Reply]) -> list[Reply] | None:
        """Deliver replies; while the platform fails temporarily, keep trying (the lock stays
        held, so the conversation's later replies wait their turn) for up to
        ``give_up_after`` seconds. None when done with them; else the replies not delivered
        yet, to be tried again later."""
        channel = self.channels.get(item.channel)
        if channel is None or not replies:
            return None
        deadline = time.monotonic() + self.give_up_after
        delay = 1.0
        while True:
            try:
                async with asyncio.timeout(self.handle_timeout):
                    await channel.send(item.user_id, replies)
                return None
            except TimeoutError:  # a send that never returns: say where, then try again
                log.warning("sending replies to %s did not finish in %.0f s",
                            item.conversation_id, self.handle_timeout, exc_info=True)
                if not self.accepting:
                    return replies
            except DeliveryFailed as exc:
                replies = replies[exc.delivered:]
                if not exc.temporary or time.monotonic() + delay > deadline:
                    log.error("replies to %s given up: %s", item.conversation_id, exc)
                    return None
                if not self.accepting:  # shutting down: the next start sends them
                    return replies
                log.warning("replies to %s not delivered yet (%s); again in %.0f s",
                            item.conversation_id, exc, delay)
                await asyncio.sleep(delay)
                delay = min(30.0, delay * 2)
            except Exception:
                log.exception("sending replies to %s failed", item.conversation_id)
                return None

    # -- recovery and shutdown ----------------------------------------------------------------

    async def recover(self, received_before: dt.datetime | None = None) -> int:
        """Drain every conversation with unfinished messages (left by a previous run or a dead
        worker); the number of messages found."""
        items = await self.inbox.unfinished(received_before=received_before)
        if not self.shared:
            for item in items:
                self._queues.setdefault(item.conversation_id, []).append(item)
        for conversation in dict.fromkeys((item.channel, item.user_id) for item in items):
            self._kick(*conversation)
        if items:
            log.info("recovering %d unfinished messages", len(items))
        return len(items)

    async def _sweep_now_and_then(self) -> None:
        while True:
            await asyncio.sleep(self.orphan_after / 2)
            try:
                await self.recover(utcnow()
                                   - dt.timedelta(seconds=self.orphan_after))
            except Exception:
                log.exception("looking for orphaned messages failed")

    async def start(self) -> None:
        """Answer what a previous run left, and keep looking for messages a dead worker left."""
        await self.recover()
        if self.shared:
            self._sweeper = asyncio.create_task(self._sweep_now_and_then())

    async def drain(self, timeout: float = 30.0) -> None:
        """Stop accepting and wait for the messages in hand to be answered."""
        self.accepting = False
        if self._sweeper is not None:
            await stop_task(self._sweeper)
        if self._drains:
            await asyncio.wait(set(self._drains.values()), timeout=timeout)
