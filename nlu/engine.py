"""The built-in NLU engine: normalise, extract entities, classify the intent.

``train(data, lexicon)`` builds an ``NluModel`` from Rasa-format training data; ``BuiltinNlu``
parses with a model and a ``Lexicon`` (procedure and place phrases from the knowledge base).
The lexicon is separate from the model so that a published knowledge-base change reaches the
parser without retraining.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import pickle
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from nlu.classifier import IntentClassifier
from nlu.dates import find_dates, find_worded_dates
from nlu.entities import Gazetteer, PlaceFinder, pattern_entities
from nlu.intents import ABOUT_A_PROCEDURE, PROCEDURE_INTENTS, EntityType, Intent
from nlu.normalize import NormalizedText, has_diacritics, normalize
from nlu.patterns import keep_repeated
from nlu.procedure_search import (
    MAX_CHOICES,
    ProcedureDoc,
    Retrieval,
    retriever_for,
)
from nlu.rasa_data import TrainingData
from nlu.tagger import EntityTagger
from nlu.types import Entity, IntentScore, ParseResult, ProcedureScore

MODEL_FORMAT = 3  # 2: accented features, class weights, tagger; 3: no scikit-learn objects
PLACEHOLDERS = {
    EntityType.PROCEDURE: "zzproc",
    EntityType.DOSSIER_CODE: "zzcode",
    EntityType.ID_NUMBER: "zzidnumber",
    EntityType.PHONE: "zzphone",
    EntityType.PLACE: "zzplace",
    EntityType.DATE: "zzdate",
}
DEFAULT_OOS_THRESHOLD = 0.25
SEARCH_EXTRACTOR = "procedure_search"
WIDER_BY = 0.15  # procedure search overrides a named phrase that covers this much less
OUT_OF_SCOPE_COVERAGE = 0.85  # out of scope, a searched procedure must hold this much
NAMED_YIELDS = True  # a named phrase torn with a search leader above it: ask
RESCUE_EVIDENCE = 12.0  # search this sure of a procedure keeps it when "out of scope" …
RESCUE_INTENT = 0.05  # … if some question about a procedure is at least this likely
SURE_INTENT = 0.5  # an intent this sure that is not about a procedure drops a searched one
# what the gazetteers and patterns find: the entity tagger learns every other annotated type
FOUND_BY_RULES = frozenset({EntityType.PROCEDURE, EntityType.DOSSIER_CODE, EntityType.ID_NUMBER,
                            EntityType.PHONE})


@dataclass(frozen=True, slots=True)
class Lexicon:
    """Phrases that name entity values: procedure id -> names/aliases, place -> names; and
    what procedure search reads: every procedure's words and the synonym table."""

    procedures: Mapping[str, list[str]] = field(default_factory=dict)
    places: Mapping[str, list[str]] = field(default_factory=dict)
    documents: tuple[ProcedureDoc, ...] = ()
    synonyms: tuple[tuple[tuple[str, ...], str], ...] = ()


@dataclass(slots=True)
class NluModel:
    """A trained classifier plus the entity synonyms its training data taught."""

    classifier: IntentClassifier
    synonyms: dict[str, list[str]]
    trained_at: str
    examples: int
    data_hash: str
    train_seconds: float
    format: int = MODEL_FORMAT
    tagger: EntityTagger | None = None  # the learned entity types, when the data has any

    def save(self, path: Path) -> None:
        """Write the model atomically."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL))
        tmp.replace(path)

    @staticmethod
    def load(path: Path) -> NluModel:
        """Read a model written by ``save`` (our own file; never load untrusted pickles)."""
        model = pickle.loads(path.read_bytes())
        if not isinstance(model, NluModel) or model.format != MODEL_FORMAT:
            raise ValueError(f"{path} is not an egovbot NLU model of format {MODEL_FORMAT}")
        return model


class EntityExtractor:
    """Every entity type: gazetteers for procedures and places, patterns for the rest."""

    def __init__(self, lexicon: Lexicon, synonyms: Mapping[str, list[str]]) -> None:
        procedures: dict[str, list[str]] = {k: list(v) for k, v in lexicon.procedures.items()}
        for value, phrases in synonyms.items():
            if not procedures or value in lexicon.procedures or not lexicon.procedures:
                procedures.setdefault(value, []).extend(phrases)
        self.procedures = Gazetteer(EntityType.PROCEDURE, procedures)
        self.places = PlaceFinder(lexicon.places)

    def extract(self, message: NormalizedText) -> list[Entity]:
        """Entities of every type, without overlaps, in message order."""
        found = pattern_entities(message.original)
        for date in find_dates(message.original):
            if all(date.end <= e.start or date.start >= e.end for e in found):
                found.append(Entity(EntityType.DATE, date.value, date.start, date.end, 1.0,
                                    message.original[date.start:date.end], "pattern"))
        for gazetteer in (self.procedures, self.places):
            for entity in gazetteer.find(message):
                if all(entity.end <= e.start or entity.start >= e.end for e in found):
                    found.append(entity)
        return sorted(found, key=lambda e: e.start)


def masked_text(message: NormalizedText, entities: list[Entity], accented: bool = False) -> str:
    """The plain (or accented) text with each entity replaced by its placeholder."""
    words: list[str] = []
    current: Entity | None = None
    for token in message.tokens:
        covering = next((e for e in entities if e.start <= token.start < e.end), None)
        if covering is None:
            words.append(token.text if accented else token.plain)
        elif covering is not current:
            words.append(PLACEHOLDERS.get(EntityType(covering.entity), "zzentity")
                         if covering.entity in PLACEHOLDERS else "zzentity")
        current = covering
    return " ".join(words)


def data_fingerprint(data: TrainingData) -> str:
    """A short hash of the training examples, to tell models apart."""
    digest = hashlib.sha256()
    for example in data.examples:
        digest.update(f"{example.intent}\t{example.text}\n".encode())
    return digest.hexdigest()[:12]


def marked_text(message: NormalizedText, entities: list[Entity]) -> str:
    """The masked accented text of a message typed with diacritics, else ""."""
    return masked_text(message, entities, accented=True) if has_diacritics(message.original) \
        else ""


def train(data: TrainingData, lexicon: Lexicon, previous: bool = False,
          balanced: bool = False) -> NluModel:
    """Train the built-in engine on Rasa-format data (``previous``: as the engine before
    the accented features and the tagger, the benchmark's baseline; ``balanced``: with
    class weights and a calibrated temperature, for data with very unequal intents; off by
    default: on our data it moves confidences the policy's thresholds were tuned on and
    gains nothing, see README "Figures")."""
    started = time.perf_counter()
    synonyms = data.entity_synonyms(EntityType.PROCEDURE)
    extractor = EntityExtractor(lexicon, synonyms)
    texts: list[str] = []
    accented: list[str] = []
    intents: list[str] = []
    for example in data.examples:
        message = normalize(example.text)
        found = extractor.extract(message)
        texts.append(masked_text(message, found))
        accented.append(marked_text(message, found))
        intents.append(example.intent)
    classifier = IntentClassifier(accents=not previous, balanced=balanced,
                                  calibrate=balanced).fit(
        texts, intents, accented)
    # places the place list names keep its values (the units the bot resolves); the tagger
    # learns places too, for the xã and phường the list does not know
    tagger = None if previous else EntityTagger.train(data.examples, FOUND_BY_RULES)
    return NluModel(
        classifier=classifier,
        synonyms=synonyms,
        trained_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        examples=len(data.examples),
        data_hash=data_fingerprint(data),
        train_seconds=round(time.perf_counter() - started, 3),
        tagger=tagger,
    )


class NluEngine(Protocol):
    """What the bot asks of an NLU engine (the built-in one, or Rasa wrapping it): parse,
    synchronously or waiting for I/O, and a copy with other phrases or another model."""

    @property
    def model(self) -> NluModel:
        """The trained built-in model (retraining compares against it)."""
        ...

    @property
    def lexicon(self) -> Lexicon:
        """The knowledge base's procedure and place phrases."""
        ...

    def parse(self, text: str) -> ParseResult:
        """Understand one message without waiting for I/O."""
        ...

    async def aparse(self, text: str) -> ParseResult:
        """Understand one message (an engine over HTTP waits here)."""
        ...

    def with_lexicon(self, lexicon: Lexicon) -> NluEngine:
        """The same engine with other phrases."""
        ...

    def with_model(self, model: NluModel) -> NluEngine:
        """The same engine with another trained model."""
        ...


class BuiltinNlu:
    """Parses messages with a trained model and the current lexicon."""

    engine_name = "builtin"

    def __init__(self, model: NluModel, lexicon: Lexicon,
                 oos_threshold: float = DEFAULT_OOS_THRESHOLD, cache_size: int = 0) -> None:
        self.model = model
        self.lexicon = lexicon
        self.oos_threshold = oos_threshold
        self.cache_size = cache_size
        # a parse depends on the text, the model and the lexicon alone, and an engine's model
        # and lexicon never change (a reload builds a new engine): the parses of the short
        # texts citizens send again and again ("cảm ơn", "bao nhiêu tiền") are kept
        self._parse_kept = keep_repeated(self._parse, cache_size)
        self.extractor = EntityExtractor(lexicon, model.synonyms)
        self.retriever = retriever_for(lexicon.documents, lexicon.synonyms)
        self._codes = {doc.id: doc.code for doc in lexicon.documents}
        self._names = {doc.id: doc.name for doc in lexicon.documents}

    def with_lexicon(self, lexicon: Lexicon) -> BuiltinNlu:
        """The same model with new procedure and place phrases (itself when the phrases are
        the ones it has: building the gazetteer and the search index costs tens of ms)."""
        if lexicon is self.lexicon:
            return self
        return BuiltinNlu(self.model, lexicon, self.oos_threshold, self.cache_size)

    def with_model(self, model: NluModel) -> BuiltinNlu:
        """A new model with the same lexicon."""
        return BuiltinNlu(model, self.lexicon, self.oos_threshold, self.cache_size)

    async def aparse(self, text: str) -> ParseResult:
        """``parse`` for async callers (the engine never waits for I/O)."""
        return self.parse(text)

    def parse(self, text: str) -> ParseResult:
        """Understand one message (from the engine's cache when it was parsed before and holds
        nothing personal: see ``nlu.patterns.keepable``)."""
        return self._parse_kept(text)

    def _parse(self, text: str) -> ParseResult:
        """Understand one message.

        The intent is classified with the phrases of known procedures masked, as in
        training; a procedure found by procedure search is not masked (its words are often
        the question's own: "làm lại sổ đỏ bị mất")."""
        message = normalize(text)
        phrased = self.extractor.extract(message)
        entities, procedures, choices, evidence = self.resolve_procedure(message, phrased)
        if not message.tokens:
            top = IntentScore(Intent.OUT_OF_SCOPE, 1.0)
            return ParseResult(text, top, (top,), tuple(entities), self.engine_name)
        ranking = self.model.classifier.rank(masked_text(message, phrased),
                                             accented=marked_text(message, phrased))
        top = ranking[0]
        if self.model.tagger is not None:
            entities = self.learned(message, entities)
        entities = self.worded_dates(message, entities)
        if top.confidence < self.oos_threshold:
            top = IntentScore(Intent.OUT_OF_SCOPE, 1.0 - top.confidence)
        # out of scope, a searched procedure must hold nearly all the words, unless search
        # says a lot of it and the message reads somewhat like a question about one: a long
        # question in a citizen's own words about a procedure the classifier never saw ("bà
        # tôi mất rồi có phải đi xóa hộ khẩu không") reads as out of scope, and the policy
        # answers about the procedure all the same
        about = max((i.confidence for i in ranking if i.name in PROCEDURE_INTENTS), default=0.0)
        kept = evidence >= RESCUE_EVIDENCE and about >= RESCUE_INTENT
        gate = (0.0 if top.name == Intent.OUT_OF_SCOPE and kept
                else OUT_OF_SCOPE_COVERAGE if top.name == Intent.OUT_OF_SCOPE
                else 2.0 if top.name not in ABOUT_A_PROCEDURE and top.confidence >= SURE_INTENT
                else 0.0)
        if gate:
            # out of scope, only a searched procedure that holds nearly all the words; and
            # "cho em gặp nhân viên", "hồ sơ của em xong chưa" are not about a procedure
            entities = [e for e in entities
                        if e.extractor != SEARCH_EXTRACTOR or e.confidence >= gate]
            if not choices or choices[0].coverage < gate:
                choices = ()
        return ParseResult(text, top, tuple(ranking), tuple(entities), self.engine_name,
                           procedures, choices)

    def learned(self, message: NormalizedText, entities: list[Entity]) -> list[Entity]:
        """The entities with the tagger's, except where a gazetteer or pattern found one of
        the same type (a place the list names, a date in digits) or a code or number (those
        are sure)."""
        assert self.model.tagger is not None
        sure = [f for f in entities if f.entity in FOUND_BY_RULES - {EntityType.PROCEDURE}]
        extra = [e for e in self.model.tagger.tag(message)
                 if all(e.end <= f.start or e.start >= f.end for f in entities
                        if f.entity == e.entity or f in sure)]
        return sorted([*entities, *extra], key=lambda e: e.start) if extra else entities

    def worded_dates(self, message: NormalizedText, entities: list[Entity]) -> list[Entity]:
        """The entities with the everyday worded dates ("thứ hai tuần sau", "cuối tháng
        này"; extractor ``pattern``, the value as the tagger would give it) in place of the
        tagger's dates they overlap; they yield to any other entity. Found after the intent
        is classified: the classifier reads these words as it was trained to."""
        spans = find_worded_dates(message.original)
        if not spans:
            return entities
        kept = [e for e in entities
                if not (e.entity == EntityType.DATE and e.extractor != "pattern"
                        and any(start < e.end and e.start < end for start, end in spans))]
        tagger = self.model.tagger
        for start, end in spans:
            if all(end <= e.start or start >= e.end for e in kept):
                text = message.original[start:end]
                value = tagger.value(EntityType.DATE, text) if tagger is not None else text
                kept.append(Entity(EntityType.DATE, value, start, end, 1.0, text, "pattern"))
        return sorted(kept, key=lambda e: e.start)

    def _score_of(self, named: Entity, found: Retrieval) -> ProcedureScore:
        """The named procedure as search scored it (or unscored, when it ranked lower)."""
        return next((s for s in found.ranking if s.id == named.value),
                    ProcedureScore(named.value, self._codes.get(named.value, ""),
                                   self._names.get(named.value, named.value), 0.0))

    @staticmethod
    def _narrower(found: Retrieval, best: ProcedureScore, named: ProcedureScore | None,
                  by: float = WIDER_BY) -> bool:
        """Whether the search's candidate holds every word the named procedure holds, and
        clearly more of the message."""
        if named is None:
            return best.coverage >= WIDER_BY * 4
        ours = found.positions.get(named.id, frozenset())
        return (best.coverage > named.coverage + by
                and ours <= found.positions.get(best.id, frozenset()))

    def resolve_procedure(self, message: NormalizedText, entities: list[Entity]) -> tuple[
            list[Entity], tuple[ProcedureScore, ...], tuple[ProcedureScore, ...], float]:
        """The message's entities with the procedure procedure search finds (when no phrase
        named one, or when the search's procedure holds clearly more of the message's words),
        the search's ranking, the close candidates to ask about, and how much the message
        says of the search's leader."""
        named = next((e for e in entities if e.entity == EntityType.PROCEDURE), None)
        found = self.retriever.retrieve(message, {
            e.value: frozenset(i for i, token in enumerate(message.tokens)
                               if e.start <= token.start < e.end)
            for e in entities if e.entity == EntityType.PROCEDURE})
        others = [e for e in entities if e.entity != EntityType.PROCEDURE]
        choices = found.choices
        chosen = found.chosen
        close = {choice.id for choice in choices}
        leads = bool(found.ranking) and found.ranking[0].id == (named.value if named else "")
        if named is not None and (
                (chosen is None and (not choices or (named.value in close
                                                     and (leads or not NAMED_YIELDS))))
                or (chosen is not None and chosen.id == named.value)):
            # search agrees, is torn between it and others, or has nothing to say: the
            # phrase names the procedure
            tagged = [replace(e, code=self._codes.get(e.value, ""))
                      if e.entity == EntityType.PROCEDURE else e for e in entities]
            return tagged, found.ranking, (), found.evidence
        if chosen is None or found.span is None:
            if named is not None and choices and named.value not in close:
                # the procedure the citizen's phrase names stays one of the buttons
                choices = (*choices[:MAX_CHOICES - 1], self._score_of(named, found))
            return others, found.ranking, choices, found.evidence
        start, end = found.span
        if any(start < e.end and e.start < end for e in others):
            start, end = start, start  # a span shared with a code or place: keep the value
        entity = Entity(EntityType.PROCEDURE, chosen.id, start, end, chosen.coverage,
                        message.original[start:end], SEARCH_EXTRACTOR, chosen.code)
        return (sorted([*others, entity], key=lambda e: e.start), found.ranking, (),
                found.evidence)
