"""Runs every conversation script (scripts.yml and scripts/*.yml, one file per topic) through
the real pipeline."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
import yaml

from actions.base import Reply
from bot.core.messages import IncomingMessage
from bot.service.composition import Runtime
from tests.conftest import set_simulator_mode

HERE = Path(__file__).parent
SCRIPTS: list[dict[str, Any]] = [
    script for path in [HERE / "scripts.yml", *sorted((HERE / "scripts").glob("*.yml"))]
    for script in yaml.safe_load(path.read_text(encoding="utf-8"))]
_users = itertools.count()


def test_there_are_enough_scripts() -> None:
    assert len(SCRIPTS) >= 30


@pytest.mark.parametrize("script", SCRIPTS, ids=[s["name"] for s in SCRIPTS])
async def test_script(script: dict[str, Any], runtime: Runtime, simulator: str) -> None:
    user = f"script-{next(_users)}"
    previous: list[Reply] = []
    for number, step in enumerate(script["steps"], start=1):
        if "api" in step:
            await set_simulator_mode(simulator, step["api"], delay=5.0)
        text = step.get("say")
        if "tap" in step:
            buttons = {b.title: b.payload for r in previous for b in r.buttons}
            assert step["tap"] in buttons, f"step {number}: no button {step['tap']!r}"
            text = buttons[step["tap"]]
        for _ in range(step.get("repeat", 1)):
            previous = (await runtime.pipeline.handle(IncomingMessage("test", user, text))).replies
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
