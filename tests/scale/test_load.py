"""Load: 2 workers, 1,000 conversations, 10,000 messages through the Telegram webhook with 5 %
duplicate deliveries -> every message answered exactly once, in order, all in the transcript.

``EGOVBOT_SCALE_CONVERSATIONS`` / ``EGOVBOT_SCALE_MESSAGES`` shrink it while debugging.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import aiohttp
import pytest

from tests.scale.harness import (
    Citizens,
    Cluster,
    Plan,
    PostgresDatabase,
    RedisServer,
    reference,
    verify,
    wait_answered,
)

pytestmark = pytest.mark.slow  # several worker processes, PostgreSQL and redis-server

CONVERSATIONS = int(os.environ.get("EGOVBOT_SCALE_CONVERSATIONS", "1000"))
MESSAGES = int(os.environ.get("EGOVBOT_SCALE_MESSAGES", "10"))
WORKERS = int(os.environ.get("EGOVBOT_SCALE_WORKERS", "2"))
# generous: other work often shares these cores
TIME_LIMIT = 600


async def test_every_message_answered_once_in_order(tmp_path: Path, database: PostgresDatabase,
                                                    redis: RedisServer) -> None:
    cluster = Cluster(tmp_path, database, redis, WORKERS)
    try:
        async with asyncio.timeout(TIME_LIMIT):
            await cluster.start()
            connector = aiohttp.TCPConnector(limit=CONVERSATIONS + 100)
            async with aiohttp.ClientSession(connector=connector) as session:
                expected = await reference(cluster, session, MESSAGES)
                plan = Plan.build(CONVERSATIONS, MESSAGES, 100_000_000, 1_000_000)
                citizens = Citizens(session, lambda: [w.url for w in cluster.workers])
                started = time.perf_counter()
                await citizens.run(plan)
                await wait_answered(cluster, plan, 300)
                elapsed = time.perf_counter() - started
            verdict = await verify(cluster, plan, expected)
    finally:
        await cluster.stop()  # outside the time limit: always runs to the end
    print(f"{plan.total} messages in {elapsed:.1f} s ({plan.total / elapsed:.0f}/s), "
          f"{citizens.delivery.duplicates} duplicate deliveries, "
          f"{citizens.delivery.retries} retries; {verdict.summary()}")
    assert not verdict.problems, verdict.summary()
    assert not cluster.errors_logged(), cluster.errors_logged()[:20]
