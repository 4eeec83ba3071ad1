"""Live reload: published knowledge-base changes and newly activated NLU models reach every
running worker within seconds, without a restart.

Whoever publishes a change or activates a model bumps a version in the key-value table
(``announce``) and, in scale-out mode, publishes a signal on Redis that every worker listens
to; every worker also polls those versions every ``interval`` seconds (a cheap primary key read,
and the safety net while Redis is unreachable) and, when one moved, rebuilds its knowledge
snapshot and NLU lexicon or loads the active model file.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from redis.asyncio import Redis

from bot.service.composition import Runtime
from bot.service.coordination.reload_signal import listen_for_reload, publish_reload
from bot.service.memory import release_freed_memory
from bot.service.tasks import stop_task
from bot.storage.key_values import KeyValueStore
from knowledge.snapshot import KnowledgeSnapshot
from nlu.engine import NluModel

log = logging.getLogger(__name__)

KB_VERSION = "kb_version"
MODEL_VERSION = "nlu_model"


async def announce(key_values: KeyValueStore, key: str, value: dict[str, object],
                   redis: Redis | None = None) -> None:
    """Bump a version so every worker reloads (retries if another writer raced us); with Redis,
    also signal the workers so they reload at once rather than at their next poll."""
    for _ in range(10):
        current = await key_values.get(key)
        if await key_values.compare_and_set(key, value, current.version if current else None):
            if redis is not None:
                await publish_reload(redis, key)
            return
    raise RuntimeError(f"could not announce {key}: too many concurrent writers")


async def reload_knowledge(runtime: Runtime) -> None:
    """Rebuild the brain (knowledge snapshot and NLU lexicon) from the database now."""
    snapshot = await KnowledgeSnapshot.load(runtime.stores.knowledge,
                                            runtime.settings.text_cache)
    runtime.pipeline.brain = runtime.pipeline.brain.with_knowledge(snapshot)
    release_freed_memory()


def use_model(runtime: Runtime, path: Path) -> None:
    """Serve a saved model from now on."""
    runtime.pipeline.brain = runtime.pipeline.brain.with_model(NluModel.load(path))


class Reloader:
    """Polls the announced versions and reloads what changed."""

    def __init__(self, runtime: Runtime, key_values: KeyValueStore,
                 interval: float = 2.0) -> None:
        self.runtime = runtime
        self.key_values = key_values
        self.interval = interval
        self._seen: dict[str, int] = {}
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Remember the current versions and start polling."""
        for key in (KB_VERSION, MODEL_VERSION):
            current = await self.key_values.get(key)
            self._seen[key] = current.version if current else 0
        self._tasks = [asyncio.create_task(self._poll())]
        if self.runtime.redis is not None:
            self._tasks.append(asyncio.create_task(
                listen_for_reload(self.runtime.redis, self._on_signal)))

    async def stop(self) -> None:
        """Stop polling and listening."""
        for task in self._tasks:
            await stop_task(task)
        self._tasks = []

    async def _on_signal(self, _key: str) -> None:
        try:
            await self.check()
        except Exception:
            log.exception("live reload failed; the bot keeps its current data")

    async def check(self) -> None:
        """Reload whatever was announced since the last check."""
        kb = await self.key_values.get(KB_VERSION)
        if kb is not None and kb.version != self._seen.get(KB_VERSION):
            await reload_knowledge(self.runtime)
            self._seen[KB_VERSION] = kb.version
            log.info("knowledge base reloaded (version %d)", kb.version)
        model = await self.key_values.get(MODEL_VERSION)
        if model is not None and model.version != self._seen.get(MODEL_VERSION):
            path = Path(str(model.value.get("path", "")))
            use_model(self.runtime, path)
            self._seen[MODEL_VERSION] = model.version
            log.info("NLU model %s loaded", model.value.get("version"))

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.check()
            except Exception:
                log.exception("live reload failed; the bot keeps its current data")
