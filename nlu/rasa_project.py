"""Export of a complete Rasa 3.x NLU project from our training data and knowledge-base phrases.

``build_project(data, lexicon)`` returns the files of a project that ``rasa data validate`` and
``rasa train nlu`` accept as they are:

* ``config.yml``: language ``vi`` and a pipeline with no pretrained weights (whitespace tokens,
  regex and lookup features, lexical features, word and character n-gram counts, DIET, entity
  synonyms), a fixed random seed;
* ``domain.yml``: the intent contract (``nlu.intents``) and the entity types;
* ``data/nlu.yml``: the training examples (written by ``nlu.rasa_data``);
* ``data/synonyms.yml``: every procedure name and alias mapped to the procedure id, so Rasa's
  ``EntitySynonymMapper`` answers procedure ids as entity values;
* ``data/lookups.yml`` and ``data/regexes.yml``: lookup tables (procedures, places) and patterns
  (dossier codes, citizen ID numbers, phones) that DIET gets as features.

Rasa tokenises on white space and knows nothing of our normalisation. ``TextForm`` says what
text Rasa is trained on and later sent: the raw text, our normalised text, or its plain
(diacritic-free) form. ``rasa_text`` turns a message into that form and keeps, for every unit
of it, the span of the original text it came from, so entity offsets in Rasa's answers can be
mapped back to what the citizen typed. Dossier codes, ID numbers and phone numbers are kept
verbatim as one unit (normalisation would split them at their dots and dashes).

This module imports nothing from the other packages: the bot passes the procedure and place
phrases in as a ``Lexicon``.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from nlu.dossier_code import CODE_PATTERN
from nlu.entities import pattern_entities
from nlu.intents import EntityType, Intent
from nlu.normalize import fold, normalize, strip_diacritics
from nlu.patterns import ID_NUMBER_PATTERN, PHONE_PATTERN
from nlu.rasa_data import AnnotatedEntity, Example, TrainingData, dump_training_data

if TYPE_CHECKING:  # only a type here; nlu.engine loads scikit-learn, which `egovbot --help`
    from nlu.engine import Lexicon  # must not wait for (bot/cli.py imports this module)

RASA_DATA_VERSION = "3.1"
DEFAULT_EPOCHS = 100
DEFAULT_SEED = 2025
ASSISTANT_ID = "egovbot-nlu"


class TextForm(StrEnum):
    """The text a Rasa model is trained on and sent at parse time."""

    RAW = "raw"  # what the citizen typed, unchanged (use this for a Rasa model of your own)
    NORMALIZED = "normalized"  # our normalised words: lower case, one tone placement, no teencode
    PLAIN = "plain"  # the normalised words without diacritics


DEFAULT_TEXT_FORM = TextForm.PLAIN


@dataclass(frozen=True, slots=True)
class Unit:
    """One word of the text sent to Rasa and the span of the original text it stands for."""

    rasa_start: int
    rasa_end: int
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class RasaText:
    """A message in the form Rasa sees, with the map back to the original text."""

    original: str
    text: str
    units: tuple[Unit, ...] = ()
    identity: bool = False

    def original_span(self, start: int, end: int) -> tuple[int, int] | None:
        """The span of the original text behind a span of the Rasa text (None: no word)."""
        if self.identity:
            return (start, end) if 0 <= start < end <= len(self.text) else None
        covered = self._covered(start, end, rasa_side=True)
        return (covered[0].start, covered[-1].end) if covered else None

    def rasa_span(self, start: int, end: int) -> tuple[int, int] | None:
        """The span of the Rasa text behind a span of the original text (None: no word)."""
        if self.identity:
            return (start, end)
        covered = self._covered(start, end, rasa_side=False)
        return (covered[0].rasa_start, covered[-1].rasa_end) if covered else None

    def _covered(self, start: int, end: int, rasa_side: bool) -> list[Unit]:
        if rasa_side:
            return [u for u in self.units if u.rasa_start < end and start < u.rasa_end]
        return [u for u in self.units if u.start < end and start < u.end]


def rasa_text(text: str, form: TextForm) -> RasaText:
    """A message in the given text form (see the module docstring)."""
    if form is TextForm.RAW:
        return RasaText(text, text, identity=True)
    message = normalize(text)
    kept = [(e.start, e.end) for e in pattern_entities(message.original)]
    kept_starts = [start for start, _ in kept]
    pieces: list[tuple[str, int, int]] = [
        (message.original[start:end], start, end) for start, end in kept
    ]
    for token in message.tokens:
        i = bisect.bisect_right(kept_starts, token.start) - 1
        if i >= 0 and kept[i][0] <= token.start < kept[i][1]:
            continue  # part of a code or number kept verbatim
        word = token.plain if form is TextForm.PLAIN else token.text
        pieces.append((word, token.start, token.end))
    pieces.sort(key=lambda piece: piece[1])
    units: list[Unit] = []
    parts: list[str] = []
    cursor = 0
    for word, start, end in pieces:
        if parts:
            cursor += 1
        units.append(Unit(cursor, cursor + len(word), start, end))
        parts.append(word)
        cursor += len(word)
    return RasaText(message.original, " ".join(parts), tuple(units))


def convert_example(example: Example, form: TextForm,
                    places: Mapping[str, Sequence[str]] | None = None) -> Example:
    """A training example in the given text form, with its annotations re-based.

    An annotation without an explicit value (its value is its own text) gets the text in the
    new form as its value, or, for a place, the knowledge base's name of the place it mentions;
    so Rasa never learns two values for one surface form.
    """
    converted = rasa_text(example.text, form)
    place_names = _place_names(places or {})
    entities: list[AnnotatedEntity] = []
    for entity in example.entities:
        span = converted.rasa_span(entity.start, entity.end)
        if span is None or any(span[0] < e.end and e.start < span[1] for e in entities):
            continue
        value = entity.value
        if value == example.text[entity.start : entity.end]:
            value = converted.text[span[0] : span[1]]
            if entity.entity == EntityType.PLACE:
                value = _place_value(value, place_names)
        entities.append(AnnotatedEntity(entity.entity, value, *span))
    return Example(converted.text, example.intent, tuple(entities))


def _place_names(places: Mapping[str, Sequence[str]]) -> list[tuple[str, str]]:
    """(folded phrase, place name) pairs, longest phrase first."""
    pairs = [(fold(phrase), name) for name, phrases in places.items() for phrase in phrases]
    return sorted((p for p in pairs if p[0]), key=lambda pair: -len(pair[0]))


def _place_value(surface: str, place_names: list[tuple[str, str]]) -> str:
    folded = f" {fold(surface)} "
    return next((name for key, name in place_names if f" {key} " in folded), surface)


def surface_forms(phrase: str, form: TextForm) -> list[str]:
    """The lower-case forms of a phrase Rasa may see (raw: with and without diacritics)."""
    if form is TextForm.RAW:
        lowered = " ".join(phrase.lower().split())
        return list(dict.fromkeys([lowered, strip_diacritics(lowered)]))
    converted = rasa_text(phrase, form).text
    return [converted] if converted else []


def procedure_synonyms(data: TrainingData, lexicon: Lexicon,
                       form: TextForm) -> dict[str, list[str]]:
    """Procedure id -> every surface form that names it (annotations first, then aliases).

    A surface form names one procedure only: when two claim it, the first one listed wins, so
    Rasa never sees inconsistent synonyms.
    """
    owner: dict[str, str] = {}
    table: dict[str, list[str]] = {}

    def claim(value: str, phrases: Iterable[str]) -> None:
        for phrase in phrases:
            for surface in surface_forms(phrase, form):
                if surface == value or owner.setdefault(surface, value) != value:
                    continue
                entries = table.setdefault(value, [])
                if surface not in entries:
                    entries.append(surface)

    annotated = data.entity_synonyms(EntityType.PROCEDURE)
    for value, phrases in annotated.items():
        claim(value, phrases)
    for value, phrases in lexicon.procedures.items():
        claim(value, [*phrases, *data.synonyms.get(value, [])])
    return {value: table[value] for value in sorted(table)}


def lookup_tables(lexicon: Lexicon, form: TextForm) -> dict[str, list[str]]:
    """Lookup tables for the RegexFeaturizer: every procedure and place phrase."""
    tables: dict[str, list[str]] = {}
    for name, source in ((EntityType.PROCEDURE, lexicon.procedures),
                         (EntityType.PLACE, lexicon.places)):
        phrases = [s for group in source.values() for p in group for s in surface_forms(p, form)]
        if phrases:
            tables[str(name)] = sorted(set(phrases))
    return tables


def regexes() -> dict[str, list[str]]:
    """Patterns for the RegexFeaturizer (the same ones the built-in engine uses)."""
    return {
        str(EntityType.DOSSIER_CODE): [CODE_PATTERN.pattern],
        str(EntityType.ID_NUMBER): [ID_NUMBER_PATTERN.pattern],
        str(EntityType.PHONE): [PHONE_PATTERN.pattern],
    }


def pipeline_config(epochs: int = DEFAULT_EPOCHS, seed: int = DEFAULT_SEED) -> list[dict[str, Any]]:
    """The NLU pipeline: only components without pretrained weights.

    It is the pipeline ``rasa init`` writes (Rasa's recommended default, not tuned on our data)
    without the response selector and fallback classifier, which an NLU-only project does not
    need (the bot applies its own out-of-scope threshold), with lookup tables for the
    RegexFeaturizer and a fixed seed.
    """
    return [
        {"name": "WhitespaceTokenizer"},
        {"name": "RegexFeaturizer", "case_sensitive": False, "use_lookup_tables": True,
         "use_regexes": True, "use_word_boundaries": True},
        {"name": "LexicalSyntacticFeaturizer"},
        {"name": "CountVectorsFeaturizer", "analyzer": "word", "min_ngram": 1, "max_ngram": 1},
        {"name": "CountVectorsFeaturizer", "analyzer": "char_wb", "min_ngram": 1,
         "max_ngram": 4},
        {"name": "DIETClassifier", "epochs": epochs, "random_seed": seed,
         "constrain_similarities": True},
        {"name": "EntitySynonymMapper"},
    ]


@dataclass(slots=True)
class RasaProject:
    """The files of a Rasa NLU project, by path relative to the project directory."""

    files: dict[str, str] = field(default_factory=dict)
    text_form: TextForm = DEFAULT_TEXT_FORM
    intents: list[str] = field(default_factory=list)
    entities: list[str] = field(default_factory=list)

    def write(self, directory: Path) -> list[Path]:
        """Write every file (creating directories); returns the paths written."""
        written = []
        for relative, content in self.files.items():
            path = directory / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
            written.append(path)
        return written


def _yaml(document: Mapping[str, Any], header: str = "") -> str:
    body = yaml.safe_dump(dict(document), allow_unicode=True, sort_keys=False, width=1000)
    return header + body


def _config(text_form: TextForm, epochs: int, seed: int) -> str:
    header = (
        "# Rasa 3.x NLU pipeline exported by `egovbot rasa export`.\n"
        f"# Texts are in the '{text_form}' form: the bot sends Rasa the same form at parse time\n"
        f"# (EGOVBOT_RASA_TEXT_FORM={text_form}). No component downloads pretrained weights.\n"
    )
    document = {
        "recipe": "default.v1",
        "language": "vi",
        "assistant_id": ASSISTANT_ID,
        "pipeline": pipeline_config(epochs, seed),
        "policies": [],
    }
    return _yaml(document, header)


def _sorted_unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def build_project(data: TrainingData, lexicon: Lexicon, text_form: TextForm = DEFAULT_TEXT_FORM,
                  epochs: int = DEFAULT_EPOCHS, seed: int = DEFAULT_SEED) -> RasaProject:
    """A Rasa NLU project from training data and the knowledge base's phrases."""
    examples = [convert_example(example, text_form, lexicon.places) for example in data.examples]
    examples = [example for example in examples if example.text.strip()]
    intents = _sorted_unique([*(str(i) for i in Intent), *(e.intent for e in examples)])
    entities = _sorted_unique([*(str(e) for e in EntityType),
                               *(a.entity for e in examples for a in e.entities)])
    synonyms = procedure_synonyms(data, lexicon, text_form)
    other_synonyms = {
        value: [s for p in phrases for s in surface_forms(p, text_form) if s != value]
        for value, phrases in data.synonyms.items() if value not in synonyms
    }
    lookups = lookup_tables(lexicon, text_form)
    for name, phrases in data.lookups.items():
        merged = lookups.setdefault(name, [])
        merged.extend(s for p in phrases for s in surface_forms(p, text_form) if s not in merged)
    patterns = regexes()
    for name, items in data.regexes.items():
        patterns.setdefault(name, []).extend(p for p in items if p not in patterns[name])

    domain = {
        "version": RASA_DATA_VERSION,
        "intents": intents,
        "entities": entities,
        "session_config": {"session_expiration_time": 60, "carry_over_slots_to_new_session": True},
    }
    files = {
        "config.yml": _config(text_form, epochs, seed),
        "domain.yml": _yaml(domain, "# The egovbot intent contract (DESIGN.md) for Rasa.\n"),
        "data/nlu.yml": dump_training_data(TrainingData(examples)),
        "data/synonyms.yml": dump_training_data(
            TrainingData(synonyms={**synonyms, **{k: v for k, v in other_synonyms.items() if v}})),
        "data/lookups.yml": dump_training_data(TrainingData(lookups=lookups)),
        "data/regexes.yml": dump_training_data(TrainingData(regexes=patterns)),
    }
    return RasaProject(files, text_form, intents, entities)

