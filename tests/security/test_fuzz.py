"""Bad input, generated: the normaliser, the NLU and every webhook/API parser never crash.

The HTTP properties run against the real service on a loopback port (web, Telegram and Zalo
on, with fake platform APIs): never a 5xx, never an ERROR in the log, and a refused (4xx)
request changes no stored state. Examples are bounded so the file runs in well under a minute;
``derandomize`` keeps runs reproducible while still searching (and shrinking) failures.
"""

from __future__ import annotations

import copy
import json
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.channels.telegram.channel import SECRET_HEADER
from bot.service.app import DISPATCHER
from nlu.engine import BuiltinNlu, NluModel
from nlu.normalize import MAX_INPUT_CHARS, fold, normalize
from nlu.types import ParseResult
from tests.fakes.telegram_api import callback_update, photo_update, text_update
from tests.fakes.zalo_api import FakeZalo
from tests.security.live import TELEGRAM_SECRET, LiveService

pytestmark = pytest.mark.slow  # hypothesis generates hundreds of inputs per test

FUZZ = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
HTTP_FUZZ = settings(FUZZ, max_examples=40)

# --- strategies -----------------------------------------------------------------------------

# Any code point but surrogates (which cannot be encoded): letters, combining marks (tone
# marks stacked any way), controls, format characters, private use, unassigned.
ANY_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=300)
VIETNAMESE = st.text(st.sampled_from(
    [*"aăâeêioôơuưydđ AĂÂEÊIOÔƠUƯYĐ0123456789.-",
     "\u0300", "\u0301", "\u0303", "\u0309", "\u0323", "\u0306", "\u0302", "\u031b",
     "\u200b", "\u00ad", "\x00", "\x1b", "\t", "\n"]), max_size=80)
TEXTS = st.one_of(ANY_TEXT, VIETNAMESE, st.builds(unicodedata.normalize, st.just("NFD"),
                                                   ANY_TEXT))

JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=40),
    st.sampled_from(["", " ", "/start", "\x00", "9" * 400, "ß" * 10, "<script>", "' OR 1=1 --"]))
JSON = st.recursive(JSON_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)),
    max_leaves=12)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path to a value inside nested dicts and lists."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths(item, (*prefix, index))


@st.composite
def mutated(draw: st.DrawFn, valid: st.SearchStrategy[dict[str, Any]]) -> Any:
    """A valid document with one to three parts replaced, removed or added."""
    document: Any = copy.deepcopy(draw(valid))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(list(paths(document))))
        if not path:
            document = draw(JSON)
            continue
        parent = document
        for key in path[:-1]:
            parent = parent[key]
        operation = draw(st.sampled_from(["replace", "delete", "add"]))
        if operation == "delete":
            del parent[path[-1]]
        elif operation == "add" and isinstance(parent, dict):
            parent[draw(st.text(max_size=12))] = draw(JSON)
        else:
            parent[path[-1]] = draw(JSON)
    return document


TELEGRAM_UPDATES = st.one_of(
    st.builds(text_update, st.integers(1, 2**40), TEXTS.filter(str.strip)),
    st.builds(callback_update, st.integers(1, 2**40), st.text(max_size=64)),
    st.builds(photo_update, st.integers(1, 2**40)))


# --- the normaliser and the NLU ----------------------------------------------------------


@FUZZ
@given(TEXTS)
def test_normalize_never_fails_and_keeps_its_promises(text: str) -> None:
    normalized = normalize(text)
    assert isinstance(normalized.text, str) and isinstance(normalized.plain, str)
    assert len(normalized.original) <= MAX_INPUT_CHARS
    for token in normalized.tokens:
        assert token.text and token.plain and token.text == token.text.lower()
        assert 0 <= token.start < token.end <= len(normalized.original)
        # the plain form has no diacritic left (what accent-insensitive search relies on)
        assert not any(unicodedata.combining(ch)
                       for ch in unicodedata.normalize("NFD", token.plain))
        assert "đ" not in token.plain
    # normalising what normalize produced changes nothing more
    assert normalize(normalized.text).text == normalized.text
    assert fold(text) == normalized.plain
    assert fold(text.upper()) == fold(text.lower()) or not text.isascii()


@FUZZ
@example("\ufb44" * MAX_INPUT_CHARS)  # NFC lengthens it: was cut before NFC only
@given(st.text(st.characters(exclude_categories=["Cs"]), min_size=MAX_INPUT_CHARS,
               max_size=MAX_INPUT_CHARS + 50))
def test_huge_texts_are_cut_not_choked_on(text: str) -> None:
    normalized = normalize(text * 30)  # ~120 000 characters
    assert len(normalized.original) <= MAX_INPUT_CHARS


@FUZZ
@given(TEXTS)
def test_the_builtin_nlu_parses_anything(nlu: BuiltinNlu, text: str) -> None:
    parsed = nlu.parse(text)
    assert isinstance(parsed, ParseResult)
    assert parsed.text == text
    assert 0.0 <= parsed.intent.confidence <= 1.0
    as_json = json.loads(json.dumps(parsed.to_dict()))
    assert as_json["intent"]["name"] == parsed.intent.name
    for entity in parsed.entities:
        assert 0 <= entity.start <= entity.end <= len(text)
        assert isinstance(entity.value, str)


# --- the HTTP parsers, through the real service ------------------------------------------


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, shipped_model: NluModel
         ) -> Iterator[LiveService]:
    service = LiveService(Path(tmp_path_factory.mktemp("fuzz")) / "var", shipped_model).start()
    yield service
    service.stop()


def post(live: LiveService, path: str, body: bytes, headers: dict[str, str] | None = None
         ) -> int:
    """POST raw bytes; checks the answer and the log; the HTTP status."""
    before = live.run(live.counts())
    errors = len(live.errors.records)

    async def send() -> int:
        response = await live.client.post(path, data=body, headers={
            "Content-Type": "application/json", **(headers or {})})
        await response.read()
        return response.status

    status = live.run(send())
    after = live.run(live.counts())  # waits until accepted messages are answered
    assert status < 500, f"{path} answered {status} to {body[:300]!r}"
    assert live.errors.since(errors) == [], f"{path} logged errors for {body[:300]!r}"
    if 400 <= status < 500:
        assert after == before, f"{path} refused {body[:300]!r} ({status}) but stored it"
    return status


def encode(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


CITIZEN_PATHS = ["/api/chat", "/webhooks/rest/webhook", "/model/parse"]


@HTTP_FUZZ
@given(path=st.sampled_from([*CITIZEN_PATHS, "/webhooks/telegram", "/webhooks/zalo"]),
       body=st.one_of(st.binary(max_size=600), st.binary(min_size=70_000, max_size=70_100)))
def test_arbitrary_bytes_are_refused_cleanly(live: LiveService, path: str, body: bytes) -> None:
    headers = {SECRET_HEADER: TELEGRAM_SECRET}
    if path == "/webhooks/zalo":
        assert live.zalo is not None
        headers["X-ZEvent-Signature"] = live.zalo.sign(body, {})
    post(live, path, body, headers)


@HTTP_FUZZ
@given(path=st.sampled_from(CITIZEN_PATHS), document=st.one_of(
    JSON,
    st.fixed_dictionaries({"sender": JSON, "message": JSON}),
    st.fixed_dictionaries({"sender": st.from_regex(r"\A[A-Za-z0-9_.:-]{1,20}\Z"),
                           "message": TEXTS, "message_id": JSON}),
    st.fixed_dictionaries({"text": st.one_of(TEXTS, JSON)})))
def test_chat_and_parse_take_any_json(live: LiveService, path: str, document: Any) -> None:
    status = post(live, path, encode(document))
    if status == 200 and path == "/model/parse":
        assert isinstance(document, dict) and isinstance(document.get("text"), str)


@HTTP_FUZZ
@example(query={"sender": "s", "x": "1", "after": "9" * 30})  # was a 500 (SQLite overflow)
@given(query=st.dictionaries(st.sampled_from(["sender", "after", "x"]),
                             st.one_of(st.text(max_size=30), st.integers().map(str),
                                       st.just("9" * 30)), max_size=3))
def test_poll_takes_any_query(live: LiveService, query: dict[str, str]) -> None:
    web: Any = live.client.app[DISPATCHER].channels["web"]
    if "sender" in query and query.get("x"):
        query["sender"] = web.sign("fuzz")  # reach the parsing of 'after' too
    errors = len(live.errors.records)

    async def get() -> int:
        response = await live.client.get("/api/chat/poll", params=query)
        await response.read()
        return response.status

    status = live.run(get())
    assert status < 500, f"poll answered {status} to {query!r}"
    assert live.errors.since(errors) == []


@HTTP_FUZZ
@example(document={"update_id": 1, "message": {"message_id": 1, "date": 0, "text": "hi"}})
@example(document={"update_id": 2, "message": {"message_id": 1, "date": 0, "text": 5,
                                               "chat": {"id": 1, "type": "private"}}})
@given(document=st.one_of(JSON, mutated(TELEGRAM_UPDATES)))
def test_telegram_webhook_takes_any_update(live: LiveService, document: Any) -> None:
    post(live, "/webhooks/telegram", encode(document), {SECRET_HEADER: TELEGRAM_SECRET})


@st.composite
def zalo_events(draw: st.DrawFn) -> dict[str, Any]:
    zalo = EVENTS  # events are built with the fake's (fixed) ids; not started
    user = draw(st.from_regex(r"\A[0-9]{1,19}\Z"))
    kind = draw(st.sampled_from(["text", "payload", "image", "follow"]))
    if kind == "text":
        return zalo.text_event(user, draw(TEXTS.filter(str.strip)))
    if kind == "payload":
        return zalo.text_event(user, draw(st.text(max_size=60)), event_name="user_send_text")
    if kind == "image":
        return zalo.attachment_event(user)
    return zalo.follow_event(user)


EVENTS = FakeZalo()


@HTTP_FUZZ
@given(document=st.one_of(JSON, mutated(zalo_events())))
def test_zalo_webhook_takes_any_signed_event(live: LiveService, document: Any) -> None:
    assert live.zalo is not None
    raw = encode(document)
    event = document if isinstance(document, dict) else {}
    post(live, "/webhooks/zalo", raw, {"X-ZEvent-Signature": live.zalo.sign(raw, event)})

