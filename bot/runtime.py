"""Builds the running bot from settings: database, knowledge, NLU, dossier service, pipeline."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from actions import build_actions
from actions.base import Services
from bot.bootstrap import build_nlu, open_knowledge
from bot.limits import MemoryRateLimiter
from bot.pipeline import Pipeline
from bot.rasa_nlu import RasaNlu, select_nlu
from bot.redis_backend import RedisConversationLocks, RedisRateLimiter, connect
from bot.settings import Settings
from knowledge.batch import WriteBatcher
from knowledge.conversations import ConversationStore
from knowledge.db import make_sessionmaker
from knowledge.dossiers.client import DossierApiClient
from knowledge.dossiers.simulator import SimulatedDossiers
from knowledge.dossiers.types import DossierSource
from knowledge.feedback import FeedbackStore
from knowledge.snapshot import KnowledgeSnapshot
from knowledge.store import KnowledgeStore
from nlu.engine import BuiltinNlu


@dataclass
class Runtime:
    """Everything a running bot holds; ``close()`` releases it."""

    settings: Settings
    engine: AsyncEngine
    store: KnowledgeStore
    conversations: ConversationStore
    nlu: BuiltinNlu  # replaced on reload; the pipeline's parser is kept in step
    dossiers: DossierSource
    pipeline: Pipeline
    batcher: WriteBatcher
    redis: Redis | None = None  # scale-out mode: locks, dedup, limits, reload signal

    async def close(self) -> None:
        """Finish pending writes, close the dossier client, Redis and the database."""
        await self.batcher.close()
        if self.redis is not None:
            await self.redis.aclose()
        if isinstance(self.dossiers, DossierApiClient):
            await self.dossiers.close()
        if isinstance(self.nlu, RasaNlu):
            await self.nlu.close()
        await self.engine.dispose()


def build_dossier_source(settings: Settings, api_url: str | None = None) -> DossierSource:
    """The HTTP client when an API URL is known, else the simulator's data in-process."""
    url = api_url if api_url is not None else settings.dossier_api_url
    if not url:
        return SimulatedDossiers()
    return DossierApiClient(url, settings.dossier_api_token,
                            attempt_timeout=settings.dossier_api_timeout,
                            deadline=settings.dossier_api_deadline)


async def build_runtime(settings: Settings, dossier_api_url: str | None = None) -> Runtime:
    """Open the database (seeding it if empty), load the NLU and wire the pipeline."""
    engine, store = await open_knowledge(settings)
    nlu = select_nlu(settings, await build_nlu(settings, store))
    batcher = WriteBatcher(engine)
    redis = connect(settings.redis_url) if settings.redis_url else None
    # States are cached in memory only when this process is the only writer (no Redis).
    conversations = ConversationStore(make_sessionmaker(engine),
                                      0 if redis is not None else settings.state_cache_size,
                                      batcher)
    dossiers = build_dossier_source(settings, dossier_api_url)
    services = Services(
        knowledge=await KnowledgeSnapshot.load(store),
        dossiers=dossiers,
        limiter=RedisRateLimiter(redis) if redis is not None else MemoryRateLimiter(),
        dossier_lookups_per_hour=settings.dossier_lookups_per_hour,
        office_schedule=settings.office_schedule,
        feedback=FeedbackStore(make_sessionmaker(engine)),
    )
    locks = RedisConversationLocks(redis, settings.lock_ttl) if redis is not None else None
    pipeline = Pipeline(nlu, services, conversations, build_actions(),
                        dt.timedelta(minutes=settings.state_ttl_minutes), locks)
    return Runtime(settings, engine, store, conversations, nlu, dossiers, pipeline, batcher,
                   redis)
