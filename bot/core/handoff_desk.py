"""The officers' side of live handoff: take a waiting conversation, reply, close or release it.

Each step holds the conversation's lock (the same one the pipeline holds while it handles a
citizen's message), so a citizen's message and an officer's action never overwrite each other's
state. Replies go out on the citizen's own channel (Telegram, Zalo, or the web widget's
outbox) and are recorded in the transcript with the officer as sender; closing asks the citizen
to rate the help 1–5. Every step is in the audit log.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from actions import texts
from actions.base import MAX_TEXT_CHARS, Author, ConversationStatus, Reply
from actions.feedback import RATING_BUTTONS
from bot.core.delivery import ReplySender
from bot.core.messages import clean_text
from bot.service.coordination.locks import Locks
from bot.storage.conversations import ConversationStore, TurnRecord
from bot.storage.handoff_queue import Change, HandoffItem, HandoffStore, Outcome
from bot.storage.redact import mask_personal_data
from bot.storage.staff import StaffStore, StaffUser
from knowledge.clock import utcnow
from knowledge.office_hours import OfficeSchedule

log = logging.getLogger(__name__)

AUDIT_KIND = "handoff"
AUDIT_TEXT_CHARS = 500
# Slots reset when the bot gets the conversation back: it may remind again on a later handoff.
BACK_TO_BOT = {"reminded": False, "awaiting": None, "fallbacks": 0}


class ReplyRefused(ValueError):
    """A reply that cannot be sent; the message says why (in Vietnamese)."""


@dataclass(frozen=True, slots=True)
class DeskResult:
    """What happened, and a delivery problem to show the officer (None when all went out)."""

    change: Change
    problem: str | None = None


def wait_text(waited: dt.timedelta) -> str:
    """A wait in words: ``dưới 1 phút``, ``12 phút``, ``1 giờ 5 phút``, ``2 ngày 3 giờ``."""
    minutes = int(waited.total_seconds() // 60)
    if minutes < 1:
        return "dưới 1 phút"
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} ngày {hours} giờ" if hours else f"{days} ngày"
    if hours:
        return f"{hours} giờ {minutes} phút" if minutes else f"{hours} giờ"
    return f"{minutes} phút"


class HandoffDesk:
    """Officers' actions on conversations handed over by the bot."""

    def __init__(self, channels: Mapping[str, ReplySender], locks: Locks,
                 conversations: ConversationStore, store: HandoffStore, staff: StaffStore,
                 schedule: OfficeSchedule) -> None:
        """``channels``: the senders by channel name (the dispatcher's, filled in as channels
        start); ``locks``: the conversation locks the pipeline holds."""
        self.channels = channels
        self.locks = locks
        self.conversations = conversations
        self.store = store
        self.staff = staff
        self.schedule = schedule

    async def take(self, conversation_id: str, officer: StaffUser) -> DeskResult:
        """Give a waiting conversation to the officer and tell the citizen someone is there."""
        async with self.locks.hold(conversation_id):
            change = await self.store.take(conversation_id, officer.username)
            if change.outcome is not Outcome.DONE or change.item is None:
                return DeskResult(change)
            item = change.item
            waited = item.waited(utcnow())
            problem = await self._say(item, Reply(texts.STAFF_TOOK), "handoff_taken")
        await self.staff.audit(
            officer.username, AUDIT_KIND, conversation_id, "take", {"status": "waiting"},
            {"status": "staff", "assigned_to": officer.username,
             "waited_seconds": int(waited.total_seconds())},
            f"Nhận hội thoại sau {wait_text(waited)} chờ")
        return DeskResult(change, problem)

    async def reply(self, conversation_id: str, officer: StaffUser, text: str) -> DeskResult:
        """Send the officer's words to the citizen; raises ReplyRefused for bad input."""
        if len(text) > MAX_TEXT_CHARS:
            raise ReplyRefused(f"Tin nhắn dài quá {MAX_TEXT_CHARS:,} ký tự, vui lòng rút gọn"
                               .replace(",", "."))
        cleaned = clean_text(text)
        if not cleaned:
            raise ReplyRefused("Bạn chưa nhập nội dung trả lời")
        async with self.locks.hold(conversation_id):
            item = await self.store.get(conversation_id)
            if item is None:
                return DeskResult(Change(Outcome.NOT_FOUND, None))
            if item.status != ConversationStatus.STAFF:
                return DeskResult(Change(Outcome.NOT_STAFF, item))
            if item.assigned_to != officer.username:
                return DeskResult(Change(Outcome.NOT_YOURS, item))
            problem = await self._deliver(item, [Reply(cleaned, author=Author.STAFF)])
            if problem is None:
                await self._record(item, TurnRecord("out", cleaned, action="staff_reply",
                                                    sender=officer.username))
        if problem is None:
            await self.staff.audit(officer.username, AUDIT_KIND, conversation_id, "reply", None,
                                   {"text": mask_personal_data(cleaned)[:AUDIT_TEXT_CHARS]},
                                   "Trả lời người dân")
        return DeskResult(Change(Outcome.DONE, item), problem)

    async def close(self, conversation_id: str, officer: StaffUser) -> DeskResult:
        """End the officer's help: the bot answers again and asks for a 1–5 rating."""
        return await self._give_back(conversation_id, officer, "close",
                                     Reply(texts.ASK_RATING, RATING_BUTTONS), "ask_rating",
                                     "Đóng hội thoại, mời người dân đánh giá")

    async def release(self, conversation_id: str, officer: StaffUser) -> DeskResult:
        """Hand the conversation back to the bot without closing (no rating asked)."""
        return await self._give_back(conversation_id, officer, "release",
                                     Reply(texts.STAFF_RELEASED), "handoff_released",
                                     "Trả lại cho bot")

    async def _give_back(self, conversation_id: str, officer: StaffUser, action: str,
                         notice: Reply, turn_action: str, summary: str) -> DeskResult:
        async with self.locks.hold(conversation_id):
            change = await self.store.give_back(conversation_id, officer.username,
                                                officer.is_admin, BACK_TO_BOT)
            if change.outcome is not Outcome.DONE or change.item is None:
                return DeskResult(change)
            problem = await self._say(change.item, notice, turn_action)
        await self.staff.audit(officer.username, AUDIT_KIND, conversation_id, action,
                               {"status": "staff", "assigned_to": change.item.assigned_to},
                               {"status": "bot"}, summary)
        return DeskResult(change, problem)

    async def _say(self, item: HandoffItem, reply: Reply, action: str) -> str | None:
        """Send a fixed notice from the bot and record it; a delivery problem, if any."""
        problem = await self._deliver(item, [reply])
        if problem is None:
            await self._record(item, TurnRecord("out", reply.text, action=action))
        return problem

    async def _deliver(self, item: HandoffItem, replies: Sequence[Reply]) -> str | None:
        """Send on the citizen's channel; what went wrong, in Vietnamese, or None."""
        channel = self.channels.get(item.channel)
        if channel is None:
            return (f"Kênh “{item.channel}” hiện không hoạt động nên tin nhắn chưa đến được "
                    "người dân")
        try:
            await channel.send(item.user_id, replies)
        except Exception:  # any channel failure: the officer must know it did not arrive
            log.exception("sending to %s failed", item.id)
            return "Không gửi được tin nhắn đến người dân do lỗi kết nối, vui lòng thử lại"
        reason = await self.conversations.unreachable(item.id)
        if reason:
            return f"Tin nhắn không đến được người dân ({reason})"
        return None

    async def _record(self, item: HandoffItem, turn: TurnRecord) -> None:
        """Append a turn to the transcript, keeping the conversation's state and status."""
        conversations = self.conversations
        stored = await conversations.load(item.id)
        if stored is None:
            return
        await conversations.save(item.id, item.channel, item.user_id, stored.state,
                                 stored.status, [turn])
