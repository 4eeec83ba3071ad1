"""The built-in intent classifier: TF-IDF character and word n-grams with logistic regression.

It reads the message in its normalised plain form with entities replaced by placeholders
("lam zzproc het bao nhieu tien"), so it learns how people ask rather than which procedure they
ask about, and it is blind to diacritics by construction. Why this model: on our data a linear
model over character n-grams is as accurate as anything tried, trains in seconds and parses
in well under a millisecond (see ``bench/nlu.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.sparse import hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from nlu.types import IntentScore


class IntentClassifier:
    """Maps a masked plain text to a ranking of intents."""

    def __init__(self, c: float = 20.0) -> None:
        self.chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)
        self.words = TfidfVectorizer(analyzer="word", ngram_range=(1, 2),
                                     token_pattern=r"(?u)\b\w+\b", sublinear_tf=True)
        self.model = LogisticRegression(C=c, max_iter=3000)
        self.labels: list[str] = []
        self._fast: _FastScorer | None = None

    def _features(self, texts: Sequence[str]) -> Any:
        return hstack([self.chars.transform(texts), self.words.transform(texts)], format="csr")

    def fit(self, texts: Sequence[str], intents: Sequence[str]) -> IntentClassifier:
        """Train on masked plain texts."""
        if len(set(intents)) < 2:
            raise ValueError("training needs examples of at least two intents")
        self.chars.fit(texts)
        self.words.fit(texts)
        self.model.fit(self._features(texts), list(intents))
        self.labels = [str(label) for label in self.model.classes_]
        self._fast = None
        return self

    def rank(self, text: str, top: int = 10) -> list[IntentScore]:
        """Intents by descending probability, for one message (the parse hot path).

        Computes exactly what ``rank_many`` computes (TF-IDF with sublinear tf and l2
        normalisation per vectorizer, then the softmax of the linear scores) without
        scikit-learn's per-call input validation, which costs more than the maths for a
        single short text.
        """
        fast = getattr(self, "_fast", None)
        if fast is None:
            fast = self._fast = _FastScorer(self)
        return fast.rank(text, self.labels, top)

    def __getstate__(self) -> dict[str, Any]:
        """Pickle without the derived fast scorer (rebuilt on first use)."""
        state = dict(self.__dict__)
        state["_fast"] = None
        return state

    def rank_many(self, texts: Sequence[str], top: int = 10) -> list[list[IntentScore]]:
        """Rankings for many texts at once."""
        matrix = self.model.predict_proba(self._features(list(texts)))
        results = []
        for row in matrix:
            order = np.argsort(row)[::-1][:top]
            results.append([IntentScore(self.labels[i], float(row[i])) for i in order])
        return results


class _FastScorer:
    """The fitted classifier's arithmetic for one text at a time."""

    def __init__(self, classifier: IntentClassifier) -> None:
        self.parts = []
        offset = 0
        for vectorizer in (classifier.chars, classifier.words):
            vocabulary: dict[str, int] = vectorizer.vocabulary_
            self.parts.append((vectorizer.build_analyzer(), vocabulary, vectorizer.idf_, offset))
            offset += len(vocabulary)
        coef = np.asarray(classifier.model.coef_, dtype=np.float64)
        self.coef = np.ascontiguousarray(coef.T)  # features x classes
        self.intercept = np.asarray(classifier.model.intercept_, dtype=np.float64)
        self.binary = coef.shape[0] == 1

    def rank(self, text: str, labels: list[str], top: int) -> list[IntentScore]:
        indices: list[int] = []
        weights: list[float] = []
        for analyzer, vocabulary, idf, offset in self.parts:
            counts: dict[int, int] = {}
            for gram in analyzer(text):
                column = vocabulary.get(gram)
                if column is not None:
                    counts[column] = counts.get(column, 0) + 1
            if not counts:
                continue
            columns = np.fromiter(counts, dtype=np.int64, count=len(counts))
            values = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64,
                                               count=len(counts)))) * idf[columns]
            values /= np.sqrt(values @ values)
            indices.extend((columns + offset).tolist())
            weights.extend(values.tolist())
        scores = self.intercept.copy()
        if indices:
            scores += np.asarray(weights) @ self.coef[indices]
        if self.binary:
            positive = 1.0 / (1.0 + np.exp(-scores[0]))
            probabilities = np.array([1.0 - positive, positive])
        else:
            shifted = np.exp(scores - scores.max())
            probabilities = shifted / shifted.sum()
        order = np.argsort(probabilities)[::-1][:top]
        return [IntentScore(labels[i], float(probabilities[i])) for i in order]
