"""Entity extraction: gazetteers for procedures and places, patterns for codes and numbers.

A ``Gazetteer`` maps phrases (procedure names and aliases, place names) to entity values. It
matches on the normalised plain form of the message, so diacritics, case, tone placement and
abbreviations do not matter, and it tolerates one typo in a longer phrase. Patterns find
dossier codes, 12-digit citizen ID numbers and phone numbers in the original text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process

from nlu.dossier_code import find_dossier_codes
from nlu.intents import EntityType
from nlu.normalize import NormalizedText, Token, normalize
from nlu.patterns import ID_NUMBER_PATTERN, PHONE_PATTERN, id_digits, phone_digits
from nlu.types import Entity

FUZZY_MIN_CHARS = 7
FUZZY_CUTOFF = 88.0
MAX_PHRASE_TOKENS = 10
# Words citizens put inside a phrase without changing what it names (plain forms): whose ("bố
# em vừa mất" is the phrase "bố vừa mất", "cụ nhà em từ trần") and which side of the family
# ("bà ngoại tôi mất rồi" is "bà mất rồi"). Only inside: a phrase's first and last words match.
INSIDE_FILLERS = frozenset({"em", "e", "toi", "minh", "tui", "t", "nha", "noi", "ngoai"})


@dataclass(frozen=True, slots=True)
class _Phrase:
    value: str
    key: str  # plain tokens joined by spaces
    size: int  # number of tokens


class Gazetteer:
    """Finds known phrases of one entity type in a normalised message."""

    def __init__(self, entity: str, phrases: Mapping[str, Iterable[str]], fuzzy: bool = True):
        self.entity = entity
        self.fuzzy = fuzzy
        self._exact: dict[str, str] = {}
        self._by_size: dict[int, list[_Phrase]] = {}
        self._compact: dict[str, str] = {}
        for value, surfaces in phrases.items():
            for surface in surfaces:
                tokens = normalize(surface).tokens
                if not tokens or len(tokens) > MAX_PHRASE_TOKENS:
                    continue
                key = " ".join(t.plain for t in tokens)
                if key in self._exact:
                    continue  # the first value listed for a phrase wins
                self._exact[key] = value
                self._by_size.setdefault(len(tokens), []).append(_Phrase(value, key, len(tokens)))
                if len(tokens) > 1:
                    self._compact.setdefault(key.replace(" ", ""), value)
        self._sizes = sorted(self._by_size, reverse=True)
        self._choices = {size: [p.key for p in group] for size, group in self._by_size.items()}
        # a window is joined and looked up only when its first word starts some phrase (of
        # any size: "hc" is one token and the words "ho chieu")
        self._first_words = {key.split(" ", 1)[0] for key in self._exact}

    def __len__(self) -> int:
        return len(self._exact)

    def find(self, message: NormalizedText) -> list[Entity]:
        """Non-overlapping matches, longest first, exact before fuzzy."""
        tokens = message.tokens
        plains = [token.plain for token in tokens]
        taken = [False] * len(tokens)
        found: list[Entity] = []
        sizes = [size for size in self._sizes if size <= len(tokens)]
        # the words a phrase starts with ("hc" starts "ho chieu")
        first_words = self._first_words
        firsts = [i for i, plain in enumerate(plains) if plain.split(" ", 1)[0] in first_words]
        for fuzzy in (False, True) if self.fuzzy else (False,):
            for size in sizes:
                hits = (self._fuzzy_hits(plains, size, taken) if fuzzy
                        else self._exact_hits(plains, size, taken, firsts))
                for i, (value, score) in hits:
                    if any(taken[i : i + size]):
                        continue
                    for j in range(i, i + size):
                        taken[j] = True
                    found.append(self._entity(message, tokens[i], tokens[i + size - 1],
                                              value, score))
            for i, token in enumerate(tokens):  # "cancuoc", "hochieu": words run together
                if not taken[i] and token.plain in self._compact:
                    taken[i] = True
                    found.append(self._entity(message, token, token, self._compact[token.plain],
                                              0.95))
        return sorted(found, key=lambda e: e.start)

    def _exact_hits(self, plains: list[str], size: int, taken: list[bool],
                    firsts: list[int]) -> list[tuple[int, tuple[str, float]]]:
        """(window start, (value, 1.0)) for the free windows of ``size`` words from the
        ``firsts`` (the words that start some phrase) that are a phrase, or are one with
        filler words inside, in message order."""
        exact = self._exact
        hits: list[tuple[int, tuple[str, float]]] = []
        last = len(plains) - size
        some_taken = True in taken
        for i in firsts:
            if i > last:
                break
            if some_taken and any(taken[i : i + size]):
                continue
            window = plains[i : i + size]
            value = exact.get(" ".join(window))
            if value is None and size > 2 and window[-1] not in INSIDE_FILLERS:
                inner = [plain for plain in window[1:-1] if plain not in INSIDE_FILLERS]
                if len(inner) < size - 2:
                    value = exact.get(" ".join([window[0], *inner, window[-1]]))
            if value is not None:
                hits.append((i, (value, 1.0)))
        return hits

    def _fuzzy_hits(self, plains: list[str], size: int,
                    taken: list[bool]) -> list[tuple[int, tuple[str, float]]]:
        """(window start, (value, similarity)) of the closest phrase of ``size`` words, for
        the free windows within one typo of one, in message order; every window of a size
        in one call (comparing window by window converted the phrase list once per
        window)."""
        starts: Iterable[int] = range(len(plains) - size + 1)
        if True in taken:
            starts = [i for i in starts if not any(taken[i : i + size])]
        windows = [(i, key) for i in starts
                   if len(key := " ".join(plains[i : i + size])) >= FUZZY_MIN_CHARS
                   and not key[0].isdigit()]
        if not windows:
            return []
        scores = process.cdist([key for _, key in windows], self._choices[size],
                               scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF, dtype=np.float64)
        close = (scores.max(axis=1) >= FUZZY_CUTOFF).nonzero()[0].tolist()
        if not close:
            return []
        phrases = self._by_size[size]
        hits = []
        for row in close:
            best = int(scores[row].argmax())  # the first of equally close phrases
            hits.append((windows[row][0], (phrases[best].value,
                                           float(scores[row, best]) / 100.0)))
        return hits

    def _entity(self, message: NormalizedText, first: Token, last: Token, value: str,
                score: float) -> Entity:
        text = message.original[first.start : last.end]
        return Entity(self.entity, value, first.start, last.end, score, text, "gazetteer")


def pattern_entities(text: str) -> list[Entity]:
    """Dossier codes, citizen ID numbers and phone numbers, without overlaps."""
    found: list[Entity] = []

    def free(start: int, end: int) -> bool:
        return all(end <= e.start or start >= e.end for e in found)

    for code in find_dossier_codes(text):
        found.append(Entity(EntityType.DOSSIER_CODE, code.code, code.start, code.end, 1.0,
                            text[code.start : code.end], "pattern"))
    for match in ID_NUMBER_PATTERN.finditer(text):
        if free(match.start(), match.end()):
            found.append(Entity(EntityType.ID_NUMBER, id_digits(match.group()), match.start(),
                                match.end(), 1.0, match.group(), "pattern"))
    for match in PHONE_PATTERN.finditer(text):
        digits = phone_digits(match.group())
        if digits is not None and free(match.start(), match.end()):
            found.append(Entity(EntityType.PHONE, digits, match.start(), match.end(), 1.0,
                                match.group(), "pattern"))
    return sorted(found, key=lambda e: e.start)


MAX_PLACE_TOKENS = 6


class PlaceFinder:
    """Finds place names (units of the city, old districts and communes) in a message.

    Phrases are compared with their words run together, so "thị trấn Núi Đèo", "thi tran
    nui deo" and the old-names table's keyword "thitrannuideo" are one phrase. A phrase with
    diacritics is matched with them first: "Cẩm Giàng" and "Cẩm Giang" are two communes.
    """

    def __init__(self, phrases: Mapping[str, Iterable[str]]) -> None:
        self.entity = EntityType.PLACE
        self._text: dict[str, str] = {}
        self._plain: dict[str, str] = {}
        for value, surfaces in phrases.items():
            for surface in surfaces:
                tokens = normalize(surface).tokens
                if not tokens or len(tokens) > MAX_PLACE_TOKENS:
                    continue
                self._text.setdefault("".join(t.text for t in tokens), value)
                self._plain.setdefault("".join(t.plain for t in tokens), value)
        # every start of a phrase's letters: a window grows only while it can still be one
        self._text_starts = {key[:n] for key in self._text for n in range(1, len(key) + 1)}
        self._plain_starts = {key[:n] for key in self._plain for n in range(1, len(key) + 1)}

    def __len__(self) -> int:
        return len(self._plain)

    def find(self, message: NormalizedText) -> list[Entity]:
        """Non-overlapping places, longest first."""
        tokens = message.tokens
        # the windows that name a place (from each start, growing a window while its
        # letters still start some phrase); then taken longest first, in message order
        named: list[tuple[int, int, str]] = []  # (-size, start, value)
        for i in range(len(tokens)):
            text: str | None = ""
            plain: str | None = ""
            for j in range(i, min(i + MAX_PLACE_TOKENS, len(tokens))):
                if text is not None:
                    text += tokens[j].text
                    if text not in self._text_starts:
                        text = None
                if plain is not None:
                    plain += tokens[j].plain
                    if plain not in self._plain_starts:
                        plain = None
                if text is None and plain is None:
                    break
                value = ((self._text.get(text) if text is not None else None)
                         or (self._plain.get(plain) if plain is not None else None))
                if value is not None:
                    named.append((i - j - 1, i, value))
        if not named:
            return []
        taken = [False] * len(tokens)
        found: list[Entity] = []
        for negative, i, value in sorted(named):
            size = -negative
            if any(taken[i : i + size]):
                continue
            for j in range(i, i + size):
                taken[j] = True
            first, last = tokens[i], tokens[i + size - 1]
            found.append(Entity(self.entity, value, first.start, last.end, 1.0,
                                message.original[first.start : last.end], "gazetteer"))
        return sorted(found, key=lambda e: e.start)
