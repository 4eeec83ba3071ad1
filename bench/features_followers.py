"""Followers at scale (``python bench/features.py --part followers``): N followed dossiers, a
share of them changing during a time-compressed hour in the status simulator, and the real
service, ``egovbot serve --workers 2`` (two worker processes, each with its poller and
notifier), on PostgreSQL (a fresh database on 127.0.0.1:5432) and Redis (127.0.0.1:6379 unless
``--redis-url``).

The status simulator (``create_simulator_app``) runs in this process on a loopback port: the
workers reach it over HTTP as they would the real API, this process changes its dossiers and
counts every status request by the second of the clock as it arrives. The follows are web
conversations, so a notice is told when a worker puts it in the conversation's outbox (where
the widget fetches it); the delay is that moment minus the moment of the change.

Prints the machine line, then: changes told exactly once (and twice, missed, notices for
unchanged dossiers), the delay from change to notice (p50/p99/max against the poll interval
+ 10 s), and status-API requests per second (mean, the busiest second) against the budget.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from actions.dossier_source import DossierStatus
from bench.machine import describe
from bench.webhooks import free_port
from bot.dossier_api.simulator import DOSSIERS_KEY, change_dossier, create_simulator_app
from bot.storage.db import make_engine, make_sessionmaker
from bot.storage.follows import FollowStore
from tests.scale.harness import PYTHON, ROOT, PostgresDatabase

TOKEN = "bench-simulator-token"


def code_of(n: int) -> str:
    day = 1 + n // 10_000
    return f"000.00.12.H31-2612{day:02d}-{n % 10_000:04d}"  # none of the seeded ones


class Simulator:
    """The status simulator on loopback, its dossiers at hand, its requests counted."""

    def __init__(self, count: int) -> None:
        self.app = create_simulator_app(TOKEN)
        self.data: dict[str, dict] = self.app[DOSSIERS_KEY]
        before = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
        for n in range(count):
            change_dossier(self.data, code_of(n), "processing", at=before)
        self.per_second: Counter[int] = Counter()
        self.app.middlewares.append(self._count)
        self.server = TestServer(self.app, host="127.0.0.1")

    @web.middleware
    async def _count(self, request: web.Request,
                     handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                     ) -> web.StreamResponse:
        if request.path.startswith("/dossiers/"):
            self.per_second[int(time.time())] += 1
        return await handler(request)

    async def start(self) -> str:
        await self.server.start_server()
        return str(self.server.make_url("")).rstrip("/")


class Service:
    """``egovbot serve --workers 2`` as a process group of its own."""

    def __init__(self, env: dict[str, str], workdir: Path, workers: int) -> None:
        self.port = free_port()
        self.env = {**os.environ, **env, "EGOVBOT_PORT": str(self.port)}
        self.log_path = workdir / "serve.log"
        self.workers = workers
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self, timeout: float = 300) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [PYTHON, "-m", "bot.cli", "serve", "--workers", str(self.workers)], cwd=ROOT,
                env=self.env, stdout=log, stderr=subprocess.STDOUT)
        pids: set[int] = set()
        deadline = time.monotonic() + timeout
        while len(pids) < self.workers:  # each worker answered (new connections spread)
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the service did not start:\n"
                                   + self.log_path.read_text()[-3000:])
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with aiohttp.ClientSession(
                        timeout=aiohttp.ClientTimeout(total=2),
                        connector=aiohttp.TCPConnector(force_close=True)) as session, \
                        session.get(f"http://127.0.0.1:{self.port}/healthz") as response:
                    if response.status == 200:
                        pids.add(int((await response.json())["pid"]))
            await asyncio.sleep(0.2)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # the parent stops its workers
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


async def follow_all(database: PostgresDatabase, simulator: Simulator, count: int,
                     interval: float) -> None:
    """N web conversations, each following one dossier (as after "theo dõi hồ sơ")."""
    engine = make_engine(database.url, pool_size=10)
    try:
        store = FollowStore(make_sessionmaker(engine), poll_interval=interval)
        now = dt.datetime.now(dt.UTC)
        for start in range(0, count, 200):
            await asyncio.gather(*(
                store.follow(f"web:c{n}", code_of(n), "processing", None,
                             DossierStatus.from_api(simulator.data[code_of(n)]).changed_at,
                             now)
                for n in range(start, min(count, start + 200))))
    finally:
        await engine.dispose()


def percentile(values: Sequence[float], p: float) -> float:
    return values[min(len(values) - 1, int(p * len(values)))] if values else float("nan")


async def run(args: argparse.Namespace) -> None:
    print(describe())
    database = PostgresDatabase()
    await database.create()
    simulator = Simulator(args.follows)
    workdir = Path(tempfile.mkdtemp(prefix="egovbot-followers-"))
    service: Service | None = None
    try:
        url = await simulator.start()
        await follow_all(database, simulator, args.follows, args.interval)
        env = {
            "EGOVBOT_DATA_DIR": str(workdir / "var"),
            "EGOVBOT_DATABASE_URL": database.url,
            "EGOVBOT_REDIS_URL": args.redis_url,
            "EGOVBOT_DOSSIER_API_URL": url,
            "EGOVBOT_DOSSIER_API_TOKEN": TOKEN,
            "EGOVBOT_FOLLOW_POLL_INTERVAL": str(args.interval),
            "EGOVBOT_FOLLOW_REQUESTS_PER_SECOND": str(args.budget),
        }
        service = Service(env, workdir, args.workers)
        started_wall = time.time()
        await service.start()
        print(f"{args.follows:,} followed dossiers; {args.workers} worker processes "
              f"(egovbot serve --workers {args.workers}); poll interval {args.interval:.0f} s; "
              f"budget {args.budget:g} requests/s; {args.share:.0%} change over a compressed "
              f"hour of {args.duration:.0f} s; Redis {args.redis_url}")
        changing = random.sample(range(args.follows), int(args.follows * args.share))
        changed_at: dict[str, dt.datetime] = {}
        begin = time.monotonic()
        for k, n in enumerate(changing):
            wait = begin + args.duration * (k + 1) / (len(changing) + 1) - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            change_dossier(simulator.data, code_of(n), "need_supplement")
            changed_at[f"web:c{n}"] = dt.datetime.now(dt.UTC)
        deadline = time.monotonic() + args.interval + 30
        told: list[tuple[str, dt.datetime]] = []
        while time.monotonic() < deadline:
            told = [(str(c), at) for c, at in await database.fetch(
                "SELECT conversation_id, created_at FROM outbox")]
            if len({c for c, _ in told} & changed_at.keys()) >= len(changed_at):
                break
            await asyncio.sleep(1.0)
        await asyncio.sleep(3.0)  # anything sent twice would show by now
        told = [(str(c), at) for c, at in await database.fetch(
            "SELECT conversation_id, created_at FROM outbox")]
        ended_wall = time.time()
        service.stop()
        for cid, reply in await database.fetch(
                "SELECT conversation_id, reply FROM outbox WHERE NOT conversation_id = ANY(:c)",
                c=list(changed_at)):
            print(f"  a notice for an unchanged dossier: {cid}: {str(reply)[:300]}")
        per_user = Counter(c for c, _ in told)
        once = sum(1 for c in changed_at if per_user[c] == 1)
        twice = sum(1 for c in changed_at if per_user[c] > 1)
        extra = sum(n for c, n in per_user.items() if c not in changed_at)
        delays = sorted((at - changed_at[c]).total_seconds() for c, at in told
                        if c in changed_at)
        first = min(simulator.per_second, default=int(started_wall))  # the first poll's second
        seconds = [simulator.per_second.get(s, 0) for s in range(first, int(ended_wall))]
        busiest = max(seconds, default=0)
        print(f"changes: {len(changed_at)}; told exactly once: {once}; twice or more: {twice}; "
              f"missed: {len(changed_at) - once - twice}; notices for unchanged dossiers: "
              f"{extra}")
        p99 = percentile(delays, 0.99)
        print(f"delay change → notice: p50 {percentile(delays, 0.5):.1f} s, p99 {p99:.1f} s, "
              f"max {delays[-1] if delays else float('nan'):.1f} s (target p99 ≤ interval + "
              f"10 s = {args.interval + 10:.0f} s: "
              f"{'met' if p99 <= args.interval + 10 else 'MISSED'})")
        at_budget = sum(1 for n in seconds if n >= args.budget)
        print(f"status-API requests/s: mean {sum(seconds) / max(1, len(seconds)):.1f}, busiest "
              f"second {busiest} (budget {args.budget:g}: "
              f"{'within' if busiest <= args.budget else 'EXCEEDED'}); seconds at the budget: "
              f"{at_budget}; {sum(simulator.per_second.values()):,} requests in "
              f"{ended_wall - started_wall:.0f} s")
    finally:
        if service is not None:
            service.stop()
        await simulator.server.close()
        await database.drop()


def main(argv: Sequence[str]) -> int:
    """Parse the part's options and run it."""
    parser = argparse.ArgumentParser(prog="features.py --part followers")
    parser.add_argument("--follows", type=int, default=10_000)
    parser.add_argument("--share", type=float, default=0.05,
                        help="share of the dossiers changing in the compressed hour")
    parser.add_argument("--interval", type=float, default=150.0, help="poll interval, s")
    parser.add_argument("--budget", type=float, default=100.0, help="requests per second")
    parser.add_argument("--duration", type=float, default=150.0,
                        help="seconds the compressed hour lasts")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args(argv)
    asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
