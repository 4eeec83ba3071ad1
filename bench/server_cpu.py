"""CPU used by the servers a benchmark's workers talk to: the PostgreSQL backend processes of
one database and a redis-server, read from /proc while a run is measured.

PostgreSQL starts a backend process per connection and names it after the database
(``postgres: 15/main: USER DATABASE 127.0.0.1(PORT) idle``); the workers' pools open and close
some connections under load, so the backends are sampled every ``interval`` seconds and each
one counts the CPU it used while measured (a backend that started meanwhile counts whole: its
start-up is part of the cost; one that ended between samples loses its last moments). Shared
server processes (the WAL writer, the checkpointer) are not counted.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from bench.webhooks import cpu_seconds


def backends_of(database: str) -> list[int]:
    """The pids of the PostgreSQL backend processes connected to ``database``."""
    word = f" {database} ".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if title.startswith(b"postgres: ") and word in title.replace(b"\0", b" "):
            pids.append(int(entry.name))
    return pids


def _cpu_or_none(pid: int) -> float | None:
    try:
        return cpu_seconds(pid)
    except (OSError, IndexError, ValueError):  # ended meanwhile
        return None


class ServerCpu:
    """Seconds of CPU of a database's backends and of one redis-server between ``start`` and
    ``stop``."""

    def __init__(self, database: str, redis_pid: int | None, interval: float = 0.2) -> None:
        self.database = database
        self.redis_pid = redis_pid
        self.interval = interval
        self.postgres = 0.0
        self.redis = 0.0
        self._first: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._redis_first = 0.0
        self._sampler: asyncio.Task[None] | None = None

    def _sample(self) -> None:
        for pid in backends_of(self.database):
            used = _cpu_or_none(pid)
            if used is not None:
                self._first.setdefault(pid, 0.0)
                self._last[pid] = used

    async def start(self) -> None:
        """Take the baseline and sample until ``stop``."""
        for pid in backends_of(self.database):
            used = _cpu_or_none(pid)
            if used is not None:
                self._first[pid] = self._last[pid] = used
        if self.redis_pid is not None:
            self._redis_first = cpu_seconds(self.redis_pid)
        self._sampler = asyncio.create_task(self._sample_now_and_then())

    async def _sample_now_and_then(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            self._sample()

    async def stop(self) -> None:
        """Take the last sample and add up."""
        if self._sampler is not None:
            self._sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sampler
        self._sample()
        self.postgres = sum(self._last[pid] - self._first[pid] for pid in self._last)
        if self.redis_pid is not None:
            self.redis = cpu_seconds(self.redis_pid) - self._redis_first
