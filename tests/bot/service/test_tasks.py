"""Stopping background tasks: a task whose cancellation is lost (as Python 3.11's
``asyncio.wait_for`` loses one that arrives as the wrapped call completes) is still stopped."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest

from bot.service.tasks import BackgroundTasks, stop_task


async def _renews_forever(renewals: list[float]) -> None:
    """A lock renewer that loses the first cancellation it gets, then carries on."""
    # what a lost cancellation looks like from outside: the task goes on
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.sleep(3600)
    while True:
        renewals.append(asyncio.get_running_loop().time())
        await asyncio.sleep(0.01)


async def test_a_task_that_loses_a_cancellation_is_stopped() -> None:
    renewals: list[float] = []
    task = asyncio.create_task(_renews_forever(renewals), name="renew chat")
    await asyncio.sleep(0)
    await stop_task(task, timeout=5)
    assert task.cancelled()
    count = len(renewals)
    assert count > 0  # it did go on after the first cancel ...
    await asyncio.sleep(0.05)
    assert len(renewals) == count  # ... and not after stop_task returned


async def test_a_plain_task_stops_at_the_first_cancel() -> None:
    task = asyncio.create_task(asyncio.sleep(3600))
    await asyncio.sleep(0)
    started = asyncio.get_running_loop().time()
    await stop_task(task)
    assert task.cancelled()
    assert asyncio.get_running_loop().time() - started < 0.4  # no second round was needed


async def test_a_task_that_never_stops_is_left_with_a_warning(
        caplog: pytest.LogCaptureFixture) -> None:
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            try:
                await release.wait()
            except asyncio.CancelledError:
                continue

    task = asyncio.create_task(stubborn(), name="stubborn")
    await asyncio.sleep(0)
    with caplog.at_level(logging.WARNING, logger="bot.service.tasks"):
        await stop_task(task, timeout=0.3)
    assert not task.done()
    assert "stubborn did not stop" in caplog.text
    release.set()
    await task


async def test_an_error_while_stopping_is_logged_not_raised(
        caplog: pytest.LogCaptureFixture) -> None:
    async def fails_on_cancel() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            raise RuntimeError("cleanup failed") from None

    task = asyncio.create_task(fails_on_cancel(), name="cleanup")
    await asyncio.sleep(0)
    with caplog.at_level(logging.WARNING, logger="bot.service.tasks"):
        await stop_task(task)
    assert "cleanup ended with an error" in caplog.text


async def test_background_work_is_kept_until_it_ends_and_waited_for_bounded() -> None:
    background = BackgroundTasks()
    release = asyncio.Event()
    finished: list[str] = []

    async def work(name: str) -> None:
        await release.wait()
        finished.append(name)

    background.spawn(work("a"))
    background.spawn(work("b"))
    await asyncio.sleep(0)
    assert background.busy
    await background.wait(0.01)  # bounded: returns although the work goes on
    assert background.busy and finished == []
    release.set()
    await background.wait(5)
    assert not background.busy and sorted(finished) == ["a", "b"]
