"""Parses before and after a change: identical, and how much CPU each takes.

``python bench/parse_same.py --against OTHER_CHECKOUT`` runs this script in worker processes
under two source trees (this one and ``--against``), alternating, each with its own
``.venv`` and ``PYTHONHASHSEED=0``. A worker builds the bot's runtime on a fresh data
directory (the catalog imported, the synonym table, the shipped model trained: the engine the
bot parses with), parses every text of the training data, the held-out test file and the
bench question sets, each also without diacritics, and writes the parses and the CPU seconds
of ``rounds`` passes over them. The parent compares the parses (intent, rankings' scores to
1e-9, entities, procedures) and prints the CPU per parse of each tree and their ratio, with
the machine line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TOLERANCE = 1e-9
HERE = Path(__file__).resolve().parent.parent


def texts_of(root: Path) -> list[str]:
    """Every text to parse: training data, the test file, the bench question sets; each
    also without diacritics; in a fixed order, duplicates once."""
    import yaml

    from bot.service.settings import Settings
    from nlu.evaluate import without_diacritics
    from nlu.rasa_data import load_training_data

    settings = Settings()
    data = root / "bench" / "data"
    nlu_files = [*settings.nlu_train_files, settings.nlu_test_file,
                 *sorted(data.glob("*.yml"))]
    texts: list[str] = []
    for path in nlu_files:
        loaded = load_training_data([path])
        texts.extend(e.text for e in loaded.examples)
        texts.extend(e.text for e in without_diacritics(loaded).examples)
    for path in sorted(data.glob("*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        for item in document.get("questions", []) + document.get("messages", []):
            texts.append(item["text"])
        for dialogue in document.get("dialogues", []):
            texts.extend(turn["say"] for turn in dialogue["turns"] if "say" in turn)
    return list(dict.fromkeys(texts))


def as_data(parse: Any) -> dict[str, Any]:
    """A parse as plain data, with full-precision scores."""
    return {
        "intent": [parse.intent.name, parse.intent.confidence],
        "ranking": [[s.name, s.confidence] for s in parse.intent_ranking],
        "entities": [[e.entity, e.value, e.start, e.end, e.confidence, e.text, e.extractor,
                      e.code] for e in parse.entities],
        "procedures": [[p.id, p.code, p.name, p.score, p.coverage]
                       for p in parse.procedure_ranking],
        "choices": [[p.id, p.code, p.name, p.score, p.coverage]
                    for p in parse.procedure_choices],
    }


async def worker(out: Path, rounds: int) -> None:
    from bot.service.composition import build_runtime
    from bot.service.settings import Settings

    texts = texts_of(HERE)
    with tempfile.TemporaryDirectory() as directory:
        runtime = await build_runtime(Settings(data_dir=Path(directory)))
        nlu = runtime.pipeline.brain.nlu
        parses = [as_data(nlu.parse(text)) for text in texts]
        seconds = []
        for _ in range(rounds):
            started = time.process_time()
            for text in texts:
                nlu.parse(text)
            seconds.append(time.process_time() - started)
        await runtime.close()
    out.write_text(json.dumps({"texts": texts, "parses": parses, "seconds": seconds},
                              ensure_ascii=False))


def difference(a: Any, b: Any, path: str = "") -> str:
    """Where two parses differ ("" when equal, floats to ``TOLERANCE``)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return f"{path}: keys"
        return next((d for key in a if (d := difference(a[key], b[key], f"{path}.{key}"))),
                    "")
    if isinstance(a, float) or isinstance(b, float):
        close = isinstance(a, int | float) and isinstance(b, int | float) and math.isclose(
            a, b, rel_tol=0, abs_tol=TOLERANCE)
        return "" if close else f"{path}: {a!r} != {b!r}"
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} != {len(b)} items"
        return next((d for k, (x, y) in enumerate(zip(a, b, strict=True))
                     if (d := difference(x, y, f"{path}[{k}]"))), "")
    return "" if a == b else f"{path}: {a!r} != {b!r}"


def largest_gap(a: Any, b: Any) -> float:
    """The largest difference between two equal-shaped parses' numbers."""
    if isinstance(a, dict):
        return max((largest_gap(a[key], b[key]) for key in a), default=0.0)
    if isinstance(a, list):
        return max((largest_gap(x, y) for x, y in zip(a, b, strict=True)), default=0.0)
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b)
    return 0.0


def other_engine(tree: Path, nlu: Any) -> Any:
    """The engine of another tree's ``nlu`` package, in this process, with this engine's
    model and lexicon: that tree's modules are imported under their own names, kept by the
    objects built from them, and this tree's put back."""
    import dataclasses
    import pickle

    model = pickle.dumps(nlu.model)
    ours = {name: module for name, module in sys.modules.items()
            if name == "nlu" or name.startswith("nlu.")}
    for name in ours:
        del sys.modules[name]
    sys.path.insert(0, str(tree))
    try:
        import nlu.engine as engine  # the other tree's
        import nlu.procedure_search as search

        if not Path(engine.__file__ or "").is_relative_to(tree):
            raise RuntimeError(f"imported {engine.__file__}, not {tree}'s")
        lexicon = nlu.lexicon
        documents = tuple(search.ProcedureDoc(**{f.name: getattr(doc, f.name) for f in
                                                 dataclasses.fields(doc)})
                          for doc in lexicon.documents)
        theirs = engine.BuiltinNlu(
            pickle.loads(model),
            engine.Lexicon(lexicon.procedures, lexicon.places, documents, lexicon.synonyms),
            nlu.oos_threshold)
    finally:
        sys.path.remove(str(tree))
        for name in [name for name in sys.modules if name == "nlu" or name.startswith("nlu.")]:
            del sys.modules[name]
        sys.modules.update(ours)
    return theirs


async def interleaved(tree: Path, rounds: int, block: int, script: bool) -> int:
    """Both engines in this process, parsing the same texts block by block in turn (the
    machine's other load falls on both alike); parses compared as in the main mode.
    ``script``: the pipeline benchmarks' ten messages (``bench/pipeline.py``), 50 times."""
    from bench.machine import describe
    from bot.service.composition import build_runtime
    from bot.service.settings import Settings

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    from bench.pipeline import SCRIPT

    texts = list(SCRIPT) * 50 if script else texts_of(HERE)
    with tempfile.TemporaryDirectory() as directory:
        runtime = await build_runtime(Settings(data_dir=Path(directory)))
        after = runtime.pipeline.brain.nlu
        before = other_engine(tree, after)
        print(f"machine: {describe()} (timed on 1 core)")
        pairs = [(as_data(before.parse(text)), as_data(after.parse(text))) for text in texts]
        differ = [k for k, (a, b) in enumerate(pairs) if difference(a, b)]
        gap = max((largest_gap(a, b) for k, (a, b) in enumerate(pairs) if k not in
                   set(differ)), default=0.0)
        for k in differ[:10]:
            print(f"DIFFERENT: {texts[k]!r}: {difference(*pairs[k])}")
        print(f"{len(texts)} texts, parsed in one process by {tree} (before) and {HERE} "
              f"(after), the same model: {len(texts) - len(differ)} identical parses "
              f"(largest score difference {gap:.1e}), {len(differ)} different")
        spent = {"before": 0.0, "after": 0.0}
        for _ in range(rounds):
            for start in range(0, len(texts), block):
                chunk = texts[start:start + block]
                for name, engine in (("before", before), ("after", after)):
                    began = time.process_time()
                    for text in chunk:
                        engine.parse(text)
                    spent[name] += time.process_time() - began
        await runtime.close()
    per = {name: seconds / (rounds * len(texts)) * 1000 for name, seconds in spent.items()}
    print(f"CPU per parse, {rounds} passes, blocks of {block} texts in turn: before "
          f"{per['before']:.3f} ms, after {per['after']:.3f} ms; after / before "
          f"{per['after'] / per['before']:.2f}")
    return 1 if differ else 0


def run_tree(tree: Path, out: Path, rounds: int) -> dict[str, Any]:
    python = tree / ".venv" / "bin" / "python"
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": str(tree)}
    subprocess.run([str(python), "-P", str(Path(__file__).resolve()), "--worker", str(out),
                    "--rounds", str(rounds)], check=True, cwd=tree, env=env)
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--against", type=Path, help="the tree to compare with (main)")
    parser.add_argument("--rounds", type=int, default=3, help="timed passes per worker")
    parser.add_argument("--repeats", type=int, default=2, help="workers per tree, alternating")
    parser.add_argument("--interleaved", action="store_true",
                        help="time both trees' engines in one process, block by block in turn")
    parser.add_argument("--block", type=int, default=50, help="texts per turn (--interleaved)")
    parser.add_argument("--script", action="store_true",
                        help="--interleaved on the pipeline benchmarks' ten messages")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        if hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
        asyncio.run(worker(args.worker, args.rounds))
        return 0
    if args.against is None:
        parser.error("--against TREE is needed")
    sys.path.insert(0, str(HERE))
    if args.interleaved:
        return asyncio.run(interleaved(args.against.resolve(), args.rounds, args.block,
                                       args.script))
    from bench.machine import describe

    print(f"machine: {describe()}")
    trees = {"before": args.against.resolve(), "after": HERE}
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in trees}
    with tempfile.TemporaryDirectory() as directory:
        for repeat in range(args.repeats):
            for name, tree in trees.items():
                runs[name].append(run_tree(tree, Path(directory) / f"{name}{repeat}.json",
                                           args.rounds))
    before, after = runs["before"][0], runs["after"][0]
    if before["texts"] != after["texts"]:
        print("the two trees read different texts")
        return 1
    pairs = list(zip(before["parses"], after["parses"], strict=True))
    differ = [k for k, (a, b) in enumerate(pairs) if difference(a, b)]
    for k in differ[:10]:
        print(f"DIFFERENT: {before['texts'][k]!r}: {difference(*pairs[k])}")
    texts = len(before["texts"])
    gap = max((largest_gap(a, b) for k, (a, b) in enumerate(pairs) if k not in set(differ)),
              default=0.0)
    print(f"{texts} texts: {texts - len(differ)} identical parses (largest score difference "
          f"{gap:.1e}, tolerance {TOLERANCE:.0e}), {len(differ)} different")
    per = {name: [s / texts * 1000 for run in results for s in run["seconds"]]
           for name, results in runs.items()}
    median = {name: statistics.median(values) for name, values in per.items()}
    for name, values in per.items():
        print(f"{name:6s} {trees[name]}: CPU per parse, ms: "
              + ", ".join(f"{v:.3f}" for v in values) + f" (median {median[name]:.3f})")
    least = {name: min(values) for name, values in per.items()}
    print(f"after / before: medians {median['after'] / median['before']:.2f}, "
          f"fastest passes {least['after'] / least['before']:.2f}")
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
