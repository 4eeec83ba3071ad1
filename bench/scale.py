"""Scale-out benchmark: Telegram webhook throughput and reply latency for 1, 2 and 4 workers on
PostgreSQL + Redis, 1,000 concurrent conversations, loopback only.

For each worker count it starts W ``egovbot serve`` processes (tests/scale/harness.py: a fresh
PostgreSQL database, a private redis-server, one dossier simulator, the fake Telegram Bot API in
this process) and POSTs updates round-robin to the workers, as a load balancer would:

* closed loop (capacity): each of the 1,000 conversations sends its next message once the
  previous one was answered -> messages answered per second;
* paced: messages offered at a steady rate (default 500/s) round-robin over 1,000 fresh
  conversations (an open loop) -> reply latency p50/p99, from the start of the webhook POST to
  the first ``sendMessage`` of that message arriving at the fake (one clock: same process).

Messages mix dossier-code lookups and bench/pipeline.py's SCRIPT; each message's replies are
told apart by the serial replay of the same conversation (the harness's ``reference``). Peak
RSS per worker comes from /proc/<pid>/status (VmRSS), sampled every 0.25 s. Telegram's send
limits are off (the fake stands in for Telegram). Bounded by --deadline.
Targets: >= 500 messages/s at p99 <= 100 ms with 2 workers; RSS <= 250 MB per worker.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.machine import describe, no_gc_pauses
from bench.webhooks import cpu_seconds, percentile
from tests.fakes.telegram_api import ApiCall
from tests.scale.harness import (
    Citizens,
    Cluster,
    Message,
    Plan,
    PostgresDatabase,
    RedisServer,
    reference,
)

TARGET_RATE = 500.0
TARGET_P99_MS = 100.0
TARGET_RSS_MB = 250.0


class Tracker:
    """Maps each sendMessage to the message it answers (per chat, by the reply counts of the
    serial replay) and times the first reply of every message."""

    def __init__(self, citizens: Citizens, counts: dict[int, list[int]]) -> None:
        self.citizens = citizens
        self.counts = counts  # pattern -> replies per message position
        self.order: dict[int, list[Message]] = {}
        self.pattern: dict[int, int] = {}
        self.received: dict[int, int] = defaultdict(int)
        self.latencies: list[float] = []
        self.done: dict[int, asyncio.Event] = {}

    def add(self, plan: Plan) -> None:
        for messages in plan.conversations:
            chat = messages[0].chat_id
            self.order[chat] = messages
            self.pattern[chat] = plan.patterns[chat]
            for message in messages:
                self.done[message.update_id] = asyncio.Event()

    def on_call(self, call: ApiCall) -> None:
        if call.method != "sendMessage" or call.status != 200:
            return
        chat = int(call.params["chat_id"])
        if chat not in self.order:
            return
        index = self.received[chat]
        self.received[chat] += 1
        counts = self.counts[self.pattern[chat]]
        position, before = 0, 0
        while position < len(counts) and before + counts[position] <= index:
            before += counts[position]
            position += 1
        if position >= len(counts):
            return
        message = self.order[chat][position]
        if index == before:
            posted = self.citizens.delivery.posted_at.get(message.update_id)
            if posted is not None:
                self.latencies.append((call.at - posted) * 1000)
        if index == before + counts[position] - 1:
            self.done[message.update_id].set()


@dataclass
class Result:
    workers: int
    capacity: float
    closed_p50: float
    offered: float
    answered: int
    total: int
    p50: float
    p99: float
    accept_p99: float
    cpu_ms: float
    rss: list[float]


async def run_workers(workers: int, workdir: Path, database: PostgresDatabase,
                      redis: RedisServer, conversations: int, per_conversation: int,
                      rate: float, first_chat: int,
                      expected: dict[int, list[list[str]]] | None
                      ) -> tuple[Result, dict[int, list[list[str]]]]:
    cluster = Cluster(workdir / f"w{workers}", database, redis, workers)
    await cluster.start()
    try:
        connector = aiohttp.TCPConnector(limit=conversations + 100)
        with no_gc_pauses():
            async with aiohttp.ClientSession(connector=connector) as session:
                if expected is None:
                    expected = await reference(cluster, session, per_conversation)
                counts = {p: [len(g) for g in groups] for p, groups in expected.items()}
                citizens = Citizens(session, lambda: [w.url for w in cluster.workers],
                                    duplicate_rate=0.0)
                tracker = Tracker(citizens, counts)
                cluster.api.listeners.append(tracker.on_call)

                async def converse(messages: list[Message]) -> None:
                    for message in messages:
                        await citizens.send(message)
                        await asyncio.wait_for(tracker.done[message.update_id].wait(), 60)

                warm = Plan.build(min(50, conversations), per_conversation, first_chat, first_chat)
                tracker.add(warm)
                await asyncio.gather(*(converse(c) for c in warm.conversations))

                closed = Plan.build(conversations, per_conversation, first_chat + 10_000,
                                    first_chat + 100_000, first_code=first_chat % 1_000_000)
                tracker.add(closed)
                tracker.latencies.clear()
                citizens.delivery.accept_ms.clear()
                cpu = sum(cpu_seconds(w.process.pid) for w in cluster.workers if w.process)
                started = time.perf_counter()
                await asyncio.gather(*(converse(c) for c in closed.conversations))
                elapsed = time.perf_counter() - started
                cpu = sum(cpu_seconds(w.process.pid) for w in cluster.workers if w.process) - cpu
                capacity = closed.total / elapsed
                closed_p50 = statistics.median(tracker.latencies)

                paced = Plan.build(conversations, per_conversation, first_chat + 20_000,
                                   first_chat + 200_000, first_code=first_chat % 1_000_000 + 50_000)
                tracker.add(paced)
                tracker.latencies.clear()
                citizens.delivery.accept_ms.clear()
                order = [c[k] for k in range(per_conversation) for c in paced.conversations]
                tasks = []
                started = time.perf_counter()
                for i, message in enumerate(order):
                    delay = started + i / rate - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    tasks.append(asyncio.create_task(citizens.send(message)))
                offered = len(order) / (time.perf_counter() - started)
                await asyncio.gather(*tasks)
                deadline = time.monotonic() + 60
                while (len(tracker.latencies) < len(order) and time.monotonic() < deadline):
                    await asyncio.sleep(0.1)
                latencies = list(tracker.latencies)
                accept = list(citizens.delivery.accept_ms)
    finally:
        await cluster.stop()
    errors = cluster.errors_logged()
    if errors:
        print(f"  {workers} worker(s): {len(errors)} error lines logged, e.g. {errors[0][:200]}")
    return Result(workers, capacity, closed_p50, offered, len(latencies), len(order),
                  statistics.median(latencies) if latencies else float("nan"),
                  percentile(latencies, 0.99) if latencies else float("nan"),
                  percentile(accept, 0.99) if accept else float("nan"),
                  cpu / closed.total * 1000, [w.peak_rss_mb for w in cluster.workers]), expected


async def run(worker_counts: list[int], conversations: int, per_conversation: int,
              rate: float) -> int:
    load = os.getloadavg()
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="egovbot-scale-") as tmp:
        database = PostgresDatabase()
        await database.create()
        redis = RedisServer(Path(tmp))
        await redis.start()
        expected = None
        try:
            for n, workers in enumerate(worker_counts):
                result, expected = await run_workers(
                    workers, Path(tmp), database, redis, conversations, per_conversation, rate,
                    100_000_000 * (n + 1), expected)
                results.append(result)
                print(f"  {workers} worker(s) done: {result.capacity:.0f} msg/s, "
                      f"p99 {result.p99:.1f} ms", flush=True)
        finally:
            redis.stop()
            await database.drop()
    print(f"machine: {describe()}; load average before the run {load[0]:.1f} "
          "(other processes share these cores)")
    print(f"Telegram webhooks on PostgreSQL + Redis, {conversations} conversations, "
          f"{per_conversation} messages each per run, round-robin over the workers; the fake Bot "
          "API and the load generator in this process; Telegram's send limits off")
    print("| workers | capacity (closed loop) | offered | reply p50 | reply p99 | POST->200 p99 "
          "| CPU/msg (workers) | peak RSS per worker |")
    print("| --: | --: | --: | --: | --: | --: | --: | --- |")
    ok = True
    for r in results:
        print(f"| {r.workers} | {r.capacity:.0f} msg/s | {r.offered:.0f} msg/s "
              f"({r.answered}/{r.total} answered) | {r.p50:.1f} ms | {r.p99:.1f} ms "
              f"| {r.accept_p99:.1f} ms | {r.cpu_ms:.2f} ms "
              f"| {', '.join(f'{m:.0f}' for m in r.rss)} MB |")
        ok = ok and r.answered == r.total and max(r.rss) <= TARGET_RSS_MB
        if r.workers == 2:
            met = r.capacity >= TARGET_RATE and r.p99 <= TARGET_P99_MS
            print(f"2 workers: target >= {TARGET_RATE:.0f} msg/s at p99 <= {TARGET_P99_MS:.0f} "
                  f"ms: {'OK' if met else 'MISSED'}")
    print(f"RSS target <= {TARGET_RSS_MB:.0f} MB per worker: "
          f"{'OK' if all(max(r.rss) <= TARGET_RSS_MB for r in results) else 'MISSED'}")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", default="1,2,4", help="comma-separated worker counts")
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=4, help="per conversation per run")
    parser.add_argument("--rate", type=float, default=TARGET_RATE,
                        help="offered messages/s in the paced run")
    parser.add_argument("--deadline", type=float, default=1200, help="seconds for everything")
    args = parser.parse_args()

    async def bounded() -> int:
        return await asyncio.wait_for(
            run([int(w) for w in args.workers.split(",")], args.conversations, args.messages,
                args.rate), args.deadline)

    return asyncio.run(bounded())


if __name__ == "__main__":
    raise SystemExit(main())
