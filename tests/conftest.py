"""Shared fixtures: isolated settings, a real SQLite knowledge base, a trained NLU."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.bootstrap import build_lexicon, open_knowledge
from bot.settings import Settings
from knowledge.files import load_directory
from knowledge.store import KnowledgeStore
from nlu.engine import BuiltinNlu, NluModel, train
from nlu.rasa_data import load_training_data


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with their own data directory (SQLite file, models) under tmp_path."""
    return Settings(data_dir=tmp_path / "var")


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[KnowledgeStore]:
    """A knowledge store on a fresh SQLite file, seeded with the shipped data."""
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
