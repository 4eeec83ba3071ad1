"""Held-out dialogue benchmark (issue 15): how many turns of multi-turn citizen conversations
the whole bot gets right.

Why it exists: the NLU benchmarks score single sentences, but citizens write in
conversations — a follow-up that keeps the procedure ("còn lệ phí?"), a switch to another
one, a dossier code after being asked for it, an honest "I don't have that". This script
runs every dialogue of ``bench/data/dialogues_heldout.yaml`` (written from how citizens of
Hải Phòng write on Zalo, never from the training lines; the file's header documents the
format) through the real pipeline — a fresh SQLite data directory, the built-in NLU, the
dossier simulator's data in-process — and scores each turn: the right procedure AND the
right action (the policy's decision) AND the expected strings present AND the rejected ones
absent.

Run ``python bench/dialogues.py`` (``--only ID`` for some dialogues, ``--verbose`` to print
every turn). It prints the share of turns right overall (target >= 95 %) and per kind, every
miss (dialogue, turn, what was said, what the bot did, the start of the reply), the median
and max reply length, and the machine line. Nothing here is a test: figures are printed to
be read.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import sys
import tempfile
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.machine import describe
from bot.core.messages import IncomingMessage
from bot.core.payloads import parse_payload
from bot.core.pipeline import HandledMessage
from bot.service.composition import build_runtime
from bot.service.settings import Settings

DATA = Path(__file__).resolve().parent / "data" / "dialogues_heldout.yaml"
TARGET = 0.95
# Every dialogue starts at this moment (a Tuesday, 09:30 in Hải Phòng, office hours), one
# minute per turn, so "late"/"days left" of a dossier and office hours do not drift with the
# day the benchmark runs.
START = dt.datetime(2026, 12, 1, 2, 30, tzinfo=dt.UTC)
# Actions whose reply is about one procedure (the decision names it).
ABOUT_PROCEDURE = frozenset({
    "procedure_overview", "procedure_documents", "procedure_fee", "procedure_duration",
    "procedure_location", "procedure_online", "faq", "clarify",
})
ACTIONS = frozenset({
    *ABOUT_PROCEDURE, "dossier_status", "ask_procedure", "greet", "goodbye", "thank", "help",
    "out_of_scope", "offer_human", "human_handoff", "wait_for_staff", "with_staff",
    "resume_bot", "feedback", "rate", "notice", "no_procedure",
})
# The two honest "I have no answer for that": "not a question I can answer" (out_of_scope)
# and "no procedure of mine fits" (no_procedure, with the hotline and a person). Either is
# right where the other is expected; offering procedures, or answering about one, is not.
HONEST_NO = frozenset({"out_of_scope", "no_procedure"})
KINDS = ("aspect", "catalog", "follow_up", "switch", "clarification", "place", "dossier",
         "not_handled", "handoff", "smalltalk")


@dataclass(frozen=True)
class ExpectedTurn:
    """One citizen message and what a right reply is."""

    say: str
    kind: str
    actions: tuple[str, ...]
    procedures: tuple[str | None, ...] | None  # None: not checked; (None,): no procedure
    expect: tuple[str, ...] = ()
    reject: tuple[str, ...] = ()


@dataclass(frozen=True)
class Dialogue:
    """A conversation of a few turns."""

    id: str
    turns: tuple[ExpectedTurn, ...]


def _tuple(value: Any) -> tuple[Any, ...]:
    if value is None:
        return ()
    return tuple(value) if isinstance(value, list) else (value,)


def read_dialogues(path: Path = DATA) -> list[Dialogue]:
    """The dialogues of the YAML file (see its header for the format); raises ValueError
    on a malformed entry."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    dialogues: list[Dialogue] = []
    for item in raw["dialogues"]:
        default_kind = item.get("kind")
        turns: list[ExpectedTurn] = []
        for number, turn in enumerate(item["turns"], start=1):
            where = f"{item.get('id')} turn {number}"
            unknown = set(turn) - {"say", "kind", "action", "procedure", "expect", "reject"}
            if unknown:
                raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
            actions = _tuple(turn.get("action"))
            if not actions or not set(actions) <= ACTIONS:
                raise ValueError(f"{where}: action must be one or more of {sorted(ACTIONS)}")
            kind = turn.get("kind", default_kind)
            if kind not in KINDS:
                raise ValueError(f"{where}: kind {kind!r} is not one of {KINDS}")
            if not isinstance(turn.get("say"), str) or not turn["say"].strip():
                raise ValueError(f"{where}: say must be a text")
            procedures: tuple[str | None, ...] | None = None
            if "procedure" in turn:
                procedures = ((None,) if turn["procedure"] is None
                              else _tuple(turn["procedure"]))
            turns.append(ExpectedTurn(turn["say"], kind, actions, procedures,
                                      tuple(str(s) for s in _tuple(turn.get("expect"))),
                                      tuple(str(s) for s in _tuple(turn.get("reject")))))
        dialogues.append(Dialogue(str(item["id"]), tuple(turns)))
    return dialogues


@dataclass
class Outcome:
    """How the bot answered one turn and whether that was right."""

    dialogue: str
    number: int
    turn: ExpectedTurn
    action: str
    procedure: str | None
    offered: tuple[str, ...]
    reply: str
    problems: list[str] = field(default_factory=list)

    @property
    def right(self) -> bool:
        return not self.problems


def offered_procedures(handled: HandledMessage) -> tuple[str, ...]:
    """The procedures the reply's buttons stand for (what "which one?" offers)."""
    found: list[str] = []
    for reply in handled.replies:
        for button in reply.buttons:
            parse = parse_payload(button.payload)
            if parse is not None:
                found += [e.value for e in parse.entities if e.entity == "procedure"]
    return tuple(found)


def score(dialogue: str, number: int, turn: ExpectedTurn, handled: HandledMessage,
          known: set[str]) -> Outcome:
    """Compare one turn's handling with what was expected."""
    action = handled.decision.action
    procedure = handled.decision.procedure
    if procedure not in known:
        procedure = None
    reply = "\n".join(r.text for r in handled.replies)
    offered = offered_procedures(handled)
    outcome = Outcome(dialogue, number, turn, action, procedure, offered, reply)
    shown = "\n".join([reply, *(b.title for r in handled.replies for b in r.buttons)])
    honest = action in HONEST_NO and bool(HONEST_NO & set(turn.actions))
    if action not in turn.actions and not honest:
        outcome.problems.append(f"action {action}, want {'|'.join(turn.actions)}")
    if turn.procedures is not None:
        wanted = set(turn.procedures)
        if wanted == {None}:
            if action in ABOUT_PROCEDURE and procedure is not None:
                outcome.problems.append(f"about {procedure}, want no procedure")
        elif action == "ask_procedure":
            if not wanted & set(offered):
                outcome.problems.append(f"offered {list(offered)}, want "
                                        f"{'|'.join(str(p) for p in turn.procedures)}")
        elif procedure not in wanted:
            outcome.problems.append(f"procedure {procedure}, want "
                                    f"{'|'.join(str(p) for p in turn.procedures)}")
    folded = shown.casefold()  # what the citizen sees: the texts and the button titles
    for text in turn.expect:
        if text.casefold() not in folded:
            outcome.problems.append(f"missing {text!r}")
    for text in turn.reject:
        if text.casefold() in folded:
            outcome.problems.append(f"says {text!r}")
    return outcome


# Settings a run pins to their defaults, whatever EGOVBOT_* the environment sets: the figure
# is about the shipped knowledge and training data, the built-in NLU, SQLite and the dossier
# simulator's data in-process.
PINNED = ("database_url", "redis_url", "knowledge_dir", "nlu_train_files", "nlu_engine",
          "nlu_oos_threshold", "dossier_api_url", "dossier_lookups_per_hour",
          "state_ttl_minutes", "office_hours_schedule", "office_holidays")


def bench_settings(data_dir: Path) -> Settings:
    """Settings for a run in a fresh data directory, with ``PINNED`` at their defaults."""
    pinned = {name: Settings.model_fields[name].get_default(call_default_factory=True)
              for name in PINNED}
    return Settings(data_dir=data_dir, **pinned)


async def run(dialogues: list[Dialogue], verbose: bool) -> list[Outcome]:
    """Every dialogue through the real pipeline, one conversation each."""
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory() as data_dir:
        runtime = await build_runtime(bench_settings(Path(data_dir)))
        try:
            pipeline = runtime.pipeline
            known = set(pipeline.brain.knowledge.procedures)
            for index, dialogue in enumerate(dialogues):
                user = f"heldout-{index}"
                for number, turn in enumerate(dialogue.turns, start=1):
                    at = START + dt.timedelta(minutes=number)
                    handled = await pipeline.handle(
                        IncomingMessage("bench", user, turn.say, received_at=at))
                    outcome = score(dialogue.id, number, turn, handled, known)
                    outcomes.append(outcome)
                    if verbose:
                        mark = "ok  " if outcome.right else "MISS"
                        print(f"{mark} {dialogue.id}#{number} {turn.say!r} -> "
                              f"{outcome.action} {outcome.procedure or ''} "
                              f"{'; '.join(outcome.problems)}")
        finally:
            await runtime.close()
    return outcomes


def without_diacritics(text: str) -> bool:
    """Whether a message is written without Vietnamese diacritics (no accent, no "đ")."""
    return all(unicodedata.decomposition(c) == "" and c != "đ" for c in text.lower()
               if c.isalpha())


def share(outcomes: list[Outcome]) -> str:
    right = sum(o.right for o in outcomes)
    return f"{right}/{len(outcomes)} = {100 * right / max(1, len(outcomes)):.1f} %"


def report(dialogues: list[Dialogue], outcomes: list[Outcome]) -> None:
    """Print the figures, every miss and the machine line."""
    print(f"held-out dialogues: {len(dialogues)} dialogues, {len(outcomes)} turns "
          f"({DATA.name})")
    print(f"turns right: {share(outcomes)} (target >= {TARGET:.0%})")
    whole = sum(all(o.right for o in outcomes if o.dialogue == d.id) for d in dialogues)
    print(f"dialogues with every turn right: {whole}/{len(dialogues)}")
    counts = Counter(o.turn.kind for o in outcomes)
    print("per kind:")
    for kind in KINDS:
        if counts[kind]:
            print(f"  {kind:<14} {share([o for o in outcomes if o.turn.kind == kind])}")
    plain = [o for o in outcomes if without_diacritics(o.turn.say)]
    print(f"messages written without diacritics: {share(plain)}; with: "
          f"{share([o for o in outcomes if o not in plain])}")
    misses = [o for o in outcomes if not o.right]
    missed = {(o.dialogue, o.number) for o in misses}
    after = sum((o.dialogue, o.number - 1) in missed for o in misses)
    print(f"misses ({len(misses)}; {after} right after a missed turn of the same dialogue, "
          f"marked +):")
    for o in misses:
        chained = "+" if (o.dialogue, o.number - 1) in missed else "-"
        shown = " ".join(o.reply.split())[:200]
        offered = f" offered {list(o.offered)}" if o.action == "ask_procedure" else ""
        print(f"{chained} {o.dialogue} #{o.number} [{o.turn.kind}] {o.turn.say!r}\n"
              f"    bot: {o.action} {o.procedure or '-'}{offered}; "
              f"{'; '.join(o.problems)}\n"
              f"    reply: {shown}")
    lengths = [len(o.reply) for o in outcomes]
    if lengths:
        print(f"reply length (characters, all replies of a turn): median "
              f"{statistics.median(lengths):.0f}, max {max(lengths)}")
    print(f"machine: {describe()}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", default=[],
                        help="run only the dialogue with this id (repeatable)")
    parser.add_argument("--verbose", action="store_true", help="print every turn")
    args = parser.parse_args()
    dialogues = read_dialogues()
    if args.only:
        dialogues = [d for d in dialogues if d.id in args.only]
    outcomes = asyncio.run(run(dialogues, args.verbose))
    report(dialogues, outcomes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
