"""Accepted messages: stored, deduplicated, handled one at a time per conversation, answered.

A channel calls ``submit`` for a message it will answer later (a webhook: the platform gets 200
at once) or ``handle_now`` when the reply goes back in the same HTTP response (the web API).
Either way the message is in the inbox before anything else happens, a repeated delivery is
dropped, and messages still pending after a crash are handled again by ``recover``.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING

from actions.base import Reply
from bot.messages import IncomingMessage, clean_text
from bot.pipeline import HandledMessage, Pipeline
from knowledge.inbox import Inbox

if TYPE_CHECKING:  # channels import the dispatcher; only the type is needed here
    from bot.channels.base import Channel

log = logging.getLogger(__name__)

APOLOGY = Reply("Xin lỗi, hệ thống đang gặp sự cố khi xử lý tin nhắn của bạn. "
                "Bạn vui lòng thử lại sau ít phút.")


class Dispatcher:
    """Runs accepted messages through the pipeline and hands replies to their channel."""

    def __init__(self, pipeline: Pipeline, inbox: Inbox) -> None:
        self.pipeline = pipeline
        self.inbox = inbox
        self.channels: dict[str, Channel] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.accepting = True

    def add_channels(self, channels: Mapping[str, Channel]) -> None:
        """Channels replies are sent through, by name."""
        self.channels.update(channels)

    @property
    def in_flight(self) -> int:
        """Messages accepted and not yet answered in this process."""
        return len(self._tasks)

    async def _accept(self, message: IncomingMessage) -> int | None:
        message_id = message.message_id or uuid.uuid4().hex
        return await self.inbox.accept(message.channel, message_id, message.user_id,
                                       clean_text(message.text), message.received_at)

    async def submit(self, message: IncomingMessage) -> bool:
        """Store and schedule a message; False when the delivery was seen before."""
        inbox_id = await self._accept(message)
        if inbox_id is None:
            return False
        self._schedule(inbox_id, message)
        return True

    def _schedule(self, inbox_id: int, message: IncomingMessage) -> None:
        task = asyncio.create_task(self._answer(inbox_id, message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def handle_now(self, message: IncomingMessage) -> HandledMessage | None:
        """Store and handle a message, returning its replies; None for a repeated delivery."""
        inbox_id = await self._accept(message)
        if inbox_id is None:
            return None
        async with self.pipeline.locks.hold(message.conversation_id):
            handled = await self.pipeline.process(message)
        await self.inbox.done(inbox_id)
        return handled

    async def _answer(self, inbox_id: int, message: IncomingMessage) -> None:
        channel = self.channels.get(message.channel)
        try:
            async with self.pipeline.locks.hold(message.conversation_id):
                try:
                    replies = (await self.pipeline.process(message)).replies
                except Exception:
                    log.exception("handling a message of %s failed", message.conversation_id)
                    replies = [APOLOGY]
                if channel is not None and replies:
                    await channel.send(message.user_id, replies)
        except Exception:
            log.exception("sending replies to %s failed", message.conversation_id)
        finally:
            await self.inbox.done(inbox_id)

    async def recover(self) -> int:
        """Schedule every message left pending by a previous run, oldest first."""
        items = await self.inbox.pending()
        for item in items:
            self._schedule(item.id, IncomingMessage(item.channel, item.user_id, item.text,
                                                    item.message_id, item.received_at))
        if items:
            log.info("recovered %d pending messages", len(items))
        return len(items)

    async def drain(self, timeout: float = 30.0) -> None:
        """Stop accepting and wait for the messages in hand to be answered."""
        self.accepting = False
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)
