"""Shared fixtures: isolated settings, a real SQLite knowledge base, a trained NLU."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.core.brain import build_lexicon
from bot.dossier_api.simulator import create_simulator_app
from bot.service.app import create_app
from bot.service.bootstrap import open_knowledge
from bot.service.composition import Runtime, build_runtime
from bot.service.settings import Settings
from knowledge.files import load_directory
from knowledge.store import KnowledgeStore
from nlu.engine import BuiltinNlu, NluModel, train
from nlu.rasa_data import load_training_data
from tests.fakes.telegram_api import FakeTelegramApi

# The tests post to /api/chat with sender ids of their own, as a Rasa REST front end would;
# the shipped default refuses them (tests/security/test_security.py checks it). Subprocesses
# the tests start inherit this.
os.environ.setdefault("EGOVBOT_WEB_ALLOW_UNSIGNED_SENDERS", "true")

if TYPE_CHECKING:  # the scale harness is imported only by the tests that use it
    from tests.scale.harness import PostgresDatabase, RedisServer


@pytest.hookimpl(tryfirst=True)  # before ``-m`` deselects
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that drives a real chromium (it uses a ``browser`` fixture, directly or through
    ``login_as``) is marked ``slow``: ``make check`` leaves it to ``make test``."""
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def _own_log_handler_removed() -> Iterator[None]:
    """A test running the CLI installs egovbot's log handler on stderr as captured for that
    test; remove it afterwards, or later log lines go to a closed stream."""
    root = logging.getLogger()
    level = root.level
    yield
    for handler in [h for h in root.handlers if getattr(h, "_egovbot", False)]:
        root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with their own data directory (SQLite file, models) under tmp_path."""
    return Settings(data_dir=tmp_path / "var")


@pytest.fixture(scope="session")
def database_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated and seeded with the shipped knowledge base, made once: tests
    that start the bot copy it (a few ms) instead of migrating, reading the YAML and seeding
    (about 0.3 s). It is exactly what the first start on an empty database writes."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("template"))

    async def build() -> None:
        engine, _ = await open_knowledge(settings)
        await engine.dispose()

    asyncio.run(build())
    database = settings.data_dir / "egovbot.db"
    leftovers = sorted(p.name for p in settings.data_dir.iterdir() if p != database)
    assert not leftovers, f"the template is more than one file: {leftovers}"
    return database


def prepare_data_dir(settings: Settings, template: Path, model: NluModel | None = None) -> None:
    """Give a fresh data directory the template database (and the model, when given) as if
    the bot had started there once; an existing database file is never overwritten."""
    database = settings.data_dir / "egovbot.db"
    if settings.database_url or database.exists():
        raise ValueError(f"prepare_data_dir wants an empty SQLite data directory, not "
                         f"{settings.effective_database_url}")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, database)
    if model is not None:
        model.save(settings.model_path)


@pytest.fixture
async def store(settings: Settings, database_template: Path) -> AsyncIterator[KnowledgeStore]:
    """A knowledge store on its own SQLite file, seeded with the shipped data."""
    prepare_data_dir(settings, database_template)
    engine, knowledge = await open_knowledge(settings)
    yield knowledge
    await engine.dispose()


@pytest.fixture(scope="session")
def shipped_model() -> NluModel:
    """The built-in model trained once on the shipped training data."""
    settings = Settings()
    bundle = load_directory(settings.knowledge_dir)
    lexicon = build_lexicon(bundle.procedures, bundle.offices)
    return train(load_training_data(settings.nlu_train_files), lexicon)


@pytest.fixture(scope="session")
def nlu(shipped_model: NluModel) -> BuiltinNlu:
    """The built-in NLU with the shipped model and the shipped knowledge base's lexicon."""
    settings = Settings()
    bundle = load_directory(settings.knowledge_dir)
    return BuiltinNlu(shipped_model, build_lexicon(bundle.procedures, bundle.offices))


@pytest.fixture
async def simulator() -> AsyncIterator[str]:
    """The dossier-status simulator on a loopback port; yields its base URL."""
    server = TestServer(create_simulator_app("test-token"), host="127.0.0.1")
    await server.start_server()
    yield str(server.make_url("")).rstrip("/")
    await server.close()


@pytest.fixture
async def runtime(tmp_path: Path, shipped_model: NluModel, simulator: str,
                  database_template: Path) -> AsyncIterator[Runtime]:
    """The whole bot on its own SQLite file, talking to the simulator over HTTP."""
    settings = Settings(data_dir=tmp_path / "var", dossier_api_token="test-token",
                        dossier_api_timeout=0.3, dossier_api_deadline=1.0)
    prepare_data_dir(settings, database_template, shipped_model)
    bot = await build_runtime(settings, dossier_api_url=simulator)
    yield bot
    await bot.close()


async def set_simulator_mode(base_url: str, mode: str, delay: float = 5.0) -> None:
    """Tell the simulator how to behave."""
    async with aiohttp.ClientSession() as session, session.post(
        f"{base_url}/_control", json={"mode": mode, "delay": delay}
    ) as response:
        assert response.status == 200


@pytest.fixture
async def service(tmp_path: Path, shipped_model: NluModel, simulator: str,
                  database_template: Path) -> AsyncIterator[TestClient[Any, Any]]:
    """The whole HTTP service on a loopback port, with a client for it."""
    settings = Settings(data_dir=tmp_path / "var", dossier_api_token="test-token",
                        dossier_api_timeout=0.3, dossier_api_deadline=1.0)
    prepare_data_dir(settings, database_template, shipped_model)
    app = await create_app(settings, simulator)
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    yield client
    await client.close()


@pytest.fixture
async def database() -> AsyncIterator[PostgresDatabase]:
    """A fresh, migrated PostgreSQL database with a random name; dropped afterwards."""
    from tests.scale.harness import PostgresDatabase

    db = PostgresDatabase()
    await db.create()
    try:
        yield db
    finally:
        await db.drop()


@pytest.fixture
async def redis(tmp_path: Path) -> AsyncIterator[RedisServer]:
    """A private redis-server on a free loopback port."""
    from tests.scale.harness import RedisServer

    server = RedisServer(tmp_path)
    await server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def telegram_api() -> AsyncIterator[FakeTelegramApi]:
    """The fake Telegram Bot API on a loopback port."""
    api = FakeTelegramApi()
    await api.start()
    yield api
    await api.close()
