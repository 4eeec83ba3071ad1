"""Exactly one notice per change of a followed dossier: two workers polling one database
(SQLite, and PostgreSQL with the budget in Redis), a change both pushed and polled, a restart,
a final status, a failing status API."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
from redis.asyncio import Redis

from actions.base import Reply
from bot.follow.budget import RedisSlots
from bot.follow.notifier import Notifier
from bot.service.coordination.locks import ConversationLocks
from bot.storage.follows import FollowStore, Observation
from tests.follow.conftest import OpenStore
from tests.follow.support import (
    CODE,
    OTHER,
    ChangingDossiers,
    RecordingSender,
    later,
    worker,
)


async def _follow(store: FollowStore, conversation: str, dossiers: ChangingDossiers,
                  code: str) -> None:
    dossier = await dossiers.lookup(code)
    outcome = await store.follow(conversation, code, dossier.status, dossier.due_at,
                                 dossier.changed_at, dt.datetime.now(dt.UTC))
    assert outcome == "added"


async def _two_workers_round(first: FollowStore, second: FollowStore) -> None:
    dossiers = ChangingDossiers()
    sender = RecordingSender()
    for n in range(6):
        await _follow(first, f"web:u{n}", dossiers, CODE if n % 2 else OTHER)
    workers = [worker(first, dossiers, sender), worker(second, dossiers, sender)]
    dossiers.change(CODE, "need_supplement")
    dossiers.change(OTHER, "processing", "2026-12-30T17:00:00+07:00")
    for _ in range(2):  # both workers poll everything due (far in the future) at once
        await asyncio.gather(*(p.run_once(later(10_000)) for p, _ in workers))
        await asyncio.gather(*(n.run_once(later(10_000)) for _, n in workers))
    told = sorted(user for user, _ in sender.sent)
    assert told == [f"u{n}" for n in range(6)]  # each follower once, whoever polled
    assert all("Cần bổ sung hồ sơ" in r.text for u, r in sender.sent if int(u[1:]) % 2)
    assert all("30/12/2026" in r.text for u, r in sender.sent if not int(u[1:]) % 2)
    assert all(r.buttons and r.buttons[0].payload.startswith("/unfollow_dossier")
               for _, r in sender.sent)
    assert await first.notice_counts() == {"sent": 6}


async def test_two_workers_on_sqlite_tell_each_change_once(
        tmp_path: Path, open_store: OpenStore) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'f.db'}"
    first = await open_store(url)
    await _two_workers_round(first, await open_store(url))


@pytest.mark.slow
async def test_two_workers_on_postgresql_and_redis_tell_each_change_once(
        database: object, redis: object, open_store: OpenStore) -> None:
    url = database.url  # type: ignore[attr-defined]
    first, second = await open_store(url), await open_store(url)
    client = Redis.from_url(redis.url)  # type: ignore[attr-defined]
    try:
        dossiers, sender = ChangingDossiers(), RecordingSender()
        for n in range(20):
            await _follow(first, f"telegram:{n}", dossiers, CODE if n % 2 else OTHER)
        dossiers.lookups = 0
        workers = [worker(first, dossiers, sender, RedisSlots(client)),
                   worker(second, dossiers, sender, RedisSlots(client))]
        dossiers.change(CODE, "done")
        dossiers.change(OTHER, "need_supplement")
        for _ in range(3):
            await asyncio.gather(*(p.run_once(later(10_000)) for p, _ in workers),
                                 *(n.run_once(later(10_000)) for _, n in workers))
        assert sorted(int(u) for u, _ in sender.sent) == list(range(20))
        # the finished dossier's followers were told it ended, and are not followed any more
        assert await first.followers_by_status() == {"need_supplement": 10}
        # one request per dossier, not per follower nor per worker; the next is an interval on
        assert dossiers.lookups == 2
    finally:
        await client.aclose()


async def test_a_change_pushed_and_polled_is_told_once(
        tmp_path: Path, open_store: OpenStore) -> None:
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'f.db'}")
    dossiers, sender = ChangingDossiers(), RecordingSender()
    await _follow(store, "web:a", dossiers, CODE)
    poller, notifier = worker(store, dossiers, sender)
    changed = dossiers.change(CODE, "need_supplement")
    now = dt.datetime.now(dt.UTC)
    pushed = Observation(CODE, "need_supplement", changed.due_at, changed.changed_at)
    assert await store.record(pushed, now, event_id="e-1") == 1
    assert await store.record(pushed, now, event_id="e-1") == -1  # the same event again
    assert await store.record(pushed, now, event_id="e-2") == 0  # another id, same change
    await poller.run_once(later(10_000))
    await notifier.run_once(later(10_000))
    await notifier.run_once(later(10_000))
    assert len(sender.sent) == 1
    # an older observation arriving late (a slow poll) does not undo the newer one
    stale = Observation(CODE, "processing", changed.due_at, changed.changed_at
                        - dt.timedelta(hours=1))
    assert await store.record(stale, now) == 0


async def test_a_restart_sends_what_was_pending_and_a_dead_workers_claim_expires(
        tmp_path: Path, open_store: OpenStore) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'f.db'}"
    store = await open_store(url)
    dossiers = ChangingDossiers()
    await _follow(store, "web:a", dossiers, CODE)
    await _follow(store, "web:b", dossiers, OTHER)
    dossiers.change(CODE, "need_supplement")
    dossiers.change(OTHER, "processing")
    poller, _ = worker(store, dossiers, RecordingSender())
    await poller.run_once(later(10_000))
    # a worker claims the notices and dies before sending them
    claimed = await store.claim_notices(later(10_000), lease=60, limit=10)
    assert len(claimed) == 2
    restarted = await open_store(url)
    sender = RecordingSender(fail_temporarily=1)
    _, notifier = worker(restarted, dossiers, sender)
    assert await notifier.run_once(later(10_030)) == 0  # still leased
    await notifier.run_once(later(10_061))  # the lease ended: one fails, is retried later
    await notifier.run_once(later(10_200))
    assert sorted(u for u, _ in sender.sent) == ["a", "b"]
    assert await notifier.run_once(later(20_000)) == 0


async def test_limits_expiry_and_a_failing_api(
        tmp_path: Path, open_store: OpenStore) -> None:
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'f.db'}", limit=2, days=90,
                             poll_interval=600)
    dossiers = ChangingDossiers()
    now = dt.datetime.now(dt.UTC)
    for code, expected in ((CODE, "added"), (CODE, "already"), (OTHER, "added"),
                           ("000.00.12.H31-261124-0008", "full")):
        dossier = await dossiers.lookup(code)
        assert await store.follow("web:x", code, dossier.status, dossier.due_at,
                                  dossier.changed_at, now) == expected
    assert await store.unfollow("web:x", OTHER) == [OTHER]
    assert [f.code for f in await store.followed("web:x")] == [CODE]
    [followed] = await store.followed("web:x")
    assert followed.expires_at - now == dt.timedelta(days=90)
    poller, _ = worker(store, dossiers, RecordingSender())
    dossiers.failing = True
    before = dossiers.lookups
    assert await poller.run_once(later(700)) == 1
    assert dossiers.lookups == before + 1
    assert await poller.run_once(later(700)) == 0  # backing off: not asked again at once
    assert await poller.run_once(later(702)) == 1
    # past 90 days the follow ends by itself
    assert await poller.run_once(now + dt.timedelta(days=91)) == 0
    assert await store.followed("web:x") == []


async def test_a_notice_waits_for_the_reply_being_sent_to_the_same_citizen(
        tmp_path: Path, open_store: OpenStore) -> None:
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'f.db'}")
    dossiers, sender = ChangingDossiers(), RecordingSender()
    await _follow(store, "web:a", dossiers, CODE)
    locks = ConversationLocks()
    poller, _ = worker(store, dossiers, sender)
    notifier = Notifier(store, {"web": sender}, lambda: "1900 1234", tick=0.05,
                        window_hours=48, transactions=False, locks=locks)
    dossiers.change(CODE, "need_supplement")
    await poller.run_once(later(10_000))
    async with locks.hold("web:a"):  # the dispatcher is answering this citizen
        notifying = asyncio.create_task(notifier.run_once(later(10_000)))
        await asyncio.sleep(0.3)
        sender.sent.append(("a", Reply("the answer")))
        assert not notifying.done()
    await notifying
    assert [reply.text.split("\n")[0] for _, reply in sender.sent] == [
        "the answer", f"🔔 Hồ sơ {CODE} có cập nhật:"]
