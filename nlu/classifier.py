"""The built-in intent classifier: TF-IDF character and word n-grams with logistic regression.

It reads the message in its normalised form with entities replaced by placeholders ("lam
zzproc het bao nhieu tien"), so it learns how people ask rather than which procedure they ask
about. Two views of each message: the accent-free form always, and the accented form (tone
marks placed one canonical way) when the citizen typed diacritics. The accented block tells
"hộ", "hồ" and "họ" apart when the marks are there and is simply empty when they are not, so
a message typed without them is classified by the accent-free blocks it was trained on.
Optionally, classes are weighted by their inverse frequency, so a rare intent is not drowned
by the common ones, with a softmax temperature that puts the confidences back in line.
Why this model: on our data a linear model over character n-grams is as accurate as
anything tried, trains in seconds and parses in well under a millisecond (see
``bench/nlu.py``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from nlu.types import IntentScore

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer

# scikit-learn is imported where the classifier is trained: a saved model holds only what a
# parse needs (vocabularies, weights, and the n-gram analyzers below, written here exactly as
# scikit-learn's), so a process that only parses never loads scikit-learn (75 MB of memory)

WORD_TOKENS = r"(?u)\b\w+\b"
# The accented block's share of a message's features: small enough that the accent-free blocks
# keep the whole decision for a message typed without diacritics (at 1.0 the model leans on
# the marks and loses 0.7 points on the held-out file stripped of them), large enough to
# separate what only the marks separate (bench/nlu.py measures both).
ACCENT_WEIGHT = 0.35
CALIBRATION_FOLDS = 5  # every fifth example of an intent with at least five fits the temperature
MAX_KEPT_WORDS = 10_000  # words whose n-gram features a parsing classifier keeps, per block


class IntentClassifier:
    """Maps a masked text (accent-free, and accented when it had diacritics) to a ranking
    of intents. ``accents=False`` is the previous engine, kept as the benchmark's baseline;
    ``balanced`` weights classes by inverse frequency and ``calibrate`` fits a softmax
    temperature on held-out data (for data with very unequal intents)."""

    def __init__(self, c: float = 20.0, accents: bool = True, balanced: bool = False,
                 calibrate: bool = False) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        self.chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)
        self.words = TfidfVectorizer(analyzer="word", ngram_range=(1, 2),
                                     token_pattern=WORD_TOKENS, sublinear_tf=True)
        self.accents = accents
        self.accented_chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4),
                                              sublinear_tf=True)
        self.accented_words = TfidfVectorizer(analyzer="word", ngram_range=(1, 2),
                                              token_pattern=WORD_TOKENS, sublinear_tf=True)
        self.model = LogisticRegression(C=c, max_iter=3000,
                                        class_weight="balanced" if balanced else None)
        self.labels: list[str] = []
        self.uses_accents = False  # whether any training text carried diacritics
        self.accent_weight = ACCENT_WEIGHT
        self.calibrate = calibrate
        self.temperature = 1.0  # softmax temperature fitted on held-out data
        self._fast: _FastScorer | None = None

    def _plain_blocks(self) -> tuple[TfidfVectorizer, ...]:
        return (self.chars, self.words)

    def _accent_blocks(self) -> tuple[TfidfVectorizer, ...]:
        return (self.accented_chars, self.accented_words) if self.uses_accents else ()

    def _features(self, texts: Sequence[str], accented: Sequence[str]) -> Any:
        from scipy.sparse import csr_matrix, hstack

        blocks = [vectorizer.transform(texts) for vectorizer in self._plain_blocks()]
        for vectorizer in self._accent_blocks():
            matrix = vectorizer.transform([text or "" for text in accented])
            blocks.append(csr_matrix(matrix) * self.accent_weight)
        return hstack(blocks, format="csr")

    def fit(self, texts: Sequence[str], intents: Sequence[str],
            accented: Sequence[str] | None = None) -> IntentClassifier:
        """Train on masked accent-free texts and, for those typed with diacritics, their
        masked accented forms ("" for a text without diacritics)."""
        if len(set(intents)) < 2:
            raise ValueError("training needs examples of at least two intents")
        accented = list(accented) if accented is not None else [""] * len(texts)
        for vectorizer in self._plain_blocks():
            vectorizer.fit(texts)
        marked = [text for text in accented if text]
        self.uses_accents = self.accents and bool(marked)
        for vectorizer in self._accent_blocks():
            vectorizer.fit(marked)
        features = self._features(texts, accented)
        self.temperature = self._calibrate(features, list(intents)) if self.calibrate else 1.0
        self.model.fit(features, list(intents))
        self.labels = [str(label) for label in self.model.classes_]
        self._fast = None
        return self

    def _calibrate(self, features: Any, intents: list[str]) -> float:
        """The softmax temperature that best predicts a held-out fifth of the data (class
        weights pull every confidence towards the rare intents; one scalar, fitted once at
        training, puts them back in line with how often the engine is right, and costs
        nothing at parse)."""
        counts = Counter(intents)
        rows = [i for i, intent in enumerate(intents) if counts[intent] >= CALIBRATION_FOLDS]
        held = set(rows[::CALIBRATION_FOLDS])
        fit = [i for i in range(len(intents)) if i not in held]
        if len(held) < 20 or len({intents[i] for i in fit}) < 2:
            return 1.0
        from sklearn.linear_model import LogisticRegression

        probe = LogisticRegression(C=self.model.C, max_iter=self.model.max_iter,
                                   class_weight=self.model.class_weight)
        probe.fit(features[fit], [intents[i] for i in fit])
        order = sorted(held)
        scores = probe.decision_function(features[order])
        known = {label: k for k, label in enumerate(probe.classes_)}
        pairs = [(n, known[intents[i]]) for n, i in enumerate(order) if intents[i] in known]
        if scores.ndim == 1 or not pairs:
            return 1.0
        picked = np.array([n for n, _ in pairs])
        truth = np.array([k for _, k in pairs])
        scores = scores[picked]

        def loss(temperature: float) -> float:
            scaled = scores / temperature
            scaled -= scaled.max(axis=1, keepdims=True)
            log_norm = np.log(np.exp(scaled).sum(axis=1))
            return float(np.mean(log_norm - scaled[np.arange(len(truth)), truth]))

        grid = np.exp(np.linspace(np.log(0.2), np.log(3.0), 41))
        return float(min(grid, key=loss))

    def rank(self, text: str, top: int = 10, accented: str = "") -> list[IntentScore]:
        """Intents by descending probability, for one message (the parse hot path).

        Computes exactly what ``rank_many`` computes (TF-IDF with sublinear tf and l2
        normalisation per vectorizer, then the softmax of the linear scores) without
        scikit-learn's per-call input validation, which costs more than the maths for a
        single short text.
        """
        fast = getattr(self, "_fast", None)
        if fast is None:
            fast = self._fast = _FastScorer(self)
        return fast.rank(text, accented, self.labels, top)

    def __getstate__(self) -> dict[str, Any]:
        """Pickle only what ranking needs: the labels and the fast scorer, no scikit-learn
        object (a loaded model ranks; it is not trained further)."""
        fast = getattr(self, "_fast", None) or _FastScorer(self)
        return {"labels": self.labels, "uses_accents": self.uses_accents,
                "accent_weight": self.accent_weight, "temperature": self.temperature,
                "accents": self.accents, "calibrate": self.calibrate, "_fast": fast}

    def rank_many(self, texts: Sequence[str], top: int = 10,
                  accented: Sequence[str] | None = None) -> list[list[IntentScore]]:
        """Rankings for many texts at once (a classifier trained in this process)."""
        if not hasattr(self, "model"):
            raise TypeError("a loaded classifier only ranks one text at a time (rank)")
        marks = list(accented) if accented is not None else [""] * len(texts)
        scores = self.model.decision_function(self._features(list(texts), marks))
        matrix = _softmax(scores, self.temperature)
        results = []
        for row in matrix:
            order = np.argsort(row)[::-1][:top]
            results.append([IntentScore(self.labels[i], float(row[i])) for i in order])
        return results


_Part = tuple[Any, dict[str, int], Any, int, float]


class _FastScorer:
    """The fitted classifier's arithmetic for one text at a time."""

    def __init__(self, classifier: IntentClassifier) -> None:
        self.plain: list[_Part] = []
        self.accented: list[_Part] = []
        offset = 0
        for target, blocks, weight in (
                (self.plain, classifier._plain_blocks(), 1.0),
                (self.accented, classifier._accent_blocks(), classifier.accent_weight)):
            for vectorizer in blocks:
                vocabulary: dict[str, int] = vectorizer.vocabulary_
                target.append((_Analyzer.of(vectorizer), vocabulary, vectorizer.idf_,
                               offset, weight))
                offset += len(vocabulary)
        coef = np.asarray(classifier.model.coef_, dtype=np.float64)
        self.coef = np.ascontiguousarray(coef.T)  # features x classes
        self.intercept = np.asarray(classifier.model.intercept_, dtype=np.float64)
        self.binary = coef.shape[0] == 1
        self.temperature = classifier.temperature
        # per block, a word -> the columns of its n-grams (char_wb blocks; see ``_counts``)
        self._words: list[dict[str, tuple[int, ...]]] | None = None
        self._idf: np.ndarray | None = None  # every block's idf side by side

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without what parsing refills (``_words``, ``_idf``)."""
        state = dict(self.__dict__)
        state.pop("_words", None)
        state.pop("_idf", None)
        return state

    @staticmethod
    def _features(source: str, part: _Part, words: dict[str, tuple[int, ...]],
                  found: list[int]) -> None:
        """Add the features (the block's offset added) of a text's n-grams in one block to
        ``found``, once per occurrence. A ``char_wb`` n-gram never crosses a word, so each
        word's features are looked up once and kept (a few thousand syllables make every
        message)."""
        analyzer, vocabulary, _idf, offset, _weight = part
        if analyzer.kind != "char_wb":
            for gram in analyzer(source):
                column = vocabulary.get(gram)
                if column is not None:
                    found.append(column + offset)
            return
        for word in source.lower().split():
            columns = words.get(word)
            if columns is None:
                if len(words) >= MAX_KEPT_WORDS:
                    words.clear()
                columns = words[word] = tuple(
                    column + offset for gram in analyzer(word)
                    if (column := vocabulary.get(gram)) is not None)
            found.extend(columns)

    def rank(self, text: str, accented: str, labels: list[str],
             top: int) -> list[IntentScore]:
        parts = (*self.plain, *self.accented)
        kept = getattr(self, "_words", None)  # a scorer unpickled has none yet
        if kept is None:
            kept = self._words = [{} for _ in parts]
        idf = getattr(self, "_idf", None)
        if idf is None:  # every block's idf, at the blocks' offsets
            idf = self._idf = np.concatenate([part[2] for part in parts])
        found: list[int] = []
        for k, part in enumerate(self.plain):
            self._features(text, part, kept[k], found)
        if accented:
            for k, part in enumerate(self.accented, start=len(self.plain)):
                self._features(accented, part, kept[k], found)
        scores = self.intercept.copy()
        if found:
            # sublinear tf-idf, l2-normalised per block, times the block's weight (the
            # blocks' features are consecutive, in block order)
            columns, counts = np.unique(np.array(found, dtype=np.int64), return_counts=True)
            values = (1.0 + np.log(counts)) * idf[columns]
            ends = np.searchsorted(columns, [part[3] for part in parts[1:]]).tolist()
            for part, start, end in zip(parts, [0, *ends], [*ends, len(columns)], strict=True):
                if end > start:
                    block = values[start:end]
                    block *= part[4] / np.sqrt(block @ block)
            scores += values @ self.coef[columns]
        if self.binary:
            probabilities = _softmax(scores, self.temperature)[0]
        else:  # ``_softmax`` of the one row
            scores /= self.temperature
            probabilities = np.exp(scores - scores.max())
            probabilities /= probabilities.sum()
        order = np.argsort(probabilities)[::-1][:top].tolist()
        chances = probabilities.tolist()
        return [IntentScore(labels[i], chances[i]) for i in order]


_WHITE_SPACES = re.compile(r"\s\s+")


@dataclass(frozen=True, slots=True)
class _Analyzer:
    """A fitted vectorizer's n-grams of a text, as scikit-learn's ``build_analyzer()``
    makes them for our settings (lower case, no accent stripping, ``char_wb`` or ``word``),
    without scikit-learn."""

    kind: str  # "char_wb" or "word"
    low: int
    high: int
    token_pattern: str = ""

    @staticmethod
    def of(vectorizer: TfidfVectorizer) -> _Analyzer:
        settings = (vectorizer.analyzer, vectorizer.lowercase, vectorizer.strip_accents,
                    vectorizer.preprocessor, vectorizer.tokenizer, vectorizer.stop_words)
        if settings[0] not in ("char_wb", "word") or settings[1:] != (True, None, None, None,
                                                                     None):
            raise ValueError(f"no analyzer of our own for {settings}")
        low, high = vectorizer.ngram_range
        return _Analyzer(vectorizer.analyzer, low, high, vectorizer.token_pattern or "")

    def __call__(self, text: str) -> list[str]:
        text = text.lower()
        grams: list[str] = []
        if self.kind == "char_wb":
            for word in _WHITE_SPACES.sub(" ", text).split():
                padded = f" {word} "
                size = len(padded)
                for n in range(self.low, self.high + 1):
                    grams.extend(padded[k:k + n] for k in range(max(1, size - n + 1)))
                    if size - n + 1 <= 1:
                        break  # a short word counts once
            return grams
        tokens = re.findall(self.token_pattern, text)
        low = self.low
        if low == 1:
            grams.extend(tokens)
            low = 2
        for n in range(low, min(self.high, len(tokens)) + 1):
            grams.extend(" ".join(tokens[k:k + n]) for k in range(len(tokens) - n + 1))
        return grams


def _softmax(scores: Any, temperature: float) -> Any:
    """Probabilities from linear scores (one column: the binary case's logistic)."""
    scores = np.asarray(scores, dtype=np.float64) / temperature
    if scores.ndim == 1:
        positive = 1.0 / (1.0 + np.exp(-scores))
        return np.column_stack([1.0 - positive, positive])
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)
