"""Group commit: many small writes from concurrent messages share one transaction.

Every message writes a few rows (its inbox entry, its state, its transcript). One transaction
per write costs about a millisecond on SQLite, which caps a process at a few hundred messages
per second. ``WriteBatcher.run(job)`` queues a job; a single worker runs every queued job in
one transaction and commits once, so the cost is shared by all messages in flight. A job that
fails does not take the others down: the batch is retried one job per transaction.

Jobs are plain functions of a synchronous connection. On SQLite the whole batch runs in one
call on a dedicated writer thread (the async driver would hop threads for every statement,
and each hop waits for the busy event loop); elsewhere it runs through the async engine.

On PostgreSQL the batcher also holds the asyncpg pool of the hot path's statements
(``bot/storage/postgres.py``): the inbox and the turn use it directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.db import DEFAULT_POOL_SIZE, PoolShares, checkpoint_sqlite, make_sqlite_writer
from bot.storage.postgres import Postgres

log = logging.getLogger(__name__)

T = TypeVar("T")
CHECKPOINT_SECONDS = 5.0
Job = Callable[[Connection], Any]


class WriteBatcher:
    """Runs write jobs in shared transactions, in the order they were queued."""

    def __init__(self, engine: AsyncEngine, pool_size: int = DEFAULT_POOL_SIZE,
                 max_batch: int = 256) -> None:
        """``pool_size`` is the process's whole PostgreSQL budget, as given to
        ``make_engine``: the hot path's asyncpg pool takes its share of it."""
        self.engine = engine
        self.max_batch = max_batch
        self._queue: list[tuple[Job, asyncio.Future[Any]]] = []
        self._wakeup: asyncio.Event | None = None
        self._worker: asyncio.Task[None] | None = None
        self._writer: Engine | None = None
        self._checkpoint_engine: Engine | None = None
        self._thread: ThreadPoolExecutor | None = None
        self._checkpoint_thread: ThreadPoolExecutor | None = None
        self._checkpointer: asyncio.Task[None] | None = None
        # PostgreSQL: the hot path's statements go straight through asyncpg
        self.postgres = (Postgres(engine.url, PoolShares.of(pool_size).hot_path)
                         if engine.dialect.name == "postgresql" else None)
        if engine.dialect.name == "sqlite":
            self._writer = make_sqlite_writer(engine)
            # A connection of its own: calls on one SQLite connection are serialised, so a
            # checkpoint on the writer's would hold every write until it has copied and synced
            # the log (and, run during a batch, fail and roll that batch back on release).
            self._checkpoint_engine = make_sqlite_writer(engine)
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="egovbot-writer")
            # its own thread, so closing waits for a checkpoint under way: disposing of the
            # engine while one runs closed the connection under it (a segfault in sqlite3)
            self._checkpoint_thread = ThreadPoolExecutor(1, thread_name_prefix="egovbot-checkpoint")

    @property
    def on_sqlite(self) -> bool:
        """Whether batches run on the SQLite writer thread (the embedded mode)."""
        return self._writer is not None

    async def run(self, job: Callable[[Connection], T]) -> T:
        """Run ``job(connection)`` inside a (shared) transaction and return its result."""
        loop = asyncio.get_running_loop()
        if self._worker is None or self._worker.done() or self._worker.get_loop() is not loop:
            self._wakeup = asyncio.Event()
            self._worker = loop.create_task(self._work())
            if self._writer is not None:
                self._checkpointer = loop.create_task(self._checkpoint_now_and_then())
        future: asyncio.Future[T] = loop.create_future()
        self._queue.append((job, future))
        assert self._wakeup is not None
        self._wakeup.set()
        return await future

    async def _work(self) -> None:
        assert self._wakeup is not None
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                batch = self._queue[: self.max_batch]
                del self._queue[: self.max_batch]
                await self._commit(batch)

    async def _checkpoint_now_and_then(self) -> None:
        """Fold the SQLite write-ahead log into the database every ``CHECKPOINT_SECONDS``, on
        a thread of its own, so no commit ever pays for it."""
        checkpoint_engine, thread = self._checkpoint_engine, self._checkpoint_thread
        assert checkpoint_engine is not None and thread is not None
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(CHECKPOINT_SECONDS)
            try:
                await loop.run_in_executor(thread, checkpoint_sqlite, checkpoint_engine)
            except Exception:
                log.exception("SQLite checkpoint failed; retrying later")

    async def _execute(self, jobs: list[Job]) -> list[Any]:
        """Run jobs in one transaction and commit."""
        if self._writer is not None and self._thread is not None:
            writer = self._writer
            return await asyncio.get_running_loop().run_in_executor(
                self._thread, _run_all, writer, jobs)
        async with self.engine.begin() as connection:
            return await connection.run_sync(lambda sync: [job(sync) for job in jobs])

    async def _commit(self, batch: list[tuple[Job, asyncio.Future[Any]]]) -> None:
        try:
            results = await self._execute([job for job, _future in batch])
        except Exception as exc:
            if len(batch) == 1:
                _job, future = batch[0]
                if not future.done():
                    future.set_exception(exc)
                return
            for single in batch:  # isolate the failing job
                await self._commit([single])
            return
        for (_job, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)

    async def close(self) -> None:
        """Finish queued jobs and stop the worker, the writer thread and the checkpoints (a
        checkpoint under way finishes first: its engine is disposed of next)."""
        while self._queue:
            await asyncio.sleep(0.001)
        for task in (self._worker, self._checkpointer):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, RuntimeError):
                    await task
        self._worker = self._checkpointer = None
        if self._thread is not None:
            self._thread.shutdown(wait=True)
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="egovbot-writer")
        if self._checkpoint_thread is not None:
            self._checkpoint_thread.shutdown(wait=True)
            self._checkpoint_thread = ThreadPoolExecutor(1,
                                                         thread_name_prefix="egovbot-checkpoint")
        for engine in (self._writer, self._checkpoint_engine):
            if engine is not None:
                engine.dispose()
        if self.postgres is not None:
            await self.postgres.close()


async def write(batcher: WriteBatcher | None, engine: AsyncEngine,
                job: Callable[[Connection], T]) -> T:
    """Run a write job through the batcher when there is one, else in its own transaction."""
    if batcher is not None:
        return await batcher.run(job)
    async with engine.begin() as connection:
        return await connection.run_sync(job)


def _run_all(writer: Engine, jobs: list[Job]) -> list[Any]:
    with writer.begin() as connection:
        return [job(connection) for job in jobs]
