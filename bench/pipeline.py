"""Pipeline benchmark: messages per second and handle() latency on SQLite.

Runs 1,000 scripted messages over 100 conversations through the real pipeline (built-in NLU,
SQLite file, the dossier simulator's data in-process) three ways: all conversations sending
back to back (throughput), paced at a steady offered rate (latency as citizens see it), and
one message at a time. Prints messages/s and p50/p99 latency of ``Pipeline.handle``.
Target: p99 <= 20 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.machine import describe
from bot.core.messages import IncomingMessage
from bot.core.pipeline import Pipeline
from bot.service.composition import build_runtime
from bot.service.settings import Settings

SCRIPT = (
    "chào bạn",
    "làm hộ chiếu cần giấy tờ gì",
    "bao nhiêu tiền",
    "nộp ở đâu",
    "mất bao lâu",
    "lam cccd het bao nhieu tien",
    "khai sinh online được không",
    "tra cứu hồ sơ 000.00.12.H31-261118-0002",
    "giá vàng hôm nay",
    "cảm ơn",
)


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def paced_latencies(pipeline: Pipeline, conversations: int, rate: int,
                          messages: int) -> list[float]:
    """Send ``messages`` at a steady ``rate`` per second, round-robin over the conversations
    (an open loop, like citizens writing independently), and time each handle()."""
    latencies: list[float] = []

    async def one(user: int, text: str) -> None:
        started = time.perf_counter()
        await pipeline.handle(IncomingMessage("bench", f"paced-{user}", text))
        latencies.append((time.perf_counter() - started) * 1000)

    tasks = []
    begin = time.perf_counter()
    for i in range(messages):
        delay = begin + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i % conversations, SCRIPT[(i // conversations)
                                                                        % len(SCRIPT)])))
    await asyncio.gather(*tasks)
    return latencies


async def run(conversations: int, messages: int, rate: int) -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        runtime = await build_runtime(Settings(data_dir=Path(data_dir)))
        pipeline = runtime.pipeline
        await pipeline.handle(IncomingMessage("bench", "warm-up", "chào bạn"))
        per_conversation = messages // conversations
        latencies: list[float] = []

        async def converse(user: int) -> None:
            for i in range(per_conversation):
                text = SCRIPT[i % len(SCRIPT)]
                started = time.perf_counter()
                await pipeline.handle(IncomingMessage("bench", f"user-{user}", text))
                latencies.append((time.perf_counter() - started) * 1000)

        started = time.perf_counter()
        await asyncio.gather(*(converse(u) for u in range(conversations)))
        elapsed = time.perf_counter() - started
        paced = await paced_latencies(pipeline, conversations, rate, messages)
        serial: list[float] = []
        for i in range(200):
            begin = time.perf_counter()
            await pipeline.handle(IncomingMessage("bench", "serial", SCRIPT[i % len(SCRIPT)]))
            serial.append((time.perf_counter() - begin) * 1000)
        await runtime.close()
    print(f"machine: {describe()}")
    print(f"{len(latencies)} messages over {conversations} concurrent conversations, SQLite")
    print(f"throughput: {len(latencies) / elapsed:.0f} messages/s")
    print(f"handle() latency one message at a time: p50 {statistics.median(serial):.2f} ms, "
          f"p99 {percentile(serial, 0.99):.2f} ms (target p99 <= 20 ms)")
    print(f"handle() latency at {rate} messages/s offered over {conversations} conversations: "
          f"p50 {statistics.median(paced):.2f} ms, p99 {percentile(paced, 0.99):.2f} ms "
          f"(target p99 <= 20 ms)")
    print(f"handle() latency with all {conversations} conversations sending back to back "
          f"(closed loop, mostly queueing): p50 {statistics.median(latencies):.2f} ms, "
          f"p99 {percentile(latencies, 0.99):.2f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--conversations", type=int, default=100)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--rate", type=int, default=200, help="offered messages/s, paced run")
    args = parser.parse_args()
    asyncio.run(run(args.conversations, args.messages, args.rate))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
