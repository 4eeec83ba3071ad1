"""Wiring shared by the CLI and the service: the database, the knowledge base and the NLU."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.brain import lexicon_of
from bot.service.settings import Settings
from bot.storage.db import make_engine, make_sessionmaker
from bot.storage.migrate import ensure_schema
from bot.storage.training import TrainingStore
from knowledge.catalog.importer import CATALOG_FILE, read_records
from knowledge.files import load_directory
from knowledge.snapshot import KnowledgeSnapshot
from knowledge.store import KnowledgeStore
from knowledge.synonyms import SYNONYMS_FILE, read_synonyms
from nlu.engine import BuiltinNlu, Lexicon, NluModel, data_fingerprint, train
from nlu.rasa_data import load_training_data

log = logging.getLogger(__name__)


async def open_knowledge(settings: Settings, seed: bool = True) -> tuple[AsyncEngine,
                                                                          KnowledgeStore]:
    """The database engine and knowledge store. An empty database gets the schema and is
    seeded from YAML; a database whose schema is behind raises SchemaBehind."""
    engine = make_engine(settings.effective_database_url, settings.database_pool_size)
    try:
        await ensure_schema(engine)
    except BaseException:
        await engine.dispose()
        raise
    store = KnowledgeStore(make_sessionmaker(engine))
    if seed and await store.is_empty():
        summary = await store.load_bundle(load_directory(settings.knowledge_dir))
        log.info("seeded the knowledge base from %s: %s", settings.knowledge_dir,
                 summary.counts())
        await seed_catalog(settings.knowledge_dir, store)
    return engine, store


async def seed_catalog(directory: Path, store: KnowledgeStore) -> None:
    """Load the shipped national catalog and synonym table into an empty database."""
    records = directory / CATALOG_FILE
    if records.exists() and await store.catalog.count() == 0:
        changes = await store.catalog.import_records(list(read_records(records).values()))
        log.info("seeded the national catalog from %s: %s", records, changes.lines()[0])
    if not await store.synonyms.all():
        await store.synonyms.replace(read_synonyms(directory / SYNONYMS_FILE))


async def load_lexicon(store: KnowledgeStore) -> Lexicon:
    """The lexicon of the published knowledge base (both tiers, and the synonyms)."""
    return lexicon_of(await KnowledgeSnapshot.load(store))


def load_or_train_model(settings: Settings, lexicon: Lexicon) -> NluModel:
    """The saved model when it was trained on the current data, else a freshly trained one."""
    data = load_training_data(settings.nlu_train_files)
    path = settings.model_path
    if path.exists():
        try:
            model = NluModel.load(path)
            if model.data_hash == data_fingerprint(data):
                return model
            log.info("training data changed since %s was trained; retraining", path)
        except (ValueError, OSError, EOFError, AttributeError, ImportError) as exc:
            log.warning("cannot use the model at %s (%s); retraining", path, exc)
    model = train(data, lexicon)
    model.save(path)
    return model


async def load_active_model(store: KnowledgeStore) -> NluModel | None:
    """The model staff activated by retraining or restoring (``nlu_models``), when there is
    one and its file can be read; the shipped model's own row means the shipped model."""
    active = await TrainingStore(store.sessions).active_model()
    if active is None or active.baseline:
        return None
    try:
        return NluModel.load(Path(active.path))
    except (ValueError, OSError, EOFError, AttributeError, ImportError) as exc:
        log.warning("cannot use the active model %s at %s (%s); using the shipped model",
                    active.version, active.path, exc)
        return None


async def build_nlu(settings: Settings, store: KnowledgeStore,
                    lexicon: Lexicon | None = None) -> BuiltinNlu:
    """The built-in NLU with the current model and the knowledge base's lexicon (read from
    the store unless given)."""
    if lexicon is None:
        lexicon = await load_lexicon(store)
    model = await load_active_model(store) or load_or_train_model(settings, lexicon)
    return BuiltinNlu(model, lexicon, settings.nlu_oos_threshold, settings.text_cache)
