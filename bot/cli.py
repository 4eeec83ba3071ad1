"""The ``egovbot`` command line: knowledge base, NLU, chat and service commands.

Every command imports what it runs with inside its function: importing this module (for
``egovbot --help``, an argument error, or any command) loads only the argument parser and what
it names, not scikit-learn, SQLAlchemy, aiohttp or python-telegram-bot, which took seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import getpass
import json
import logging
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from bot.service.workers import WORKER_FLAG
from bot.storage.roles import Role
from nlu.rasa_project import DEFAULT_EPOCHS, DEFAULT_TEXT_FORM, TextForm

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from bot.service.settings import Settings
    from knowledge.store import KnowledgeStore
    from nlu.engine import BuiltinNlu


@asynccontextmanager
async def knowledge_database(settings: Settings, seed: bool = True) -> AsyncIterator[
        tuple[AsyncEngine, KnowledgeStore]]:
    """The database and knowledge store for one command, closed afterwards."""
    from bot.service.bootstrap import open_knowledge

    engine, store = await open_knowledge(settings, seed=seed)
    try:
        yield engine, store
    finally:
        await engine.dispose()


def _print(line: str = "") -> None:
    sys.stdout.write(line + "\n")


async def kb_load(args: argparse.Namespace, settings: Settings) -> int:
    """Validate a knowledge directory (or one YAML document) and load it into the database."""
    from bot.service.coordination.redis_client import connect
    from bot.service.reload import KB_VERSION, announce
    from bot.storage.key_values import KeyValueStore
    from knowledge.files import KnowledgeFileError, load_path

    directory = Path(args.path) if args.path else settings.knowledge_dir
    try:
        bundle = load_path(directory)
    except KnowledgeFileError as exc:
        sys.stderr.write(f"Nothing was loaded: {len(exc.problems)} problem(s) in {directory}\n")
        for problem in exc.problems:
            sys.stderr.write(f"  {problem}\n")
        return 2
    async with knowledge_database(settings, seed=False) as (_engine, store):
        summary = await store.load_bundle(bundle)
        redis = connect(settings.redis_url) if settings.redis_url else None
        try:  # live reload in every running worker
            await announce(KeyValueStore(store.sessions), KB_VERSION, {"by": "cli"}, redis)
        finally:
            if redis is not None:
                await redis.aclose()
    _print(f"Loaded {directory} into {settings.effective_database_url}: {summary.counts()}")
    for outcome in ("added", "updated"):
        for kind, ids in getattr(summary, outcome).items():
            _print(f"  {outcome} {kind}: {', '.join(ids)}")
    return 0


async def kb_export(args: argparse.Namespace, settings: Settings) -> int:
    """Write the database's knowledge base back to YAML files."""
    from knowledge.files import write_directory, write_document

    async with knowledge_database(settings) as (_engine, store):
        bundle = await store.export_bundle()
    target = Path(args.path)
    if target.suffix in (".yaml", ".yml"):
        target.write_text(write_document(bundle), encoding="utf-8")
        _print(f"Wrote the knowledge base to {target}")
        return 0
    written = write_directory(bundle, target)
    _print(f"Wrote {len(written)} files to {args.path}")
    return 0


async def kb_import_catalog(args: argparse.Namespace, settings: Settings) -> int:
    """Parse a capture of the national catalog, print the report, and store the records in
    the database (keeping officers' edits; saying what changed). With --out, also write the
    converted file the project ships; with --dry-run, only report."""
    from bot.service.coordination.redis_client import connect
    from bot.service.reload import KB_VERSION, announce
    from bot.storage.key_values import KeyValueStore
    from knowledge.catalog.importer import compare, import_catalog, read_records, write_records

    source = Path(args.file)
    if not source.is_file():
        sys.stderr.write(f"no such file: {source}\n")
        return 2
    captured = dt.date.fromisoformat(args.captured) if args.captured else None
    started = time.perf_counter()
    try:
        report = import_catalog(source, captured)
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        sys.stderr.write(f"cannot read {source}: {exc}\n")
        return 2
    for line in report.lines():
        _print(line)
    if not report.records:
        sys.stderr.write("no record could be imported; nothing written\n")
        return 2
    if args.out:
        out = Path(args.out)
        if out.exists():
            for line in compare(read_records(out), report.records).lines():
                _print(line)
        write_records(report.records, out)
        _print(f"wrote {len(report.records)} records to {out}")
    if not args.dry_run:
        async with knowledge_database(settings) as (_engine, store):
            changes = await store.catalog.import_records(report.records)
            redis = connect(settings.redis_url) if settings.redis_url else None
            try:  # live reload in every running worker
                await announce(KeyValueStore(store.sessions), KB_VERSION, {"by": "cli"}, redis)
            finally:
                if redis is not None:
                    await redis.aclose()
        for line in changes.lines():
            _print(line)
    _print(f"done in {time.perf_counter() - started:.1f} s")
    return 0


async def kb_search(args: argparse.Namespace, settings: Settings) -> int:
    """Accent-insensitive search over published procedures and FAQs."""
    from knowledge.search import KnowledgeIndex

    async with knowledge_database(settings) as (_engine, store):
        index = KnowledgeIndex(await store.procedures(), await store.faqs())
    for hit in index.search(args.query, limit=args.limit):
        _print(f"{hit.score:5.1f}  {hit.kind:9s} {hit.id:24s} {hit.title}")
    return 0


async def _nlu(settings: Settings) -> BuiltinNlu:
    from bot.service.bootstrap import build_nlu

    async with knowledge_database(settings) as (_engine, store):
        return await build_nlu(settings, store)


async def nlu_train(args: argparse.Namespace, settings: Settings) -> int:
    """Train the built-in engine and save the model."""
    from bot.service.bootstrap import load_lexicon
    from nlu.engine import train
    from nlu.rasa_data import load_training_data

    files = [Path(p) for p in args.data] if args.data else settings.nlu_train_files
    data = load_training_data(files)
    async with knowledge_database(settings) as (_engine, store):
        lexicon = await load_lexicon(store)
    model = train(data, lexicon)
    out = Path(args.out) if args.out else settings.model_path
    model.save(out)
    _print(f"Trained on {model.examples} examples, {len(data.intents)} intents "
           f"in {model.train_seconds:.2f} s; saved {out}")
    return 0


async def nlu_parse(args: argparse.Namespace, settings: Settings) -> int:
    """Print the Rasa-shaped parse of a text, or of each stdin line."""
    nlu = await _nlu(settings)
    texts = [args.text] if args.text is not None else (line.rstrip("\n") for line in sys.stdin)
    for text in texts:
        _print(json.dumps(nlu.parse(text).to_dict(), ensure_ascii=False))
    return 0


async def nlu_test(args: argparse.Namespace, settings: Settings) -> int:
    """Evaluate on a Rasa-format test file (optionally training on a given file first)."""
    from nlu.engine import train
    from nlu.evaluate import predict, report, summary_lines, without_diacritics
    from nlu.rasa_data import load_training_data

    nlu = await _nlu(settings)
    if args.train:
        nlu = nlu.with_model(train(load_training_data([Path(p) for p in args.train]),
                                   nlu.lexicon))
    test_file = Path(args.data) if args.data else settings.nlu_test_file
    data = load_training_data([test_file])
    if args.plain:
        data = without_diacritics(data)
    started = time.perf_counter()
    result = report(predict(nlu.parse, data))
    result["seconds"] = round(time.perf_counter() - started, 3)
    for line in summary_lines(str(test_file), result):
        _print(line)
    _print("  per intent (precision / recall / F1 / support):")
    for intent, figures in result["intent"]["per_intent"].items():
        _print(f"    {intent:22s} {figures['precision']:.3f} / {figures['recall']:.3f} / "
               f"{figures['f1']:.3f} / {figures['support']}")
    if result["intent"]["confusions"]:
        _print("  most frequent confusions:")
        for item in result["intent"]["confusions"][:10]:
            _print(f"    {item['intent']} -> {item['predicted']}: {item['count']}")
    if args.report:
        Path(args.report).write_text(json.dumps(result, ensure_ascii=False, indent=2),
                                     encoding="utf-8")
        _print(f"  report written to {args.report}")
    return 0


async def rasa_export(args: argparse.Namespace, settings: Settings) -> int:
    """Write a Rasa 3.x NLU project (config, domain, data) from our data and knowledge base."""
    from bot.service.bootstrap import load_lexicon
    from nlu.rasa_data import load_training_data
    from nlu.rasa_project import build_project

    data = load_training_data([Path(p) for p in args.data] if args.data
                              else settings.nlu_train_files)
    async with knowledge_database(settings) as (_engine, store):
        lexicon = await load_lexicon(store)
    project = build_project(data, lexicon, TextForm(args.text_form), args.epochs)
    written = project.write(Path(args.path))
    _print(f"Wrote a Rasa NLU project to {args.path} ({len(written)} files, "
           f"{len(data.examples)} examples, {len(project.intents)} intents, texts in the "
           f"'{project.text_form}' form)")
    _print(f"  then: rasa train nlu --config {args.path}/config.yml --domain "
           f"{args.path}/domain.yml --nlu {args.path}/data --out {args.path}/models")
    return 0


async def chat_cmd(args: argparse.Namespace, settings: Settings) -> int:
    """Chat with the bot in the terminal."""
    from bot.channels.console.chat import chat
    from bot.service.composition import build_runtime

    runtime = await build_runtime(settings)
    try:
        await chat(runtime.pipeline, args.user, sys.stdin, sys.stdout)
    finally:
        await runtime.close()
    return 0


async def simulator_cmd(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the dossier-status simulator until interrupted."""
    from aiohttp import web

    from bot.dossier_api.simulator import create_simulator_app

    runner = web.AppRunner(create_simulator_app(settings.dossier_api_token))
    await runner.setup()
    site = web.TCPSite(runner, args.host or settings.simulator_host,
                       args.port or settings.simulator_port)
    await site.start()
    _print(f"Dossier-status simulator on http://{args.host or settings.simulator_host}:"
           f"{args.port or settings.simulator_port} (token: {settings.dossier_api_token})")
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
    return 0


def _dump_tasks() -> None:
    """On SIGUSR1, write where every task of the process is waiting (a stuck worker's answer
    to "what is it doing?")."""
    tasks = asyncio.all_tasks()
    sys.stderr.write(f"--- {len(tasks)} tasks ---\n")
    for task in tasks:
        task.print_stack(limit=12, file=sys.stderr)
    sys.stderr.flush()


async def serve_cmd(args: argparse.Namespace, settings: Settings) -> int:
    """Run the HTTP service (and the dossier simulator when no status API is configured);
    with --workers N > 1, a parent process keeping N workers on one port
    (bot/service/workers.py)."""
    from aiohttp import web

    from bot.service.app import create_app
    from bot.service.listen import ListenError, listen
    from bot.service.slow_clients import runner_options
    from bot.service.workers import serve_workers, start_simulator, watch_parent

    if args.workers > 1 and args.worker_of is None:
        return await serve_workers(settings, args.workers, args.verbose)
    worker_of: int | None = args.worker_of  # set in a worker started by serve_workers
    simulator: web.AppRunner | None = None
    api_url = settings.dossier_api_url
    if not api_url:
        try:
            simulator, api_url = await start_simulator(settings)
        except ListenError as exc:
            sys.stderr.write(f"error: {exc}\n")
            return 2
        _print(f"Dossier-status simulator on {api_url}")
    app = await create_app(settings, api_url)
    # The model, the knowledge snapshot and the app live as long as the process: keep them out
    # of the garbage collector's scans, and collect less often (fewer latency spikes).
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
    runner = web.AppRunner(app, shutdown_timeout=settings.shutdown_timeout,
                           **runner_options(settings))
    await runner.setup()
    try:  # workers share the port: the kernel spreads connections over their sockets
        await listen(runner, settings.host, settings.port, host_setting="EGOVBOT_HOST",
                     port_setting="EGOVBOT_PORT", reuse_port=worker_of is not None)
    except ListenError as exc:
        await runner.cleanup()
        if simulator is not None:
            await simulator.cleanup()
        sys.stderr.write(f"error: {exc}\n")
        return 2
    if worker_of is None:
        _print(f"egovbot serving on http://{settings.host}:{settings.port} (Ctrl+C to stop)")
    else:
        _print(f"egovbot worker {os.getpid()} serving on http://{settings.host}:{settings.port}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, _dump_tasks)
    watcher = (asyncio.create_task(watch_parent(worker_of, stop)) if worker_of is not None
               else None)
    try:
        await stop.wait()
    finally:
        _print("stopping: finishing the messages in hand")
        if watcher is not None:
            watcher.cancel()
        await runner.cleanup()
        if simulator is not None:
            await simulator.cleanup()
    return 0


async def telegram_cmd(args: argparse.Namespace, settings: Settings) -> int:
    """Register (with the secret token) or remove the Telegram webhook."""
    from telegram.error import TelegramError

    from bot.channels.telegram.api import delete_webhook, set_webhook

    if not settings.telegram_token:
        sys.stderr.write("error: set EGOVBOT_TELEGRAM_TOKEN first\n")
        return 2
    try:
        if args.command == "set-webhook":
            await set_webhook(settings, args.url, args.drop_pending_updates)
            _print(f"Telegram will deliver updates to {args.url}")
        else:
            await delete_webhook(settings, args.drop_pending_updates)
            _print("Telegram webhook removed (polling mode can be used now)")
    except (TelegramError, ValueError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    return 0


async def users_add(args: argparse.Namespace, settings: Settings) -> int:
    """Create a staff account; the password is asked for (or read from stdin)."""
    from bot.storage.db import make_sessionmaker
    from bot.storage.staff import AccountError, StaffStore

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif not sys.stdin.isatty():  # getpass would warn, read the pipe, then fail at its end
        sys.stderr.write("error: stdin is not a terminal, so the password cannot be asked for: "
                         "pipe it with --password-stdin\n")
        return 2
    else:
        password = getpass.getpass("Mật khẩu: ")
        if getpass.getpass("Nhập lại mật khẩu: ") != password:
            sys.stderr.write("error: the two passwords differ\n")
            return 2
    async with knowledge_database(settings) as (engine, _store):
        try:
            user = await StaffStore(make_sessionmaker(engine)).add_user(args.name, password,
                                                                         Role(args.role))
        except AccountError as exc:
            sys.stderr.write(f"error: {exc}\n")
            return 2
    _print(f"Created {user.role.value} account {user.username}")
    return 0


async def users_list(args: argparse.Namespace, settings: Settings) -> int:
    """List staff accounts."""
    from bot.storage.db import make_sessionmaker
    from bot.storage.staff import StaffStore

    async with knowledge_database(settings) as (engine, _store):
        users = await StaffStore(make_sessionmaker(engine)).users()
    for user in users:
        state = "active" if user.active else "disabled"
        _print(f"{user.username:24s} {user.role.value:6s} {state}")
    return 0


async def users_disable(args: argparse.Namespace, settings: Settings) -> int:
    """Disable a staff account (its sessions end at once)."""
    from bot.storage.db import make_sessionmaker
    from bot.storage.staff import AccountError, StaffStore

    async with knowledge_database(settings) as (engine, _store):
        try:
            await StaffStore(make_sessionmaker(engine)).set_active(args.name, False)
        except AccountError as exc:
            sys.stderr.write(f"error: {exc}\n")
            return 2
    _print(f"Disabled {args.name}")
    return 0


async def db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    """Migrate the database schema to the code's revision."""
    from bot.storage.db import make_engine
    from bot.storage.migrate import current_revision, upgrade

    engine = make_engine(settings.effective_database_url)
    try:
        before = await current_revision(engine)
        await upgrade(engine)
        after = await current_revision(engine)
    finally:
        await engine.dispose()
    _print(f"Database schema: {before or 'empty'} -> {after}")
    return 0


async def db_current(args: argparse.Namespace, settings: Settings) -> int:
    """Print the schema revision of the database and of the code."""
    from bot.storage.db import make_engine
    from bot.storage.migrate import current_revision, head_revision

    engine = make_engine(settings.effective_database_url)
    try:
        current = await current_revision(engine)
    finally:
        await engine.dispose()
    _print(f"database: {current or 'empty'}; code: {head_revision()}")
    return 0


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    parser = argparse.ArgumentParser(prog="egovbot", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log at debug level")
    groups = parser.add_subparsers(dest="group", required=True)

    kb = groups.add_parser("kb", help="knowledge base").add_subparsers(dest="command",
                                                                       required=True)
    load = kb.add_parser("load", help="validate YAML files and load them into the database")
    load.add_argument("path", nargs="?", help="knowledge directory or one .yaml document "
                      "(default: the shipped directory)")
    load.set_defaults(run=kb_load)
    export = kb.add_parser("export", help="write the knowledge base to YAML files")
    export.add_argument("path", help="a directory, or a .yaml file for one document")
    export.set_defaults(run=kb_export)
    catalog = kb.add_parser("import-catalog", help="parse a national catalog capture "
                            "(JSON Lines, gzipped or not) and report what was parsed")
    catalog.add_argument("file")
    catalog.add_argument("--out", help="write the converted records here (.jsonl.gz)")
    catalog.add_argument("--captured", help="capture date, YYYY-MM-DD (default: from the "
                         "file name)")
    catalog.add_argument("--dry-run", action="store_true",
                         help="only parse and report; change nothing in the database")
    catalog.set_defaults(run=kb_import_catalog)
    search = kb.add_parser("search", help="accent-insensitive search")
    search.add_argument("query")
    search.add_argument("--limit", type=int, default=5)
    search.set_defaults(run=kb_search)

    nlu = groups.add_parser("nlu", help="natural-language understanding").add_subparsers(
        dest="command", required=True)
    train_cmd = nlu.add_parser("train", help="train the built-in engine")
    train_cmd.add_argument("--data", nargs="+", help="Rasa NLU YAML files or directories")
    train_cmd.add_argument("--out", help="model file (default: the data dir's current model)")
    train_cmd.set_defaults(run=nlu_train)
    parse = nlu.add_parser("parse", help="parse a text (or stdin lines) to Rasa-shaped JSON")
    parse.add_argument("text", nargs="?")
    parse.set_defaults(run=nlu_parse)
    test = nlu.add_parser("test", help="evaluate on a Rasa-format test file")
    test.add_argument("--data", help="test file (default: the held-out test file)")
    test.add_argument("--train", nargs="+", help="train on these files first")
    test.add_argument("--report", help="write the full JSON report here")
    test.add_argument("--plain", action="store_true",
                      help="strip every diacritic from the test texts first")
    test.set_defaults(run=nlu_test)

    rasa = groups.add_parser("rasa", help="Rasa as the NLU engine").add_subparsers(
        dest="command", required=True)
    rasa_exp = rasa.add_parser("export", help="write a Rasa 3.x NLU project from our data")
    rasa_exp.add_argument("path", help="project directory (created)")
    rasa_exp.add_argument("--data", nargs="+", help="training files (default: the shipped ones)")
    rasa_exp.add_argument("--text-form", choices=[f.value for f in TextForm],
                          default=DEFAULT_TEXT_FORM.value,
                          help="text Rasa learns from; the bot must send the same "
                               "(EGOVBOT_RASA_TEXT_FORM)")
    rasa_exp.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS, help="DIET epochs")
    rasa_exp.set_defaults(run=rasa_export)

    chat_parser = groups.add_parser("chat", help="chat with the bot in the terminal")
    chat_parser.add_argument("--user", help="whose conversation (default: a new one)")
    chat_parser.set_defaults(run=chat_cmd)
    users = groups.add_parser("users", help="staff accounts").add_subparsers(dest="command",
                                                                          required=True)
    add = users.add_parser("add", help="create an account (asks for the password)")
    add.add_argument("name")
    add.add_argument("--role", choices=[r.value for r in Role], default=Role.STAFF.value)
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password from the first line of stdin")
    add.set_defaults(run=users_add)
    users.add_parser("list", help="list accounts").set_defaults(run=users_list)
    disable = users.add_parser("disable", help="disable an account")
    disable.add_argument("name")
    disable.set_defaults(run=users_disable)

    db = groups.add_parser("db", help="database schema").add_subparsers(dest="command",
                                                                     required=True)
    db.add_parser("upgrade", help="migrate to the latest schema").set_defaults(run=db_upgrade)
    db.add_parser("current", help="show schema revisions").set_defaults(run=db_current)

    serve = groups.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--workers", type=_positive_int, default=1, metavar="N",
                       help="worker processes sharing the port (N > 1 needs PostgreSQL and "
                            "Redis: EGOVBOT_DATABASE_URL, EGOVBOT_REDIS_URL)")
    serve.add_argument(WORKER_FLAG, dest="worker_of", type=int, help=argparse.SUPPRESS)
    serve.set_defaults(run=serve_cmd)
    simulator = groups.add_parser("simulator", help="serve the dossier-status simulator")
    simulator.add_argument("--host")
    simulator.add_argument("--port", type=int)
    simulator.set_defaults(run=simulator_cmd)
    telegram = groups.add_parser("telegram", help="Telegram bot").add_subparsers(
        dest="command", required=True)
    set_hook = telegram.add_parser("set-webhook", help="have Telegram deliver updates to URL")
    set_hook.add_argument("url", help="public HTTPS URL ending in /webhooks/telegram")
    delete_hook = telegram.add_parser("delete-webhook", help="stop webhook deliveries")
    for hook_parser in (set_hook, delete_hook):
        hook_parser.add_argument("--drop-pending-updates", action="store_true",
                                 help="discard updates Telegram is still holding")
        hook_parser.set_defaults(run=telegram_cmd)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``egovbot`` console script."""
    args = build_parser().parse_args(argv)  # --help and argument errors end here
    from bot.service.logs import configure_logging
    from bot.service.settings import Settings
    from bot.storage.migrate import SchemaBehind
    from knowledge.files import KnowledgeFileError
    from nlu.rasa_data import TrainingDataError

    settings = Settings()
    configure_logging(logging.DEBUG if args.verbose else logging.WARNING, settings.log_format)
    try:
        result: int = asyncio.run(args.run(args, settings))
        return result
    except KeyboardInterrupt:
        return 130
    except (TrainingDataError, KnowledgeFileError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    except (LookupError, SchemaBehind) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
