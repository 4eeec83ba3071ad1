"""Background tasks: stopping them so that they really stop, and keeping fire-and-forget work
until it ends.

A cancellation can be lost: on Python 3.11, ``asyncio.wait_for`` returns the result instead of
raising when the cancel arrives just as the wrapped operation completes, and redis-py sends
every command through ``wait_for``. A task cancelled once in that moment carries on (for a
lock renewer: renewing forever, so the conversation never gets answered again). ``stop_task``
cancels again until the task has ended.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)

RECANCEL_SECONDS = 0.5


async def stop_task(task: asyncio.Task[Any], timeout: float = 10.0) -> None:
    """Cancel ``task`` and wait for it to end, cancelling again while it goes on; after
    ``timeout`` seconds it is left to end by itself, with a warning."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    rounds = 0
    while not task.done():
        if rounds == 1:
            log.warning("task %s still runs %.1f s after being cancelled (a lost "
                        "cancellation?); cancelling it again", task.get_name(),
                        RECANCEL_SECONDS)
        rounds += 1
        task.cancel()
        remaining = deadline - loop.time()
        if remaining <= 0:
            log.warning("task %s did not stop in %.0f s", task.get_name(), timeout)
            return
        await asyncio.wait({task}, timeout=min(RECANCEL_SECONDS, remaining))
    if not task.cancelled() and task.exception() is not None:
        log.warning("task %s ended with an error while stopping", task.get_name(),
                    exc_info=task.exception())


class BackgroundLoop:
    """A component that runs ``_loop`` in one background task between ``start`` and ``stop``
    (the retention job, the follow poller and notifier)."""

    TASK_NAME = "background"
    _task: asyncio.Task[None] | None = None

    async def _loop(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        """Run ``_loop`` in the background until ``stop``."""
        self._task = asyncio.create_task(self._loop(), name=self.TASK_NAME)

    async def stop(self) -> None:
        """Stop the background task (see ``stop_task``)."""
        if self._task is not None:
            await stop_task(self._task)
            self._task = None


class BackgroundTasks:
    """Fire-and-forget work a component starts (a callback answer, bookkeeping after a
    webhook), kept referenced until it ends so it is neither collected mid-way nor forgotten
    at shutdown; ``wait`` lets it finish, bounded."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` in the background."""
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def busy(self) -> bool:
        """Some of the work is still running."""
        return bool(self._tasks)

    async def wait(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for the running work to end."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)
