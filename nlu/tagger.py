"""The learned entity tagger: a CRF over syllables, trained from the training data's entities.

Gazetteers and patterns find what the knowledge base and fixed formats name (procedures,
offices, dossier codes, numbers); they are sure and keep priority. Everything else a training
file annotates (``[Lê Chân](district)``, ``[ngày mai](date)``, ``[cho con](relation)``, or any
custom entity of another Rasa dataset) is learned here: a linear-chain CRF (CRFsuite through
python-crfsuite, for training and tagging) labels each syllable B-/I-/O from features of the
syllable with and without diacritics and of its neighbours. A value comes from the
annotations (``[bé](relation:con)``) when the surface was seen (with its diacritics first:
"bà" and "ba" are two people), else from the longest seen start of it ("ông ngoại" -> the
value of "ông"), else it is the text.

The tagger exists only when the training data has entity labels it can learn: a model without
them never runs it, so parsing pays nothing for it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pycrfsuite

from nlu.normalize import NormalizedText, Token, has_diacritics, normalize
from nlu.rasa_data import Example
from nlu.types import Entity

EXTRACTOR = "crf"
OUTSIDE = "O"
MAX_ITERATIONS = 80  # converged on our data; the bound keeps training 5,000 examples short

Features = dict[str, str | float]


def _shape(word: str) -> str:
    if word.isdigit():
        return "d" if len(word) < 3 else "dd"
    if word[:1].isupper():
        return "X" if word.isupper() and len(word) > 1 else "Xx"
    return "x"


def syllable_features(message: NormalizedText) -> list[Features]:
    """One feature dictionary per syllable: its accent-free and (when typed) accented forms,
    its shape, and its neighbours' forms."""
    tokens = message.tokens
    marked = has_diacritics(message.original)
    plain = [t.plain for t in tokens]
    last = len(tokens) - 1
    original = message.original
    rows: list[Features] = []
    for i, token in enumerate(tokens):
        word = plain[i]
        row: Features = {"bias": 1.0, "w": word,
                         "shape": _shape(original[token.start:token.end]),
                         "p2": word[:2], "s2": word[-2:]}
        if marked:
            row["a"] = token.text
        # the neighbours in the order CRFsuite was trained with: -2, -1, +1, +2
        row["w-2"] = plain[i - 2] if i >= 2 else "<s>"
        if i >= 1:
            row["w-1"] = plain[i - 1]
            if marked:
                row["a-1"] = tokens[i - 1].text
        else:
            row["w-1"] = "<s>"
        if i < last:
            row["w+1"] = plain[i + 1]
            if marked:
                row["a+1"] = tokens[i + 1].text
        else:
            row["w+1"] = "</s>"
        row["w+2"] = plain[i + 2] if i + 2 <= last else "</s>"
        if i > 0:
            row["b-1"] = f"{plain[i - 1]} {word}"
        if i < last:
            row["b+1"] = f"{word} {plain[i + 1]}"
        rows.append(row)
    return rows


def _labels(tokens: Sequence[Token], entities: Iterable[tuple[str, int, int]]) -> list[str]:
    labels = [OUTSIDE] * len(tokens)
    for entity, start, end in entities:
        inside = [i for i, t in enumerate(tokens) if t.start < end and start < t.end]
        for n, i in enumerate(inside):
            if labels[i] == OUTSIDE:
                labels[i] = ("B-" if n == 0 else "I-") + entity
    return labels


def _keys(surface: str) -> tuple[str, ...]:
    """How a surface is looked up: with its diacritics (when typed), then without."""
    message = normalize(surface)
    plain = message.plain
    return (message.text, plain) if has_diacritics(surface) else (plain,)


@dataclass
class EntityTagger:
    """A CRF for the learned entity types, with the values their annotations taught."""

    types: tuple[str, ...]
    model: bytes = b""  # the trained CRFsuite model
    # (type, accented or plain form) -> value
    values: dict[tuple[str, str], str] = field(default_factory=dict)
    _tagger: Any = None

    @classmethod
    def train(cls, examples: Sequence[Example], skip: Iterable[str] = ()) -> EntityTagger | None:
        """A tagger for every annotated entity type but ``skip`` (the types gazetteers and
        patterns find); None when no example annotates one."""
        skipped = set(skip)
        types = sorted({e.entity for x in examples for e in x.entities} - skipped)
        if not types:
            return None
        tagger = cls(tuple(types))
        features: list[list[Features]] = []
        labels: list[list[str]] = []
        for example in examples:
            message = normalize(example.text)
            if not message.tokens:
                continue
            wanted = [e for e in example.entities if e.entity not in skipped]
            features.append(syllable_features(message))
            labels.append(_labels(message.tokens, ((e.entity, e.start, e.end) for e in wanted)))
            for entity in wanted:
                surface = example.text[entity.start:entity.end]
                for key in _keys(surface):
                    tagger.values.setdefault((entity.entity, key), entity.value)
        trainer = pycrfsuite.Trainer(algorithm="lbfgs", verbose=False)
        trainer.set_params({"c1": 0.05, "c2": 0.05, "max_iterations": MAX_ITERATIONS,
                            "feature.possible_transitions": True})
        for sequence, sequence_labels in zip(features, labels, strict=True):
            trainer.append(sequence, sequence_labels)
        with tempfile.TemporaryDirectory() as directory:  # CRFsuite writes its model to a file
            path = Path(directory) / "tagger.crfsuite"
            trainer.train(str(path))
            tagger.model = path.read_bytes()
        return tagger

    def __getstate__(self) -> dict[str, Any]:
        """Pickle without the loaded CRFsuite tagger (reopened on first use)."""
        return {"types": self.types, "model": self.model, "values": self.values,
                "_tagger": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            setattr(self, key, value)

    def value(self, entity: str, text: str) -> str:
        """The value the annotations gave this surface (or its longest known start), else the
        text itself."""
        words = text.split()
        for size in range(len(words), 0, -1):
            for key in _keys(" ".join(words[:size])):
                value = self.values.get((entity, key))
                if value is not None:
                    return value
        return text

    def tag(self, message: NormalizedText) -> list[Entity]:
        """The learned entities of a message, in message order."""
        tokens = message.tokens
        if not tokens:
            return []
        if self._tagger is None:
            self._tagger = pycrfsuite.Tagger()
            self._tagger.open_inmemory(self.model)
        tagger = self._tagger
        labels = tagger.tag(syllable_features(message))
        found: list[Entity] = []
        i = 0
        while i < len(labels):
            label = labels[i]
            if label == OUTSIDE:
                i += 1
                continue
            entity = label[2:]
            j = i + 1
            while j < len(labels) and labels[j] == "I-" + entity:
                j += 1
            confidence = min(tagger.marginal(labels[k], k) for k in range(i, j))
            start, end = tokens[i].start, tokens[j - 1].end
            text = message.original[start:end]
            value = self.value(entity, text)
            found.append(Entity(entity, value, start, end, confidence, text, EXTRACTOR))
            i = j
        return found
