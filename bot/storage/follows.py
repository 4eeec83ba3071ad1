"""Followed dossiers and the notices of their changes: the rows behind "theo dõi hồ sơ".

Why a store of its own: following is the one place where the bot writes to a citizen without
being asked, so it has to be exactly once across workers and restarts. Two rules give that:

- a change is recorded by one conditional UPDATE per dossier (only follows whose last told
  status differs, and whose last change is not newer than the one observed), and the notice
  row is inserted in the same transaction, unique per (follow, version): a change seen twice,
  by two pollers or by a poll and a push, wins once;
- work is claimed with ``UPDATE … WHERE due <= now`` that moves the due time past a lease, so
  two workers never take the same row (on PostgreSQL the second UPDATE re-checks the condition
  on the row the first one changed); a worker that dies leaves its rows to be taken again when
  the lease ends.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.inbox import DONE
from bot.storage.tables import (
    DossierEventRow,
    DossierFollowRow,
    DossierNoticeRow,
    InboxRow,
)

FINAL_STATUSES = frozenset({"done", "returned", "rejected"})
# A held notice is released by a message received after it was held, or shortly before: a
# message received just before the hold but not yet stored then was not seen by the window
# check (one seen would have kept the window open, and the notice would not have been held).
RELEASE_SLACK = dt.timedelta(minutes=10)
AFTER_POLL_SPREAD = 0.02  # a poll's next one: 1.00-1.02 intervals on


class FollowOutcome(StrEnum):
    """What asking to follow a dossier did."""

    ADDED = "added"
    ALREADY = "already"
    FULL = "full"  # the citizen follows the most dossiers allowed


@dataclass(frozen=True, slots=True)
class Followed:
    """One dossier a conversation follows, as the citizen may see it."""

    code: str
    status: str
    due_at: dt.datetime | None
    created_at: dt.datetime
    expires_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Observation:
    """A dossier's status as the status API or a pushed event told it."""

    code: str
    status: str
    due_at: dt.datetime | None
    changed_at: dt.datetime  # when the dossier changed (its last history entry)


@dataclass(frozen=True, slots=True)
class Notice:
    """A change to tell one citizen."""

    id: int
    conversation_id: str
    channel: str
    user_id: str
    code: str
    status: str
    due_at: dt.datetime | None
    changed_at: dt.datetime
    created_at: dt.datetime
    late: bool
    attempts: int


def _user_of(conversation_id: str) -> tuple[str, str]:
    channel, _, user_id = conversation_id.partition(":")
    return channel, user_id


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    """Times are stored in UTC (SQLite keeps no offset)."""
    return None if value is None else value.astimezone(dt.UTC)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite gives naive datetimes back; every stored time is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


def _wrote_since(wrote: dt.datetime | None, held_at: dt.datetime | None) -> bool:
    """Whether a message the citizen sent (and was answered) came after a notice was held
    (a few minutes before counts: the hold may have been decided just after it arrived)."""
    return wrote is not None and held_at is not None and wrote > held_at - RELEASE_SLACK


class FollowStore:
    """Follows, notices and pushed event ids."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, limit: int = 5,
                 days: int = 90, poll_interval: float = 900.0) -> None:
        self.sessions = sessions
        self.limit = limit
        self.days = days
        self.poll_interval = poll_interval

    def _next_poll(self, now: dt.datetime, spread: float = 1.0) -> dt.datetime:
        """The next poll, spread so follows made together are not polled together
        (``spread`` 1.0: anywhere in the interval, for a new follow; after a poll: one
        interval on and up to ``spread`` of it more, never sooner, as a dossier is asked at
        most once per interval and a change waits at most about one interval for its poll)."""
        if spread >= 1.0:
            seconds = random.uniform(0.0, self.poll_interval)
        else:
            seconds = self.poll_interval * random.uniform(1.0, 1.0 + spread)
        return now + dt.timedelta(seconds=seconds)

    # --- the citizen's side ---------------------------------------------------------------

    async def follow(self, conversation_id: str, code: str, status: str,
                     due_at: dt.datetime | None, changed_at: dt.datetime,
                     now: dt.datetime) -> FollowOutcome:
        """Follow a dossier from its current status (a later change is told, this one not)."""
        channel, user_id = _user_of(conversation_id)
        observed = _in_utc(Observation(code, status, due_at, changed_at))
        async with self.sessions.begin() as session:
            rows = (await session.scalars(select(DossierFollowRow).where(
                DossierFollowRow.conversation_id == conversation_id))).all()
            existing = next((r for r in rows if r.code == observed.code), None)
            if existing is not None and existing.active:
                return FollowOutcome.ALREADY
            if sum(1 for r in rows if r.active) >= self.limit:
                return FollowOutcome.FULL
            values = {"last_status": observed.status, "last_due": observed.due_at,
                      "changed_at": observed.changed_at, "active": True, "end_reason": None,
                      "created_at": now, "expires_at": now + dt.timedelta(days=self.days),
                      "next_poll_at": self._next_poll(now), "failures": 0}
            if existing is not None:
                for key, value in values.items():
                    setattr(existing, key, value)
            else:
                session.add(DossierFollowRow(conversation_id=conversation_id, channel=channel,
                                             user_id=user_id, code=observed.code, version=0,
                                             **values))
        return FollowOutcome.ADDED

    async def unfollow(self, conversation_id: str, code: str | None = None) -> list[str]:
        """Stop following one dossier (or every one when ``code`` is None); the codes
        stopped."""
        condition = [DossierFollowRow.conversation_id == conversation_id,
                     DossierFollowRow.active.is_(True)]
        if code is not None:
            condition.append(DossierFollowRow.code == code)
        async with self.sessions.begin() as session:
            codes = list((await session.scalars(
                update(DossierFollowRow).where(*condition)
                .values(active=False, end_reason="unfollowed")
                .returning(DossierFollowRow.code)
                .execution_options(synchronize_session=False))).all())
        return sorted(codes)

    async def followed(self, conversation_id: str) -> list[Followed]:
        """The dossiers a conversation follows now, oldest first."""
        async with self.sessions() as session:
            rows = (await session.scalars(select(DossierFollowRow).where(
                DossierFollowRow.conversation_id == conversation_id,
                DossierFollowRow.active.is_(True)).order_by(DossierFollowRow.id))).all()
        return [Followed(r.code, r.last_status, _aware(r.last_due),
                         _aware(r.created_at) or r.created_at,
                         _aware(r.expires_at) or r.expires_at) for r in rows]

    # --- learning of changes --------------------------------------------------------------

    async def record(self, observed: Observation, now: dt.datetime,
                     event_id: str | None = None) -> int:
        """Apply what is known of a dossier now: every follow whose last told status (or
        appointment) differs gets one notice, a final status ends the follows, and the next
        poll of the dossier moves one interval on. With ``event_id`` (a pushed event) nothing
        happens when that id was applied before: -1 (also when another worker applied the
        same change at the same moment). The number of notices made otherwise."""
        try:
            return await self._record(_in_utc(observed), now, event_id)
        except IntegrityError:  # the same event or change, applied by another worker
            return -1

    async def _record(self, observed: Observation, now: dt.datetime,
                      event_id: str | None) -> int:
        final = observed.status in FINAL_STATUSES
        async with self.sessions.begin() as session:
            if event_id is not None:  # an id seen before fails here, on the primary key
                session.add(DossierEventRow(event_id=event_id, code=observed.code,
                                            received_at=now))
                await session.flush()
            changed = (await session.execute(
                update(DossierFollowRow)
                .where(DossierFollowRow.code == observed.code,
                       DossierFollowRow.active.is_(True),
                       or_(DossierFollowRow.last_status != observed.status,
                           DossierFollowRow.last_due.is_distinct_from(observed.due_at)),
                       or_(DossierFollowRow.changed_at.is_(None),
                           DossierFollowRow.changed_at <= observed.changed_at))
                .values(last_status=observed.status, last_due=observed.due_at,
                        changed_at=observed.changed_at,
                        version=DossierFollowRow.version + 1,
                        active=not final, end_reason="final" if final else None,
                        failures=0, next_poll_at=self._next_poll(now, AFTER_POLL_SPREAD))
                .returning(DossierFollowRow.id, DossierFollowRow.version,
                           DossierFollowRow.conversation_id, DossierFollowRow.channel,
                           DossierFollowRow.user_id)
                .execution_options(synchronize_session=False))).all()
            if changed:
                await session.execute(insert(DossierNoticeRow), [
                    {"follow_id": row.id, "version": row.version,
                     "conversation_id": row.conversation_id, "channel": row.channel,
                     "user_id": row.user_id, "code": observed.code,
                     "status": observed.status, "due_at": observed.due_at,
                     "changed_at": observed.changed_at, "created_at": now,
                     "state": "pending", "late": False, "attempts": 0,
                     "next_try_at": now} for row in changed])
            await session.execute(
                update(DossierFollowRow)
                .where(DossierFollowRow.code == observed.code,
                       DossierFollowRow.active.is_(True))
                .values(failures=0, next_poll_at=self._next_poll(now, AFTER_POLL_SPREAD)))
        return len(changed)

    async def claim_due(self, now: dt.datetime, lease: float, limit: int) -> list[str]:
        """Take the dossier codes of up to ``limit`` follows whose poll is due, for ``lease``
        seconds (no other worker gets them meanwhile); also ends follows past expiry."""
        until = now + dt.timedelta(seconds=lease)
        async with self.sessions.begin() as session:
            await session.execute(
                update(DossierFollowRow)
                .where(DossierFollowRow.active.is_(True), DossierFollowRow.expires_at <= now)
                .values(active=False, end_reason="expired"))
            due = (select(DossierFollowRow.code)
                   .where(DossierFollowRow.active.is_(True),
                          DossierFollowRow.next_poll_at <= now)
                   .order_by(DossierFollowRow.next_poll_at).limit(limit))
            # every due follow of those dossiers at once: one request per dossier, not per
            # follower
            codes = (await session.scalars(
                update(DossierFollowRow)
                .where(DossierFollowRow.code.in_(due.scalar_subquery()),
                       DossierFollowRow.active.is_(True),
                       DossierFollowRow.next_poll_at <= now)
                .values(next_poll_at=until)
                .returning(DossierFollowRow.code)
                .execution_options(synchronize_session=False))).all()
        return sorted(set(codes))

    async def poll_failed(self, code: str, now: dt.datetime, first_retry: float) -> None:
        """The status API could not answer for a dossier: try again later, the wait doubling
        with each failure in a row (never longer than the poll interval)."""
        async with self.sessions.begin() as session:  # the write first: SQLite's lock
            failures = (await session.scalars(
                update(DossierFollowRow)
                .where(DossierFollowRow.code == code, DossierFollowRow.active.is_(True))
                .values(failures=DossierFollowRow.failures + 1)
                .returning(DossierFollowRow.failures)
                .execution_options(synchronize_session=False))).all()
            wait = min(self.poll_interval, first_retry * 2 ** (max(failures, default=1) - 1))
            await session.execute(
                update(DossierFollowRow)
                .where(DossierFollowRow.code == code, DossierFollowRow.active.is_(True))
                .values(next_poll_at=now + dt.timedelta(seconds=wait))
                .execution_options(synchronize_session=False))

    # --- notices --------------------------------------------------------------------------

    async def claim_notices(self, now: dt.datetime, lease: float, limit: int) -> list[Notice]:
        """Take up to ``limit`` pending notices for ``lease`` seconds."""
        until = now + dt.timedelta(seconds=lease)
        async with self.sessions.begin() as session:
            due = (select(DossierNoticeRow.id)
                   .where(DossierNoticeRow.state == "pending",
                          DossierNoticeRow.next_try_at <= now)
                   .order_by(DossierNoticeRow.id).limit(limit))
            rows = (await session.execute(
                update(DossierNoticeRow)
                .where(DossierNoticeRow.id.in_(due.scalar_subquery()),
                       DossierNoticeRow.state == "pending",
                       DossierNoticeRow.next_try_at <= now)
                .values(next_try_at=until, attempts=DossierNoticeRow.attempts + 1)
                .returning(DossierNoticeRow)
                .execution_options(synchronize_session=False))).scalars().all()
        return sorted((_notice(row) for row in rows), key=lambda n: n.id)

    async def mark(self, notice_id: int, state: str, now: dt.datetime,
                   way: str | None = None, retry_at: dt.datetime | None = None) -> None:
        """Record what became of a notice: ``sent`` (by ``way``), ``held`` (until the
        citizen writes), ``failed``, or ``pending`` again at ``retry_at``."""
        values: dict[str, object] = {"state": state}
        if state == "sent":
            values.update(sent_at=now, way=way)
        elif state == "held":
            values.update(held_at=now)
        elif state == "pending" and retry_at is not None:
            values.update(next_try_at=retry_at)
        async with self.sessions.begin() as session:
            await session.execute(update(DossierNoticeRow)
                                  .where(DossierNoticeRow.id == notice_id).values(**values))

    async def release_held(self, conversation_ids: Iterable[str], now: dt.datetime) -> int:
        """The citizens of these conversations wrote again: their held notices go out now,
        as told late."""
        ids = list(conversation_ids)
        if not ids:
            return 0
        async with self.sessions.begin() as session:
            result = await session.execute(
                update(DossierNoticeRow)
                .where(DossierNoticeRow.state == "held",
                       DossierNoticeRow.conversation_id.in_(ids))
                .values(state="pending", late=True, next_try_at=now))
        return int(getattr(result, "rowcount", 0) or 0)

    async def release_returned(self, now: dt.datetime) -> int:
        """Held notices of citizens who wrote since they were held go out now, as told
        late (after the answer to what they wrote: the message must be answered first).

        The times are compared here, not in SQL: SQLite has no date arithmetic on its
        stored text (``held_at - interval`` there is a number, which every text exceeds),
        so a notice was let out as soon as it was held, outside the reply window."""
        last_answered = (select(func.max(InboxRow.received_at)).where(
            InboxRow.channel == DossierNoticeRow.channel,
            InboxRow.user_id == DossierNoticeRow.user_id,
            InboxRow.status == DONE).scalar_subquery())
        async with self.sessions.begin() as session:
            held = (await session.execute(
                select(DossierNoticeRow.id, DossierNoticeRow.held_at, last_answered)
                .where(DossierNoticeRow.state == "held"))).all()
            returned = [notice_id for notice_id, held_at, wrote in held
                        if _wrote_since(_aware(wrote), _aware(held_at))]
            if not returned:
                return 0
            result = await session.execute(
                update(DossierNoticeRow).where(DossierNoticeRow.id.in_(returned),
                                               DossierNoticeRow.state == "held")
                .values(state="pending", late=True, next_try_at=now)
                .execution_options(synchronize_session=False))
        return int(getattr(result, "rowcount", 0) or 0)

    async def last_message(self, channel: str, user_id: str) -> dt.datetime | None:
        """When the citizen's last message was received (answered or not yet): what a reply
        window such as Zalo's counts from. Staff replies and the bot's own notices do not
        count, which is why this is not the conversation's ``updated_at``."""
        async with self.sessions() as session:
            value = await session.scalar(select(func.max(InboxRow.received_at)).where(
                InboxRow.channel == channel, InboxRow.user_id == user_id))
        return _aware(value)

    async def held_conversations(self) -> list[tuple[str, dt.datetime]]:
        """Conversations with held notices, and since when the oldest was held."""
        async with self.sessions() as session:
            rows = (await session.execute(
                select(DossierNoticeRow.conversation_id, func.min(DossierNoticeRow.held_at))
                .where(DossierNoticeRow.state == "held")
                .group_by(DossierNoticeRow.conversation_id))).all()
        return [(r[0], _aware(r[1]) or dt.datetime.min.replace(tzinfo=dt.UTC)) for r in rows]

    # --- staff ----------------------------------------------------------------------------

    async def followers_by_status(self) -> dict[str, int]:
        """Active follows per dossier status (the staff dashboard)."""
        async with self.sessions() as session:
            rows = (await session.execute(
                select(DossierFollowRow.last_status, func.count())
                .where(DossierFollowRow.active.is_(True))
                .group_by(DossierFollowRow.last_status))).all()
        return {str(status): int(count) for status, count in rows}

    async def notice_counts(self) -> dict[str, int]:
        """Notices by state (sent, pending, held, failed)."""
        async with self.sessions() as session:
            rows = (await session.execute(
                select(DossierNoticeRow.state, func.count())
                .group_by(DossierNoticeRow.state))).all()
        return {str(state): int(count) for state, count in rows}

    async def forget_events(self, before: dt.datetime) -> None:
        """Drop pushed event ids older than the replay window allows again."""
        async with self.sessions.begin() as session:
            await session.execute(delete(DossierEventRow)
                                  .where(DossierEventRow.received_at < before))

    async def history(self, conversation_id: str) -> list[tuple[Followed, bool, str | None]]:
        """Every follow of a conversation (the transcript page): the follow, whether it is
        active, and why it ended."""
        async with self.sessions() as session:
            rows = (await session.scalars(select(DossierFollowRow).where(
                DossierFollowRow.conversation_id == conversation_id)
                .order_by(DossierFollowRow.id))).all()
        return [(Followed(r.code, r.last_status, _aware(r.last_due),
                          _aware(r.created_at) or r.created_at,
                          _aware(r.expires_at) or r.expires_at), r.active, r.end_reason)
                for r in rows]


def _in_utc(observed: Observation) -> Observation:
    return Observation(observed.code, observed.status, _utc(observed.due_at),
                       _utc(observed.changed_at) or observed.changed_at)


def _notice(row: DossierNoticeRow) -> Notice:
    return Notice(row.id, row.conversation_id, row.channel, row.user_id, row.code, row.status,
                  _aware(row.due_at), _aware(row.changed_at) or row.changed_at,
                  _aware(row.created_at) or row.created_at, row.late, row.attempts)


__all__ = ["FINAL_STATUSES", "FollowOutcome", "FollowStore", "Followed", "Notice",
           "Observation"]
