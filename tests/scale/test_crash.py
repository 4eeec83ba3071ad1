"""Crash: kill -9 one of 2 workers in the middle of the load, start it again -> every message
answered, none lost; replies sent twice only for messages whose sending was in doubt (inbox
rows 'answered' at the moment of the kill), and at most that many."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import aiohttp
import pytest

from tests.scale.harness import (
    CHANNEL,
    Citizens,
    Cluster,
    Plan,
    PostgresDatabase,
    RedisServer,
    reference,
    verify,
    wait_answered,
    wait_until,
)

pytestmark = pytest.mark.slow  # several worker processes, PostgreSQL and redis-server

CONVERSATIONS = int(os.environ.get("EGOVBOT_SCALE_CRASH_CONVERSATIONS", "200"))
MESSAGES = 10
TIME_LIMIT = 420  # generous: other work often shares the cores


async def test_a_worker_killed_mid_load_loses_nothing(tmp_path: Path, database: PostgresDatabase,
                                                      redis: RedisServer) -> None:
    cluster = Cluster(tmp_path, database, redis, 2)
    victim = cluster.workers[1]
    try:
        async with asyncio.timeout(TIME_LIMIT):
            await cluster.start()
            connector = aiohttp.TCPConnector(limit=CONVERSATIONS + 100)
            async with aiohttp.ClientSession(connector=connector) as session:
                expected = await reference(cluster, session, MESSAGES)
                plan = Plan.build(CONVERSATIONS, MESSAGES, 200_000_000, 2_000_000)
                citizens = Citizens(session, lambda: [w.url for w in cluster.workers])
                load = asyncio.create_task(citizens.run(plan))
                await wait_until(lambda: len(citizens.delivery.posted_at) >= plan.total * 0.4,
                                 120, 0.02, "40 % of the load posted")
                cluster.kill(victim)
                posted = len(citizens.delivery.posted_at)
                rows = await database.fetch(
                    "SELECT message_id FROM inbox WHERE channel = :c AND status = 'answered'",
                    c=CHANNEL)
                in_doubt = {int(r[0]) for r in rows}
                pending = await database.fetch(
                    "SELECT count(*) FROM inbox WHERE status = 'pending'")
                await cluster.start_worker(victim)
                await load
                await wait_answered(cluster, plan, 300)
            verdict = await verify(cluster, plan, expected, in_doubt=in_doubt)
    finally:
        await cluster.stop()  # outside the time limit: always runs to the end
    print(f"killed worker 1 after {posted} of {plan.total} updates posted: "
          f"{len(in_doubt)} rows 'answered' (in doubt), {pending[0][0]} pending; "
          f"{citizens.delivery.retries} retried POSTs {dict(citizens.delivery.statuses)}; "
          f"{verdict.summary()}")
    assert not verdict.problems, verdict.summary()
    assert verdict.extra_replies <= verdict.in_doubt_replies, verdict.summary()
