"""Harness for the scale-out tests and ``bench/scale.py``: real processes on loopback.

* ``PostgresDatabase``: a fresh database with a random name on 127.0.0.1:5432, a copy of a
  template migrated with ``egovbot db upgrade`` once per session, dropped at the end.
* ``RedisServer``: a private ``redis-server`` on a free port (never the machine's 6379), so a
  test can stop it and start it again.
* ``Cluster``: the dossier simulator (one ``egovbot simulator`` process for all workers) and W
  ``egovbot serve`` workers, each on its own port, all pointed at the fake Telegram Bot API
  (``tests/fakes/telegram_api.py``) running in this process; kill -9 / restart one worker; stop
  all with SIGTERM, bounded.
* ``Citizens``: the load generator, acting as Telegram and as the load balancer. Each
  conversation's updates are POSTed in order, the next only after the previous got 200 (how
  Telegram delivers one chat); POSTs go round-robin over the workers; a failed POST (refused,
  reset, timeout, non-200) is retried on the next worker with backoff; a share of updates is
  delivered twice (same update_id and body) to a different worker, half of them concurrently
  with the original.
* ``Plan`` and ``verify``: every other message is a dossier-code lookup with a code unique to
  that message (``000.00.12.H31-YYMMDD-NNNN``; the bot's "not found" reply echoes it), the rest
  come from ``bench/pipeline.py``'s SCRIPT. ``reference`` plays each conversation pattern
  serially first; ``verify`` then requires, per chat, the replies (codes masked) to equal the
  serial replay exactly — same number, same order, same content — and the codes to come back
  in the order sent, each once; plus one ``in`` turn per message in the transcript and one
  inbox row per update, all ``done``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from actions import texts
from bench.pipeline import SCRIPT
from bench.webhooks import free_port
from tests.fakes.telegram_api import TOKEN, FakeTelegramApi, text_update

ROOT = Path(__file__).resolve().parents[2]
# The checkout whose code the worker processes run (EGOVBOT_SCALE_ROOT: e.g. an older commit,
# `git archive HEAD | tar -x -C DIR`, to see the checks catch what the code then got wrong).
CODE_ROOT = Path(os.environ.get("EGOVBOT_SCALE_ROOT") or ROOT)
PYTHON = sys.executable
SECRET = "scale-secret"
POSTGRES_HOST = "127.0.0.1:5432"
POSTGRES_ADMIN_URL = f"postgresql+asyncpg://postgres@{POSTGRES_HOST}/test"
SIMULATOR_TOKEN = "scale-simulator-token"
CODE = re.compile(r"\d{3}\.\d{2}\.\d{2}\.H\d{2}-\d{6}-\d{4}")
TIMING = re.compile("|".join(re.escape(sentence).replace(re.escape("{days}"), r"\d+")
                             for sentence in (texts.DOSSIER_DAYS_LEFT, texts.DOSSIER_DUE_TODAY,
                                              texts.DOSSIER_LATE)))
CHANNEL = "telegram"


def pg_url(database: str) -> str:
    return f"postgresql+asyncpg://postgres@{POSTGRES_HOST}/{database}"


def vm_rss_mb(pid: int) -> float:
    """Resident memory of a process in MB (VmRSS from /proc); 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


async def wait_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.1,
                     what: str = "condition") -> None:
    """Poll a (sync or async) predicate until it is true, or raise TimeoutError."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached in {timeout} s")
        await asyncio.sleep(interval)


# ---------------------------------------------------------------------------------------------
# PostgreSQL and Redis


class PostgresDatabase:
    """A throwaway database on the machine's PostgreSQL; ``url`` is for EGOVBOT_DATABASE_URL."""

    def __init__(self) -> None:
        self.name = f"egovbot_scale_{secrets.token_hex(4)}"
        self.url = pg_url(self.name)
        self._engine: AsyncEngine | None = None

    async def create(self) -> None:
        """Copy the session's migrated template (made by ``egovbot db upgrade`` once)."""
        template = await _migrated_template()
        admin = create_async_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        try:
            async with admin.connect() as connection:
                await connection.exec_driver_sql(
                    f"CREATE DATABASE {self.name} TEMPLATE {template}")
        finally:
            await admin.dispose()

    @property
    def engine(self) -> AsyncEngine:
        """An engine on this database for the checks (pool_pre_ping survives a restart)."""
        if self._engine is None:
            self._engine = create_async_engine(self.url, pool_pre_ping=True, pool_size=2)
        return self._engine

    async def fetch(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        async with self.engine.connect() as connection:
            result = await connection.execute(text(sql), params)
            return [tuple(row) for row in result.fetchall()]

    async def drop(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None
        admin = create_async_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        try:
            for _ in range(30):  # the server may still be coming back from a restart test
                try:
                    async with admin.connect() as connection:
                        await connection.exec_driver_sql(
                            f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
                    return
                except Exception:
                    await asyncio.sleep(1)
        finally:
            await admin.dispose()


_TEMPLATE: list[str] = []  # the template database of this test session, once made


async def _migrated_template() -> str:
    """A database migrated to the head with ``egovbot db upgrade``, made afresh once per test
    session (so it always has the current migrations); copies of it are cheap."""
    if _TEMPLATE:
        return _TEMPLATE[0]
    name = f"egovbot_template_{os.getpid()}"
    admin = create_async_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            stale = await connection.exec_driver_sql(
                "SELECT datname FROM pg_database WHERE datname LIKE 'egovbot_template_%'")
            for (old,) in stale.fetchall():  # left by earlier sessions that have ended
                if not Path(f"/proc/{old.rsplit('_', 1)[-1]}").exists():
                    await connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {old}")
            await connection.exec_driver_sql(f"CREATE DATABASE {name}")
    finally:
        await admin.dispose()
    await run_cli(["db", "upgrade"], {"EGOVBOT_DATABASE_URL": pg_url(name)}, timeout=120)
    _TEMPLATE.append(name)
    return name


class RedisServer:
    """A private redis-server on a free loopback port, no persistence; stop() and start()."""

    def __init__(self, log_dir: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log_path = log_dir / "redis.log"
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no", "--daemonize", "no"],
                stdout=log, stderr=subprocess.STDOUT)
        await wait_until(self._answers, 10, 0.05, "redis-server answering PING")

    async def _answers(self) -> bool:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        except OSError:
            return False
        try:
            writer.write(b"PING\r\n")
            await writer.drain()
            return (await asyncio.wait_for(reader.readline(), 1)).startswith(b"+PONG")
        except (OSError, TimeoutError):
            return False
        finally:
            writer.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None


async def run_cli(args: Sequence[str], env: dict[str, str], timeout: float = 120) -> str:
    """Run ``python -m bot.cli ARGS`` to completion; its output, or RuntimeError."""
    process = await asyncio.create_subprocess_exec(
        PYTHON, "-m", "bot.cli", *args, cwd=CODE_ROOT, env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    if process.returncode != 0:
        raise RuntimeError(f"egovbot {' '.join(args)} failed:\n{output.decode()[-3000:]}")
    return output.decode()


# ---------------------------------------------------------------------------------------------
# Processes: the simulator and the workers


@dataclass
class Worker:
    """One ``egovbot serve`` process."""

    index: int
    port: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    peak_rss_mb: float = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


class Cluster:
    """The fake Bot API, one dossier simulator and W workers on one database and Redis."""

    def __init__(self, workdir: Path, database: PostgresDatabase, redis: RedisServer | None,
                 workers: int, extra_env: dict[str, str] | None = None) -> None:
        self.workdir = workdir
        self.database = database
        self.redis = redis
        self.api = FakeTelegramApi()
        self.simulator_port = free_port()
        self.simulator_url = f"http://127.0.0.1:{self.simulator_port}"
        self.simulator: subprocess.Popen[bytes] | None = None
        self.workers = [Worker(i, free_port(), workdir / f"worker-{i}.log")
                        for i in range(workers)]
        self.extra_env = extra_env or {}
        self._rss_task: asyncio.Task[None] | None = None

    def env(self) -> dict[str, str]:
        env = {
            "EGOVBOT_DATA_DIR": str(self.workdir / "var"),
            "EGOVBOT_DATABASE_URL": self.database.url,
            "EGOVBOT_TELEGRAM_TOKEN": TOKEN,
            "EGOVBOT_TELEGRAM_WEBHOOK_SECRET": SECRET,
            "EGOVBOT_TELEGRAM_API_URL": self.api.api_url,
            "EGOVBOT_TELEGRAM_MODE": "webhook",
            "EGOVBOT_TELEGRAM_MESSAGES_PER_SECOND": "0",
            "EGOVBOT_TELEGRAM_CHAT_MESSAGES_PER_SECOND": "0",
            "EGOVBOT_DOSSIER_API_URL": self.simulator_url,
            "EGOVBOT_DOSSIER_API_TOKEN": SIMULATOR_TOKEN,
            "EGOVBOT_DOSSIER_LOOKUPS_PER_HOUR": "1000",
            "EGOVBOT_DOSSIER_LOOKUPS_PER_MINUTE": "1000000",  # the load is one client, on purpose
            # the circuit's rest after the status API failed: short, so that a test sees it
            # close again without waiting the shipped half minute
            "EGOVBOT_DOSSIER_API_CIRCUIT_RESET": "10",
        }
        if self.redis is not None:
            env["EGOVBOT_REDIS_URL"] = self.redis.url
        return {**env, **self.extra_env}

    async def start(self) -> None:
        """Start the fake, the simulator, seed the knowledge base and model, start workers."""
        await self.api.start()
        env = self.env()
        (self.workdir / "var").mkdir(parents=True, exist_ok=True)
        with open(self.workdir / "simulator.log", "wb") as log:
            self.simulator = subprocess.Popen(
                [PYTHON, "-m", "bot.cli", "simulator", "--port", str(self.simulator_port)],
                cwd=CODE_ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
        # Seed and train once, so W workers starting together do not race to do it.
        await run_cli(["kb", "load"], env)
        await _trained_model(self.workdir / "var" / "models", env)
        await asyncio.gather(*(self.start_worker(w) for w in self.workers))
        self._rss_task = asyncio.create_task(self._sample_rss())

    async def start_worker(self, worker: Worker, timeout: float = 90) -> None:
        env = {**os.environ, **self.env(), "EGOVBOT_PORT": str(worker.port)}
        with open(worker.log_path, "ab") as log:
            worker.process = subprocess.Popen([PYTHON, "-m", "bot.cli", "serve"], cwd=CODE_ROOT,
                                              env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
            while True:
                if worker.process.poll() is not None:
                    raise RuntimeError(f"worker {worker.index} exited:\n"
                                       f"{worker.log_path.read_text()[-3000:]}")
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with session.get(f"{worker.url}/readyz") as response:
                        if response.status == 200:
                            return
                if time.monotonic() > deadline:
                    raise RuntimeError(f"worker {worker.index} not ready in {timeout} s:\n"
                                       f"{worker.log_path.read_text()[-3000:]}")
                await asyncio.sleep(0.2)

    def kill(self, worker: Worker) -> None:
        """kill -9, as a crash."""
        assert worker.process is not None
        worker.process.send_signal(signal.SIGKILL)
        worker.process.wait(10)

    async def readyz(self, worker: Worker) -> tuple[int, dict[str, Any]]:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session, \
                session.get(f"{worker.url}/readyz") as response:
            body = await response.json(content_type=None)
            return response.status, body if isinstance(body, dict) else {"body": body}

    async def control_simulator(self, mode: str, delay: float = 10.0) -> None:
        async with aiohttp.ClientSession() as session, session.post(
                f"{self.simulator_url}/_control", json={"mode": mode, "delay": delay}) as r:
            assert r.status == 200, await r.text()

    async def _sample_rss(self) -> None:
        while True:
            for worker in self.workers:
                if worker.alive and worker.process is not None:
                    worker.peak_rss_mb = max(worker.peak_rss_mb, vm_rss_mb(worker.process.pid))
            await asyncio.sleep(0.25)

    def errors_logged(self) -> list[str]:
        lines = []
        for worker in self.workers:
            if worker.log_path.exists():
                lines += [f"worker {worker.index}: {line}" for line in
                          worker.log_path.read_text(errors="replace").splitlines()
                          if " ERROR " in line or "Traceback" in line]
        return lines

    def dump_tasks(self) -> None:
        """Have every live worker write where each of its tasks waits into its log (SIGUSR1)."""
        for worker in self.workers:
            if worker.alive and worker.process is not None and worker.process.poll() is None:
                worker.process.send_signal(signal.SIGUSR1)

    def log_about(self, conversations: Iterable[str], limit: int = 60) -> list[str]:
        """What the worker logs say about some conversations: lines naming them and the stacks
        of their tasks in a task dump (a stuck conversation's "where is it waiting?")."""
        wanted = tuple(conversations)
        out: list[str] = []
        for worker in self.workers:
            if not worker.log_path.exists():
                continue
            in_stack = False
            for line in worker.log_path.read_text(errors="replace").splitlines():
                if line.startswith("Stack for "):
                    in_stack = any(c in line for c in wanted)
                elif in_stack and not line.startswith(" "):
                    in_stack = False
                if in_stack or any(c in line for c in wanted):
                    out.append(f"worker {worker.index}: {line}")
        return out[-limit:]

    async def stop(self, timeout: float = 20) -> None:
        """SIGTERM every worker and the simulator, kill what did not exit in time."""
        if self._rss_task is not None:
            self._rss_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._rss_task
        processes = [w.process for w in self.workers if w.process is not None]
        if self.simulator is not None:
            processes.append(self.simulator)
        for process in processes:
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + timeout
        try:
            for process in processes:
                while process.poll() is None and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
        finally:  # also when cancelled: no process outlives the test
            for process in processes:
                if process.poll() is None:
                    process.kill()
                process.wait(5)
            await self.api.close()


_MODEL_CACHE: dict[str, Path] = {}


async def _trained_model(target: Path, env: dict[str, str]) -> None:
    """Train the built-in NLU once per test session and copy it to each cluster."""
    cached = _MODEL_CACHE.get("models")
    if cached is None or not cached.exists():
        await run_cli(["nlu", "train"], env, timeout=180)
        _MODEL_CACHE["models"] = target
        return
    if not target.exists():
        shutil.copytree(cached, target)


# ---------------------------------------------------------------------------------------------
# What the citizens send


def dossier_code(index: int) -> str:
    """A valid dossier code unique to ``index`` (< 3.6 million): the simulator answers 404."""
    day = dt.date(2023, 1, 1) + dt.timedelta(days=index // 9999)
    return f"000.00.12.H31-{day:%y%m%d}-{index % 9999 + 1:04d}"


LOOKUPS = ("tra cứu hồ sơ {code}", "{code}", "ho so {code} den dau roi")


@dataclass(frozen=True)
class Message:
    chat_id: int
    position: int  # in its conversation
    update_id: int
    text: str
    code: str | None  # the unique code the reply must echo


@dataclass
class Plan:
    """C conversations of M messages; conversation i follows pattern i % len(SCRIPT)."""

    conversations: list[list[Message]]
    patterns: dict[int, int]  # chat_id -> pattern

    @classmethod
    def build(cls, conversations: int, per_conversation: int, first_chat: int,
              first_update: int, first_code: int = 0) -> Plan:
        plans: list[list[Message]] = []
        patterns: dict[int, int] = {}
        update_id, code_index = first_update, first_code
        for i in range(conversations):
            chat_id = first_chat + i
            patterns[chat_id] = i % len(SCRIPT)
            messages = []
            for k in range(per_conversation):
                if k % 2 == 0:
                    code = dossier_code(code_index)
                    code_index += 1
                    body = LOOKUPS[(k // 2) % len(LOOKUPS)].format(code=code)
                else:
                    code, body = None, SCRIPT[(i + k // 2) % len(SCRIPT)]
                messages.append(Message(chat_id, k, update_id, body, code))
                update_id += 1
            plans.append(messages)
        return cls(plans, patterns)

    @property
    def total(self) -> int:
        return sum(len(c) for c in self.conversations)

    @property
    def by_update(self) -> dict[int, Message]:
        return {m.update_id: m for c in self.conversations for m in c}


def mask(reply: str) -> str:
    """The reply without what may change between the serial replay and the load run: dossier
    codes, and the days to (or past) a dossier's appointment, which move at Vietnam's midnight."""
    return TIMING.sub("<TIMING>", CODE.sub("<CODE>", reply))


def replies_by_chat(api: FakeTelegramApi) -> dict[int, list[str]]:
    """Texts of every successful sendMessage, per chat, in arrival order."""
    out: dict[int, list[str]] = defaultdict(list)
    for call in api.calls:
        if call.method == "sendMessage" and call.status == 200:
            out[int(call.params["chat_id"])].append(str(call.params.get("text", "")))
    return out


# ---------------------------------------------------------------------------------------------
# Telegram + load balancer


@dataclass
class Delivery:
    """Counters of the load generator."""

    posts: int = 0
    retries: int = 0
    duplicates: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    accept_ms: list[float] = field(default_factory=list)
    posted_at: dict[int, float] = field(default_factory=dict)  # update_id -> first POST start


class Citizens:
    """POSTs updates to the workers like Telegram would, round-robin like a load balancer."""

    def __init__(self, session: aiohttp.ClientSession, urls: Callable[[], list[str]],
                 duplicate_rate: float = 0.05, seed: int = 6, retry_for: float = 120.0,
                 post_timeout: float = 10.0) -> None:
        self.session = session
        self.urls = urls
        self.duplicate_rate = duplicate_rate
        self.random = random.Random(seed)
        self.retry_for = retry_for
        self.post_timeout = aiohttp.ClientTimeout(total=post_timeout)
        self.delivery = Delivery()
        self._next = 0

    def _pick(self) -> int:
        self._next += 1
        return self._next % len(self.urls())

    async def post(self, update: dict[str, Any], start: int | None = None) -> None:
        """Deliver one update until a worker answers 200 (retrying on the next worker)."""
        urls = self.urls()
        index = self._pick() if start is None else start % len(urls)
        deadline = time.monotonic() + self.retry_for
        backoff = 0.05
        self.delivery.posted_at.setdefault(update["update_id"], time.perf_counter())
        while True:
            started = time.perf_counter()
            self.delivery.posts += 1
            try:
                async with self.session.post(
                        f"{urls[index % len(urls)]}/webhooks/telegram", json=update,
                        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
                        timeout=self.post_timeout) as response:
                    await response.read()
                    self.delivery.statuses[str(response.status)] += 1
                    if response.status == 200:
                        self.delivery.accept_ms.append((time.perf_counter() - started) * 1000)
                        return
            except (aiohttp.ClientError, TimeoutError) as exc:
                self.delivery.statuses[type(exc).__name__] += 1
            if time.monotonic() > deadline:
                raise TimeoutError(f"update {update['update_id']} not accepted in "
                                   f"{self.retry_for} s: {dict(self.delivery.statuses)}")
            self.delivery.retries += 1
            index += 1  # Telegram retries; the balancer picks another worker
            await asyncio.sleep(backoff)
            backoff = min(1.0, backoff * 2)

    async def send(self, message: Message) -> None:
        """One update, maybe delivered twice (to another worker, maybe concurrently)."""
        update = text_update(message.chat_id, message.text, message.update_id)
        first = self._pick()
        if self.random.random() >= self.duplicate_rate:
            await self.post(update, first)
            return
        self.delivery.duplicates += 1
        if self.random.random() < 0.5:
            await asyncio.gather(self.post(update, first), self.post(dict(update), first + 1))
        else:
            await self.post(update, first)
            await self.post(dict(update), first + 1)

    async def converse(self, messages: Sequence[Message], pause: float = 0.0) -> None:
        for message in messages:
            await self.send(message)
            if pause:
                await asyncio.sleep(pause)

    async def run(self, plan: Plan, concurrency: int | None = None) -> None:
        """Every conversation at once (or at most ``concurrency`` at a time)."""
        limit = asyncio.Semaphore(concurrency or len(plan.conversations))

        async def one(messages: list[Message]) -> None:
            async with limit:
                await self.converse(messages)

        await asyncio.gather(*(one(c) for c in plan.conversations))


# ---------------------------------------------------------------------------------------------
# The serial reference and the checks


async def inbox_done(database: PostgresDatabase, update_ids: Sequence[int]) -> bool:
    rows = await database.fetch(
        "SELECT count(*) FROM inbox WHERE channel = :c AND status = 'done' "
        "AND message_id = ANY(:ids)", c=CHANNEL, ids=[str(u) for u in update_ids])
    return bool(rows[0][0] == len(update_ids))


async def reference(cluster: Cluster, session: aiohttp.ClientSession, per_conversation: int,
                    first_chat: int = 990_000_000, first_update: int = 990_000_000
                    ) -> dict[int, list[list[str]]]:
    """Each conversation pattern played serially (one message at a time, each answered before
    the next is sent): pattern -> per message, the masked replies it must produce."""
    plan = Plan.build(len(SCRIPT), per_conversation, first_chat, first_update,
                      first_code=3_000_000)
    citizens = Citizens(session, lambda: [cluster.workers[0].url], duplicate_rate=0)
    out: dict[int, list[list[str]]] = {}

    async def serially(messages: list[Message]) -> None:
        chat = messages[0].chat_id
        groups: list[list[str]] = []
        for message in messages:
            before = len(replies_by_chat(cluster.api).get(chat, []))
            await citizens.send(message)
            await wait_until(partial(inbox_done, cluster.database, [message.update_id]),
                             30, 0.02, f"reference message {message.update_id} answered")
            groups.append([mask(t) for t in replies_by_chat(cluster.api).get(chat, [])[before:]])
        out[plan.patterns[chat]] = groups

    await asyncio.gather(*(serially(c) for c in plan.conversations))
    return out


async def wait_answered(cluster: Cluster, plan: Plan, timeout: float,
                        stalled: float = 60.0) -> None:
    """Until every update of the plan has its inbox row 'done' (or ``timeout`` passed, or no
    row became done for ``stalled`` seconds: under a burst the workers are still working
    through the backlog long after the last POST), then a moment for stragglers."""
    ids = [str(m.update_id) for c in plan.conversations for m in c]
    deadline = time.monotonic() + timeout
    done, progress_at = -1, time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - progress_at < stalled:
        try:
            rows = await cluster.database.fetch(
                "SELECT count(*) FROM inbox WHERE channel = :c AND status = 'done' "
                "AND message_id = ANY(:ids)", c=CHANNEL, ids=ids)
            count = int(rows[0][0])
        except Exception:
            count = done
        if count >= len(ids):
            break
        if count > done:
            done, progress_at = count, time.monotonic()
        await asyncio.sleep(0.25)
    else:  # stalled or out of time: record where the workers wait, for the verdict
        cluster.dump_tasks()
    await asyncio.sleep(1.0)


@dataclass
class Verdict:
    problems: list[str] = field(default_factory=list)
    messages: int = 0
    replies: int = 0
    extra_replies: int = 0  # replies beyond the serial replay (allowed only when in doubt)
    in_doubt_replies: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    stuck: set[str] = field(default_factory=set)  # conversations with messages not answered

    def problem(self, kind: str, detail: str) -> None:
        self.by_kind[kind] += 1
        if self.by_kind[kind] <= 8:
            self.problems.append(f"{kind}: {detail}")

    def summary(self) -> str:
        return (f"{self.messages} messages, {self.replies} replies, "
                f"{self.extra_replies} extra (allowed {self.in_doubt_replies} in doubt); "
                f"problems by kind: {dict(self.by_kind)}\n  " + "\n  ".join(self.problems))


async def verify(cluster: Cluster, plan: Plan, expected: dict[int, list[list[str]]],
                 in_doubt: set[int] | None = None,
                 replace: Callable[[Message, str], str] | None = None) -> Verdict:
    """Exactly once, in order, all in the transcript. ``in_doubt``: update ids whose replies
    may have been sent twice (inbox rows 'answered' when a worker was killed). ``replace``
    maps (message, expected masked reply) to the reply expected instead (e.g. while the
    status API is down)."""
    verdict = Verdict(messages=plan.total)
    in_doubt = in_doubt or set()
    sent = replies_by_chat(cluster.api)
    for messages in plan.conversations:
        chat = messages[0].chat_id
        groups = expected[plan.patterns[chat]]
        if replace is not None:
            groups = [[replace(m, r) for r in g] for m, g in zip(messages, groups, strict=True)]
        want = [r for g in groups for r in g]
        got = [mask(t) for t in sent.get(chat, [])]
        verdict.replies += len(got)
        doubtful = [m for m in messages if m.update_id in in_doubt]
        allowed = sum(len(groups[m.position]) for m in doubtful)
        verdict.in_doubt_replies += allowed
        # codes: each once, in the order sent (repeats allowed only for messages in doubt)
        codes = [c for t in sent.get(chat, []) for c in CODE.findall(t)
                 if c != "000.00.12.H31-261118-0002"]
        sent_codes = [m.code for m in messages if m.code]
        doubt_codes = {m.code for m in doubtful if m.code}
        seen: list[str] = []
        for code in codes:
            if code in seen:
                if code not in doubt_codes:
                    verdict.problem("answered twice", f"chat {chat}: {code} replied again")
                continue
            seen.append(code)
        if seen != sent_codes:
            missing = [c for c in sent_codes if c not in seen]
            if missing:
                verdict.problem("not answered", f"chat {chat}: no reply for {missing}")
                verdict.stuck.add(f"{CHANNEL}:{chat}")
            else:
                verdict.problem("out of order", f"chat {chat}: codes replied in order "
                                f"{[sent_codes.index(c) for c in seen]}")
        # the whole conversation against the serial replay
        extra = len(got) - len(want)
        if got != want:
            aligned = _aligned_with_repeats(got, want)
            if aligned is None or extra > allowed:
                first = _first_difference(got, want)
                one, other = _short(got, want, first)
                verdict.problem("differs from serial replay",
                                f"chat {chat}: {len(got)} replies, expected {len(want)}; "
                                f"first difference at reply {first}: got "
                                f"{one!r}, expected {other!r}")
        verdict.extra_replies += max(0, extra)
    # the transcript and the inbox
    chats = [f"{CHANNEL}:{c[0].chat_id}" for c in plan.conversations]
    turns = dict(await cluster.database.fetch(
        "SELECT conversation_id, count(*) FROM turns WHERE direction = 'in' "
        "AND conversation_id = ANY(:ids) GROUP BY conversation_id", ids=chats))
    for messages in plan.conversations:
        cid = f"{CHANNEL}:{messages[0].chat_id}"
        if turns.get(cid, 0) != len(messages):
            verdict.problem("transcript", f"{cid}: {turns.get(cid, 0)} 'in' turns, "
                            f"{len(messages)} messages sent")
    ids = [str(m.update_id) for c in plan.conversations for m in c]
    rows = await cluster.database.fetch(
        "SELECT message_id, status FROM inbox WHERE channel = :c AND message_id = ANY(:ids)",
        c=CHANNEL, ids=ids)
    per_id = Counter(r[0] for r in rows)
    statuses = Counter(r[1] for r in rows)
    if len(per_id) != len(ids) or any(n != 1 for n in per_id.values()):
        verdict.problem("inbox", f"{len(per_id)} of {len(ids)} updates stored, "
                        f"{sum(1 for n in per_id.values() if n > 1)} more than once")
    if set(statuses) != {"done"}:
        verdict.problem("inbox", f"row states {dict(statuses)}, expected all 'done'")
    if verdict.stuck:
        verdict.problems += ["worker logs on the conversations not answered:",
                             *cluster.log_about(sorted(verdict.stuck)[:3])]
    return verdict


def _first_difference(a: Sequence[object], b: Sequence[object]) -> int:
    """Where two sequences (of replies, or of characters) first part."""
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y),
                min(len(a), len(b)))


def _short(got: list[str], want: list[str], index: int) -> tuple[str, str]:
    """Reply ``index`` of each, from a little before the first character where they part."""
    if index >= len(got) or index >= len(want):
        return (got[index][:90] if index < len(got) else "<nothing>",
                want[index][:90] if index < len(want) else "<nothing>")
    a, b = got[index], want[index]
    start = max(0, _first_difference(a, b) - 30)
    prefix = "…" if start else ""
    return prefix + a[start:start + 90], prefix + b[start:start + 90]


def _aligned_with_repeats(got: list[str], want: list[str]) -> list[int] | None:
    """Indexes of ``want`` each reply of ``got`` matches, when ``got`` is ``want`` with some
    replies repeated right after themselves or later (a re-send); None when it is not."""
    out: list[int] = []
    j = 0
    for reply in got:
        if j < len(want) and reply == want[j]:
            out.append(j)
            j += 1
        elif reply in want[:j]:
            out.append(want.index(reply))
        else:
            return None
    return out if j == len(want) else None

