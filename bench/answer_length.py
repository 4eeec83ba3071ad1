"""Answer-length benchmark: how long the first answer to a procedure question is.

A citizen on a phone reads about 600 characters on one screen. This asks the bot, through
the real pipeline over a fresh SQLite database (as ``bench/pipeline.py`` builds it), one
question per aspect (steps, papers, fee, time, place, online) for every curated procedure and
for an even spread of national-catalog procedures. Each question is the aspect's button
payload (``/procedure_fee{"procedure": …}``), which the bot reads exactly as the typed
question, so every aspect of every procedure is measured and the NLU's reading plays no part.

It prints the median and the longest answer, per tier and per aspect, how many answers are
over 1,500 characters without a "Xem thêm" button (target: none), and how long the pages
behind "Xem thêm" are, with the machine line. Nothing here is a test.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from actions import texts
from actions.base import Reply, payload
from actions.procedures import RENDERERS
from bench.machine import describe
from bot.core.messages import IncomingMessage
from bot.core.pipeline import Pipeline
from bot.service.composition import build_runtime
from bot.service.settings import Settings
from knowledge.schema import Procedure

LONG = 1500  # characters: over this, the answer must offer "Xem thêm"
SCREEN = 600  # characters: about one phone screen
MORE_TITLE = getattr(texts, "MORE_BUTTON", "Xem thêm")


@dataclass(frozen=True)
class Answer:
    """One measured first answer."""

    procedure: str
    national: bool
    aspect: str
    length: int
    more: str | None  # the "Xem thêm" payload, when the answer offers one


def national_spread(procedures: list[Procedure], count: int) -> list[Procedure]:
    """``count`` national procedures evenly spread over the catalog (sorted by id)."""
    national = sorted((p for p in procedures if p.is_national), key=lambda p: p.id)
    if not national or count <= 0:
        return []
    step = max(1, len(national) // count)
    return national[::step][:count]


async def ask(pipeline: Pipeline, user: str, text: str) -> Reply:
    """The bot's last reply to ``text``."""
    replies = (await pipeline.handle(IncomingMessage("bench", user, text))).replies
    return replies[-1]


def figures(lengths: list[int]) -> str:
    """Median, max and the share over one screen."""
    over = sum(1 for n in lengths if n > SCREEN)
    return (f"median {statistics.median(lengths):.0f}, max {max(lengths)}, "
            f"over {SCREEN}: {over}/{len(lengths)}")


async def run(national_count: int, show: int) -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        runtime = await build_runtime(Settings(data_dir=Path(data_dir)))
        pipeline = runtime.pipeline
        knowledge = pipeline.brain.knowledge
        procedures = list(knowledge.procedures.values())
        chosen = [p for p in procedures if not p.is_national]
        chosen += national_spread(procedures, national_count)
        answers: list[Answer] = []
        more_lengths: list[int] = []
        for number, procedure in enumerate(chosen):
            for aspect in RENDERERS:
                user = f"len-{number}-{aspect}"
                reply = await ask(pipeline, user, payload(aspect, procedure=procedure.id))
                more = next((b.payload for b in reply.buttons if b.title == MORE_TITLE), None)
                answers.append(Answer(procedure.id, procedure.is_national, aspect,
                                      len(reply.text), more))
                if more is not None:
                    more_lengths.append(len((await ask(pipeline, user, more)).text))
        await runtime.close()
    print(f"machine: {describe()}")
    curated = [a.length for a in answers if not a.national]
    national = [a.length for a in answers if a.national]
    print(f"{len(answers)} first answers: {len(curated)} curated "
          f"({len(curated) // len(RENDERERS)} procedures x {len(RENDERERS)} aspects), "
          f"{len(national)} national ({len(national) // len(RENDERERS)} procedures)")
    print(f"all (characters): {figures([a.length for a in answers])} "
          f"(aim: median <= {SCREEN})")
    print(f"curated: {figures(curated)}")
    if national:
        print(f"national: {figures(national)}")
    by_aspect: dict[str, list[int]] = defaultdict(list)
    for answer in answers:
        by_aspect[answer.aspect].append(answer.length)
    for aspect, lengths in by_aspect.items():
        print(f"  {aspect}: {figures(lengths)}")
    unbuttoned = [a for a in answers if a.length > LONG and a.more is None]
    print(f"over {LONG} characters without a \"{MORE_TITLE}\" button: {len(unbuttoned)} "
          f"(target 0)")
    with_more = sum(1 for a in answers if a.more is not None)
    print(f"answers offering \"{MORE_TITLE}\": {with_more}/{len(answers)}"
          + (f"; the page behind it: {figures(more_lengths)}" if more_lengths else ""))
    for answer in sorted(answers, key=lambda a: -a.length)[:show]:
        print(f"  longest: {answer.length} {answer.procedure} {answer.aspect}"
              f"{' (Xem thêm)' if answer.more else ''}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--national", type=int, default=40,
                        help="how many national-catalog procedures to ask about")
    parser.add_argument("--show", type=int, default=5, help="list the N longest answers")
    args = parser.parse_args()
    asyncio.run(run(args.national, args.show))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
