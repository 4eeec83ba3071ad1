"""``egovbot serve --workers N``: N worker processes on one port, and the parent that keeps them.

The parent checks that the settings allow several processes (PostgreSQL and Redis: SQLite and
in-memory locks are one-process only), prepares once what every worker would otherwise race to
do (the schema check, seeding an empty database, training a missing model), runs the
dossier-status simulator itself when no status API is configured, and starts the workers by
re-executing ``python -m bot.cli serve --worker-of PARENT_PID``. Each worker builds its own app
with ``create_app`` and listens on ``EGOVBOT_HOST:EGOVBOT_PORT`` with ``SO_REUSEPORT``, so the
kernel spreads connections over them.

A worker that dies unexpectedly (a crash, ``kill -9``, the OOM killer) is started again after a
backoff that doubles while it keeps failing quickly; after ``MAX_QUICK_FAILURES`` quick failures
in a row (a port in use, a broken setting) the parent stops everything and exits 1. SIGTERM or
SIGINT to the parent is forwarded as SIGTERM to every worker, which finishes the messages in
hand; the parent waits for them (killing what is left after the shutdown timeout plus a margin)
and exits 0. Workers run in their own session, so a terminal's Ctrl+C reaches only the parent,
and each worker stops by itself when its parent disappears.

Prometheus metrics of all workers are merged through ``PROMETHEUS_MULTIPROC_DIR``: the parent
creates a fresh directory for each run, tells ``prometheus_client`` when a worker died, and
removes the directory at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

# bot/cli.py imports this module to build its parser (WORKER_FLAG), so `egovbot --help` must
# not pay for aiohttp or the NLU here: the functions import what they run with when called.
if TYPE_CHECKING:
    from aiohttp import web

    from bot.service.settings import Settings

log = logging.getLogger(__name__)

WORKER_FLAG = "--worker-of"  # hidden flag of `egovbot serve`: the parent's pid
RESTART_BACKOFF = 1.0  # seconds before the first restart of a dead worker
MAX_RESTART_BACKOFF = 30.0
HEALTHY_AFTER = 30.0  # a worker that ran this long counts as healthy: backoff starts over
MAX_QUICK_FAILURES = 5
STOP_MARGIN = 10.0  # seconds beyond the shutdown timeout before the parent kills workers
PARENT_CHECK_INTERVAL = 1.0
ENV_COMMAND = shutil.which("env") or "/usr/bin/env"


def scale_out_problem(settings: Settings) -> str | None:
    """Why these settings cannot run several worker processes, or None when they can."""
    missing = []
    if not settings.effective_database_url.startswith("postgresql"):
        missing.append("EGOVBOT_DATABASE_URL=postgresql+asyncpg://USER:PASSWORD@HOST:5432/DB")
    if not settings.redis_url:
        missing.append("EGOVBOT_REDIS_URL=redis://HOST:6379/0")
    if not missing:
        return None
    return ("several workers need PostgreSQL and Redis: the SQLite database and the in-memory "
            "conversation locks and rate limits work in one process only. Set "
            + " and ".join(missing) + " (then run `egovbot db upgrade`), or use --workers 1")


def describe_exit(code: int) -> str:
    """A process's exit status in words."""
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
        return f"killed by signal {-code}"
    return f"exit code {code}"


async def watch_parent(parent_pid: int, stop: asyncio.Event,
                       interval: float = PARENT_CHECK_INTERVAL) -> None:
    """Set ``stop`` when the process that started this worker is gone (it was reparented)."""
    while not stop.is_set():
        if os.getppid() != parent_pid:
            log.warning("the parent process %d is gone; stopping this worker", parent_pid)
            stop.set()
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)


def _mark_dead(metrics_dir: str, pid: int) -> None:
    """Tell prometheus_client that a worker's live gauges no longer count."""
    try:
        from prometheus_client import multiprocess
    except ImportError:  # metrics are optional for supervision
        return
    multiprocess.mark_process_dead(pid, metrics_dir)  # type: ignore[no-untyped-call]


class Supervisor:
    """Keeps ``count`` copies of ``command`` running until told to stop. They inherit this
    process's environment with ``env`` added, through ``env(1)``: the service itself never
    reads or copies the environment (only pydantic-settings does, in bot/service/settings.py)."""

    def __init__(self, count: int, command: Sequence[str], env: Mapping[str, str], *,
                 stop_timeout: float, metrics_dir: str | None = None,
                 backoff: float = RESTART_BACKOFF, max_backoff: float = MAX_RESTART_BACKOFF,
                 healthy_after: float = HEALTHY_AFTER,
                 max_quick_failures: int = MAX_QUICK_FAILURES) -> None:
        self.count = count
        self.command = list(command)
        self.env = dict(env)
        self.stop_timeout = stop_timeout
        self.metrics_dir = metrics_dir
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.healthy_after = healthy_after
        self.max_quick_failures = max_quick_failures
        self.live: dict[int, asyncio.subprocess.Process] = {}  # slot -> running worker
        self.failed = False
        self._stopping = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> int:
        """Run the workers until ``stop`` is set (or they keep failing); 0 on a clean stop."""
        keepers = [asyncio.create_task(self._keep(slot, stop)) for slot in range(self.count)]
        try:
            await stop.wait()
        finally:
            self._stopping.set()
            await self._stop_all(keepers)
        return 1 if self.failed else 0

    async def _start(self, slot: int) -> asyncio.subprocess.Process:
        assignments = [f"{name}={value}" for name, value in self.env.items()]
        process = await asyncio.create_subprocess_exec(  # env(1) execs: the pid is the worker's
            ENV_COMMAND, *assignments, *self.command, stdin=asyncio.subprocess.DEVNULL,
            start_new_session=True)
        self.live[slot] = process
        log.info("started worker %d (pid %d)", slot + 1, process.pid)
        if self._stopping.is_set():  # stop arrived while it was starting
            process.send_signal(signal.SIGTERM)
        return process

    async def _keep(self, slot: int, stop: asyncio.Event) -> None:
        """Start the worker of one slot, and again each time it dies, until stopping."""
        loop = asyncio.get_running_loop()
        delay = self.backoff
        quick_failures = 0
        while not self._stopping.is_set():
            started = loop.time()
            try:
                process = await self._start(slot)
            except OSError as exc:  # cannot even exec: restarting will not help
                log.error("cannot start worker %d: %s; stopping all workers", slot + 1, exc)
                self.failed = True
                stop.set()
                return
            code = await process.wait()
            self.live.pop(slot, None)
            if self.metrics_dir:
                _mark_dead(self.metrics_dir, process.pid)
            if self._stopping.is_set():
                log.info("worker %d (pid %d) stopped (%s)", slot + 1, process.pid,
                         describe_exit(code))
                return
            if loop.time() - started >= self.healthy_after:
                delay, quick_failures = self.backoff, 0
            quick_failures += 1
            if quick_failures >= self.max_quick_failures:
                log.error("worker %d (pid %d) died (%s), %d times in a row soon after "
                          "starting; stopping all workers", slot + 1, process.pid,
                          describe_exit(code), quick_failures)
                self.failed = True
                stop.set()
                return
            log.warning("worker %d (pid %d) died unexpectedly (%s); restarting it in %.1f s",
                        slot + 1, process.pid, describe_exit(code), delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)
            delay = min(delay * 2, self.max_backoff)

    async def _stop_all(self, keepers: list[asyncio.Task[None]]) -> None:
        """SIGTERM every worker, wait for them, SIGKILL what is left after the timeout."""
        for process in list(self.live.values()):
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        _done, pending = await asyncio.wait(keepers, timeout=self.stop_timeout)
        if pending:
            for slot, process in list(self.live.items()):
                log.error("worker %d (pid %d) did not stop within %.0f s; killing it",
                          slot + 1, process.pid, self.stop_timeout)
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
            await asyncio.wait(pending)


async def prepare(settings: Settings) -> None:
    """What every worker would otherwise race to do, done once: refuse a schema that is behind
    (SchemaBehind), seed an empty database, train and save a missing or stale model."""
    from bot.service.bootstrap import build_nlu, open_knowledge

    engine, store = await open_knowledge(settings)
    try:
        await build_nlu(settings, store)
    finally:
        await engine.dispose()


async def start_simulator(settings: Settings) -> tuple[web.AppRunner, str]:
    """The dossier-status simulator and its base URL: on ``EGOVBOT_SIMULATOR_PORT`` when that
    is set (ListenError when it is taken); otherwise on the default port, or on any free port
    when something else holds the default. The URL says which port it got."""
    from aiohttp import web

    from bot.dossier_api.simulator import create_simulator_app
    from bot.service.listen import PortInUse, bound_port, listen

    runner = web.AppRunner(create_simulator_app(settings.dossier_api_token))
    await runner.setup()
    host = settings.simulator_host

    async def bind(port: int) -> None:
        await listen(runner, host, port, host_setting="EGOVBOT_SIMULATOR_HOST",
                     port_setting="EGOVBOT_SIMULATOR_PORT")

    try:
        try:
            await bind(settings.simulator_port)
        except PortInUse:
            if "simulator_port" in settings.model_fields_set:  # chosen: do not pick another
                raise
            log.info("port %d is taken; the dossier-status simulator takes a free port",
                     settings.simulator_port)
            await bind(0)
    except BaseException:
        await runner.cleanup()
        raise
    return runner, f"http://{host}:{bound_port(runner)}"


def worker_command(parent_pid: int, verbose: bool) -> list[str]:
    """The command line of one worker: this interpreter re-running the CLI."""
    return [sys.executable, "-m", "bot.cli", *(["--verbose"] if verbose else []), "serve",
            WORKER_FLAG, str(parent_pid)]


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def serve_workers(settings: Settings, count: int, verbose: bool = False) -> int:
    """Run ``count`` workers on one port until SIGTERM/SIGINT; the exit code of the command."""
    problem = scale_out_problem(settings)
    if problem is not None:
        sys.stderr.write(f"error: {problem}\n")
        return 2
    await prepare(settings)
    extra = {"PYTHONUNBUFFERED": "1"}
    simulator: web.AppRunner | None = None
    if not settings.dossier_api_url:  # the workers get the URL with the port it really took
        from bot.service.listen import ListenError

        try:
            simulator, extra["EGOVBOT_DOSSIER_API_URL"] = await start_simulator(settings)
        except ListenError as exc:
            sys.stderr.write(f"error: {exc}\n")
            return 2
        _say(f"Dossier-status simulator on {extra['EGOVBOT_DOSSIER_API_URL']}")
    metrics_dir = tempfile.mkdtemp(prefix="egovbot-metrics-")
    extra["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    supervisor = Supervisor(count, worker_command(os.getpid(), verbose), extra,
                            stop_timeout=settings.shutdown_timeout + STOP_MARGIN,
                            metrics_dir=metrics_dir)
    _say(f"egovbot parent {os.getpid()}: {count} workers on http://{settings.host}:"
         f"{settings.port} (SIGTERM or Ctrl+C to stop)")
    try:
        code = await supervisor.run(stop)
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        if simulator is not None:
            await simulator.cleanup()
        shutil.rmtree(metrics_dir, ignore_errors=True)
    _say("all workers stopped" if code == 0 else "workers kept failing; stopped")
    return code
