"""The composition root: builds the running bot from settings, each piece once: the database
and its stores, the knowledge, the NLU and the brain, the dossier service, the pipeline."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from actions import build_actions
from actions.base import Services
from actions.dossier_source import DossierSource
from bot.core.brain import build_brain, lexicon_of
from bot.core.pipeline import Pipeline
from bot.dossier_api.client import CircuitBreaker, DossierApiClient
from bot.dossier_api.simulator import SimulatedDossiers
from bot.service.bootstrap import build_nlu, open_knowledge
from bot.service.coordination.locks import RedisConversationLocks
from bot.service.coordination.rate_limits import MemoryRateLimiter, RedisRateLimiter
from bot.service.coordination.redis_client import connect
from bot.service.memory import release_freed_memory
from bot.service.settings import Settings
from bot.storage.batch import WriteBatcher
from bot.storage.follows import FollowStore
from bot.storage.stores import Stores, build_stores
from knowledge.snapshot import KnowledgeSnapshot
from nlu.engine import BuiltinNlu, NluEngine
from nlu.rasa_engine import ENGINE_NAME, RasaNlu
from nlu.rasa_project import TextForm


@dataclass
class Runtime:
    """Everything a running bot holds, each built once here; ``close()`` releases it."""

    settings: Settings
    engine: AsyncEngine
    stores: Stores
    dossiers: DossierSource
    pipeline: Pipeline
    batcher: WriteBatcher
    redis: Redis | None = None  # scale-out mode: locks, limits, reload signal

    async def close(self) -> None:
        """Finish pending writes, close the dossier client, Redis and the database."""
        await self.batcher.close()
        if isinstance(self.pipeline.locks, RedisConversationLocks):
            await self.pipeline.locks.close()
        if self.redis is not None:
            await self.redis.aclose()
        if isinstance(self.dossiers, DossierApiClient):
            await self.dossiers.close()
        if isinstance(self.pipeline.brain.nlu, RasaNlu):
            await self.pipeline.brain.nlu.close()
        await self.engine.dispose()


def select_nlu(settings: Settings, builtin: BuiltinNlu) -> NluEngine:
    """The engine ``settings.nlu_engine`` names (the built-in one is Rasa's fallback)."""
    if settings.nlu_engine == ENGINE_NAME:
        if not settings.rasa_url:
            raise LookupError("EGOVBOT_NLU_ENGINE=rasa needs EGOVBOT_RASA_URL "
                              "(for example http://127.0.0.1:5005)")
        return RasaNlu.around(builtin, settings.rasa_url, timeout=settings.rasa_timeout,
                              text_form=TextForm(settings.rasa_text_form),
                              token=settings.rasa_token)
    return builtin


def build_dossier_source(settings: Settings, api_url: str | None = None) -> DossierSource:
    """The HTTP client when an API URL is known, else the simulator's data in-process."""
    url = api_url if api_url is not None else settings.dossier_api_url
    if not url:
        return SimulatedDossiers()
    return DossierApiClient(url, settings.dossier_api_token,
                            attempt_timeout=settings.dossier_api_timeout,
                            deadline=settings.dossier_api_deadline,
                            breaker=CircuitBreaker(reset_after=settings.dossier_api_circuit_reset))


async def build_runtime(settings: Settings, dossier_api_url: str | None = None) -> Runtime:
    """Open the database (seeding it if empty), load the NLU and wire the pipeline."""
    engine, store = await open_knowledge(settings)
    knowledge = await KnowledgeSnapshot.load(store, settings.text_cache)
    nlu = select_nlu(settings, await build_nlu(settings, store, lexicon_of(knowledge)))
    batcher = WriteBatcher(engine, settings.database_pool_size)
    redis = connect(settings.redis_url) if settings.redis_url else None
    # States are cached in memory only when this process is the only writer (no Redis).
    follows = FollowStore(store.sessions, limit=settings.follow_max_per_citizen,
                          days=settings.follow_days, poll_interval=settings.follow_poll_interval)
    stores = build_stores(store, batcher, 0 if redis is not None else settings.state_cache_size,
                          follows)
    dossiers = build_dossier_source(settings, dossier_api_url)
    services = Services(
        knowledge=knowledge,
        dossiers=dossiers,
        limiter=RedisRateLimiter(redis) if redis is not None else MemoryRateLimiter(),
        dossier_lookups_per_hour=settings.dossier_lookups_per_hour,
        dossier_lookups_per_minute=settings.dossier_lookups_per_minute,
        office_schedule=settings.office_schedule,
        feedback=stores.feedback,
        queue=stores.handoff,
        personal_data=stores.personal_data,
        retention_days=settings.retention_days,
        follows=stores.follows if settings.follow_enabled else None,
    )
    locks = RedisConversationLocks(redis, settings.lock_ttl) if redis is not None else None
    brain = build_brain(knowledge, nlu, services, build_actions())
    release_freed_memory()  # the catalog's load leaves freed pages behind
    pipeline = Pipeline(brain, stores.conversations,
                        dt.timedelta(minutes=settings.state_ttl_minutes), locks)
    return Runtime(settings, engine, stores, dossiers, pipeline, batcher, redis)
