"""Group commit: many small writes from concurrent messages share one transaction.

Every message writes a few rows (its inbox entry, its state, its transcript). One transaction
per write costs about a millisecond on SQLite, which caps a process at a few hundred messages
per second. ``WriteBatcher.run(job)`` queues a job; a single worker runs every queued job in
one transaction and commits once, so the cost is shared by all messages in flight. A job that
fails does not take the others down: the batch is retried one job per transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

T = TypeVar("T")
Job = Callable[[AsyncConnection], Awaitable[Any]]


class WriteBatcher:
    """Runs write jobs in shared transactions, in the order they were queued."""

    def __init__(self, engine: AsyncEngine, max_batch: int = 256) -> None:
        self.engine = engine
        self.max_batch = max_batch
        self._queue: list[tuple[Job, asyncio.Future[Any]]] = []
        self._wakeup: asyncio.Event | None = None
        self._worker: asyncio.Task[None] | None = None

    async def run(self, job: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """Run ``job(connection)`` inside a (shared) transaction and return its result."""
        loop = asyncio.get_running_loop()
        if self._worker is None or self._worker.done() or self._worker.get_loop() is not loop:
            self._wakeup = asyncio.Event()
            self._worker = loop.create_task(self._work())
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

    async def _commit(self, batch: list[tuple[Job, asyncio.Future[Any]]]) -> None:
        results: list[Any] = []
        try:
            async with self.engine.begin() as connection:
                for job, _future in batch:
                    results.append(await job(connection))
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
        """Finish queued jobs and stop the worker."""
        while self._queue:
            await asyncio.sleep(0.001)
        if self._worker is not None and not self._worker.done():
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError, RuntimeError):
                await self._worker
        self._worker = None
