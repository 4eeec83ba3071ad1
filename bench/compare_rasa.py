"""The built-in NLU engine against Rasa's DIET classifier, on the same data, side by side.

Run ``python bench/compare_rasa.py`` (or ``make rasa-bench``; Rasa must be installed in
``.venv-rasa`` by ``make rasa``). For the shipped data it trains both engines on the shipped
training file and evaluates both on the held-out test file and on the same file without
diacritics, then on the custom-entity dataset (``bench/data/entities_train.yml`` and
``entities_test.yml``, written by ``bench/make_entity_data.py``; without the knowledge base's
phrases, which name none of its entities); ``--pair TRAIN TEST`` adds any Rasa-format
train/test pair (repeatable), so anyone can rerun the comparison on their own data. It prints,
per engine:

* intent accuracy and macro-F1, procedure-entity accuracy and entity precision/recall/F1
  (overall and per annotated type) on every test file;
* training time and peak memory while training (the RSS high-water mark of the training
  process: ``rasa train nlu`` in its own environment, ``bench/nlu_server.py train``);
* parse latency p50/p99: the built-in engine in-process and through a ``/model/parse`` HTTP
  server (``bench/nlu_server.py serve``: the JSON the bot's own route answers), Rasa
  through ``rasa run --enable-api`` and the bot's Rasa client (``bot.rasa_nlu.RasaNlu``:
  exactly what the bot pays per message, text conversion included);
* peak memory while serving (RSS high-water mark of each server process after the runs);
* the built-in engine's training time on 5,000 examples (the shipped and entity training
  files, repeated, as ``bench/nlu.py`` does);

and, last, which of issue 14's targets are met, with the figures.

Rasa is evaluated through the bot's client, so its answers are judged as the bot would use
them (procedure values resolved to ids, offsets on the citizen's text). ``--choose-text-form``
instead measures which text form to export (raw, normalised, plain) on a split of the
*training* file only (80 % to train, 20 % to evaluate, with and without diacritics), so the
choice is not tuned on the test files. Nothing here tunes anything on the test files.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from bench.machine import describe  # noqa: E402
from bench.nlu import percentile, scaled_to  # noqa: E402
from bench.nlu_server import write_lexicon  # noqa: E402
from bot.core.brain import build_lexicon  # noqa: E402
from bot.service.settings import Settings  # noqa: E402
from knowledge.files import load_directory  # noqa: E402
from nlu.engine import BuiltinNlu, Lexicon, train  # noqa: E402
from nlu.evaluate import Prediction, report, without_diacritics  # noqa: E402
from nlu.rasa_data import Example, TrainingData, dump_training_data, load_training_data  # noqa: E402
from nlu.rasa_engine import RasaNlu  # noqa: E402
from nlu.rasa_project import (  # noqa: E402
    DEFAULT_EPOCHS,
    DEFAULT_TEXT_FORM,
    TextForm,
    build_project,
    rasa_text,
)
from nlu.types import ParseResult  # noqa: E402

RASA = ROOT / ".venv-rasa" / "bin" / "rasa"
NLU_SERVER = ROOT / "bench" / "nlu_server.py"
RASA_INPROCESS = ROOT / "bench" / "rasa_inprocess.py"
DATA = ROOT / "bench" / "data"
ENTITY_PAIR = (DATA / "entities_train.yml", DATA / "entities_test.yml")
TRAIN_SIZE = 5000  # examples of the training-time run
# issue 14's targets
INTENT_TARGET, MACRO_F1_TARGET, PLAIN_GAP = 0.985, 0.98, 0.01
ENTITY_F1_TARGET, SPEEDUP_TARGET, MEMORY_TARGET, TRAIN_SECONDS_TARGET = 0.90, 50, 10, 30.0
QUIET_ENV = {"RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2",
             "SQLALCHEMY_SILENCE_UBER_WARNING": "1", "PYTHONWARNINGS": "ignore",
             "CUDA_VISIBLE_DEVICES": ""}


@dataclass
class TestSet:
    """A named test file."""

    name: str
    data: TrainingData


@dataclass
class EngineFigures:
    """Everything measured for one engine on one training file."""

    reports: dict[str, dict[str, Any]] = field(default_factory=dict)
    train_seconds: float = 0.0
    train_peak_mb: float = 0.0
    serve_peak_mb: float = 0.0
    latency_inprocess: list[float] = field(default_factory=list)
    latency_http: list[float] = field(default_factory=list)
    fallbacks: int = 0
    own_values_procedure: dict[str, float] = field(default_factory=dict)


# ---------------------------------------------------------------- processes and memory


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def run_measured(command: Sequence[str], log: Path, cwd: Path | None = None,
                 ) -> tuple[float, float]:
    """Run a command to its end; (seconds, peak RSS in MB of it and its descendants)."""
    env = {**os.environ, **QUIET_ENV}
    started = time.perf_counter()
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=cwd,
                                   env=env)
        _pid, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}); see {log}")
    return seconds, usage.ru_maxrss / 1024


def process_tree(pid: int) -> list[int]:
    """A process and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def peak_rss_mb(pid: int) -> float:
    """The RSS high-water marks (VmHWM) of a process tree, added up, in MB."""
    total = 0
    for member in process_tree(pid):
        try:
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


class Server:
    """A server process on a loopback port, stopped on exit."""

    def __init__(self, command: Sequence[str], port: int, log: Path, ready_path: str,
                 startup_timeout: float = 300.0) -> None:
        self.command, self.port, self.log = command, port, log
        self.ready_path, self.startup_timeout = ready_path, startup_timeout
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> Server:
        env = {**os.environ, **QUIET_ENV}
        out = self.log.open("wb")
        self.process = subprocess.Popen(self.command, stdout=out, stderr=subprocess.STDOUT,
                                        env=env)
        out.close()
        deadline = time.monotonic() + self.startup_timeout
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.command[0]} exited; see {self.log}")
                try:
                    async with session.get(self.url + self.ready_path,
                                           timeout=aiohttp.ClientTimeout(total=2)) as answer:
                        if answer.status == 200:
                            return self
                except (aiohttp.ClientError, TimeoutError):
                    pass
                await asyncio.sleep(0.5)
        raise RuntimeError(f"{self.command[0]} did not start in {self.startup_timeout} s")

    def peak_mb(self) -> float:
        assert self.process is not None
        return peak_rss_mb(self.process.pid)

    async def __aexit__(self, *_exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# ---------------------------------------------------------------- the knowledge base


def shipped_lexicon(empty: bool) -> Lexicon:
    """The shipped knowledge base's procedure and place phrases (or none)."""
    if empty:
        return Lexicon()
    bundle = load_directory(Settings().knowledge_dir)
    return build_lexicon(bundle.procedures, bundle.offices)


# ---------------------------------------------------------------- measuring


async def predict_async(parse: Callable[[str], Awaitable[ParseResult]],
                        data: TrainingData) -> list[Prediction]:
    return [Prediction(example, await parse(example.text)) for example in data.examples]


async def timed(parse: Callable[[str], Awaitable[ParseResult]], texts: list[str],
                rounds: int) -> list[float]:
    for text in texts[:20]:
        await parse(text)  # warm up
    samples = []
    for _ in range(rounds):
        for text in texts:
            begin = time.perf_counter()
            await parse(text)
            samples.append((time.perf_counter() - begin) * 1000)
    return samples


def http_parser(session: aiohttp.ClientSession,
                url: str) -> Callable[[str], Awaitable[ParseResult]]:
    async def parse(text: str) -> ParseResult:
        async with session.post(url + "/model/parse", json={"text": text}) as answer:
            return ParseResult.from_dict(await answer.json(), "http")
    return parse


async def measure_builtin(files: list[Path], tests: list[TestSet], lexicon: Lexicon,
                          rounds: int, work: Path) -> EngineFigures:
    figures = EngineFigures()
    model_path, lexicon_path = work / "builtin.pkl", work / "lexicon.json"
    write_lexicon(lexicon, lexicon_path)
    _seconds, figures.train_peak_mb = run_measured(
        [sys.executable, str(NLU_SERVER), "train", str(lexicon_path), str(model_path),
         *map(str, files)], work / "builtin-train.log")
    # the training time without the interpreter's start-up: train in-process as well
    data = load_training_data(files)
    started = time.perf_counter()
    model = train(data, lexicon)
    figures.train_seconds = time.perf_counter() - started
    nlu = BuiltinNlu(model, lexicon, Settings().nlu_oos_threshold)
    for test in tests:
        figures.reports[test.name] = report(await predict_async(nlu.aparse, test.data))
    texts = [e.text for test in tests for e in test.data.examples]
    figures.latency_inprocess = await timed(nlu.aparse, texts, rounds)
    port = free_port()
    command = [sys.executable, str(NLU_SERVER), "serve", str(lexicon_path), str(model_path),
               str(port)]
    async with Server(command, port, work / "builtin-serve.log", "/") as server, \
            aiohttp.ClientSession() as session:
        figures.latency_http = await timed(http_parser(session, server.url), texts, rounds)
        figures.serve_peak_mb = server.peak_mb()
    return figures


async def measure_rasa(files: list[Path], tests: list[TestSet], lexicon: Lexicon,
                       text_form: TextForm, epochs: int, rounds: int, rasa: Path,
                       work: Path) -> EngineFigures:
    figures = EngineFigures()
    project_dir = work / f"rasa-{text_form}"
    project = build_project(load_training_data(files), lexicon, text_form, epochs)
    project.write(project_dir)
    figures.train_seconds, figures.train_peak_mb = run_measured(
        [str(rasa), "train", "nlu", "--config", "config.yml", "--domain", "domain.yml",
         "--nlu", "data", "--out", "models", "--fixed-model-name", "nlu"],
        work / f"rasa-train-{text_form}.log", cwd=project_dir)
    port = free_port()
    command = [str(rasa), "run", "--enable-api", "-m", str(project_dir / "models" / "nlu.tar.gz"),
               "-i", "127.0.0.1", "-p", str(port)]
    async with Server(command, port, work / f"rasa-serve-{text_form}.log", "/") as server:
        # the bot's Rasa engine (its built-in fallback trained on the same file is unused:
        # the timeout is long, and any fallback is reported)
        engine = RasaNlu(train(load_training_data(files), lexicon), lexicon, server.url,
                         oos_threshold=Settings().nlu_oos_threshold, timeout=30.0,
                         text_form=text_form, failure_threshold=1_000_000)
        try:
            for test in tests:
                figures.reports[test.name] = report(await predict_async(engine.aparse,
                                                                        test.data))
            texts = [e.text for test in tests for e in test.data.examples]
            figures.latency_http = await timed(engine.aparse, texts, rounds)
            figures.fallbacks = engine.stats.fallback_total
            async with aiohttp.ClientSession() as session:  # Rasa's values, unresolved
                raw = http_parser(session, server.url)
                for test in tests:
                    predictions = [Prediction(e, await raw(rasa_text(e.text, text_form).text))
                                   for e in test.data.examples]
                    figures.own_values_procedure[test.name] = report(predictions)[
                        "procedure_accuracy"]
            figures.serve_peak_mb = server.peak_mb()
        finally:
            await engine.close()
    if rounds > 0:
        figures.latency_inprocess = rasa_inprocess(
            rasa, project_dir / "models" / "nlu.tar.gz",
            [rasa_text(e.text, text_form).text for test in tests for e in test.data.examples],
            rounds, work)
    return figures


def rasa_inprocess(rasa: Path, model: Path, texts: list[str], rounds: int,
                   work: Path) -> list[float]:
    """Rasa's ``Agent.parse_message`` timed inside Rasa's own Python."""
    texts_file = work / "rasa-texts.json"
    texts_file.write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
    done = subprocess.run([str(rasa.parent / "python"), str(RASA_INPROCESS), str(model),
                           str(texts_file), str(rounds)], capture_output=True, text=True,
                          env={**os.environ, **QUIET_ENV}, check=True)
    samples: list[float] = json.loads(done.stdout.strip().splitlines()[-1])["samples_ms"]
    return samples


# ---------------------------------------------------------------- printing


def pct(value: float) -> str:
    return f"{value * 100:6.2f} %"


def lat(samples: list[float]) -> str:
    if not samples:
        return "-"
    return f"{statistics.median(samples):.2f} / {percentile(samples, 0.99):.2f} ms"


def entity_cell(result: dict[str, Any]) -> str:
    overall = result["entities"]["overall"]
    return (f"{overall['precision'] * 100:.1f} / {overall['recall'] * 100:.1f} / "
            f"{overall['f1'] * 100:.1f} %")


def print_table(title: str, tests: list[TestSet], ours: EngineFigures,
                rasa: EngineFigures, entity_job: bool = False) -> list[str]:
    """Print one comparison; returns the target lines that were missed."""
    print(f"\n## {title}\n")
    print(f"| {'':44s} | {'built-in':>20s} | {'Rasa DIET':>20s} |")
    print(f"| {'-' * 44} | {'-' * 20}:| {'-' * 20}:|")

    def row(label: str, a: str, b: str) -> None:
        print(f"| {label:44s} | {a:>20s} | {b:>20s} |")

    missed = []
    for test in tests:
        a, b = ours.reports[test.name], rasa.reports[test.name]
        row(f"**{test.name}** ({len(test.data.examples)} examples)", "", "")
        row("  intent accuracy", pct(a["intent"]["accuracy"]), pct(b["intent"]["accuracy"]))
        row("  intent macro-F1", pct(a["intent"]["macro_f1"]), pct(b["intent"]["macro_f1"]))
        row("  procedure-entity accuracy", pct(a["procedure_accuracy"]),
            pct(b["procedure_accuracy"]))
        if test.name in rasa.own_values_procedure:
            row("  (Rasa's values as answered, unresolved)", "",
                pct(rasa.own_values_procedure[test.name]))
        row("  entity P / R / F1 (all annotated types)", entity_cell(a), entity_cell(b))
        for kind, scores in a["entities"].items():
            if kind != "overall" and scores["support"]:
                row(f"    {kind} F1 ({scores['support']})", pct(scores["f1"]),
                    pct(b["entities"][kind]["f1"]))
        row("  whole sentences right", pct(a["sentence_accuracy"]), pct(b["sentence_accuracy"]))
        if entity_job:
            f1, rasa_f1 = a["entities"]["overall"]["f1"], b["entities"]["overall"]["f1"]
            if f1 < ENTITY_F1_TARGET:
                missed.append(f"{test.name}: entity F1 {pct(f1)} < {ENTITY_F1_TARGET:.0%}")
            if f1 < rasa_f1:
                missed.append(f"{test.name}: entity F1 {pct(f1)} below Rasa's {pct(rasa_f1)}")
            continue
        for key, label in (("accuracy", "intent accuracy"), ("macro_f1", "intent macro-F1")):
            if a["intent"][key] < b["intent"][key]:
                missed.append(f"{test.name}: built-in {label} below Rasa's")
        if a["procedure_accuracy"] < b["procedure_accuracy"]:
            missed.append(f"{test.name}: built-in procedure accuracy below Rasa's")
        if "without diacritics" in test.name:
            continue  # its target: within a point of the file with them (below)
        if a["intent"]["accuracy"] < INTENT_TARGET:
            missed.append(f"{test.name}: intent accuracy {pct(a['intent']['accuracy'])} < "
                          f"{INTENT_TARGET:.1%}")
        if a["intent"]["macro_f1"] < MACRO_F1_TARGET:
            missed.append(f"{test.name}: macro-F1 {pct(a['intent']['macro_f1'])} < "
                          f"{MACRO_F1_TARGET:.0%}")
    row("training time", f"{ours.train_seconds:.2f} s", f"{rasa.train_seconds:.1f} s")
    row("peak memory while training (RSS)", f"{ours.train_peak_mb:.0f} MB",
        f"{rasa.train_peak_mb:.0f} MB")
    row("parse p50 / p99, in-process", lat(ours.latency_inprocess),
        lat(rasa.latency_inprocess))
    row("parse p50 / p99, over HTTP", lat(ours.latency_http), lat(rasa.latency_http))
    row("peak memory while serving (RSS)", f"{ours.serve_peak_mb:.0f} MB",
        f"{rasa.serve_peak_mb:.0f} MB")
    if rasa.fallbacks:
        print(f"\nwarning: {rasa.fallbacks} Rasa parses fell back to the built-in engine")
    http_speedup = statistics.median(rasa.latency_http) / statistics.median(ours.latency_http)
    inproc_speedup = (statistics.median(rasa.latency_inprocess or rasa.latency_http)
                      / statistics.median(ours.latency_inprocess))
    memory_ratio = rasa.serve_peak_mb / ours.serve_peak_mb
    train_memory_ratio = rasa.train_peak_mb / ours.train_peak_mb
    print(f"\nper parse (p50) the built-in engine is {inproc_speedup:.0f}x faster in-process "
          f"and {http_speedup:.1f}x faster over HTTP; it takes {memory_ratio:.1f}x less memory "
          f"serving and {train_memory_ratio:.1f}x less training; it trains "
          f"{rasa.train_seconds / ours.train_seconds:.0f}x faster.")
    if len(tests) >= 2 and "without diacritics" in tests[1].name:
        with_, without = (ours.reports[t.name]["intent"]["accuracy"] for t in tests[:2])
        ahead = without - rasa.reports[tests[1].name]["intent"]["accuracy"]
        print(f"without diacritics the built-in engine loses {(with_ - without) * 100:.2f} "
              f"points of intent accuracy (target: <= {PLAIN_GAP * 100:.0f}); against Rasa "
              f"there it is {ahead * 100:+.2f} points")
        if not entity_job and with_ - without > PLAIN_GAP:
            missed.append(f"{tests[1].name}: {(with_ - without) * 100:.2f} points below the "
                          f"file with diacritics")
    if entity_job:
        return missed  # speed and memory: the shipped data's run
    if inproc_speedup < SPEEDUP_TARGET:
        missed.append(f"in-process speed-up {inproc_speedup:.0f}x < {SPEEDUP_TARGET}x")
    if memory_ratio < MEMORY_TARGET:
        missed.append(f"serving memory ratio {memory_ratio:.1f}x < {MEMORY_TARGET}x")
    if http_speedup < SPEEDUP_TARGET:
        print(f"(over HTTP, where both pay for HTTP, the speed-up is {http_speedup:.1f}x: "
              f"not a target)")
    return missed


def training_time(files: list[Path], lexicon: Lexicon, size: int) -> tuple[int, float]:
    """The built-in engine's training time on ``size`` examples: the shipped and entity
    training files, repeated (as ``bench/nlu.py``)."""
    data = scaled_to(load_training_data([*files, ENTITY_PAIR[0]]), size)
    started = time.perf_counter()
    train(data, lexicon)
    return len(data.examples), time.perf_counter() - started


# ---------------------------------------------------------------- the modes


def split(data: TrainingData, share: float, seed: int) -> tuple[TrainingData, TrainingData]:
    """A stratified split of the examples (per intent), deterministic."""
    rng = random.Random(seed)
    train_part: list[Example] = []
    dev_part: list[Example] = []
    by_intent: dict[str, list[Example]] = {}
    for example in data.examples:
        by_intent.setdefault(example.intent, []).append(example)
    for intent in sorted(by_intent):
        examples = list(by_intent[intent])
        rng.shuffle(examples)
        cut = max(1, round(len(examples) * share))
        dev_part.extend(examples[:cut])
        train_part.extend(examples[cut:])
    return (TrainingData(train_part, data.synonyms, data.lookups, data.regexes),
            TrainingData(dev_part))


async def choose_text_form(args: argparse.Namespace, lexicon: Lexicon, work: Path) -> int:
    """Rasa on an 80/20 split of the training file, for each text form."""
    data = load_training_data(Settings().nlu_train_files)
    train_part, dev_part = split(data, 0.2, seed=7)
    train_file = work / "split-train.yml"
    train_file.write_text(dump_training_data(train_part), encoding="utf-8")
    tests = [TestSet("dev split", dev_part),
             TestSet("dev split without diacritics", without_diacritics(dev_part))]
    print(f"machine: {describe()}")
    print(f"training file split: {len(train_part.examples)} to train, {len(dev_part.examples)} "
          f"to evaluate (the test files are not used)")
    columns = " | ".join(f"{t.name}: intent acc / macro-F1 / procedure acc" for t in tests)
    print(f"\n| text form | {columns} | train s |")
    print(f"| --- | {' | '.join('---' for _ in tests)} | --- |")
    forms = [TextForm(f) for f in args.forms] if args.forms else list(TextForm)
    for form in forms:
        figures = await measure_rasa([train_file], tests, lexicon, form, args.epochs, 0,
                                     Path(args.rasa), work)
        cells = []
        for test in tests:
            r = figures.reports[test.name]
            cells.append(f"{pct(r['intent']['accuracy'])} / {pct(r['intent']['macro_f1'])} / "
                         f"{pct(r['procedure_accuracy'])}")
        print(f"| {form} | {' | '.join(cells)} | {figures.train_seconds:.0f} |", flush=True)
    return 0


async def compare(args: argparse.Namespace, lexicon: Lexicon, work: Path) -> int:
    settings = Settings()
    # (title, training files, test sets, lexicon, whether it is the custom-entity set)
    jobs: list[tuple[str, list[Path], list[TestSet], Lexicon, bool]] = []
    if not args.skip_shipped:
        held_out = load_training_data([settings.nlu_test_file])
        jobs.append(("shipped data: train on nlu/data/nlu.yml", list(settings.nlu_train_files),
                     [TestSet("held-out test", held_out),
                      TestSet("held-out test without diacritics",
                              without_diacritics(held_out))], lexicon, False))
    pairs = [(str(train_file), str(test_file), False) for train_file, test_file
             in args.pair or []]
    if not args.skip_entities:
        pairs.insert(0, (str(ENTITY_PAIR[0].relative_to(ROOT)),
                         str(ENTITY_PAIR[1].relative_to(ROOT)), True))
    for train_file, test_file, entity_job in pairs:
        test_data = load_training_data([ROOT / test_file])
        jobs.append((f"train on {train_file}", [ROOT / train_file],
                     [TestSet(f"{test_file}", test_data),
                      TestSet(f"{test_file} without diacritics",
                              without_diacritics(test_data))],
                     Lexicon() if entity_job else lexicon, entity_job))
    print(f"machine: {describe()}")
    print(f"Rasa: {args.rasa} (DIET, {args.epochs} epochs, texts in the '{args.text_form}' "
          f"form); latency over {args.rounds} rounds of every test text, one at a time")
    missed_all: list[str] = []
    results: list[dict[str, Any]] = []
    for title, files, tests, job_lexicon, entity_job in jobs:
        data = load_training_data(files)
        title = f"{title} ({len(data.examples)} examples)"
        ours = await measure_builtin(files, tests, job_lexicon, args.rounds, work)
        theirs = await measure_rasa(files, tests, job_lexicon, TextForm(args.text_form),
                                    args.epochs, args.rounds, Path(args.rasa), work)
        missed_all.extend(print_table(title, tests, ours, theirs, entity_job))
        results.append({"title": title, "ours": ours.__dict__, "rasa": theirs.__dict__})
    examples, seconds = training_time(list(settings.nlu_train_files), lexicon, TRAIN_SIZE)
    print(f"\nbuilt-in training on {examples} examples (shipped + entity set, repeated): "
          f"{seconds:.2f} s (target <= {TRAIN_SECONDS_TARGET:.0f} s)")
    if seconds > TRAIN_SECONDS_TARGET:
        missed_all.append(f"training on {examples} examples {seconds:.1f} s > "
                          f"{TRAIN_SECONDS_TARGET:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(results, default=str, indent=1),
                                   encoding="utf-8")
    print("\ntargets: " + ("all met" if not missed_all else "MISSED: " + "; ".join(missed_all)))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pair", nargs=2, action="append", metavar=("TRAIN", "TEST"),
                        help="a Rasa-format train/test pair to compare on as well")
    parser.add_argument("--skip-shipped", action="store_true",
                        help="only the --pair data, not the shipped data")
    parser.add_argument("--skip-entities", action="store_true",
                        help="not the custom-entity dataset (bench/data/entities_*.yml)")
    parser.add_argument("--empty-lexicon", action="store_true",
                        help="no knowledge-base phrases (for data about other procedures)")
    parser.add_argument("--rasa", default=str(RASA), help="the rasa executable")
    parser.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS)
    parser.add_argument("--text-form", choices=[f.value for f in TextForm],
                        default=DEFAULT_TEXT_FORM.value)
    parser.add_argument("--rounds", type=int, default=3, help="passes over the test texts")
    parser.add_argument("--work", help="keep models and logs here (default: a temp dir)")
    parser.add_argument("--json", help="also write the raw figures here")
    parser.add_argument("--choose-text-form", action="store_true",
                        help="compare the export text forms on a split of the training file")
    parser.add_argument("--forms", nargs="+", help="with --choose-text-form: only these")
    args = parser.parse_args()
    if not Path(args.rasa).exists():
        print(f"error: {args.rasa} not found: run `make rasa` first", file=sys.stderr)
        return 2
    lexicon = shipped_lexicon(args.empty_lexicon)
    with tempfile.TemporaryDirectory(prefix="compare-rasa-") as temp:
        work = Path(args.work) if args.work else Path(temp)
        work.mkdir(parents=True, exist_ok=True)
        if args.choose_text_form:
            return asyncio.run(choose_text_form(args, lexicon, work))
        return asyncio.run(compare(args, lexicon, work))


if __name__ == "__main__":
    raise SystemExit(main())
