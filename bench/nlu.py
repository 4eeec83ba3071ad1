"""NLU benchmark: held-out accuracy (with and without diacritics), training time, parse latency.

Run ``python bench/nlu.py`` (or ``make bench``). It trains the built-in engine on the shipped
training data, evaluates it on the held-out test file and on the same file with every diacritic
removed, times each parse on one CPU core, and refuses any network access while it runs.
"""

from __future__ import annotations

import argparse
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
from nlu.engine import BuiltinNlu, train
from nlu.evaluate import predict, report, without_diacritics
from nlu.rasa_data import load_training_data


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5, help="passes over the test file to time")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    forbid_network()
    settings = Settings()
    bundle = load_directory(settings.knowledge_dir)
    lexicon = build_lexicon(bundle.procedures, bundle.offices)
    train_data = load_training_data(settings.nlu_train_files)
    test_data = load_training_data([settings.nlu_test_file])

    started = time.perf_counter()
    model = train(train_data, lexicon)
    train_seconds = time.perf_counter() - started
    nlu = BuiltinNlu(model, lexicon, settings.nlu_oos_threshold)

    accented = report(predict(nlu.parse, test_data))
    plain = report(predict(nlu.parse, without_diacritics(test_data)))

    texts = [e.text for e in test_data.examples] + [e.text for e in
                                                    without_diacritics(test_data).examples]
    for text in texts[:50]:
        nlu.parse(text)  # warm caches
    latencies = []
    for _ in range(args.rounds):
        for text in texts:
            begin = time.perf_counter()
            nlu.parse(text)
            latencies.append((time.perf_counter() - begin) * 1000)

    print(f"machine: {describe()} (timed on 1 core)")
    print(f"training data: {len(train_data.examples)} examples; held-out test: "
          f"{len(test_data.examples)} examples")
    print(f"training time: {train_seconds:.2f} s (target <= 30 s)")
    print("                         with diacritics   without   drop")
    for label, key in (("intent accuracy", None), ("intent macro-F1", "macro_f1"),
                       ("procedure accuracy", "procedure")):
        if key is None:
            a, b = accented["intent"]["accuracy"], plain["intent"]["accuracy"]
        elif key == "macro_f1":
            a, b = accented["intent"]["macro_f1"], plain["intent"]["macro_f1"]
        else:
            a, b = accented["procedure_accuracy"], plain["procedure_accuracy"]
        print(f"{label:24s} {a * 100:10.2f} %  {b * 100:8.2f} %  {(a - b) * 100:5.2f}")
    print(f"parse latency over {len(latencies)} parses: p50 {statistics.median(latencies):.3f} ms,"
          f" p99 {percentile(latencies, 0.99):.3f} ms, max {max(latencies):.3f} ms "
          f"(target p99 <= 5 ms)")
    print("network connections attempted: 0")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
