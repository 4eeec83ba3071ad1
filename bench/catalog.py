"""National-catalog benchmark: finding the procedure among thousands, and what the catalog
costs in speed and memory against the 21-procedure curated base, in the same run.

Run ``python bench/catalog.py`` (``--set dev`` for the tuning set, ``--quick`` for accuracy
only). It prints:

* procedure top-1 / top-3 on the held-out citizen questions (``bench/data``), with and
  without diacritics, and the existing held-out NLU test (intent and procedure entity) with
  the curated base and with the full catalog;
* parse p50/p99 with the full catalog against the curated base, both timed alternately in
  this process;
* resident memory of ``egovbot serve`` with each base (two processes, one after the other);
* the time to reload after publishing one edit, and to import the whole capture;
* the import report's parsed shares.

Nothing here is a test: figures are printed to be read, with the machine line.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.machine import describe
from bench.nlu import forbid_network, percentile
from bot.core.brain import lexicon_of
from bot.service.bootstrap import load_or_train_model, open_knowledge
from bot.service.settings import Settings
from knowledge.catalog.convert import codes_in, procedure_id, variant_key
from knowledge.catalog.importer import CATALOG_FILE, read_records
from knowledge.catalog.record import NationalRecord
from knowledge.snapshot import KnowledgeSnapshot
from nlu.engine import BuiltinNlu
from nlu.evaluate import predict, report, without_diacritics
from nlu.intents import EntityType
from nlu.procedure_search import retriever_for
from nlu.rasa_data import load_training_data

DATA = Path(__file__).resolve().parent / "data"
SHIPPED_KNOWLEDGE = Settings().knowledge_dir  # read before a run points the env elsewhere
SETS = {"heldout": DATA / "catalog_questions_heldout.yaml",
        "dev": DATA / "catalog_questions_dev.yaml",
        "dev2": DATA / "catalog_questions_dev2.yaml"}


@dataclass(frozen=True)
class Question:
    """One citizen question and the national codes that answer it."""

    text: str
    codes: frozenset[str]
    diacritics: bool


def read_questions(path: Path) -> list[Question]:
    """The question set of a YAML file."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))["questions"]
    return [Question(item["text"], frozenset([item["code"], *item.get("also", [])]),
                     bool(item["diacritics"])) for item in raw]


@functools.cache
def shipped_records() -> dict[str, NationalRecord]:
    """The catalog the project ships, by code."""
    return read_records(Settings().knowledge_dir / CATALOG_FILE)


def answering_ids(knowledge: KnowledgeSnapshot, codes: frozenset[str]) -> set[str]:
    """The procedure ids that answer for these national codes: the record itself, or the
    curated procedure that covers it (by code, or as the same procedure at another level)."""
    ids = {procedure_id(code) for code in codes if procedure_id(code) in knowledge.procedures}
    records = shipped_records()
    keys = {variant_key(records[code].name) for code in codes if code in records}
    for procedure in knowledge.procedures.values():
        if procedure.is_national:
            continue
        covered = codes_in(procedure.code)
        if covered & codes or keys & {variant_key(records[c].name) for c in covered
                                      if c in records}:
            ids.add(procedure.id)
    return ids


def accuracy(nlu: BuiltinNlu, knowledge: KnowledgeSnapshot,
             questions: list[Question]) -> dict[str, Any]:
    """Top-1 (the procedure the bot answers about, or the first it offers when it asks) and
    top-3 (among the entity and the ranking's first three), overall and by diacritics."""
    rows = []
    misses = []
    for question in questions:
        wanted = answering_ids(knowledge, question.codes)
        parse = nlu.parse(question.text)
        named = parse.first(EntityType.PROCEDURE)
        first = named or (parse.procedure_choices[0].id if parse.procedure_choices else None)
        candidates = [c for c in [named, *(s.id for s in parse.procedure_ranking)] if c]
        top3 = list(dict.fromkeys(candidates))[:3]
        hit1, hit3 = first in wanted, bool(wanted & set(top3))
        rows.append((question.diacritics, hit1, hit3, parse.procedure_choices != ()))
        if not hit1:
            misses.append((question.text, sorted(wanted), first, top3))
    def share(selected: list[tuple[bool, bool, bool, bool]], column: int) -> float:
        return 100.0 * sum(row[column] for row in selected) / max(1, len(selected))
    accented = [r for r in rows if r[0]]
    plain = [r for r in rows if not r[0]]
    return {"n": len(rows), "top1": share(rows, 1), "top3": share(rows, 2),
            "asked": share(rows, 3),
            "top1_accented": share(accented, 1), "top1_plain": share(plain, 1),
            "top3_accented": share(accented, 2), "top3_plain": share(plain, 2),
            "misses": misses}


def nlu_test(nlu: BuiltinNlu, settings: Settings) -> dict[str, float]:
    """The existing held-out NLU test: intent accuracy and procedure accuracy (the message's
    procedures exactly)."""
    data = load_training_data([settings.nlu_test_file])
    out: dict[str, float] = {}
    for label, test in (("accented", data), ("plain", without_diacritics(data))):
        result = report(predict(nlu.parse, test))
        out[f"intent_{label}"] = 100 * result["intent"]["accuracy"]
        out[f"procedure_{label}"] = 100 * result["procedure_accuracy"]
    return out


def parse_latency(engines: dict[str, BuiltinNlu], texts: list[str],
                  rounds: int) -> dict[str, list[float]]:
    """Parse times in ms per engine, the engines taking turns text by text."""
    samples: dict[str, list[float]] = {name: [] for name in engines}
    for text in texts[:30]:
        for nlu in engines.values():
            nlu.parse(text)
    for _ in range(rounds):
        for text in texts:
            for name, nlu in engines.items():
                started = time.perf_counter()
                nlu.parse(text)
                samples[name].append((time.perf_counter() - started) * 1000)
    return samples


async def reload_after_edit(settings: Settings) -> tuple[float, float]:
    """Seconds to save one officer's edit, and to rebuild what a running service answers
    from after it (snapshot, lexicon, procedure search), as a publish does."""
    engine, store = await open_knowledge(settings)
    try:
        city = await store.city()
        assert city is not None
        offices = {o.id for o in await store.offices()}
        running = lexicon_of(await KnowledgeSnapshot.load(store))  # what a service holds
        retriever_for(running.documents, running.synonyms)
        started = time.perf_counter()
        await store.catalog.save_edits("1.001766", {"aliases": ["khai tử Việt kiều"]},
                                       "bench", city, offices)
        saved = time.perf_counter() - started
        started = time.perf_counter()
        knowledge = await KnowledgeSnapshot.load(store)
        lexicon = lexicon_of(knowledge)
        retriever_for.cache_clear()
        retriever_for(lexicon.documents, lexicon.synonyms)
        return saved, time.perf_counter() - started
    finally:
        await engine.dispose()


async def import_whole(settings: Settings, capture: Path) -> tuple[float, int]:
    """Seconds to parse a whole capture and store it in an empty database."""
    from knowledge.catalog.importer import import_catalog

    engine, store = await open_knowledge(settings, seed=False)
    try:
        started = time.perf_counter()
        report = import_catalog(capture)
        await store.catalog.import_records(report.records)
        return time.perf_counter() - started, len(report.records)
    finally:
        await engine.dispose()


async def serve_memory(with_catalog: bool, questions: list[str],
                       work: Path) -> dict[str, float]:
    """Resident memory (MB) of ``egovbot serve`` with the shipped knowledge, or with a copy
    of it that has no national catalog: started on an empty database (which it seeds), then
    restarted on that database; each time after answering the questions through
    ``/model/parse``, and the high-water mark of the restart."""
    import shutil

    import aiohttp

    from bench.compare_rasa import Server, free_port

    knowledge = work / ("with" if with_catalog else "without")
    shutil.copytree(SHIPPED_KNOWLEDGE, knowledge)
    if not with_catalog:
        (knowledge / CATALOG_FILE).unlink()
    figures: dict[str, float] = {}
    for start in ("first", "restart"):
        port = free_port()
        os.environ.update({"EGOVBOT_DATA_DIR": str(work / f"var-{knowledge.name}"),
                           "EGOVBOT_KNOWLEDGE_DIR": str(knowledge), "EGOVBOT_PORT": str(port)})
        log = work / f"serve-{knowledge.name}-{start}.log"
        async with Server([sys.executable, "-m", "bot.cli", "serve"], port, log,
                          "/readyz") as server:
            assert server.process is not None
            async with aiohttp.ClientSession() as session:
                for text in questions:
                    async with session.post(server.url + "/model/parse",
                                            json={"text": text}) as answer:
                        await answer.read()
            figures[start] = rss_mb(server.process.pid)
            figures[f"{start}_peak"] = server.peak_mb()
    return figures


def rss_mb(pid: int) -> float:
    """A process's resident memory now, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def build(settings: Settings) -> tuple[KnowledgeSnapshot, KnowledgeSnapshot, Any]:
    """The full snapshot (both tiers, from a freshly seeded database) and the curated one."""
    engine, store = await open_knowledge(settings)
    try:
        full = await KnowledgeSnapshot.load(store)
    finally:
        await engine.dispose()
    curated = [p for p in full.procedures.values() if not p.is_national]
    small = KnowledgeSnapshot.build(full.city, curated, list(full.offices.values()),
                                    list(full.faqs.values()), full.synonyms)
    return full, small, store


def print_accuracy(label: str, result: dict[str, Any], show_misses: bool) -> None:
    print(f"{label}: {result['n']} questions: top-1 {result['top1']:.1f} %, top-3 "
          f"{result['top3']:.1f} % (asked which one in {result['asked']:.1f} %)")
    print(f"  with diacritics top-1 {result['top1_accented']:.1f} % / top-3 "
          f"{result['top3_accented']:.1f} %; without top-1 {result['top1_plain']:.1f} % / "
          f"top-3 {result['top3_plain']:.1f} %")
    if show_misses:
        for text, wanted, got, top3 in result["misses"]:
            print(f"  MISS {text!r}: want {wanted}, got {got}, top3 {top3}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--set", choices=sorted(SETS), default="heldout")
    parser.add_argument("--quick", action="store_true", help="accuracy only")
    parser.add_argument("--misses", action="store_true", help="print every top-1 miss")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--capture", type=Path, help="a capture of the national catalog "
                        "(JSON Lines), to time a whole import")
    args = parser.parse_args()
    print(describe())
    with tempfile.TemporaryDirectory() as data_dir:
        fresh = Settings(data_dir=Path(data_dir))
        saved, rebuilt = asyncio.run(reload_after_edit(fresh))
        print(f"publishing one edit of a national record: saved in {saved:.2f} s, knowledge "
              f"and procedure search rebuilt in {rebuilt:.2f} s (target <= 2 s)")
    if not args.quick:
        texts = [q.text for q in read_questions(SETS[args.set])]
        saved_env = dict(os.environ)
        with tempfile.TemporaryDirectory() as work:
            memory = {label: asyncio.run(serve_memory(label == "catalog", texts, Path(work)))
                      for label in ("curated", "catalog")}
        os.environ.clear()
        os.environ.update(saved_env)
        for label, figures in memory.items():
            print(f"egovbot serve, {label:8s}: {figures['first']:.0f} MB on its first start "
                  f"(seeding the database), {figures['restart']:.0f} MB restarted (peak "
                  f"{figures['restart_peak']:.0f} MB while loading), after {len(texts)} "
                  f"parses")
        print(f"resident memory, catalog - curated: "
              f"{memory['catalog']['restart'] - memory['curated']['restart']:+.0f} MB "
              f"restarted, {memory['catalog']['first'] - memory['curated']['first']:+.0f} MB "
              f"on the first start (target <= +100 MB)")
    if args.capture is not None:
        with tempfile.TemporaryDirectory() as data_dir:
            seconds, count = asyncio.run(import_whole(Settings(data_dir=Path(data_dir)),
                                                      args.capture))
            print(f"import of the whole capture ({count} records) into an empty database: "
                  f"{seconds:.1f} s (target <= 60 s)")
    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(data_dir=Path(data_dir))
        started = time.perf_counter()
        full, small, _store = asyncio.run(build(settings))
        forbid_network()  # parsing opens no connection
        print(f"seeded a database with both tiers and loaded the snapshot in "
              f"{time.perf_counter() - started:.1f} s: {len(full.procedures)} procedures "
              f"({len(small.procedures)} curated)")
        started = time.perf_counter()
        model = load_or_train_model(settings, lexicon_of(small))
        print(f"model ready in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        big_nlu = BuiltinNlu(model, lexicon_of(full), settings.nlu_oos_threshold)
        print(f"lexicon and procedure search of the full catalog built in "
              f"{time.perf_counter() - started:.2f} s")
        small_nlu = BuiltinNlu(model, lexicon_of(small), settings.nlu_oos_threshold)
        questions = read_questions(SETS[args.set])
        print_accuracy(f"catalog questions ({args.set})", accuracy(big_nlu, full, questions),
                       args.misses)
        for label, nlu in (("curated base", small_nlu), ("full catalog", big_nlu)):
            figures = nlu_test(nlu, settings)
            print(f"existing held-out NLU test, {label}: intent "
                  f"{figures['intent_accented']:.1f} % / {figures['intent_plain']:.1f} % "
                  f"(with / without diacritics); procedure "
                  f"{figures['procedure_accented']:.1f} % / {figures['procedure_plain']:.1f} %")
        if args.quick:
            return 0
        texts = [q.text for q in questions] + [e.text for e in load_training_data(
            [settings.nlu_test_file]).examples]
        if hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
        samples = parse_latency({"curated": small_nlu, "catalog": big_nlu}, texts,
                                args.rounds)
        p99 = {name: percentile(values, 0.99) for name, values in samples.items()}
        for name, values in samples.items():
            print(f"parse {name:8s}: p50 {statistics.median(values):.2f} ms, p99 "
                  f"{p99[name]:.2f} ms over {len(values)} parses")
        print(f"parse p99 ratio catalog / curated: {p99['catalog'] / p99['curated']:.2f} "
              f"(target <= 2)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
