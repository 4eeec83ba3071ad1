"""Followers at scale (``python bench/features.py --part followers``): N followed dossiers, a
share of them changing during a time-compressed hour in the simulator's data, two workers'
pollers and notifiers on one PostgreSQL database with the request budget in a private Redis.

Prints: notices sent per change (must be exactly 1, none for unchanged dossiers), the delay
from a change to its notice (p50/p99, against the poll interval + 10 s), and status-API
requests per second (mean and the busiest second) against the budget.

The two workers run in this one process, each with its own database engine, Redis client,
poller and notifier (the coordination is all through PostgreSQL and Redis, as between
processes); the status API is the simulator's data in-process with a 5 ms answer time.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from redis.asyncio import Redis

from actions.base import Reply
from actions.dossier_source import DossierStatus
from bench.machine import describe
from bot.dossier_api.simulator import change_dossier
from bot.follow.budget import RequestBudget
from bot.follow.notifier import Notifier
from bot.follow.poller import Poller
from bot.service.coordination.rate_limits import RedisRateLimiter
from bot.storage.db import make_engine, make_sessionmaker
from bot.storage.follows import FollowStore
from tests.scale.harness import PostgresDatabase, RedisServer


def code_of(n: int) -> str:
    day = 1 + n // 10_000
    return f"000.00.12.H31-2611{day:02d}-{n % 10_000:04d}"


class Api:
    """The simulator's dossiers, timed: every request is counted by the second."""

    def __init__(self, count: int) -> None:
        self.data: dict[str, dict] = {}
        for n in range(count):
            change_dossier(self.data, code_of(n), "processing",
                           at=dt.datetime.now(dt.UTC) - dt.timedelta(days=2))
        self.per_second: Counter[int] = Counter()

    async def lookup(self, code: str) -> DossierStatus:
        self.per_second[int(time.time())] += 1
        await asyncio.sleep(0.005)
        return DossierStatus.from_api(self.data[code])


class Sink:
    """A channel that records when each citizen was told what."""

    def __init__(self) -> None:
        self.told: list[tuple[str, float, str]] = []

    async def send(self, user_id: str, replies: Sequence[Reply]) -> None:
        for reply in replies:
            self.told.append((user_id, time.monotonic(), reply.text))


async def run(count: int, share: float, interval: float, budget: float, duration: float,
              tick: float) -> None:
    print(describe())
    database = PostgresDatabase()
    await database.create()
    redis_server = RedisServer(Path(tempfile.mkdtemp()))
    await redis_server.start()
    engines, clients = [], []
    try:
        api, sink = Api(count), Sink()
        workers = []
        for _ in range(2):
            engine = make_engine(database.url, pool_size=10)
            engines.append(engine)
            client = Redis.from_url(redis_server.url)
            clients.append(client)
            store = FollowStore(make_sessionmaker(engine), poll_interval=interval)
            poller = Poller(store, api, RequestBudget(RedisRateLimiter(client), budget),
                            tick=tick, retry_after=interval / 4)
            notifier = Notifier(store, {"web": sink}, lambda: "1900 0000", tick=tick,
                                window_hours=48, transactions=False)
            workers.append((store, poller, notifier))
        store = workers[0][0]
        now = dt.datetime.now(dt.UTC)
        for start in range(0, count, 200):
            await asyncio.gather(*(
                store.follow(f"web:c{n}", code_of(n), "processing", None,
                             DossierStatus.from_api(api.data[code_of(n)]).changed_at, now)
                for n in range(start, min(count, start + 200))))
        print(f"{count:,} followed dossiers; poll interval {interval:.0f} s; budget "
              f"{budget:g} requests/s; {share:.0%} change over a compressed hour of "
              f"{duration:.0f} s")
        changing = random.sample(range(count), int(count * share))
        changed_at: dict[str, float] = {}
        started = time.monotonic()
        for _, poller, notifier in workers:
            poller.start()
            notifier.start()
        for k, n in enumerate(changing):
            wait = started + duration * (k + 1) / (len(changing) + 1) - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            change_dossier(api.data, code_of(n), "need_supplement")
            changed_at[f"c{n}"] = time.monotonic()
        deadline = time.monotonic() + interval + 30
        while len(sink.told) < len(changing) and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        polling_end = time.monotonic()
        for _, poller, notifier in workers:
            await poller.stop()
            await notifier.stop()
        per_user = Counter(user for user, _, _ in sink.told)
        once = sum(1 for user in changed_at if per_user[user] == 1)
        extra = sum(n for user, n in per_user.items() if user not in changed_at)
        twice = sum(1 for user in changed_at if per_user[user] > 1)
        delays = sorted(at - changed_at[user] for user, at, _ in sink.told if user in changed_at)
        offset = time.time() - time.monotonic()
        seconds = [api.per_second.get(s, 0)
                   for s in range(int(started + offset) + 1, int(polling_end + offset))]

        def pct(p: float) -> float:
            return delays[min(len(delays) - 1, int(p * len(delays)))] if delays else float("nan")

        print(f"changes: {len(changing)}; told exactly once: {once}; twice or more: {twice}; "
              f"missed: {len(changing) - once - twice}; notices for unchanged dossiers: {extra}")
        print(f"delay change → notice: p50 {pct(0.5):.1f} s, p99 {pct(0.99):.1f} s, max "
              f"{delays[-1] if delays else float('nan'):.1f} s (target p99 ≤ interval + 10 s "
              f"= {interval + 10:.0f} s)")
        print(f"status-API requests/s: mean {sum(seconds) / max(1, len(seconds)):.1f}, busiest "
              f"second {max(seconds, default=0)} (budget {budget:g}); "
              f"{sum(api.per_second.values()):,} requests in {polling_end - started:.0f} s")
    finally:
        for client in clients:
            await client.aclose()
        for engine in engines:
            await engine.dispose()
        redis_server.stop()
        await database.drop()


def main(argv: Sequence[str]) -> None:
    """Parse the part's options and run it."""
    parser = argparse.ArgumentParser(prog="features.py --part followers")
    parser.add_argument("--follows", type=int, default=10_000)
    parser.add_argument("--share", type=float, default=0.05,
                        help="share of the dossiers changing in the compressed hour")
    parser.add_argument("--interval", type=float, default=120.0, help="poll interval, s")
    parser.add_argument("--budget", type=float, default=100.0, help="requests per second")
    parser.add_argument("--duration", type=float, default=120.0,
                        help="seconds the compressed hour lasts")
    parser.add_argument("--tick", type=float, default=0.2)
    args = parser.parse_args(argv)
    asyncio.run(run(args.follows, args.share, args.interval, args.budget, args.duration,
                    args.tick))
