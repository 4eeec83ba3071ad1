"""The ``egovbot`` command and ``make`` targets as a user runs them: separate processes with their
own environment and a temporary SQLite database, judged by exit code, stdout and stderr."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from bot.service.settings import PROJECT_ROOT, Settings
from nlu.engine import NluModel

HANG_GUARD = 600.0  # seconds: only so that a hanging command fails instead of blocking the run
SIMULATOR_DEFAULT_PORT = 8099


def environment(tmp_path: Path, **settings: str) -> dict[str, str]:
    """This process's environment without any EGOVBOT_ setting, with a data directory and
    SQLite database under ``tmp_path`` plus ``settings``."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("EGOVBOT_") and key != "PROMETHEUS_MULTIPROC_DIR"}
    env["EGOVBOT_DATA_DIR"] = str(tmp_path / "var")
    env["EGOVBOT_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'egovbot.db'}"
    env.update({f"EGOVBOT_{key.upper()}": value for key, value in settings.items()})
    return env


@pytest.fixture
def trained(tmp_path: Path, shipped_model: NluModel) -> None:
    """The shipped model saved where the commands look for it (so none of them trains)."""
    shipped_model.save(Settings(data_dir=tmp_path / "var").model_path)


def run(command: list[str], env: dict[str, str],
        stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Run ``command`` to its end in its own process group; if it hangs, kill the whole group
    (``make`` would otherwise leave its child running) and fail."""
    with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=env, cwd=PROJECT_ROOT, text=True,
                          start_new_session=True) as process:
        try:
            stdout, stderr = process.communicate(stdin, timeout=HANG_GUARD)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            pytest.fail(f"{' '.join(command)} did not end")
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def egovbot(*args: str, env: dict[str, str],
            stdin: str = "") -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "bot.cli", *args], env, stdin)


@pytest.mark.slow  # over ~2 s
def test_make_chat_starts_the_console_chat(tmp_path: Path, trained: None) -> None:
    # -o: take the installed environment as it is (never reinstall from a test)
    done = run(["make", "-s", "-o", ".venv/.installed", "chat"], environment(tmp_path),
               stdin="cho gặp nhân viên\n")
    assert done.returncode == 0, done.stderr
    assert "bot> " in done.stdout
    assert "serving" not in done.stdout


HEAVY = ("sklearn", "scipy", "sqlalchemy", "alembic", "aiohttp", "telegram", "redis", "argon2")


def test_importing_the_cli_loads_no_heavy_library(tmp_path: Path) -> None:
    code = ("import sys, bot.cli; print(' '.join(sorted({m.split('.')[0] for m in sys.modules}"
            f" & set({HEAVY!r}))))")
    done = run([sys.executable, "-c", code], environment(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == []


def test_help_and_argument_errors_answer_without_loading_the_service(tmp_path: Path) -> None:
    # -X importtime lists every module the process imported, on stderr
    helped = run([sys.executable, "-X", "importtime", "-m", "bot.cli", "--help"],
                 environment(tmp_path))
    assert helped.returncode == 0
    assert "usage: egovbot" in helped.stdout
    wrong = run([sys.executable, "-X", "importtime", "-m", "bot.cli", "users", "add"],
                environment(tmp_path))
    assert wrong.returncode == 2
    assert "the following arguments are required: name" in wrong.stderr
    for done in (helped, wrong):
        imported = {line.rsplit("|", 1)[-1].strip().split(".")[0]
                    for line in done.stderr.splitlines() if line.startswith("import time:")}
        assert "bot" in imported  # the listing is there
        assert imported & set(HEAVY) == set()


@contextlib.contextmanager
def listening(port: int = 0) -> Iterator[int]:
    """A socket listening on 127.0.0.1:``port`` (0: a free one) as another program's would;
    yields its port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        yield sock.getsockname()[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.slow  # over ~2 s
def test_serve_on_a_port_in_use_says_which_setting_to_change(tmp_path: Path,
                                                              trained: None) -> None:
    with listening() as taken:
        done = egovbot("serve", env=environment(tmp_path, port=str(taken),
                                                simulator_port=str(free_port())))
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"error: port {taken} is in use: set EGOVBOT_PORT to a free port"]


def test_serve_with_the_simulator_port_set_and_in_use_says_so(tmp_path: Path,
                                                              trained: None) -> None:
    with listening() as taken:
        done = egovbot("serve", env=environment(tmp_path, port=str(free_port()),
                                                simulator_port=str(taken)))
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"error: port {taken} is in use: set EGOVBOT_SIMULATOR_PORT to a free port"]


@pytest.mark.slow  # over ~2 s
async def test_serve_takes_a_free_simulator_port_when_the_default_is_taken(
        tmp_path: Path, trained: None) -> None:
    port = free_port()
    env = {**environment(tmp_path, port=str(port), web_allow_unsigned_senders="true"),
           "PYTHONUNBUFFERED": "1"}
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(listening(SIMULATOR_DEFAULT_PORT))
        except OSError as exc:  # another program holds it already: the case under test
            if exc.errno != errno.EADDRINUSE:
                raise
        with open(tmp_path / "stderr", "wb") as stderr:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot.cli", "serve", env=env, cwd=PROJECT_ROOT,
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=stderr)
        assert process.stdout is not None
        try:
            lines: list[str] = []
            while not lines or "serving on" not in lines[-1]:
                line = await asyncio.wait_for(process.stdout.readline(), HANG_GUARD)
                assert line, (lines, (tmp_path / "stderr").read_text())
                lines.append(line.decode())
            simulator_url = lines[0].removeprefix("Dossier-status simulator on ").strip()
            assert simulator_url.startswith("http://127.0.0.1:")
            assert not simulator_url.endswith(f":{SIMULATOR_DEFAULT_PORT}")
            # the bot must reach the simulator where it really listens
            lookup = {"sender": "cong-dan-1", "message": "000.00.12.H31-261110-0003"}
            async with aiohttp.ClientSession() as session, session.post(
                    f"http://127.0.0.1:{port}/api/chat", json=lookup) as resp:
                assert resp.status == 200
                replies = await resp.json()
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), HANG_GUARD)
    assert "Tình trạng: Cần bổ sung hồ sơ" in replies[0]["text"]
    assert process.returncode == 0


@pytest.mark.slow  # over ~2 s
def test_users_add_with_a_piped_password_needs_the_flag(tmp_path: Path) -> None:
    env = environment(tmp_path)
    refused = egovbot("users", "add", "minh", "--role", "staff", env=env,
                      stdin="mat-khau-rat-dai-1\n")
    assert refused.returncode == 2
    assert refused.stderr.splitlines() == [
        "error: stdin is not a terminal, so the password cannot be asked for: "
        "pipe it with --password-stdin"]
    added = egovbot("users", "add", "minh", "--role", "staff", "--password-stdin", env=env,
                    stdin="mat-khau-rat-dai-1\n")
    assert added.returncode == 0, added.stderr
    assert added.stdout == "Created staff account minh\n"
