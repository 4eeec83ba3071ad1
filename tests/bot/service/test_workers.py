"""`egovbot serve --workers N`: workers share the port, a killed worker comes back, SIGTERM
stops everything cleanly, and one-process storage is refused. Runs against the PostgreSQL and
Redis on this machine (127.0.0.1:5432 as postgres, 127.0.0.1:6379), loopback only."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest

from bot.cli import main
from bot.service.settings import PROJECT_ROOT, Settings
from bot.service.workers import Supervisor, scale_out_problem
from nlu.engine import NluModel
from tests.scale.harness import PostgresDatabase, free_port

pytestmark = pytest.mark.slow  # egovbot serve --workers 2 as subprocesses

REDIS_URL = "redis://127.0.0.1:6379/9"
START_TIMEOUT = 120.0  # two workers loading the model and the knowledge base on 2 cores
STOP_TIMEOUT = 60.0


def _environment(**settings: str) -> dict[str, str]:
    """This process's environment without any EGOVBOT_ setting, plus ``settings``."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("EGOVBOT_") and key != "PROMETHEUS_MULTIPROC_DIR"}
    env.update({f"EGOVBOT_{key.upper()}": value for key, value in settings.items()})
    return env


def _children(parent: int) -> set[int]:
    """Pids whose parent is ``parent`` (read from /proc/*/stat)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[1]) == parent:
            found.add(int(stat.parent.name))
    return found


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").glob("*"):
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    return inodes


def _tcp_inodes(local_port: int, state: str, remote_port: int | None = None) -> set[str]:
    """Inodes of IPv4 TCP sockets on ``local_port`` in ``state`` (0A listen, 01 established)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, st, inode = fields[1], fields[2], fields[3], fields[9]
        if (int(local.split(":")[1], 16) == local_port and st == state
                and (remote_port is None or int(remote.split(":")[1], 16) == remote_port)):
            inodes.add(inode)
    return inodes


def _listening_workers(parent: int, port: int) -> set[int]:
    """The children of ``parent`` holding a listening socket on ``port``."""
    listening = _tcp_inodes(port, "0A")
    return {pid for pid in _children(parent) if _socket_inodes(pid) & listening}


async def _wait_for(what: str, check: Callable[[], Awaitable[bool]], timeout: float,
                    log: Path) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}; service log:\n"
                        + log.read_text(errors="replace"))
        await asyncio.sleep(0.2)


async def _answering_workers(port: int, workers: set[int], connections: int = 16) -> set[int]:
    """Which workers answered: open connections, GET /healthz on each, and find the worker
    holding the server side of each still-open connection."""
    answered: set[int] = set()
    streams = []
    try:
        for _ in range(connections):
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", port), 10)
            streams.append(writer)
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            await writer.drain()
            status = await asyncio.wait_for(reader.readline(), 10)
            assert status.startswith(b"HTTP/1.1 200"), status
            client_port = writer.get_extra_info("sockname")[1]
            server_side = _tcp_inodes(port, "01", remote_port=client_port)
            answered |= {pid for pid in workers if _socket_inodes(pid) & server_side}
    finally:
        for writer in streams:
            writer.close()
            await writer.wait_closed()
    return answered


async def _run_cli(env: dict[str, str], *args: str, timeout: float = 60.0) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", *args, env=env, cwd=PROJECT_ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output, _ = await asyncio.wait_for(process.communicate(), timeout)
    assert process.returncode is not None
    return process.returncode, output.decode(errors="replace")


async def test_two_workers_share_the_port_survive_kill_9_and_stop_on_sigterm(
        tmp_path: Path, database: PostgresDatabase, shipped_model: NluModel) -> None:
    port, simulator_port = free_port(), free_port()
    env = _environment(database_url=database.url, redis_url=REDIS_URL, port=str(port),
                       simulator_port=str(simulator_port), data_dir=str(tmp_path / "var"),
                       shutdown_timeout="10", web_allow_unsigned_senders="true")
    shipped_model.save(Settings(data_dir=tmp_path / "var").model_path)  # no training
    code, output = await _run_cli(env, "db", "upgrade")
    assert code == 0, output

    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        parent = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "serve", "--workers", "2", env=env,
            cwd=PROJECT_ROOT, stdin=asyncio.subprocess.DEVNULL, stdout=out,
            stderr=asyncio.subprocess.STDOUT)
    try:
        async def two_listening() -> bool:
            return len(_listening_workers(parent.pid, port)) == 2

        await _wait_for("two workers listening", two_listening, START_TIMEOUT, log)
        workers = _listening_workers(parent.pid, port)
        for pid in workers:
            assert "--worker-of" in Path(f"/proc/{pid}/cmdline").read_text()
            assert f"egovbot worker {pid} serving" in log.read_text()
        assert await _answering_workers(port, workers) == workers  # the kernel spreads them

        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as http:
            async with http.get(f"{base}/readyz") as response:
                assert response.status == 200
            async with http.post(f"{base}/api/chat", json={
                    "sender": "worker-test", "message": "tra cuu ho so 000.00.12.H31-261105-0005"
            }) as response:
                assert response.status == 200
                replies = await response.json()
            # the answer came from the simulator the parent runs for the workers
            assert "000.00.12.H31-261105-0005" in replies[0]["text"]
            assert replies[0]["recipient_id"] == "worker-test"

        metrics_dir = Path(dict(
            item.split("=", 1) for item in
            Path(f"/proc/{min(workers)}/environ").read_text().split("\0") if "=" in item
        )["PROMETHEUS_MULTIPROC_DIR"])
        assert metrics_dir.is_dir()

        victim = min(workers)
        survivor = max(workers)
        os.kill(victim, signal.SIGKILL)

        async def replaced() -> bool:
            now = _listening_workers(parent.pid, port)
            return len(now) == 2 and survivor in now and victim not in now

        await _wait_for("the killed worker to be restarted", replaced, START_TIMEOUT, log)
        assert f"(pid {victim}) died unexpectedly (killed by SIGKILL)" in log.read_text()
        workers = _listening_workers(parent.pid, port)
        (newcomer,) = workers - {survivor}

        async def newcomer_answers() -> bool:
            return newcomer in await _answering_workers(port, workers)

        await _wait_for("the restarted worker to answer", newcomer_answers, 30, log)

        parent.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(parent.wait(), STOP_TIMEOUT) == 0, log.read_text()
        for pid in workers:
            assert not Path(f"/proc/{pid}").exists(), f"worker {pid} outlived the parent"
        assert not metrics_dir.exists()
        assert "all workers stopped" in log.read_text()
    finally:
        if parent.returncode is None:
            for pid in _children(parent.pid):
                os.kill(pid, signal.SIGKILL)
            parent.kill()
            await parent.wait()


def test_several_workers_on_sqlite_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    for key in list(os.environ):
        if key.startswith("EGOVBOT_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("EGOVBOT_DATA_DIR", str(tmp_path / "var"))
    assert main(["serve", "--workers", "2"]) == 2
    output = capsys.readouterr().err
    assert "several workers need PostgreSQL and Redis" in output
    assert "EGOVBOT_DATABASE_URL=postgresql+asyncpg://" in output
    assert "EGOVBOT_REDIS_URL=redis://" in output
    assert not (tmp_path / "var").exists()  # refused before touching anything


def test_scale_out_needs_both_postgresql_and_redis(tmp_path: Path) -> None:
    postgres = "postgresql+asyncpg://postgres@127.0.0.1:5432/x"
    no_redis = scale_out_problem(Settings(data_dir=tmp_path, database_url=postgres))
    assert no_redis is not None
    assert "EGOVBOT_REDIS_URL" in no_redis and "EGOVBOT_DATABASE_URL=" not in no_redis
    assert scale_out_problem(Settings(data_dir=tmp_path, database_url=postgres,
                                      redis_url=REDIS_URL)) is None


async def test_a_worker_that_keeps_failing_stops_the_supervisor() -> None:
    supervisor = Supervisor(2, [sys.executable, "-c", "raise SystemExit(3)"], {},
                            stop_timeout=5, backoff=0.01, max_quick_failures=3)
    assert await asyncio.wait_for(supervisor.run(asyncio.Event()), 30) == 1
    assert supervisor.failed and supervisor.live == {}


async def test_the_supervisor_restarts_and_then_stops_its_workers() -> None:
    supervisor = Supervisor(2, [sys.executable, "-c", "import time; time.sleep(60)"],
                            {"EGOVBOT_TEST": "1"}, stop_timeout=10, backoff=0.01)
    stop = asyncio.Event()
    running = asyncio.create_task(supervisor.run(stop))
    deadline = time.monotonic() + 20
    while len(supervisor.live) < 2:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    first = supervisor.live[0].pid
    assert "EGOVBOT_TEST=1" in Path(f"/proc/{first}/environ").read_text().split("\0")
    os.kill(first, signal.SIGKILL)
    while 0 not in supervisor.live or supervisor.live[0].pid == first:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    stop.set()
    assert await asyncio.wait_for(running, 20) == 0
    assert supervisor.live == {} and not supervisor.failed
