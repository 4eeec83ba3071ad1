"""NLU benchmark: held-out accuracy (with and without diacritics), entities, training time,
parse latency, for the shipped engine next to the previous one (accent-free features only, no
entity tagger) in the same run, so speed is a ratio on one machine.

Run ``python bench/nlu.py`` (or ``make bench``). It trains both engines on the shipped training
data, evaluates them on the held-out test file and the citizen held-out files
(bench/data/nlu_citizen_heldout.yml and its second batch, nlu_citizen_heldout_2.yml), each
also with every diacritic removed, trains and tests both on the entity set
(bench/make_entity_data.py), times each parse on one CPU core and a training run on 5,000
examples, and refuses any network access while it runs.
"""

from __future__ import annotations

import argparse
import itertools
import os
import socket
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.machine import describe
from bot.core.brain import build_lexicon
from bot.service.settings import Settings
from knowledge.files import load_directory
from nlu.engine import BuiltinNlu, Lexicon, train
from nlu.evaluate import predict, report, without_diacritics
from nlu.rasa_data import Example, TrainingData, load_training_data

DATA = Path(__file__).resolve().parent / "data"


class NetworkUsed(RuntimeError):
    """Raised if anything opens a socket during the benchmark."""


def forbid_network() -> None:
    """Make every socket creation fail loudly."""

    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise NetworkUsed("the NLU tried to open a network connection")

    socket.socket = refuse  # type: ignore[assignment,misc]
    socket.create_connection = refuse  # type: ignore[assignment]


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def timed_parses(nlu: BuiltinNlu, texts: list[str], rounds: int) -> list[float]:
    """Milliseconds per parse over ``rounds`` passes (after a warm-up)."""
    for text in texts[:50]:
        nlu.parse(text)
    latencies = []
    for _ in range(rounds):
        for text in texts:
            begin = time.perf_counter()
            nlu.parse(text)
            latencies.append((time.perf_counter() - begin) * 1000)
    return latencies


def scaled_to(data: TrainingData, size: int) -> TrainingData:
    """The examples repeated (each copy with a marker word) up to ``size`` examples."""
    examples = [Example(f"{e.text} v{n // len(data.examples)}" if n >= len(data.examples)
                        else e.text, e.intent, e.entities)
                for n, e in zip(range(size), itertools.cycle(data.examples), strict=False)]
    return TrainingData(examples, data.synonyms, data.lookups, data.regexes)


def figures(nlu: BuiltinNlu, data: TrainingData) -> tuple[dict[str, Any], dict[str, Any]]:
    """Reports with and without diacritics."""
    return report(predict(nlu.parse, data)), report(predict(nlu.parse, without_diacritics(data)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5, help="passes over the test file to time")
    parser.add_argument("--size", type=int, default=5000,
                        help="examples of the training-time run")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    forbid_network()
    settings = Settings()
    bundle = load_directory(settings.knowledge_dir)
    lexicon = build_lexicon(bundle.procedures, bundle.offices)
    train_data = load_training_data(settings.nlu_train_files)
    test_data = load_training_data([settings.nlu_test_file])
    held_out = load_training_data([DATA / "nlu_citizen_heldout.yml"])
    held_out_2 = load_training_data([DATA / "nlu_citizen_heldout_2.yml"])
    entity_train = load_training_data([DATA / "entities_train.yml"])
    entity_test = load_training_data([DATA / "entities_test.yml"])
    print(f"machine: {describe()} (timed on 1 core)")
    print(f"training data: {len(train_data.examples)} examples; held-out test: "
          f"{len(test_data.examples)}; citizen held-out: {len(held_out.examples)} + "
          f"{len(held_out_2.examples)} (second batch); entity "
          f"set: {len(entity_train.examples)} / {len(entity_test.examples)}")
    print("engines side by side: 'previous' = accent-free features only, no entity tagger "
          "(main before issue 14); 'now' = the shipped engine")

    engines: dict[str, BuiltinNlu] = {}
    seconds: dict[str, float] = {}
    for name, previous in (("previous", True), ("now", False)):
        started = time.perf_counter()
        model = train(train_data, lexicon, previous=previous)
        seconds[name] = time.perf_counter() - started
        engines[name] = BuiltinNlu(model, lexicon, settings.nlu_oos_threshold)
    balanced = BuiltinNlu(train(train_data, lexicon, balanced=True), lexicon,
                          settings.nlu_oos_threshold)

    print("                                   previous: with / without   now: with / without")
    for label, data, nlus in (("shipped test file", test_data, engines),
                              ("citizen held-out", held_out, engines),
                              ("citizen held-out 2", held_out_2, engines)):
        row = []
        for nlu in nlus.values():
            accented, plain = figures(nlu, data)
            row.append((accented, plain))
        for key, title in (("accuracy", "intent accuracy"), ("macro_f1", "intent macro-F1")):
            cells = "   ".join(f"{a['intent'][key] * 100:6.2f} / {p['intent'][key] * 100:6.2f} %"
                               for a, p in row)
            print(f"{label + ', ' + title:34s} {cells}")
        cells = "   ".join(f"{a['procedure_accuracy'] * 100:6.2f} / "
                           f"{p['procedure_accuracy'] * 100:6.2f} %" for a, p in row)
        print(f"{label + ', procedure':34s} {cells}")
    accented, plain = figures(balanced, test_data)
    print(f"now with class weights + calibrated temperature (train(balanced=True)), shipped "
          f"file: {accented['intent']['accuracy'] * 100:.2f} / "
          f"{accented['intent']['macro_f1'] * 100:.2f} % (accuracy / macro-F1), without diacritics "
          f"{plain['intent']['accuracy'] * 100:.2f} / {plain['intent']['macro_f1'] * 100:.2f} %")

    entity_nlu = {name: BuiltinNlu(train(entity_train, Lexicon(), previous=name == "previous"),
                                   Lexicon()) for name in engines}
    for name, nlu in entity_nlu.items():
        accented, plain = figures(nlu, entity_test)
        overall, overall_plain = accented["entities"]["overall"], plain["entities"]["overall"]
        types = ", ".join(f"{t} {e['f1'] * 100:.1f}" for t, e in accented["entities"].items()
                          if e["support"] and t != "overall")
        print(f"entity set, {name}: entity P/R/F1 {overall['precision'] * 100:.1f} / "
              f"{overall['recall'] * 100:.1f} / {overall['f1'] * 100:.1f} % ({types}); without "
              f"diacritics F1 {overall_plain['f1'] * 100:.1f} %; intent "
              f"{accented['intent']['accuracy'] * 100:.2f} %; whole sentences right "
              f"{accented['sentence_accuracy'] * 100:.2f} %")

    texts = [e.text for e in test_data.examples] + [e.text for e in
                                                    without_diacritics(test_data).examples]
    latencies = {name: timed_parses(nlu, texts, args.rounds) for name, nlu in engines.items()}
    entity_texts = [e.text for e in entity_test.examples]
    tagged = {name: timed_parses(nlu, entity_texts, args.rounds)
              for name, nlu in entity_nlu.items()}
    for label, runs in (("shipped test file", latencies), ("entity set (tagger runs)", tagged)):
        p50 = {n: statistics.median(v) for n, v in runs.items()}
        p99 = {n: percentile(v, 0.99) for n, v in runs.items()}
        print(f"parse, {label}: previous p50 {p50['previous']:.3f} ms, p99 "
              f"{p99['previous']:.3f} ms; now p50 {p50['now']:.3f} ms, p99 {p99['now']:.3f} ms;"
              f" ratio now/previous p50 {p50['now'] / p50['previous']:.2f}, p99 "
              f"{p99['now'] / p99['previous']:.2f}")
    print(f"training, shipped data: previous {seconds['previous']:.2f} s, now "
          f"{seconds['now']:.2f} s (ratio {seconds['now'] / seconds['previous']:.2f})")
    big = scaled_to(train_data.merge(entity_train), args.size)
    big_seconds = {}
    for name in ("previous", "now"):
        started = time.perf_counter()
        train(big, lexicon, previous=name == "previous")
        big_seconds[name] = time.perf_counter() - started
    print(f"training, {len(big.examples)} examples (shipped + entity set, repeated): previous "
          f"{big_seconds['previous']:.2f} s, now {big_seconds['now']:.2f} s (ratio "
          f"{big_seconds['now'] / big_seconds['previous']:.2f}; target <= 30 s)")
    print("network connections attempted: 0")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
