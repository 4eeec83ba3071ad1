"""The status API's request budget: slots per window of the clock, never more than the limit
whoever asks (two workers' Redis clients at once), none in the window's last moments, and
polling waits while Redis is away instead of spending the budget unchecked."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from bot.follow.budget import MARGIN, MemorySlots, RedisSlots, RequestBudget
from tests.scale.harness import RedisServer

HOUR_MS = 3_600_000  # a window no test run crosses... unless it starts at its very end
CUT_MS = HOUR_MS - 100


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_slots_in_memory_spread_over_the_window_and_stop_before_its_end() -> None:
    clock = Clock(1_000.0)
    slots = MemorySlots(clock)
    answers = [await slots.grant(4, 1000, 900) for _ in range(5)]
    # four slots spread over the first 0.9 s, the fifth asked to wait for the next second
    assert answers == [(True, 0.0), (True, 0.225), (True, 0.45), (True, 0.675), (False, 1.0)]
    clock.now = 1_001.5  # a new second: slots again, the first one at once
    assert await slots.grant(4, 1000, 900) == (True, 0.0)
    clock.now = 1_001.95  # the last 0.1 s of a second gives none, even with slots left
    granted, wait = await slots.grant(4, 1000, 900)
    assert not granted and wait == pytest.approx(0.05)


@pytest.mark.slow  # a redis-server
async def test_two_workers_never_share_out_more_than_the_limit(redis: RedisServer) -> None:
    first, second = Redis.from_url(redis.url), Redis.from_url(redis.url)
    try:
        slots = [RedisSlots(first, "test-budget"), RedisSlots(second, "test-budget")]
        answers = await asyncio.gather(*(slots[i % 2].grant(7, HOUR_MS, CUT_MS)
                                         for i in range(40)))
        granted = sorted(wait for ok, wait in answers if ok)
        if len(granted) < 7:  # this run began in the hour's last 0.1 s: nothing to check
            pytest.skip("started at the end of a window")
        assert len(granted) == 7
        # the slots spread over the window up to its cut (a slot already past: at once)
        # (how many are already past depends on the minute of the hour this runs in)
        assert granted[-1] >= granted[-2] >= 0 and granted[-1] <= 6 * CUT_MS / 7 / 1000
        refused = [wait for ok, wait in answers if not ok]
        assert len(refused) == 33 and all(0 < wait <= HOUR_MS / 1000 for wait in refused)
    finally:
        await first.aclose()
        await second.aclose()


@pytest.mark.slow  # a redis-server stopped and started
async def test_polling_waits_while_redis_is_away(redis: RedisServer) -> None:
    client = Redis.from_url(redis.url)
    try:
        budget = RequestBudget(1000.0, RedisSlots(client, "test-away"))
        await budget.take()
        redis.stop()
        waiting = asyncio.create_task(budget.take())
        await asyncio.sleep(1.5)
        assert not waiting.done()  # no request made without the shared count
        await redis.start()
        await asyncio.wait_for(waiting, 30)
        assert budget.taken == 2
    finally:
        await client.aclose()


def test_a_budget_below_one_a_second_is_one_request_per_window() -> None:
    budget = RequestBudget(0.25)
    assert (budget.window, budget.limit) == (4, 1)
    assert RequestBudget(100).limit == 100 and MARGIN < 1
    with pytest.raises(ValueError):
        RequestBudget(0)
