"""The built-in engine's parse cache: the same answers, kept only for short texts without
personal data, and never carried over to an engine with another lexicon or model."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.service.bootstrap import build_nlu, open_knowledge
from bot.service.settings import Settings
from nlu.engine import BuiltinNlu, Lexicon, NluModel
from tests.conftest import prepare_data_dir

TEXTS = (
    "chào bạn",
    "làm hộ chiếu cần giấy tờ gì",
    "bao nhiêu tiền",
    "lam cccd het bao nhieu tien",
    "khai sinh online được không",
    "tra cứu hồ sơ 000.00.12.H31-251103-0042",
    "cảm ơn",
)


@pytest.fixture
def cached(nlu: BuiltinNlu) -> BuiltinNlu:
    return BuiltinNlu(nlu.model, nlu.lexicon, nlu.oos_threshold, cache_size=4)


def test_a_cached_parse_equals_a_fresh_one(nlu: BuiltinNlu, cached: BuiltinNlu) -> None:
    for _round in range(3):
        for text in TEXTS:
            assert cached.parse(text) == nlu.parse(text), text


def test_a_repeated_short_text_is_parsed_once(cached: BuiltinNlu) -> None:
    first = cached.parse("bao nhiêu tiền")
    assert cached.parse("bao nhiêu tiền") is first
    assert cached.parse("bao nhieu tien") is not first  # another text, its own parse


@pytest.mark.parametrize("text", [
    "tra cứu hồ sơ 000.00.12.H31-251103-0042",  # a dossier code
    "số cccd của tôi là 001234567890",  # an ID number
    "gọi cho tôi sdt0912345678",  # a phone number
    "email của tôi là an@example.vn",
    "tôi muốn hỏi về thủ tục đăng ký thường trú cho con tôi vừa sinh ở bệnh viện tỉnh khác",
])
def test_personal_or_long_texts_are_not_kept(cached: BuiltinNlu, text: str) -> None:
    first = cached.parse(text)
    assert cached.parse(text) is not first
    assert cached.parse(text) == first


def test_the_oldest_text_leaves_when_the_cache_is_full(cached: BuiltinNlu) -> None:
    first = cached.parse("chào bạn")
    for text in ("cảm ơn", "bao nhiêu tiền", "nộp ở đâu", "mất bao lâu"):
        cached.parse(text)
    assert cached.parse("chào bạn") is not first  # five texts through a cache of four


def test_a_new_lexicon_or_model_starts_empty(cached: BuiltinNlu,
                                             shipped_model: NluModel) -> None:
    assert cached.parse("làm thẻ xanh bao nhiêu tiền").first("procedure") is None
    procedures = dict(cached.lexicon.procedures)
    procedures["can-cuoc"] = [*procedures["can-cuoc"], "thẻ xanh"]
    updated = cached.with_lexicon(Lexicon(procedures, cached.lexicon.places))
    assert updated.cache_size == 4
    assert updated.parse("làm thẻ xanh bao nhiêu tiền").first("procedure") == "can-cuoc"
    first = cached.parse("chào bạn")
    assert cached.with_model(shipped_model).parse("chào bạn") is not first


async def test_the_service_engine_follows_the_setting(tmp_path: Path, shipped_model: NluModel,
                                                      database_template: Path) -> None:
    for size in (0, 16):
        settings = Settings(data_dir=tmp_path / str(size), text_cache=size)
        prepare_data_dir(settings, database_template, shipped_model)
        engine, store = await open_knowledge(settings)
        try:
            nlu = await build_nlu(settings, store)
        finally:
            await engine.dispose()
        first = nlu.parse("cảm ơn")
        assert (nlu.parse("cảm ơn") is first) == (size > 0)
