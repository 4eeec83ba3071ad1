"""The Rasa engine against a fake Rasa server on loopback: answers flow through the whole bot
unchanged, and every kind of failure falls back to the built-in engine in time and is counted."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.service.app import RUNTIME, create_app
from bot.service.composition import select_nlu
from bot.service.reload import reload_knowledge
from bot.service.settings import Settings
from nlu.engine import BuiltinNlu, NluModel
from nlu.rasa_engine import RasaNlu, RateLimitedLog
from nlu.rasa_project import TextForm, rasa_text
from nlu.types import parse_async
from tests.conftest import prepare_data_dir
from tests.fakes.rasa_server import FakeRasa

FEE_QUESTION = "lam cccd het bao nhieu tien"
TIMEOUT = 0.3


def sent(text: str, form: TextForm = TextForm.PLAIN) -> str:
    """What the bot sends Rasa for a text."""
    return rasa_text(text, form).text


@pytest.fixture
async def fake_rasa() -> AsyncIterator[tuple[FakeRasa, str]]:
    fake = FakeRasa()
    url = await fake.start()
    yield fake, url
    await fake.stop()


@pytest.fixture
async def rasa_service(tmp_path: Path, shipped_model: NluModel, simulator: str,
                       fake_rasa: tuple[FakeRasa, str], monkeypatch: pytest.MonkeyPatch,
                       database_template: Path) -> AsyncIterator[TestClient[Any, Any]]:
    """The whole service with EGOVBOT_NLU_ENGINE=rasa pointing at the fake."""
    monkeypatch.setenv("EGOVBOT_NLU_ENGINE", "rasa")
    monkeypatch.setenv("EGOVBOT_RASA_URL", fake_rasa[1])
    monkeypatch.setenv("EGOVBOT_RASA_TIMEOUT", str(TIMEOUT))
    monkeypatch.setenv("EGOVBOT_RASA_TOKEN", "s3cret")
    settings = Settings(data_dir=tmp_path / "var", dossier_api_token="test-token",
                        dossier_api_timeout=0.3, dossier_api_deadline=1.0)
    prepare_data_dir(settings, database_template, shipped_model)
    client = TestClient(TestServer(await create_app(settings, simulator), host="127.0.0.1"))
    await client.start_server()
    yield client
    await client.close()


async def chat(client: TestClient[Any, Any], sender: str, text: str) -> list[dict[str, Any]]:
    response = await client.post("/api/chat", json={"sender": sender, "message": text})
    assert response.status == 200
    answer: list[dict[str, Any]] = await response.json()
    return answer


def engine_of(client: TestClient[Any, Any]) -> RasaNlu:
    nlu = client.app[RUNTIME].pipeline.brain.nlu
    assert isinstance(nlu, RasaNlu)
    return nlu


async def test_a_conversation_is_understood_by_rasa(rasa_service: TestClient[Any, Any],
                                                    fake_rasa: tuple[FakeRasa, str]) -> None:
    fake, _url = fake_rasa
    # Rasa finds the procedure but answers its surface text, not an id: the bot resolves it.
    fake.answer(sent(FEE_QUESTION), "procedure_fee",
                entities=(("procedure", "can cuoc cong dan", "can cuoc cong dan"),))
    # An answer the built-in engine would not give, to show Rasa's answer is the one used.
    fake.answer(sent("cho gặp nhân viên"), "thank", 0.97)

    [fee] = await chat(rasa_service, "r1", FEE_QUESTION)
    assert "Lệ phí thủ tục Cấp thẻ căn cước" in fee["text"]
    papers = next(b["payload"] for b in fee["buttons"] if b["title"] == "Giấy tờ cần chuẩn bị")
    [tap] = await chat(rasa_service, "r1", papers)  # payloads skip NLU
    assert "Giấy tờ cần chuẩn bị cho thủ tục Cấp thẻ căn cước" in tap["text"]
    thanks = await chat(rasa_service, "r1", "cho gặp nhân viên")
    assert "nhân viên" not in thanks[0]["text"].lower()

    assert fake.received == [sent(FEE_QUESTION), sent("cho gặp nhân viên")]
    assert fake.tokens == ["s3cret", "s3cret"]
    turns = await rasa_service.app[RUNTIME].stores.conversations.turns("web:r1")
    incoming = [t for t in turns if t.direction == "in"]
    assert [t.intent for t in incoming] == ["procedure_fee", "procedure_documents", "thank"]
    [entity] = incoming[0].entities
    assert (entity["entity"], entity["value"], entity["start"], entity["end"]) == (
        "procedure", "can-cuoc", 4, 8)  # the span of "cccd" in what the citizen typed
    stats = engine_of(rasa_service).stats
    assert (stats.requests, stats.answered, stats.fallback_total) == (2, 2, 0)


async def test_dossier_codes_from_rasa_are_canonical(rasa_service: TestClient[Any, Any],
                                                     fake_rasa: tuple[FakeRasa, str]) -> None:
    fake, _url = fake_rasa
    text = "tra cứu hồ sơ 000.00.12.h31-251103-0042 giúp em"
    assert "000.00.12.h31-251103-0042" in sent(text)  # kept whole, not split at the dots
    fake.answer(sent(text), "dossier_status",
                entities=(("dossier_code", "000.00.12.h31-251103-0042",
                           "000.00.12.h31-251103-0042"),))
    replies = await chat(rasa_service, "r2", text)
    assert "000.00.12.H31-251103-0042" in replies[0]["text"]
    turns = await rasa_service.app[RUNTIME].stores.conversations.turns("web:r2")
    assert turns[0].entities[0]["value"] == "000.00.12.H31-251103-0042"


@pytest.mark.parametrize(
    ("mode", "reason"),
    [("slow", "timeout"), ("error", "http_error"), ("malformed", "malformed"),
     ("wrong_shape", "malformed"), ("down", "down")],
)
async def test_each_failure_falls_back_in_time_and_is_counted(
        rasa_service: TestClient[Any, Any], fake_rasa: tuple[FakeRasa, str], mode: str,
        reason: str, caplog: pytest.LogCaptureFixture) -> None:
    fake, _url = fake_rasa
    if mode == "down":
        await fake.stop()
    fake.mode, fake.delay = mode, 5.0
    started = time.perf_counter()
    [fee] = await chat(rasa_service, "r3", FEE_QUESTION)
    elapsed = time.perf_counter() - started
    assert "Lệ phí thủ tục Cấp thẻ căn cước" in fee["text"]  # the built-in engine answered
    assert elapsed < TIMEOUT + 2.0  # not the 5 s Rasa would take
    second = await chat(rasa_service, "r4", "cho gặp nhân viên")
    assert second  # the built-in engine handed over
    stats = engine_of(rasa_service).stats
    assert stats.fallbacks == {reason: 2}
    assert stats.answered == 0
    warnings = [r for r in caplog.records if r.name == "nlu.rasa_engine"]
    assert len(warnings) == 1 and reason in warnings[0].getMessage()  # rate-limited
    turns = await rasa_service.app[RUNTIME].stores.conversations.turns("web:r3")
    assert turns[0].intent == "procedure_fee"


async def test_rasa_rests_after_failures_in_a_row(nlu: BuiltinNlu,
                                                  fake_rasa: tuple[FakeRasa, str]) -> None:
    fake, url = fake_rasa
    fake.mode = "error"
    rasa = RasaNlu(nlu.model, nlu.lexicon, url, timeout=TIMEOUT, failure_threshold=2,
                   retry_after=0.3)
    try:
        for _ in range(4):
            assert (await rasa.aparse(FEE_QUESTION)).engine == "builtin"
        assert len(fake.received) == 2  # the last two did not even try
        assert rasa.stats.fallbacks == {"http_error": 2, "unavailable": 2}
        fake.mode = "ok"
        fake.answer(sent("chào bạn"), "greet", 0.99)
        time.sleep(0.35)
        result = await rasa.aparse("chào bạn")
        assert (result.engine, result.intent.name) == ("rasa", "greet")
        assert rasa.stats.answered == 1
    finally:
        await rasa.close()


@pytest.mark.parametrize("form", list(TextForm))
async def test_entity_spans_map_back_to_the_citizens_text(
        nlu: BuiltinNlu, fake_rasa: tuple[FakeRasa, str], form: TextForm) -> None:
    fake, url = fake_rasa
    text = "Làm CCCD hết bao nhiêu tiền, còn hộ chiếu thì sao?"
    rasa_form = sent(text, form)
    cccd = "căn cước công dân" if form is TextForm.NORMALIZED else (
        "CCCD" if form is TextForm.RAW else "can cuoc cong dan")
    passport = "hộ chiếu" if form is not TextForm.PLAIN else "ho chieu"
    fake.answer(rasa_form, "procedure_fee", 0.9,
                entities=(("procedure", cccd, "can-cuoc"), ("procedure", passport, passport),
                          ("procedure", "tiền" if form is not TextForm.PLAIN else "tien",
                           "tien")))
    rasa = RasaNlu(nlu.model, nlu.lexicon, url, timeout=TIMEOUT, text_form=form)
    try:
        result = await rasa.aparse(text)
    finally:
        await rasa.close()
    assert fake.received == [rasa_form]
    assert result.text == text and result.engine == "rasa"
    # ids from the synonym mapper are kept, surface values are resolved, non-procedures dropped
    assert [(e.value, text[e.start:e.end]) for e in result.entities] == [
        ("can-cuoc", "CCCD"), ("ho-chieu", "hộ chiếu")]


async def test_low_confidence_is_out_of_scope_and_sync_parse_is_builtin(
        nlu: BuiltinNlu, fake_rasa: tuple[FakeRasa, str]) -> None:
    fake, url = fake_rasa
    fake.answer(sent("abc xyz"), "greet", 0.1)
    rasa = RasaNlu(nlu.model, nlu.lexicon, url, timeout=TIMEOUT)
    try:
        result = await parse_async(rasa, "abc xyz")
        assert (result.intent.name, result.engine) == ("out_of_scope", "rasa")
        assert "greet" in [s.name for s in result.intent_ranking]  # Rasa's ranking is kept
        assert rasa.parse("chào bạn").engine == "builtin"  # synchronous callers
        assert (await rasa.aparse(" ?! ")).intent.name == "out_of_scope"  # no words
        assert len(fake.received) == 1 and rasa.stats.fallback_total == 0
    finally:
        await rasa.close()


async def test_reloads_keep_the_rasa_server_and_its_counters(
        tmp_path: Path, shipped_model: NluModel, fake_rasa: tuple[FakeRasa, str],
        database_template: Path) -> None:
    from bot.service.composition import build_runtime

    settings = Settings(data_dir=tmp_path / "var", nlu_engine="rasa", rasa_url=fake_rasa[1])
    prepare_data_dir(settings, database_template, shipped_model)
    runtime = await build_runtime(settings)
    try:
        before = runtime.pipeline.brain.nlu
        assert isinstance(before, RasaNlu)
        await reload_knowledge(runtime)
        after = runtime.pipeline.brain.nlu
        assert isinstance(after, RasaNlu) and after is not before
        assert after.stats is before.stats and after.url == before.url
        assert isinstance(after.with_model(shipped_model), RasaNlu)
    finally:
        await runtime.close()


def test_rasa_needs_a_url(nlu: BuiltinNlu) -> None:
    with pytest.raises(LookupError, match="EGOVBOT_RASA_URL"):
        select_nlu(Settings(nlu_engine="rasa"), nlu)
    assert select_nlu(Settings(), nlu) is nlu


def test_rate_limited_log(caplog: pytest.LogCaptureFixture) -> None:
    limited = RateLimitedLog(logging.getLogger("test.rasa"), interval=0.05)
    with caplog.at_level(logging.WARNING, logger="test.rasa"):
        for _ in range(3):
            limited.warning("rasa failed: %s", "x")
        time.sleep(0.06)
        limited.warning("rasa failed: %s", "y")
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["rasa failed: x",
                        "rasa failed: y (and 2 more such messages since the last warning)"]
