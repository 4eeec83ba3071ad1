"""A published knowledge change and a new model reach the running service without a restart."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from bot.service.app import RELOADER, RUNTIME
from bot.service.reload import KB_VERSION, MODEL_VERSION, announce
from bot.storage.db import make_sessionmaker
from bot.storage.key_values import KeyValueStore
from nlu.engine import NluModel


async def ask(service: TestClient[Any, Any], text: str) -> str:
    response = await service.post("/api/chat", json={"sender": "reload", "message": text})
    return "\n".join(m["text"] for m in await response.json())


async def test_a_published_fee_and_alias_are_live(service: TestClient[Any, Any]) -> None:
    runtime = service.app[RUNTIME]
    bundle = await runtime.stores.knowledge.export_bundle()
    passport = next(p for p in bundle.procedures if p.id == "ho-chieu")
    fee = passport.fees[0].model_copy(update={"amount_vnd": 123000})
    edited = passport.model_copy(update={"fees": [fee, *passport.fees[1:]],
                                         "aliases": [*passport.aliases, "sổ thông hành"]})
    bundle.procedures[bundle.procedures.index(passport)] = edited
    await runtime.stores.knowledge.load_bundle(bundle)
    assert "123.000" not in await ask(service, "lệ phí làm hộ chiếu")
    # asked before the change too: its parse and FAQ search are kept, and must not outlive it
    assert "Cấp hộ chiếu" not in await ask(service, "làm sổ thông hành mất bao lâu")

    key_values = KeyValueStore(make_sessionmaker(runtime.engine))
    await announce(key_values, KB_VERSION, {"by": "test"})
    await service.app[RELOADER].check()
    assert "123.000 đồng" in await ask(service, "lệ phí làm hộ chiếu")
    assert "Cấp hộ chiếu" in await ask(service, "làm sổ thông hành mất bao lâu")


async def test_an_announced_model_is_loaded(service: TestClient[Any, Any],
                                            shipped_model: NluModel, tmp_path: Any) -> None:
    runtime = service.app[RUNTIME]
    path = tmp_path / "other.pkl"
    shipped_model.save(path)
    before = runtime.pipeline.brain.nlu
    key_values = KeyValueStore(make_sessionmaker(runtime.engine))
    await announce(key_values, MODEL_VERSION, {"version": "v2", "path": str(path)})
    await service.app[RELOADER].check()
    assert runtime.pipeline.brain.nlu is not before
    assert runtime.pipeline.brain.nlu.parse("chào bạn").intent.name == "greet"
