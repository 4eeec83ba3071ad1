"""Runs every conversation script (scripts.yml and scripts/*.yml, one file per topic) through
the real pipeline.

The scripts share one bot (building one takes a third of a second, and there are over a
hundred scripts); each script speaks as a citizen of its own, starts with the status API
answering normally and its circuit breaker closed, and when it ends an officer takes back to
the bot whatever it left waiting for staff, so a later script's queue place is its own.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import yaml
from aiohttp.test_utils import TestServer

from actions.base import Reply
from bot.core.messages import IncomingMessage
from bot.dossier_api.client import DossierApiClient
from bot.dossier_api.simulator import create_simulator_app
from bot.service.composition import Runtime, build_runtime
from bot.service.settings import Settings
from nlu.engine import NluModel
from tests.conftest import prepare_data_dir, set_simulator_mode

HERE = Path(__file__).parent
SCRIPTS: list[dict[str, Any]] = [
    script for path in [HERE / "scripts.yml", *sorted((HERE / "scripts").glob("*.yml"))]
    for script in yaml.safe_load(path.read_text(encoding="utf-8"))]
_users = itertools.count()
OFFICER = "script-officer"


class SharedBot:
    """One bot for every script, talking to its own simulator."""

    def __init__(self, runtime: Runtime, simulator: str) -> None:
        self.runtime = runtime
        self.simulator = simulator

    async def fresh_start(self) -> None:
        """The status API answering normally, and its breaker closed, as for a new bot."""
        await set_simulator_mode(self.simulator, "normal")
        assert isinstance(self.runtime.dossiers, DossierApiClient)
        self.runtime.dossiers.breaker.success()

    async def hand_back(self, conversation_id: str) -> None:
        """What a script left waiting for staff goes back to the bot, as an officer does."""
        queue = self.runtime.stores.handoff
        await queue.take(conversation_id, OFFICER)
        await queue.give_back(conversation_id, OFFICER, True, {})


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def bot(tmp_path_factory: pytest.TempPathFactory, shipped_model: NluModel,
              database_template: Path) -> AsyncIterator[SharedBot]:
    server = TestServer(create_simulator_app("test-token"), host="127.0.0.1")
    await server.start_server()
    settings = Settings(data_dir=tmp_path_factory.mktemp("scripts") / "var",
                        dossier_api_token="test-token",
                        dossier_api_timeout=0.3, dossier_api_deadline=1.0)
    prepare_data_dir(settings, database_template, shipped_model)
    simulator = str(server.make_url("")).rstrip("/")
    runtime = await build_runtime(settings, dossier_api_url=simulator)
    try:
        yield SharedBot(runtime, simulator)
    finally:
        await runtime.close()
        await server.close()


def test_there_are_enough_scripts() -> None:
    assert len(SCRIPTS) >= 30


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("script", SCRIPTS, ids=[s["name"] for s in SCRIPTS])
async def test_script(script: dict[str, Any], bot: SharedBot) -> None:
    await bot.fresh_start()
    user = f"script-{next(_users)}"
    try:
        await _run(script, bot, user)
    finally:
        await bot.hand_back(IncomingMessage("test", user, "").conversation_id)


async def _run(script: dict[str, Any], bot: SharedBot, user: str) -> None:
    previous: list[Reply] = []
    for number, step in enumerate(script["steps"], start=1):
        if "api" in step:
            await set_simulator_mode(bot.simulator, step["api"], delay=5.0)
        text = step.get("say")
        if "tap" in step:
            buttons = {b.title: b.payload for r in previous for b in r.buttons}
            assert step["tap"] in buttons, f"step {number}: no button {step['tap']!r}"
            text = buttons[step["tap"]]
        for _ in range(step.get("repeat", 1)):
            incoming = IncomingMessage("test", user, text)
            previous = (await bot.runtime.pipeline.handle(incoming)).replies
        where = f"step {number} ({text!r})"
        said = "\n".join(reply.text for reply in previous)
        if "replies" in step:
            assert len(previous) == step["replies"], f"{where}: {said}"
        for expected in step.get("expect", []):
            assert expected in said, f"{where}: {expected!r} not in:\n{said}"
        for rejected in step.get("reject", []):
            assert rejected not in said, f"{where}: {rejected!r} in:\n{said}"
        titles = [b.title for r in previous for b in r.buttons]
        for title in step.get("buttons", []):
            assert title in titles, f"{where}: no button {title!r} in {titles}"
