"""The Rasa NLU engine: messages parsed by a Rasa server, with the built-in engine as fallback.

``RasaNlu`` sends each message to a Rasa server's ``POST /model/parse`` (``rasa run
--enable-api``) with a short timeout and turns the answer into a ``ParseResult`` that looks
exactly like the built-in engine's, so the policy, the actions and the transcripts cannot tell
the engines apart:

* the text is sent in the form the model was trained on (``TextForm``; a project made by
  ``egovbot rasa export`` says which), and entity offsets are mapped back onto the citizen's
  own text;
* procedure entities come out as procedure ids: Rasa's synonym mapper gives ids for known
  surface forms, and any other value is looked up in the knowledge base's phrases (the same
  gazetteer the built-in engine uses), or dropped when it names no procedure;
* dossier codes and phone numbers are given their canonical forms;
* a top intent below the out-of-scope threshold becomes ``out_of_scope``, as in the built-in
  engine.

When Rasa is down, slow, answers an HTTP error or something that is not a parse result, that
message is parsed by the built-in engine instead (``engine == "builtin"`` in the result), the
failure is counted in ``stats`` (for the metrics) and logged at most once a minute. After
several failures in a row Rasa is given a rest: for ``retry_after`` seconds messages go straight
to the built-in engine (counted as ``unavailable``), then Rasa is tried again.

The ``Parser`` protocol is synchronous, and a synchronous caller cannot wait for HTTP without
blocking the event loop: ``parse`` answers with the built-in engine; the pipeline uses
``aparse`` (``nlu.types.parse_async``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from nlu.dossier_code import canonical_dossier_code
from nlu.engine import DEFAULT_OOS_THRESHOLD, BuiltinNlu, Lexicon, NluModel
from nlu.intents import EntityType, Intent
from nlu.normalize import normalize
from nlu.patterns import id_digits, phone_digits
from nlu.rasa_project import RasaText, TextForm, rasa_text
from nlu.types import Entity, IntentScore, ParseResult

log = logging.getLogger(__name__)

ENGINE_NAME = "rasa"
MAX_ANSWER_BYTES = 1024 * 1024
FAILURE_REASONS = ("down", "timeout", "http_error", "malformed", "unavailable")


class RasaAnswerError(ValueError):
    """Rasa answered something that is not a parse result."""


@dataclass(slots=True)
class RasaStats:
    """Counters of the Rasa engine, read by the metrics.

    ``requests``: messages sent to Rasa; ``answered``: messages Rasa parsed; ``fallbacks``:
    messages the built-in engine parsed instead, by reason (``FAILURE_REASONS``).
    """

    requests: int = 0
    answered: int = 0
    fallbacks: Counter[str] = field(default_factory=Counter)

    @property
    def fallback_total(self) -> int:
        """Every message that fell back, whatever the reason."""
        return sum(self.fallbacks.values())

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready counters."""
        return {"requests": self.requests, "answered": self.answered,
                "fallbacks": dict(self.fallbacks), "fallback_total": self.fallback_total}


class RateLimitedLog:
    """Logs a warning at most once per ``interval`` seconds, with the number held back."""

    def __init__(self, logger: logging.Logger, interval: float = 60.0) -> None:
        self.logger = logger
        self.interval = interval
        self._last = -float("inf")
        self._held_back = 0

    def warning(self, message: str, *args: object) -> None:
        """Log now, or count the message if one was logged less than ``interval`` ago."""
        now = time.monotonic()
        if now - self._last < self.interval:
            self._held_back += 1
            return
        if self._held_back:
            message += " (and %d more such messages since the last warning)"
            args = (*args, self._held_back)
        self.logger.warning(message, *args)
        self._last = now
        self._held_back = 0


class _Connection:
    """What every copy of a RasaNlu shares: the HTTP session, the counters, the breaker."""

    def __init__(self, failure_threshold: int, retry_after: float, log_interval: float) -> None:
        self.session: aiohttp.ClientSession | None = None
        self.stats = RasaStats()
        self.warnings = RateLimitedLog(log, log_interval)
        self.failure_threshold = failure_threshold
        self.retry_after = retry_after
        self.consecutive_failures = 0
        self.resting_until = 0.0

    def open_session(self) -> aiohttp.ClientSession:
        if self.session is None or self.session.closed:
            self.session = aiohttp.ClientSession(
                headers={"Content-Type": "application/json"},
                connector=aiohttp.TCPConnector(limit=100),
            )
        return self.session

    def resting(self) -> bool:
        return time.monotonic() < self.resting_until

    def failed(self) -> None:
        self.consecutive_failures += 1
        if self.consecutive_failures >= self.failure_threshold:
            self.resting_until = time.monotonic() + self.retry_after

    def succeeded(self) -> None:
        self.consecutive_failures = 0
        self.resting_until = 0.0

    async def close(self) -> None:
        if self.session is not None and not self.session.closed:
            await self.session.close()
        self.session = None


class RasaNlu:
    """A Rasa server in front of a built-in engine it wraps (see the module docstring).

    It offers what the bot asks of any engine (``NluEngine``): ``aparse`` goes to Rasa and
    falls back to the wrapped engine; ``parse`` (the synchronous path), ``model`` and
    ``lexicon`` are the wrapped engine's; ``with_lexicon`` and ``with_model`` give a new
    wrapper around a new built-in engine that keeps the Rasa server, its HTTP session and its
    counters.
    """

    engine_name = ENGINE_NAME

    def __init__(self, model: NluModel, lexicon: Lexicon, url: str, *,
                 oos_threshold: float = DEFAULT_OOS_THRESHOLD, timeout: float = 1.0,
                 text_form: TextForm = TextForm.PLAIN, token: str = "",
                 failure_threshold: int = 3, retry_after: float = 5.0,
                 log_interval: float = 60.0, connection: _Connection | None = None,
                 fallback: BuiltinNlu | None = None) -> None:
        """``fallback``: the built-in engine to wrap, when one is at hand with this model and
        lexicon; otherwise one is built."""
        self.fallback = fallback or BuiltinNlu(model, lexicon, oos_threshold)
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.text_form = text_form
        self.token = token
        self._connection = connection or _Connection(failure_threshold, retry_after,
                                                     log_interval)

    @classmethod
    def around(cls, builtin: BuiltinNlu, url: str, *, timeout: float = 1.0,
               text_form: TextForm = TextForm.PLAIN, token: str = "") -> RasaNlu:
        """A Rasa engine wrapping this built-in engine."""
        return cls(builtin.model, builtin.lexicon, url, oos_threshold=builtin.oos_threshold,
                   timeout=timeout, text_form=text_form, token=token, fallback=builtin)

    @property
    def model(self) -> NluModel:
        """The wrapped engine's model (what retraining compares against)."""
        return self.fallback.model

    @property
    def lexicon(self) -> Lexicon:
        """The knowledge base's phrases, as the wrapped engine has them."""
        return self.fallback.lexicon

    @property
    def oos_threshold(self) -> float:
        """Below this confidence a top intent becomes ``out_of_scope``."""
        return self.fallback.oos_threshold

    def parse(self, text: str) -> ParseResult:
        """The synchronous path: the wrapped built-in engine."""
        return self.fallback.parse(text)

    @property
    def stats(self) -> RasaStats:
        """The counters (shared by every copy made with ``with_lexicon``/``with_model``)."""
        return self._connection.stats

    def _around(self, builtin: BuiltinNlu) -> RasaNlu:
        return RasaNlu(builtin.model, builtin.lexicon, self.url,
                       oos_threshold=builtin.oos_threshold, timeout=self.timeout,
                       text_form=self.text_form, token=self.token,
                       connection=self._connection, fallback=builtin)

    def with_lexicon(self, lexicon: Lexicon) -> RasaNlu:
        """The same server with new procedure and place phrases."""
        return self._around(self.fallback.with_lexicon(lexicon))

    def with_model(self, model: NluModel) -> RasaNlu:
        """The same server with a new built-in (fallback) model."""
        return self._around(self.fallback.with_model(model))

    async def aparse(self, text: str) -> ParseResult:
        """Understand one message through Rasa, or the built-in engine when Rasa fails."""
        connection = self._connection
        sent = rasa_text(text, self.text_form)
        if not sent.text.strip():
            return self.parse(text)  # no words: out of scope, nothing to ask Rasa
        if connection.resting():
            return self._fall_back(text, "unavailable", "Rasa is resting after failures")
        connection.stats.requests += 1
        try:
            async with asyncio.timeout(self.timeout):
                answer = await self._post(sent.text)
            result = self._convert(answer, sent)
        except TimeoutError:
            connection.failed()
            return self._fall_back(text, "timeout", f"no answer within {self.timeout} s")
        except aiohttp.ClientResponseError as exc:
            connection.failed()
            return self._fall_back(text, "http_error", f"HTTP {exc.status}")
        except (aiohttp.ClientError, OSError) as exc:
            connection.failed()
            return self._fall_back(text, "down", f"{type(exc).__name__}: {exc}")
        except RasaAnswerError as exc:
            connection.failed()
            return self._fall_back(text, "malformed", str(exc))
        connection.succeeded()
        connection.stats.answered += 1
        return result

    async def close(self) -> None:
        """Close the HTTP session."""
        await self._connection.close()

    async def _post(self, text: str) -> Any:
        session = self._connection.open_session()
        params = {"token": self.token} if self.token else None
        async with session.post(f"{self.url}/model/parse", params=params,
                                data=json.dumps({"text": text})) as response:
            response.raise_for_status()
            raw = await response.content.read(MAX_ANSWER_BYTES + 1)
        if len(raw) > MAX_ANSWER_BYTES:
            raise RasaAnswerError("answer larger than 1 MiB")
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise RasaAnswerError(f"answer is not JSON: {exc}") from exc

    def _fall_back(self, text: str, reason: str, detail: str) -> ParseResult:
        self._connection.stats.fallbacks[reason] += 1
        self._connection.warnings.warning(
            "Rasa at %s failed (%s: %s); the built-in engine parsed the message",
            self.url, reason, detail)
        return self.parse(text)

    def _convert(self, answer: Any, sent: RasaText) -> ParseResult:
        """A Rasa answer as the bot's ParseResult (raises RasaAnswerError)."""
        if not isinstance(answer, dict):
            raise RasaAnswerError(f"answer is a {type(answer).__name__}, not an object")
        if not isinstance(answer.get("intent"), dict) or not answer["intent"].get("name"):
            raise RasaAnswerError("answer has no intent")
        try:
            raw = ParseResult.from_dict(answer, ENGINE_NAME)
        except ValueError as exc:
            raise RasaAnswerError(str(exc)) from exc
        ranking = tuple(sorted(raw.intent_ranking, key=lambda s: -s.confidence)) or (raw.intent,)
        top = raw.intent
        if top.confidence < self.oos_threshold:
            top = IntentScore(Intent.OUT_OF_SCOPE, 1.0 - top.confidence)
        entities = self._entities(raw.entities, sent)
        return ParseResult(sent.original, top, ranking, entities, ENGINE_NAME)

    def _entities(self, found: tuple[Entity, ...], sent: RasaText) -> tuple[Entity, ...]:
        entities: list[Entity] = []
        for entity in found:
            span = sent.original_span(entity.start, entity.end)
            if span is None:
                continue
            start, end = span
            surface = sent.original[start:end]
            value = self._value(entity.entity, entity.value, surface)
            if value is None:
                continue
            if any(e.entity == entity.entity and start < e.end and e.start < end
                   for e in entities):
                continue
            entities.append(Entity(entity.entity, value, start, end, entity.confidence,
                                   surface, entity.extractor or "rasa"))
        return tuple(sorted(entities, key=lambda e: e.start))

    def _value(self, entity: str, value: str, surface: str) -> str | None:
        """The bot's value of an entity Rasa found, or None to drop it."""
        if entity == EntityType.PROCEDURE:
            if value in self.lexicon.procedures:
                return value
            for phrase in (surface, value):
                hits = self.fallback.extractor.procedures.find(normalize(phrase))
                if hits:
                    return hits[0].value
            return None
        if entity == EntityType.DOSSIER_CODE:
            return canonical_dossier_code(surface) or canonical_dossier_code(value) or surface
        if entity == EntityType.PHONE:
            return phone_digits(surface) or value
        if entity == EntityType.ID_NUMBER:
            return id_digits(surface) or value
        return value
