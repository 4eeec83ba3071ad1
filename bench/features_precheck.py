"""Figures of the check of papers (issue 13, part 3): the conversation scripts of
``tests/conversations/scripts/precheck.yml`` run through the real pipeline (a fresh SQLite data
directory, the built-in NLU, the shipped knowledge base with the national catalog), with how
many pass, which procedures (curated or national) they walk and which paths they cover (all
ready, something missing, stop and resume, back, ...).

Run ``python bench/features.py --part precheck`` (``--verbose`` prints every failed step).
The scripts' format is the conversation tests' (``tests/conversations/scripts.yml``); each
script here also names its ``procedure`` and its ``paths``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bench.machine import describe
from bot.core.messages import IncomingMessage
from bot.service.composition import build_runtime
from bot.service.settings import Settings

SCRIPTS = (Path(__file__).resolve().parent.parent / "tests" / "conversations" / "scripts"
           / "precheck.yml")
START = dt.datetime(2026, 12, 1, 2, 30, tzinfo=dt.UTC)  # a Tuesday in office hours
REQUIRED_PATHS = ("all_ready", "missing", "stop_resume", "back")


@dataclass(frozen=True, slots=True)
class Outcome:
    """One script's run: its steps, and the first step that failed (with why)."""

    name: str
    procedure: str
    paths: tuple[str, ...]
    steps: int
    failure: str = ""


def check_step(step: dict[str, Any], said: str, titles: list[str]) -> str:
    """Why a reply fails the step ("" when it passes)."""
    for expected in step.get("expect", []):
        if expected not in said:
            return f"{expected!r} missing"
    for rejected in step.get("reject", []):
        if rejected in said:
            return f"{rejected!r} present"
    for title in step.get("buttons", []):
        if title not in titles:
            return f"no button {title!r}"
    return ""


async def run(scripts: list[dict[str, Any]]) -> list[Outcome]:
    """Every script through the real pipeline, one conversation each."""
    outcomes = []
    with tempfile.TemporaryDirectory() as data_dir:
        runtime = await build_runtime(Settings(data_dir=Path(data_dir)))
        try:
            for index, script in enumerate(scripts):
                failure = ""
                buttons: dict[str, str] = {}
                for number, step in enumerate(script["steps"], start=1):
                    text = step.get("say") or buttons.get(step.get("tap", ""))
                    if text is None:
                        failure = f"step {number}: no button {step['tap']!r}"
                        break
                    at = START + dt.timedelta(minutes=number)
                    replies = (await runtime.pipeline.handle(IncomingMessage(
                        "bench", f"precheck-{index}", text, received_at=at))).replies
                    buttons = {b.title: b.payload for r in replies for b in r.buttons}
                    why = check_step(step, "\n".join(r.text for r in replies), list(buttons))
                    if why:
                        failure = f"step {number} ({text!r}): {why}"
                        break
                outcomes.append(Outcome(script["name"], str(script.get("procedure", "")),
                                        tuple(script.get("paths", ())), len(script["steps"]),
                                        failure))
        finally:
            await runtime.close()
    return outcomes


def report(outcomes: list[Outcome], verbose: bool) -> None:
    """Print the figures and the machine line."""
    passed = [o for o in outcomes if not o.failure]
    procedures = sorted({o.procedure for o in outcomes if o.procedure not in ("", "none")})
    national = [p for p in procedures if p.startswith("qg-")]
    print(f"scripts: {len(outcomes)}, passed {len(passed)}/{len(outcomes)}; "
          f"steps: {sum(o.steps for o in outcomes)}")
    print(f"procedures walked: {len(procedures)} ({len(procedures) - len(national)} curated, "
          f"{len(national)} national): {', '.join(procedures)}")
    covered: Counter[str] = Counter()
    passing: Counter[str] = Counter()
    for outcome in outcomes:
        covered.update(outcome.paths)
        if not outcome.failure:
            passing.update(outcome.paths)
    print("paths (scripts passing / covering):")
    for path in sorted(covered, key=lambda p: (p not in REQUIRED_PATHS, p)):
        print(f"  {path}: {passing[path]}/{covered[path]}")
    print("required paths by procedure (passing scripts):")
    for procedure in procedures:
        done = {p for o in outcomes if o.procedure == procedure and not o.failure
                for p in o.paths}
        print(f"  {procedure}: {', '.join(p for p in REQUIRED_PATHS if p in done) or '-'}")
    missing = [p for p in REQUIRED_PATHS if not passing[p]]
    print(f"required paths without a passing script: {', '.join(missing) or 'none'}")
    for outcome in outcomes:
        if outcome.failure and verbose:
            print(f"FAIL {outcome.name}: {outcome.failure}")
    print(f"machine: {describe()}")


def main(argv: list[str] | None = None) -> int:
    """Run the scripts and print the figures; 1 when a script fails."""
    parser = argparse.ArgumentParser(description="check-of-papers figures")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    scripts = yaml.safe_load(SCRIPTS.read_text(encoding="utf-8"))
    outcomes = asyncio.run(run(scripts))
    report(outcomes, args.verbose)
    return 0 if all(not o.failure for o in outcomes) else 1
