"""Telegram webhook benchmark: updates per second and reply latency, loopback only, SQLite.

Starts ``egovbot serve`` in a child process (Telegram on, webhook mode, a fresh SQLite file, the
dossier simulator) pointed at the fake Bot API from ``tests/fakes/telegram_api.py``, which runs
in this process next to the load generator. Each update is POSTed to ``/webhooks/telegram``
with the secret header; its latency is the time from the start of that POST to the reply's
``sendMessage`` arriving at the fake (the fake and the load generator share one clock).

Runs over 200 conversations:

* closed loop: every conversation sends its next update as soon as the previous one was
  answered (a citizen waiting for the answer) -> updates answered per second (capacity);
* paced: updates offered at a steady rate (default 300/s, the target), round-robin over the
  conversations (an open loop, citizens writing independently) -> latency p50/p99 at that load;
* paced at half the measured capacity -> the latency when the process is not saturated.

To show where the time goes it also measures the core pipeline's CPU per message in-process
(no HTTP, inbox or channel) and the bot process's CPU per update (from /proc).
Telegram's send limits (30 messages/s per bot, 1/s per chat) are switched off in the child,
since the fake stands in for Telegram; with them on, replies would be capped at 30/s.
Bounded: a fixed number of updates per run and a deadline for the whole benchmark.
Targets: >= 300 updates/s, reply latency p99 <= 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict, deque
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.machine import describe, no_gc_pauses
from bench.pipeline import SCRIPT
from bot.core.messages import IncomingMessage
from bot.service.composition import build_runtime
from bot.service.settings import Settings
from tests.fakes.telegram_api import TOKEN, ApiCall, FakeTelegramApi, text_update

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret"
FIRST_CHAT = 100_000_000
TARGET_RATE = 300.0
TARGET_P99_MS = 50.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


class Replies:
    """Matches each reply arriving at the fake to the oldest unanswered update of its chat."""

    def __init__(self) -> None:
        self.sent_at: dict[int, deque[float]] = defaultdict(deque)
        self.waiters: dict[int, asyncio.Future[float]] = {}
        self.latencies: list[float] = []
        self.unmatched = 0
        self.failed = 0

    def expect(self, chat_id: int) -> asyncio.Future[float]:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.waiters[chat_id] = future
        self.sent_at[chat_id].append(time.perf_counter())
        return future

    def sent(self, chat_id: int) -> None:
        self.sent_at[chat_id].append(time.perf_counter())

    def on_call(self, call: ApiCall) -> None:
        if call.method != "sendMessage":
            return
        if call.status != 200:
            self.failed += 1
            return
        chat_id = call.params.get("chat_id")
        if not isinstance(chat_id, int) or not self.sent_at[chat_id]:
            self.unmatched += 1
            return
        latency = (call.at - self.sent_at[chat_id].popleft()) * 1000
        self.latencies.append(latency)
        future = self.waiters.pop(chat_id, None)
        if future is not None and not future.done():
            future.set_result(latency)


async def start_server(api: FakeTelegramApi, data_dir: Path, profile: str | None
                       ) -> tuple[subprocess.Popen[bytes], str, Path]:
    port = free_port()
    env = {**os.environ,
           "EGOVBOT_DATA_DIR": str(data_dir), "EGOVBOT_PORT": str(port),
           "EGOVBOT_SIMULATOR_PORT": str(free_port()),
           "EGOVBOT_TELEGRAM_TOKEN": TOKEN, "EGOVBOT_TELEGRAM_WEBHOOK_SECRET": SECRET,
           "EGOVBOT_TELEGRAM_API_URL": api.api_url, "EGOVBOT_TELEGRAM_MODE": "webhook",
           "EGOVBOT_TELEGRAM_MESSAGES_PER_SECOND": "0",
           "EGOVBOT_TELEGRAM_CHAT_MESSAGES_PER_SECOND": "0"}
    log_path = data_dir / "serve.log"
    with open(log_path, "wb") as log:
        profiler = ["-m", "cProfile", "-o", profile] if profile else []
        process = subprocess.Popen([sys.executable, *profiler, "-m", "bot.cli", "serve"], cwd=ROOT,
                                   env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"egovbot serve exited:\n{log_path.read_text()[-3000:]}")
            try:
                async with session.get(f"{url}/readyz") as response:
                    if response.status == 200:
                        return process, url, log_path
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    process.terminate()
    raise RuntimeError("egovbot serve did not become ready in 180 s")


async def post(session: aiohttp.ClientSession, url: str, update: dict[str, Any],
               accept_ms: list[float]) -> None:
    started = time.perf_counter()
    async with session.post(f"{url}/webhooks/telegram", json=update,
                            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}) as response:
        await response.read()
        if response.status != 200:
            raise RuntimeError(f"webhook answered {response.status}")
    accept_ms.append((time.perf_counter() - started) * 1000)


async def closed_loop(session: aiohttp.ClientSession, url: str, replies: Replies,
                      conversations: int, updates: int, first_update: int,
                      accept_ms: list[float]) -> tuple[int, float]:
    per_conversation = max(1, updates // conversations)

    async def converse(index: int) -> None:
        chat_id = FIRST_CHAT + index
        for turn in range(per_conversation):
            update_id = first_update + index * per_conversation + turn
            answered = replies.expect(chat_id)
            await post(session, url, text_update(chat_id, SCRIPT[turn % len(SCRIPT)],
                                                 update_id), accept_ms)
            await asyncio.wait_for(answered, 30)

    started = time.perf_counter()
    await asyncio.gather(*(converse(i) for i in range(conversations)))
    return per_conversation * conversations, time.perf_counter() - started


async def paced(session: aiohttp.ClientSession, url: str, replies: Replies,
                chats: range, updates: int, rate: float, first_update: int,
                accept_ms: list[float]) -> tuple[float, list[float]]:
    """Offer ``updates`` at ``rate`` per second round-robin over ``chats``; (offered, latencies)."""
    replies.latencies.clear()
    tasks = []
    started = time.perf_counter()
    for i in range(updates):
        delay = started + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        chat_id = chats[i % len(chats)]
        replies.sent(chat_id)
        update = text_update(chat_id, SCRIPT[(i // len(chats)) % len(SCRIPT)],
                             first_update + i)
        tasks.append(asyncio.create_task(post(session, url, update, accept_ms)))
    offered = updates / (time.perf_counter() - started)
    await asyncio.gather(*tasks)
    deadline = time.monotonic() + 60
    while len(replies.latencies) < updates and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return offered, list(replies.latencies)


async def pipeline_cpu(data_dir: Path, conversations: int, messages: int) -> float:
    """CPU ms per message of the core pipeline alone (no HTTP, no inbox, no channel)."""
    runtime = await build_runtime(Settings(data_dir=data_dir))
    await runtime.pipeline.handle(IncomingMessage("bench", "warm-up", "chào bạn"))
    per_conversation = max(1, messages // conversations)

    async def converse(user: int) -> None:
        for i in range(per_conversation):
            await runtime.pipeline.handle(IncomingMessage("bench", f"u{user}",
                                                          SCRIPT[i % len(SCRIPT)]))

    started = time.process_time()
    await asyncio.gather(*(converse(u) for u in range(conversations)))
    used = time.process_time() - started
    await runtime.close()
    return used / (per_conversation * conversations) * 1000


def summary(label: str, samples: list[float]) -> str:
    return (f"{label}: p50 {statistics.median(samples):.1f} ms, "
            f"p99 {percentile(samples, 0.99):.1f} ms")


async def run(conversations: int, updates: int, rate: float, warmup: int,
              profile: str | None) -> int:
    load = os.getloadavg()
    api = FakeTelegramApi()
    await api.start()
    replies = Replies()
    api.listeners.append(replies.on_call)
    with tempfile.TemporaryDirectory() as tmp:
        core_ms = await pipeline_cpu(Path(tmp) / "pipeline", conversations, 1000)
        server_dir = Path(tmp) / "server"
        shutil.copytree(Path(tmp) / "pipeline" / "models", server_dir / "models")
        process, url, log_path = await start_server(api, server_dir, profile)
        try:
            connector = aiohttp.TCPConnector(limit=conversations + 50)
            with no_gc_pauses():
                async with aiohttp.ClientSession(connector=connector) as session:
                    await closed_loop(session, url, replies, min(conversations, 50), warmup,
                                      1, [])
                    replies.latencies.clear()

                    accept_closed: list[float] = []
                    server_cpu, own_cpu = cpu_seconds(process.pid), time.process_time()
                    done, elapsed = await closed_loop(session, url, replies, conversations,
                                                      updates, 100_000, accept_closed)
                    closed_latencies = list(replies.latencies)
                    server_cpu = cpu_seconds(process.pid) - server_cpu
                    own_cpu = time.process_time() - own_cpu
                    throughput = done / elapsed

                    fresh = range(FIRST_CHAT + conversations, FIRST_CHAT + 2 * conversations)
                    accept_paced: list[float] = []
                    offered, paced_latencies = await paced(session, url, replies, fresh, updates,
                                                           rate, 1_000_000, accept_paced)
                    half = max(1.0, throughput / 2)
                    again = range(FIRST_CHAT + 2 * conversations, FIRST_CHAT + 3 * conversations)
                    half_offered, half_latencies = await paced(
                        session, url, replies, again, max(conversations, updates // 2), half,
                        2_000_000, [])
        finally:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
            await api.close()
        errors = [line for line in log_path.read_text(errors="replace").splitlines()
                  if " ERROR " in line or "Traceback" in line]

    p99 = percentile(paced_latencies, 0.99)
    server_ms = server_cpu / done * 1000
    print(f"machine: {describe()}; load average before the run {load[0]:.1f} "
          "(other processes share these cores)")
    print(f"Telegram webhooks: {conversations} conversations, SQLite, loopback; the bot in its "
          f"own process, the fake Bot API and the load generator in this one; Telegram's send "
          f"limits off (the fake stands in for Telegram)")
    print(f"closed loop (each conversation sends its next update once answered): {done} "
          f"updates in {elapsed:.2f} s = {throughput:.0f} updates/s "
          f"(target >= {TARGET_RATE:.0f}) {'OK' if throughput >= TARGET_RATE else 'MISSED'}")
    print("  " + summary("reply latency (mostly queueing)", closed_latencies))
    print("  " + summary("webhook POST -> 200", accept_closed))
    print(f"paced at {offered:.0f} updates/s offered: {len(paced_latencies)}/{updates} answered,"
          f" {summary('reply latency', paced_latencies)} (target p99 <= {TARGET_P99_MS:.0f} ms)"
          f" {'OK' if p99 <= TARGET_P99_MS else 'MISSED'}")
    print("  " + summary("webhook POST -> 200", accept_paced))
    print(f"paced at half the measured capacity ({half_offered:.0f} updates/s): "
          f"{summary('reply latency', half_latencies)}")
    print(f"where the time goes: the bot process spends {server_ms:.2f} ms CPU per update; the "
          f"core pipeline alone (NLU, policy, state, transcript; measured in-process) "
          f"{core_ms:.2f} ms, so webhook HTTP + inbox + Telegram channel + sendMessage "
          f"{server_ms - core_ms:.2f} ms; one process is CPU-bound at about "
          f"{1000 / server_ms:.0f} updates/s (this process: {own_cpu / done * 1000:.2f} ms)")
    print(f"failed sends: {replies.failed}, unmatched replies: {replies.unmatched}, "
          f"server errors logged: {len(errors)}")
    return 0 if not errors and len(paced_latencies) == updates else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--updates", type=int, default=3000, help="updates per run")
    parser.add_argument("--rate", type=float, default=TARGET_RATE,
                        help="offered updates/s in the paced run")
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--deadline", type=float, default=600, help="seconds for everything")
    parser.add_argument("--profile", help="write a cProfile of the server process here")
    args = parser.parse_args()

    async def bounded() -> int:
        return await asyncio.wait_for(run(args.conversations, args.updates, args.rate,
                                          args.warmup, args.profile), args.deadline)

    return asyncio.run(bounded())


if __name__ == "__main__":
    raise SystemExit(main())
