"""Finding the procedure a citizen means among thousands, from everyday words.

Citizens do not use official names ("làm lại sổ đỏ bị mất", "cho thuê phòng trọ đóng thuế
gì"). The retriever reads a question the way the rest of the NLU does (``normalize``: no
diacritics, abbreviations expanded), replaces everyday phrases by the official terms of the
synonym table, drops the words of the question itself ("cần giấy tờ gì", "bao nhiêu tiền"),
and ranks procedures with BM25 (``bm25s``) over single words and word pairs: once over their
names and aliases, once over their own words (field, papers, result). Unknown words are
mended to the closest known word (typos), or split in two (words run together).

It also says how sure it is: the share of the question's words (weighted by rarity) the top
procedure contains, and whether the next one is as good. Records that differ only by level
("… (thực hiện tại cấp tỉnh)") count as one choice, the verified tier first, then the level
nearest the citizen.
"""

from __future__ import annotations

import functools
import logging
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise

import bm25s
import numpy as np
from rapidfuzz import fuzz, process

from nlu.entities import INSIDE_FILLERS
from nlu.normalize import NormalizedText, normalize, plain_words
from nlu.types import ProcedureScore

# bm25s logs every index it builds at DEBUG through a handler of its own
logging.getLogger("bm25s").setLevel(logging.WARNING)

TOP = 5
POOL = 40  # candidates rescored by coverage and name fit
PHRASE_WEIGHT = 1.0  # an official term's weight, per word, against a word said alone
PHRASE_BOOST = 1.2  # a procedure a known phrase of the message names
RAW_EXP = 1.0  # weight (exponent) of the BM25 score against coverage and name fit
NAME_FIT = 0.5  # weight of the name-fit bonus
EXPANSION_WORDS = 1.5  # an official term a synonym stands for weighs as much as this many words
UNKNOWN_WEIGHT = 0.5  # weight of a word no procedure has, against a rare known word
BODY_CREDIT = 0.5  # a question's word found only in a procedure's papers, not its name
UNIT_SHARE = 0.6  # share of an official term's words a procedure must contain
EVIDENCE = 6.0  # rarity (summed idf) of what the question says of the chosen procedure
BODY_WEIGHT = 0.35  # the records' own words count less than their names
SURE_COVERAGE = 0.6  # share of the question's words the chosen procedure must contain
NAME_FILLER = frozenset({"thu", "tuc", "dang", "ky"})  # "Thủ tục đăng ký …": said or not
WHOLE_NAME = 0.99  # share of a name's words said for "the citizen typed its name"
CENTRAL_ONLY = 0.9  # a procedure filed only at a ministry or an embassy, for a city's citizen
CLOSE_SCORE = 0.88  # a runner-up this close to the top is a real alternative
CHOICE_SCORE = 0.75  # candidates offered when asking
MAX_CHOICES = 4
TYPO_CUTOFF = 85.0
MEND_MIN_CHARS = 5  # shorter words are mended only when run together
DENSE_SHARE = 8  # a BM25 column held by more than one record in this many is kept whole
MAX_KEPT_TERMS = 20_000  # terms whose BM25 columns the retriever keeps at hand
LEVEL_ORDER = {"Cấp xã": 0, "Cấp tỉnh": 1, "Cấp bộ": 2}

# Words that ask about a procedure rather than name one (already without diacritics).
QUESTION_PHRASES = (
    "giay to", "ho so", "thu tuc", "bao nhieu", "bao lau", "mat bao lau", "mat may ngay",
    "o dau", "cho nao", "nhu the nao", "the nao", "ra sao", "can gi", "can nhung gi",
    "le phi", "chi phi", "truc tuyen", "qua mang", "cach lam", "cach nao", "lam sao",
    "lam gi", "duoc khong", "co duoc", "co phai", "phai lam", "xin hoi", "cho hoi",
    "cho em hoi", "cho toi hoi", "muon hoi", "cho biet", "o dau", "nop o", "nop tai",
    "bao gio", "khi nao", "may ngay", "mat phi", "het bao nhieu", "ton bao nhieu",
    # checking one's papers ("kiểm tra hồ sơ làm hộ chiếu", "đủ giấy tờ chưa")
    "kiem tra ho so", "kiem tra giay to", "kiem tra lai", "chuan bi du", "du chua", "da du",
    "du giay to", "du ho so",
    # for whom, which no procedure's name says ("khai tử cho ông nội": the citizen's case,
    # read by actions/conditions.py, not words of "đăng ký lại khai tử")
    "cho ong noi", "cho ba noi", "cho ong ngoai", "cho ba ngoai", "ong noi", "ba noi",
    "ong ngoai", "ba ngoai", "cho ong", "cho ba", "cho bo", "cho me", "cho vo", "cho chong",
)
# Single words only where no procedure term shares their letters without diacritics
# ("căn" in "căn cước", "đăng" in "đăng ký", "tử" in "khai tử", "nhà", "sao", "chủ" are not
# question words).
QUESTION_WORDS = frozenset({
    "a", "ad", "admin", "ah", "ak", "anh", "biet", "cac", "can", "cho", "co", "cua", "da",
    "duoc", "em", "gio", "mang", "o",
    "gi", "giup", "gium", "gom", "ha", "hay", "j", "khong", "ko", "la", "lam", "luon",
    "muon", "nao", "nay", "nhe", "nhi", "nhung", "nop", "oi", "online", "phai", "roi", "thi",
    "tien", "toi", "uh", "va", "vay", "voi", "xin",
})


@dataclass(frozen=True, slots=True)
class ProcedureDoc:
    """What the retriever knows of one procedure."""

    id: str
    code: str
    name: str
    aliases: tuple[str, ...] = ()
    words: str = ""  # the record's own words: field, papers, result
    verified: bool = True
    level: str = ""
    group: str = ""  # records with the same group differ only by level


@dataclass(frozen=True, slots=True)
class Retrieval:
    """The ranking for one question; ``chosen`` when one procedure is clearly meant,
    ``choices`` when a few are equally likely; ``span`` is the character range of the words
    that named it."""

    ranking: tuple[ProcedureScore, ...] = ()
    chosen: ProcedureScore | None = None
    choices: tuple[ProcedureScore, ...] = ()
    span: tuple[int, int] | None = None
    positions: dict[str, frozenset[int]] = field(default_factory=dict)  # id -> tokens it holds
    evidence: float = 0.0  # how much the question says of the leader (summed rarity)


@dataclass(frozen=True, slots=True)
class _Unit:
    """One thing the question says: a word of the citizen's, or an official term a synonym
    stands for (several words, said once)."""

    words: tuple[str, ...]
    positions: tuple[int, ...]  # token indices of the message it came from


@dataclass(slots=True)
class _Query:
    words: list[str] = field(default_factory=list)  # the citizen's content words, in order
    expansions: list[list[str]] = field(default_factory=list)  # official terms
    units: list[_Unit] = field(default_factory=list)


def _grams(words: Sequence[str]) -> list[str]:
    # one copy of each pair: indexing the catalog would otherwise make a million strings
    return [*words, *(sys.intern(f"{a}_{b}") for a, b in pairwise(words))]


def _words_of(text: str) -> tuple[str, ...]:
    # one copy of each word: the catalog's bodies say "giấy", "tờ", "khai" a million times
    return tuple(sys.intern(word) for word in plain_words(text))


_plain_words = functools.lru_cache(maxsize=65536)(_words_of)  # questions and names repeat
_BODIES: dict[tuple[str, int], str] = {}  # (id, hash of its text) -> its words, spaced


def _body_words(doc: ProcedureDoc) -> list[str]:
    """A procedure's name and words, as words; kept by a small key (not the long text) and
    as one plain string (a byte a letter), so a reload after one edit reads one record
    again, not all, and the catalog's bodies take a few MB."""
    text = f"{doc.name} {doc.words}"
    key = (doc.id, hash(text))
    words = _BODIES.get(key)
    if words is None:
        if len(_BODIES) > 20_000:
            _BODIES.clear()
        words = _BODIES[key] = " ".join(_words_of(text))
    return [sys.intern(word) for word in words.split()]


def _plain(text: str) -> list[str]:
    return list(_plain_words(text))


def _phrase_end(words: list[str], start: int, phrase: list[str]) -> int | None:
    """Where a phrase said from ``start`` ends (exclusive), with filler words inside ("chồng
    em mất rồi" says "chồng mất rồi"), or None."""
    at = start
    for k, word in enumerate(phrase):
        while k and at < len(words) and words[at] != word and words[at] in INSIDE_FILLERS:
            at += 1
        if at >= len(words) or words[at] != word:
            return None
        at += 1
    return at


class ProcedureRetriever:
    """BM25 over procedure names and words, with synonyms, typo mending and level grouping."""

    def __init__(self, docs: Sequence[ProcedureDoc],
                 synonyms: Sequence[tuple[Sequence[str], str]] = ()) -> None:
        self.docs = list(docs)
        self._by_id = {doc.id: doc for doc in self.docs}
        self._index = {doc.id: index for index, doc in enumerate(self.docs)}
        self._synonyms: list[tuple[list[str], list[str]]] = []
        for phrases, meaning in synonyms:
            target = _plain(meaning)
            for phrase in phrases:
                words = _plain(phrase)
                if words and target:
                    self._synonyms.append((words, target))
        self._synonyms.sort(key=lambda item: -len(item[0]))
        # by first word, longest first as above: a position of the message is compared only
        # with the phrases that start with its word (the table has hundreds)
        # (a phrase whose second word is no filler can only be said when that word is the
        # first one after its first that is no filler: the third item, else None)
        self._synonyms_at: dict[str, list[tuple[list[str], list[str], str | None]]] = {}
        for words, target in self._synonyms:
            second = words[1] if len(words) > 1 and words[1] not in INSIDE_FILLERS else None
            self._synonyms_at.setdefault(words[0], []).append((words, target, second))
        self._question = sorted((p.split() for p in QUESTION_PHRASES), key=lambda p: -len(p))
        self._question_at: dict[str, list[list[str]]] = {}
        for question in self._question:
            self._question_at.setdefault(question[0], []).append(question)
        self._title = bm25s.BM25(k1=1.2, b=0.5)
        self._body = bm25s.BM25(k1=1.2, b=0.75)
        self.vocabulary: set[str] = set()
        self._df: dict[str, int] = {}
        self._idfs: dict[str, float] = {}
        self._unknown_idf = 0.0
        # a term -> its column of each index (None, kept whole, or its records and
        # scores), filled as questions say them
        self._columns: dict[str, tuple[_Column, _Column]] = {}
        if not self.docs:
            return
        titles, bodies = [], []
        self._title_words: list[frozenset[str]] = []
        for doc in self.docs:
            title = _plain(" ".join((doc.name, *doc.aliases)))
            self._title_words.append(frozenset(_plain(doc.name)) - QUESTION_WORDS - NAME_FILLER)
            body = _body_words(doc)
            self.vocabulary.update(title)
            self.vocabulary.update(body)
            titles.append(_grams(title))
            bodies.append(_grams(body))
        self._title.index(titles, show_progress=False)
        self._body.index(bodies, show_progress=False)
        self._vocab_list = sorted(w for w in self.vocabulary if len(w) >= 3)
        self._df = {word: 0 for word in self.vocabulary}
        for words in bodies:
            for word in set(words):
                if word in self._df:
                    self._df[word] += 1
        # each word's rarity, read many times a question
        self._idfs = {word: math.log(1 + len(self.docs) / (1 + df))
                      for word, df in self._df.items()}
        self._unknown_idf = math.log(1 + len(self.docs) / (1 + 0))
        # each name's words (as bits, with the indexes' below) and their summed rarity,
        # the denominator of ``_fit`` for every question
        self._word_row = {word: k for k, word in enumerate(sorted(self.vocabulary))}
        names = np.zeros((len(self._word_row) + 1, len(self.docs)), dtype=bool)
        for index, name in enumerate(self._title_words):
            names[[self._word_row[word] for word in name], index] = True
        name_bits = _packed(names)
        self._name_weight = np.array([sum(self._idf(word) for word in words)
                                      for words in self._title_words], dtype=np.float64)
        # what every question reads again: whether a record is filed in the city; per
        # word, which records have it in their name, their name or aliases (the title
        # index), their words (the body index), as bits
        self._locality = np.array([1.0 if self._local(doc.id) else CENTRAL_ONLY
                                   for doc in self.docs])
        self._bits = np.stack([name_bits, _bits(self._title, self._word_row, len(self.docs)),
                               _bits(self._body, self._word_row, len(self.docs))])

    def __len__(self) -> int:
        return len(self.docs)

    def _idf(self, word: str) -> float:
        return self._idfs.get(word, self._unknown_idf)

    def _mend(self, word: str) -> list[str]:
        """A word as the index knows it: itself, its closest known word, or two known words
        it runs together ("khaisinh")."""
        if word in self.vocabulary or len(word) < MEND_MIN_CHARS or word.isdigit():
            return [word]
        for cut in range(3, len(word) - 2):
            if word[:cut] in self.vocabulary and word[cut:] in self.vocabulary:
                return [word[:cut], word[cut:]]
        best = process.extractOne(word, self._vocab_list, scorer=fuzz.ratio,
                                  score_cutoff=TYPO_CUTOFF)
        return [best[0]] if best is not None else [word]

    def _query(self, message: NormalizedText) -> _Query:
        # a token may hold several words ("cccd" -> "căn cước công dân"): each word keeps
        # the index of the token it came from
        pairs = [(word, at) for at, token in enumerate(message.tokens)
                 for word in token.plain.split()]
        words = [word for word, _ in pairs]
        origin = [at for _, at in pairs]
        keep = [True] * len(words)
        query = _Query()
        # everyday phrases -> official terms (each said once)
        i = 0
        while i < len(words):
            phrases = self._synonyms_at.get(words[i], ())
            following = next((word for word in words[i + 1:] if word not in INSIDE_FILLERS),
                             None) if phrases else None
            for phrase, target, second in phrases:
                if second is not None and second != following:
                    continue  # cannot be said here (``_phrase_end`` would say None)
                end = _phrase_end(words, i, phrase)
                if end is not None:
                    query.expansions.append(target)
                    query.units.append(_Unit(tuple(target), tuple(origin[i:end])))
                    keep[i:end] = [False] * (end - i)
                    i = end
                    break
            else:
                i += 1
        # the question's own words
        for j, word in enumerate(words):
            for phrase in self._question_at.get(word, ()):
                if words[j:j + len(phrase)] == phrase:
                    keep[j:j + len(phrase)] = [False] * len(phrase)
        seen: set[str] = set()
        for word, kept, at in zip(words, keep, origin, strict=True):
            if not kept or word in QUESTION_WORDS:
                continue
            for mended in self._mend(word):
                query.words.append(mended)
                if mended not in seen:
                    seen.add(mended)
                    query.units.append(_Unit((mended,), (at,)))
        return query

    def _scores(self, terms: list[str]) -> np.ndarray:
        """BM25 over names and aliases, plus BODY_WEIGHT times BM25 over the records' words:
        ``get_scores(terms)`` of each index, the same float32 sums in the same order, without
        bm25s's per-call conversions and checks. A column held by more than one record in
        ``DENSE_SHARE`` is added whole (its other records add 0.0, which changes no sum)."""
        title = np.zeros(len(self.docs), dtype=np.float32)
        if not terms:
            return title
        body = np.zeros(len(self.docs), dtype=np.float32)
        columns = self._columns
        for term in terms:
            found = columns.get(term)
            if found is None:
                if len(columns) >= MAX_KEPT_TERMS:
                    columns.clear()
                found = columns[term] = (_column(self._title, term),
                                         _column(self._body, term))
            for scores, column in zip((title, body), found, strict=True):
                if isinstance(column, tuple):
                    np.add.at(scores, column[0], column[1])
                elif column is not None:
                    scores += column
        return np.asarray(title + BODY_WEIGHT * body)

    def retrieve(self, message: NormalizedText | str,
                 named: Mapping[str, frozenset[int]] | None = None) -> Retrieval:
        """The procedures a question is likeliest about, and how sure that is. ``named``:
        procedures a known phrase of the message names ("sổ đỏ"), with the phrase's token
        positions; they weigh more, unless the phrase is part of a longer everyday phrase
        ("đổi sổ đỏ" is not "sổ đỏ")."""
        if isinstance(message, str):
            message = normalize(message)
        if not self.docs:
            return Retrieval()
        query = self._query(message)
        if not query.units:
            return Retrieval()
        longer = [set(unit.positions) for unit in query.units if len(unit.words) > 1]
        boosted = {procedure_id for procedure_id, at in (named or {}).items()
                   if not any(at < phrase for phrase in longer)}
        scores = self._scores(_grams(query.words))
        for expansion in query.expansions:
            scores = scores + self._scores(_grams(expansion)) * (EXPANSION_WORDS
                                                                 / len(expansion))
        if not scores.any():
            return Retrieval()
        top = np.argsort(-scores)[:POOL]
        best: dict[str, int] = {}
        docs = self.docs
        for index, score in zip(top.tolist(), scores[top].tolist(), strict=True):
            if score <= 0:
                break
            doc = docs[index]
            key = doc.group or doc.id
            kept = best.get(key)
            if kept is None or self._prefer(doc, docs[kept], scores[index], scores[kept]):
                best[key] = index
        for procedure_id in boosted:
            index = self._index.get(procedure_id)
            if index is not None and index not in best.values():
                best[procedure_id] = index
        candidates = list(best.values())
        value = dict(zip(candidates, scores[candidates].tolist(), strict=True))
        pool = sorted(candidates, key=lambda i: -value[i])
        at = np.array(pool, dtype=np.int64)
        # per word the question says and candidate: whether the word is in its name, in
        # its name or aliases (the title index), in its words (the body index)
        words = list(dict.fromkeys(word for unit in query.units for word in unit.words))
        rows = np.array([self._word_row.get(word, -1) for word in words],  # -1: no record
                        dtype=np.int64)
        name, title, body = (self._bits[:, rows[:, np.newaxis], at >> 3]
                             >> (at & 7).astype(np.uint8)) & 1
        coverage, credit = self._coverage(query, words, title, body)
        covered = dict(zip(pool, coverage.tolist(), strict=True))
        column = {index: k for k, index in enumerate(pool)}
        fits = self._fit(words, name, at)
        fit = dict(zip(pool, fits.tolist(), strict=True))
        boost = np.array([PHRASE_BOOST if docs[i].id in boosted else 1.0 for i in pool])
        # the score of each candidate, multiplied in the order the factors are written
        share = (scores[at] / scores[pool[0]]).astype(np.float64)  # float32 divisions
        score = (share ** RAW_EXP * coverage * (1 + NAME_FIT * fits) * self._locality[at]
                 * boost)
        ranked = sorted(zip(score.tolist(), pool, strict=True), reverse=True)[:TOP]
        whole = {docs[i].id for _s, i in ranked if fit[i] >= WHOLE_NAME}
        ranking = tuple(
            ProcedureScore(docs[i].id, docs[i].code, docs[i].name,
                           score / ranked[0][0], covered[i])
            for score, i in ranked)
        held = credit > 0
        matched = {docs[i].id: [p for k, unit in enumerate(query.units)
                                if held[k, column[i]] for p in unit.positions]
                   for _s, i in ranked}
        return self._decide(ranking, matched, message, query, whole)

    def _local(self, procedure_id: str) -> bool:
        """Whether a procedure is filed in the city (not only at a ministry)."""
        doc = self._by_id[procedure_id]
        return doc.verified or any(level in doc.level for level in ("Cấp xã", "Cấp tỉnh"))

    @staticmethod
    def _prefer(doc: ProcedureDoc, kept: ProcedureDoc, score: float, kept_score: float) -> bool:
        """Within a group of level variants: the verified one, then the nearest level."""
        if doc.verified != kept.verified:
            return doc.verified
        if score > kept_score * 1.2:
            return True
        return LEVEL_ORDER.get(doc.level.split(",")[0], 3) < LEVEL_ORDER.get(
            kept.level.split(",")[0], 3)

    def _fit(self, words: list[str], named: np.ndarray, at: np.ndarray) -> np.ndarray:
        """Per candidate (``at``), the share of its name the question's ``words`` say
        (``named``: per word and candidate, 1 when its name has the word), weighted by
        rarity: "khai tử có yếu tố nước ngoài" fits "Đăng ký khai tử có yếu tố nước ngoài"
        better than "Đăng ký lại khai tử …"."""
        rarity = np.array([self._idf(word) for word in words], dtype=np.float64)
        weight = self._name_weight[at]
        said: np.ndarray = rarity @ named
        fit: np.ndarray = np.divide(said, weight, out=np.zeros_like(said), where=weight > 0)
        return fit

    def _coverage(self, query: _Query, words: list[str], title: np.ndarray,
                  body: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per candidate (pool order): the rarity-weighted share of the question's units it
        contains; and per unit and candidate, its credit (1 in the name, BODY_CREDIT in its
        words only, 0: the unit's positions count for the candidate when above 0).
        ``title``, ``body``: per word and candidate, 1 when its name or an alias, or its
        words, have the word."""
        named = title.astype(np.float64)  # in the name or an alias
        said = np.maximum(title, body).astype(np.float64)  # anywhere in its words
        size = title.shape[1]
        units = query.units
        if len(units) == len(words) and all(len(unit.words) == 1 for unit in units):
            # every unit one word, each its own (then ``words`` are the units' in order)
            in_name, in_words = named, said
        else:
            # per unit: how many of its words each candidate holds, over its words (sums
            # of ones: exact in any order)
            row = {word: k for k, word in enumerate(words)}
            unit_of = [k for k, unit in enumerate(units) for _ in unit.words]
            word_of = [row[word] for unit in units for word in unit.words]
            in_name = np.zeros((len(units), size), dtype=np.float64)
            in_words = np.zeros((len(units), size), dtype=np.float64)
            np.add.at(in_name, unit_of, named[word_of])
            np.add.at(in_words, unit_of, said[word_of])
            sizes = np.array([len(unit.words) for unit in units], dtype=np.float64)[:, None]
            in_name /= sizes
            in_words /= sizes
        credit = np.where(in_name >= UNIT_SHARE, 1.0,
                          np.where(in_words >= UNIT_SHARE, BODY_CREDIT, 0.0))
        # a word no procedure has ("world cup", a name) counts, at half weight: a question
        # of many such words is not about a procedure
        # an everyday phrase weighs as the official words it stands for
        idfs, unknown, known = self._idfs, self._unknown_idf, self._df
        weights = [(idfs.get(unit.words[0], unknown)
                    * (1.0 if unit.words[0] in known else UNKNOWN_WEIGHT))
                   if len(unit.words) == 1 else
                   (PHRASE_WEIGHT * sum(self._idf(word) for word in set(unit.words))
                    * (1.0 if any(word in known for word in unit.words) else UNKNOWN_WEIGHT))
                   for unit in units]
        total = sum(weights)
        if not total:
            return np.zeros(size, dtype=np.float64), credit
        # summed unit by unit, in order (a reduction over the rows of a C-ordered matrix)
        coverage: np.ndarray = (np.array(weights)[:, np.newaxis] * credit).sum(axis=0)
        return coverage / total, credit

    def _evidence(self, positions: list[int], query: _Query) -> float:
        """How much the question says of a procedure: the rarity of the words it holds
        ("cảm ơn" holds a word or two of some name, but common ones); an official term a
        synonym stands for is enough on its own."""
        held = set(positions)
        return sum(EVIDENCE if len(unit.words) > 1 else self._idf(unit.words[0])
                   for unit in query.units if held & set(unit.positions))

    def _decide(self, ranking: tuple[ProcedureScore, ...], matched: dict[str, list[int]],
                message: NormalizedText, query: _Query, whole: set[str]) -> Retrieval:
        """Chosen when one leads clearly (or alone has every word of its name said);
        choices when a few are close or the leader holds too little of the question."""
        top = ranking[0]
        held = {key: frozenset(value) for key, value in matched.items()}
        evidence = self._evidence(matched[top.id], query)
        if evidence < EVIDENCE:
            return Retrieval(ranking, positions=held, evidence=evidence)
        close = tuple(s for s in ranking if s.score >= top.score * CHOICE_SCORE)
        clear = (len(ranking) == 1 or ranking[1].score < top.score * CLOSE_SCORE
                 or (top.id in whole and ranking[1].id not in whole))
        if not clear:
            local = [s for s in close[:MAX_CHOICES] if self._local(s.id)]
            if len(local) == 1:
                top, clear = local[0], True  # the one filed here; the others central-only
        if not clear or (top.coverage < SURE_COVERAGE and top.id not in whole):
            # likely, not sure: ask, offering the leaders
            return Retrieval(ranking, choices=(close if len(close) > 1 else ranking)[
                :MAX_CHOICES], positions=held, evidence=evidence)
        positions = sorted(matched[top.id])
        span = None
        if positions:
            tokens = message.tokens
            span = (tokens[positions[0]].start, tokens[positions[-1]].end)
        return Retrieval(ranking, chosen=top, span=span, positions=held, evidence=evidence)


def _holding(index: bm25s.BM25, word: str) -> np.ndarray:
    """The documents of a BM25 index that contain a word: its column of the index's sparse
    score matrix (every stored score is positive), read directly. The same as
    ``index.get_scores([word]) > 0`` without scoring every document, which was most of a
    parse's time."""
    column = index.vocab_dict.get(word)
    if column is None:
        return _NOWHERE
    indptr = index.scores["indptr"]
    held: np.ndarray = index.scores["indices"][indptr[column]:indptr[column + 1]]
    return held


_NOWHERE = np.zeros(0, dtype=np.int64)


_Column = np.ndarray | tuple[np.ndarray, np.ndarray] | None


def _column(index: bm25s.BM25, term: str) -> _Column:
    """A term's column of a BM25 index: None when no record has the term; the column's
    scores of every record when more than one record in ``DENSE_SHARE`` has it; else the
    records that have it and their scores."""
    column = index.vocab_dict.get(term)
    if column is None:
        return None
    indptr = index.scores["indptr"]
    start, end = indptr[column], indptr[column + 1]
    records = index.scores["indices"][start:end]
    scores = index.scores["data"][start:end]
    documents = index.scores["num_docs"]
    if (end - start) * DENSE_SHARE <= documents:
        return records, scores
    whole = np.zeros(documents, dtype=index.dtype)
    whole[records] = scores
    return whole


def _bits(index: bm25s.BM25, rows: Mapping[str, int], documents: int) -> np.ndarray:
    """Per word (``rows``; one more row, all zeros, for an unknown word), which records of
    an index hold it, packed (``_packed``)."""
    held = np.zeros((len(rows) + 1, documents), dtype=bool)
    for word, row in rows.items():
        held[row, _holding(index, word)] = True
    return _packed(held)


def _packed(held: np.ndarray) -> np.ndarray:
    """A boolean matrix of words x records, eight records a byte (record ``i``: bit
    ``i & 7`` of byte ``i >> 3``)."""
    packed: np.ndarray = np.packbits(held, axis=1, bitorder="little")
    return packed


@functools.lru_cache(maxsize=4)
def retriever_for(docs: tuple[ProcedureDoc, ...],
                  synonyms: tuple[tuple[tuple[str, ...], str], ...]) -> ProcedureRetriever:
    """The retriever of these procedures and synonyms, built once: an engine with the same
    knowledge (a new model, a Rasa wrapper, a preview of an unrelated draft) shares it."""
    return ProcedureRetriever(docs, synonyms)
