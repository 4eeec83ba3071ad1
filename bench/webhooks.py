"""Telegram webhook benchmark: updates per second and reply latency, loopback only, SQLite.

Starts ``egovbot serve`` in a child process (Telegram on, webhook mode, a fresh SQLite file, the
dossier simulator) pointed at the fake Bot API from ``tests/fakes/telegram_api.py``, which runs
in this process next to the load generator. Each update is POSTed to ``/webhooks/telegram``
with the secret header; its latency is the time from the start of that POST to the reply's
``sendMessage`` arriving at the fake (the fake and the load generator share one clock).

The same run also starts the echo floor (``bench/echo_floor.py``: aiohttp in, JSON, the
secret, ``sendMessage`` with aiohttp's client; no NLU, no storage) in its own process against
the same fake, and every figure is printed as a ratio to it (issue 16: the machines' speed moves
too much for absolute targets). Over 200 conversations, egovbot and the floor in turn:

* closed loop: every conversation sends its next update as soon as the previous one was
  answered (a citizen waiting for the answer) -> updates answered per second (capacity) and
  the server process's CPU per update (from /proc, over the measured windows), in three
  rounds per server taking turns (each round the next turns of the same conversations), so
  the machine's drift over the run weighs on every server alike;
* paced at half of egovbot's measured capacity, the same offered rate for both, round-robin
  over fresh conversations (an open loop) -> reply latency p50/p99 when not saturated.

The script's texts repeat, and the service keeps the parse and the FAQ search of short texts
without digits (``EGOVBOT_TEXT_CACHE``): a third process, the same egovbot with that cache off,
runs the closed loop too, for what a message costs when no text repeats.

To show where the time goes it also measures the core pipeline's CPU per message in-process
(no HTTP, inbox or channel).
Telegram's send limits (30 messages/s per bot, 1/s per chat) are switched off in the child,
since the fake stands in for Telegram; with them on, replies would be capped at 30/s.
Bounded: a fixed number of updates per run and a deadline for the whole benchmark.
Targets (issue 16): the floor's CPU per update >= 1/4 of egovbot's; egovbot's reply p99 at half
its capacity <= 4x its p50.
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.machine import describe, no_gc_pauses
from bench.pipeline import SCRIPT
from bot.core.messages import IncomingMessage
from bot.service.composition import build_runtime
from bot.service.settings import Settings
from nlu.patterns import keepable
from tests.fakes.telegram_api import TOKEN, ApiCall, FakeTelegramApi, text_update

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret"
FIRST_CHAT = 100_000_000
ROUNDS = 3  # closed-loop rounds per server, taking turns


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


async def start_server(api: FakeTelegramApi, data_dir: Path, profile: str | None,
                       **settings: str) -> tuple[subprocess.Popen[bytes], str, Path]:
    port = free_port()
    env = {**os.environ, **settings,
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
    await wait_ready(url, process, "egovbot serve", log_path)
    return process, url, log_path


async def wait_ready(url: str, process: subprocess.Popen[bytes], what: str,
                     log_path: Path | None = None) -> None:
    """Poll ``/readyz`` until the process answers 200 (at most 180 s)."""
    deadline = time.monotonic() + 180
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                log = log_path.read_text()[-3000:] if log_path else ""
                raise RuntimeError(f"{what} exited:\n{log}")
            try:
                async with session.get(f"{url}/readyz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    process.terminate()
    raise RuntimeError(f"{what} did not become ready in 180 s")


async def start_floor(api: FakeTelegramApi, secret: str) -> tuple[subprocess.Popen[bytes], str]:
    """The echo floor (bench/echo_floor.py) in its own process, sending to ``api``."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "echo_floor.py"), "--port", str(port),
         "--api-url", api.api_url, "--token", TOKEN, "--secret", secret], cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    await wait_ready(url, process, "the echo floor")
    return process, url


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
                      accept_ms: list[float], first_chat: int = FIRST_CHAT,
                      turns: range | None = None) -> tuple[int, float]:
    """Every conversation says ``turns`` of the script (by default ``updates`` in all, from
    the start), each as soon as the previous one was answered."""
    if turns is None:
        turns = range(max(1, updates // conversations))

    async def converse(index: int) -> None:
        chat_id = first_chat + index
        for turn in turns:
            update_id = first_update + index * 1000 + turn
            answered = replies.expect(chat_id)
            await post(session, url, text_update(chat_id, SCRIPT[turn % len(SCRIPT)],
                                                 update_id), accept_ms)
            await asyncio.wait_for(answered, 30)

    started = time.perf_counter()
    await asyncio.gather(*(converse(i) for i in range(conversations)))
    return len(turns) * conversations, time.perf_counter() - started


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


@dataclass
class Figures:
    """One server's figures from one run."""

    done: int = 0
    elapsed: float = 0.0
    cpu: float = 0.0
    closed: list[float] = field(default_factory=list)
    accept: list[float] = field(default_factory=list)
    offered: float = 0.0
    paced: list[float] = field(default_factory=list)
    paced_total: int = 0
    paced_cpu: float = 0.0

    @property
    def capacity(self) -> float:
        return self.done / self.elapsed

    @property
    def cpu_ms(self) -> float:
        return self.cpu / self.done * 1000

    @property
    def paced_cpu_ms(self) -> float:
        return self.paced_cpu / max(1, len(self.paced)) * 1000


async def measure_closed(session: aiohttp.ClientSession, url: str, pid: int, replies: Replies,
                         conversations: int, turns: range, first_chat: int, first_update: int,
                         figures: Figures) -> None:
    """Capacity and CPU per update of one server in the closed loop, over these turns of
    each conversation (added to what earlier rounds measured)."""
    replies.latencies.clear()
    cpu = cpu_seconds(pid)
    done, elapsed = await closed_loop(
        session, url, replies, conversations, 0, first_update, figures.accept,
        first_chat=first_chat, turns=turns)
    figures.cpu += cpu_seconds(pid) - cpu
    figures.done += done
    figures.elapsed += elapsed
    figures.closed += replies.latencies


async def measure_paced(session: aiohttp.ClientSession, url: str, pid: int, replies: Replies,
                        chats: range, updates: int, rate: float, first_update: int,
                        figures: Figures) -> None:
    """Reply latency (and CPU per update) of one server at an offered rate."""
    cpu = cpu_seconds(pid)
    figures.offered, figures.paced = await paced(session, url, replies, chats, updates, rate,
                                                 first_update, [])
    figures.paced_cpu = cpu_seconds(pid) - cpu
    figures.paced_total = updates


def ratio(value: float, floor: float) -> str:
    return f"{value / floor:.2f}x" if floor else "n/a"


async def run(conversations: int, updates: int, warmup: int, profile: str | None) -> int:
    load = os.getloadavg()
    api = FakeTelegramApi()
    await api.start()
    replies = Replies()
    api.listeners.append(replies.on_call)
    egov, floor, uncached = Figures(), Figures(), Figures()
    with tempfile.TemporaryDirectory() as tmp:
        core_ms = await pipeline_cpu(Path(tmp) / "pipeline", conversations, 1000)
        server_dir = Path(tmp) / "server"
        shutil.copytree(Path(tmp) / "pipeline" / "models", server_dir / "models")
        process, url, log_path = await start_server(api, server_dir, profile)
        floor_process, floor_url = await start_floor(api, SECRET)
        # the same egovbot working every text out anew: the script repeats its texts, which
        # the text cache answers, so this shows what a message costs when nothing repeats
        uncached_dir = Path(tmp) / "uncached"
        shutil.copytree(Path(tmp) / "pipeline" / "models", uncached_dir / "models")
        uncached_process, uncached_url, uncached_log = await start_server(
            api, uncached_dir, None, EGOVBOT_TEXT_CACHE="0")
        servers = ((egov, url, process.pid), (floor, floor_url, floor_process.pid),
                   (uncached, uncached_url, uncached_process.pid))
        try:
            connector = aiohttp.TCPConnector(limit=conversations + 50)
            with no_gc_pauses():
                async with aiohttp.ClientSession(connector=connector) as session:
                    for n, (_figures, server_url, _pid) in enumerate(servers):
                        await closed_loop(session, server_url, replies,
                                          min(conversations, 50), warmup, 1 + n * warmup, [],
                                          first_chat=FIRST_CHAT + 9 * conversations)
                    # closed loops first (capacity), then both paced at half of egovbot's
                    # capacity; the servers take turns, a few rounds each, so drift hits
                    # them alike
                    per_conversation = max(ROUNDS, updates // conversations)
                    for r in range(ROUNDS):
                        turns = range(per_conversation * r // ROUNDS,
                                      per_conversation * (r + 1) // ROUNDS)
                        for n, (figures, server_url, pid) in enumerate(servers):
                            await measure_closed(
                                session, server_url, pid, replies, conversations, turns,
                                FIRST_CHAT + (0, 1, 5)[n] * conversations,
                                100_000 + n * 1_000_000, figures)
                    half = max(1.0, egov.capacity / 2)
                    paced_updates = max(conversations, updates // 2)
                    for n, (figures, server_url, pid) in enumerate(servers[:2]):
                        chats = range(FIRST_CHAT + (2 + n) * conversations,
                                      FIRST_CHAT + (3 + n) * conversations)
                        await measure_paced(session, server_url, pid, replies, chats,
                                            paced_updates, half, 10_000_000 + n * 1_000_000,
                                            figures)
        finally:
            for child in (process, floor_process, uncached_process):
                child.terminate()
                try:
                    child.wait(30)
                except subprocess.TimeoutExpired:
                    child.kill()
            await api.close()
        errors = [line for log in (log_path, uncached_log)
                  for line in log.read_text(errors="replace").splitlines()
                  if " ERROR " in line or "Traceback" in line]

    print(f"machine: {describe()}; load average before the run {load[0]:.1f} "
          "(other processes share these cores)")
    print(f"Telegram webhooks: {conversations} conversations, SQLite, loopback; egovbot and the "
          "echo floor (bench/echo_floor.py) each in its own process, under the same load in "
          "this run, alternating; the fake Bot API and the load generator in this process; "
          "Telegram's send limits off (the fake stands in for Telegram)")
    print("| | egovbot | echo floor | egovbot / floor |")
    print("| --- | --: | --: | --: |")
    print(f"| CPU per update, server process (closed loop) | {egov.cpu_ms:.2f} ms "
          f"| {floor.cpu_ms:.2f} ms | {ratio(egov.cpu_ms, floor.cpu_ms)} |")
    print(f"| CPU per update, server process (paced) | {egov.paced_cpu_ms:.2f} ms "
          f"| {floor.paced_cpu_ms:.2f} ms | {ratio(egov.paced_cpu_ms, floor.paced_cpu_ms)} |")
    kept = sum(map(keepable, SCRIPT))
    print(f"| CPU per update, closed loop, text cache off (it keeps {kept} of the script's "
          f"{len(SCRIPT)} texts) | {uncached.cpu_ms:.2f} ms | {floor.cpu_ms:.2f} ms "
          f"| {ratio(uncached.cpu_ms, floor.cpu_ms)} |")
    print(f"| capacity (closed loop) | {egov.capacity:.0f} updates/s "
          f"| {floor.capacity:.0f} updates/s | {ratio(egov.capacity, floor.capacity)} |")
    print(f"| webhook POST -> 200 p50 (closed loop) | {statistics.median(egov.accept):.1f} ms "
          f"| {statistics.median(floor.accept):.1f} ms "
          f"| {ratio(statistics.median(egov.accept), statistics.median(floor.accept))} |")
    for label, share in (("p50", 0.5), ("p99", 0.99)):
        mine, base = percentile(egov.paced, share), percentile(floor.paced, share)
        print(f"| reply {label} at {egov.offered:.0f} / {floor.offered:.0f} updates/s offered "
              f"(half of egovbot's capacity) | {mine:.1f} ms | {base:.1f} ms "
              f"| {ratio(mine, base)} |")
    p50, p99 = percentile(egov.paced, 0.5), percentile(egov.paced, 0.99)
    share = floor.cpu_ms / egov.cpu_ms
    print(f"targets: floor CPU/update >= 1/4 of egovbot's: {share:.2f} "
          f"{'OK' if share >= 0.25 else 'MISSED'}; egovbot reply p99 <= 4x p50 at half "
          f"capacity: {p99 / p50:.1f}x {'OK' if p99 <= 4 * p50 else 'MISSED'}")
    print(f"where egovbot's time goes: {egov.cpu_ms:.2f} ms CPU per update in the process; the "
          f"core pipeline alone (NLU, policy, state, transcript; measured in-process) "
          f"{core_ms:.2f} ms, so webhook HTTP + inbox + Telegram channel + sendMessage "
          f"{egov.cpu_ms - core_ms:.2f} ms (the floor's HTTP in and out: {floor.cpu_ms:.2f} ms)")
    answered = len(egov.paced) == egov.paced_total and len(floor.paced) == floor.paced_total
    print(f"answered while paced: egovbot {len(egov.paced)}/{egov.paced_total}, floor "
          f"{len(floor.paced)}/{floor.paced_total}; failed sends: {replies.failed}, unmatched "
          f"replies: {replies.unmatched}, server errors logged: {len(errors)}")
    return 0 if not errors and answered else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--updates", type=int, default=3000, help="updates per run")
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--deadline", type=float, default=600, help="seconds for everything")
    parser.add_argument("--profile", help="write a cProfile of the server process here")
    args = parser.parse_args()

    async def bounded() -> int:
        return await asyncio.wait_for(run(args.conversations, args.updates, args.warmup,
                                          args.profile), args.deadline)

    return asyncio.run(bounded())


if __name__ == "__main__":
    raise SystemExit(main())
