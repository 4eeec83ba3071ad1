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

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

import bm25s
import numpy as np
from rapidfuzz import fuzz, process

from nlu.normalize import NormalizedText, normalize
from nlu.types import ProcedureScore

TOP = 5
BODY_WEIGHT = 0.35  # the records' own words count less than their names
SURE_COVERAGE = 0.6  # share of the question's words the chosen procedure must contain
CLOSE_SCORE = 0.9  # a runner-up this close to the top is a real alternative
CHOICE_SCORE = 0.75  # candidates offered when asking
MAX_CHOICES = 4
TYPO_CUTOFF = 80.0
LEVEL_ORDER = {"Cấp xã": 0, "Cấp tỉnh": 1, "Cấp bộ": 2}

# Words that ask about a procedure rather than name one (already without diacritics).
QUESTION_PHRASES = (
    "giay to", "ho so", "thu tuc", "bao nhieu", "bao lau", "mat bao lau", "mat may ngay",
    "o dau", "cho nao", "nhu the nao", "the nao", "ra sao", "can gi", "can nhung gi",
    "le phi", "chi phi", "truc tuyen", "qua mang", "cach lam", "cach nao", "lam sao",
    "lam gi", "duoc khong", "co duoc", "co phai", "phai lam", "xin hoi", "cho hoi",
    "cho em hoi", "cho toi hoi", "muon hoi", "cho biet", "o dau", "nop o", "nop tai",
    "bao gio", "khi nao", "may ngay", "mat phi", "het bao nhieu", "ton bao nhieu",
)
# Single words only where no procedure term shares their letters without diacritics
# ("căn" in "căn cước", "đăng" in "đăng ký", "tử" in "khai tử", "nhà", "sao", "chủ" are not
# question words).
QUESTION_WORDS = frozenset({
    "a", "ad", "admin", "ah", "ak", "anh", "biet", "cac", "cho", "co", "cua", "duoc", "em",
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


@dataclass(slots=True)
class _Query:
    terms: list[str] = field(default_factory=list)  # unigrams then bigrams
    units: list[str] = field(default_factory=list)  # content unigrams
    positions: dict[str, list[int]] = field(default_factory=dict)  # unigram -> token indices


def _grams(words: Sequence[str]) -> list[str]:
    return [*words, *(f"{a}_{b}" for a, b in pairwise(words))]


def _plain(text: str) -> list[str]:
    return [token.plain for token in normalize(text).tokens]


class ProcedureRetriever:
    """BM25 over procedure names and words, with synonyms, typo mending and level grouping."""

    def __init__(self, docs: Sequence[ProcedureDoc],
                 synonyms: Sequence[tuple[Sequence[str], str]] = ()) -> None:
        self.docs = list(docs)
        self._by_id = {doc.id: doc for doc in self.docs}
        self._synonyms: list[tuple[list[str], list[str]]] = []
        for phrases, meaning in synonyms:
            target = _plain(meaning)
            for phrase in phrases:
                words = _plain(phrase)
                if words and target:
                    self._synonyms.append((words, target))
        self._synonyms.sort(key=lambda item: -len(item[0]))
        self._question = sorted((p.split() for p in QUESTION_PHRASES), key=lambda p: -len(p))
        self._title = bm25s.BM25(k1=1.2, b=0.5)
        self._body = bm25s.BM25(k1=1.2, b=0.75)
        self.vocabulary: set[str] = set()
        if not self.docs:
            return
        titles, bodies = [], []
        for doc in self.docs:
            title = _plain(" ".join((doc.name, *doc.aliases)))
            body = _plain(f"{doc.name} {doc.words}")
            self.vocabulary.update(title)
            self.vocabulary.update(body)
            titles.append(_grams(title))
            bodies.append(_grams(body))
        self._title.index(titles, show_progress=False)
        self._body.index(bodies, show_progress=False)
        self._vocab_list = sorted(w for w in self.vocabulary if len(w) >= 3)
        self._df = {word: 0 for word in self.vocabulary}
        for words in titles:
            for word in set(words):
                if word in self._df:
                    self._df[word] += 1

    def __len__(self) -> int:
        return len(self.docs)

    def _idf(self, word: str) -> float:
        return math.log(1 + len(self.docs) / (1 + self._df.get(word, 0)))

    def _mend(self, word: str) -> list[str]:
        """A word as the index knows it: itself, its closest known word, or two known words
        it runs together ("khaisinh")."""
        if word in self.vocabulary or len(word) < 3 or word.isdigit():
            return [word]
        for cut in range(2, len(word) - 1):
            if word[:cut] in self.vocabulary and word[cut:] in self.vocabulary:
                return [word[:cut], word[cut:]]
        best = process.extractOne(word, self._vocab_list, scorer=fuzz.ratio,
                                  score_cutoff=TYPO_CUTOFF)
        return [best[0]] if best is not None else [word]

    def _query(self, message: NormalizedText) -> _Query:
        words = [token.plain for token in message.tokens]
        origin = list(range(len(words)))  # token index each word came from
        # everyday phrases -> official terms
        i, out, out_origin = 0, [], []
        while i < len(words):
            for phrase, target in self._synonyms:
                if words[i:i + len(phrase)] == phrase:
                    out += target
                    out_origin += [origin[i]] * len(target)
                    i += len(phrase)
                    break
            else:
                out.append(words[i])
                out_origin.append(origin[i])
                i += 1
        # drop the question's own words
        keep = [True] * len(out)
        for phrase in self._question:
            for j in range(len(out) - len(phrase) + 1):
                if out[j:j + len(phrase)] == phrase:
                    keep[j:j + len(phrase)] = [False] * len(phrase)
        query = _Query()
        content: list[str] = []
        for word, kept, at in zip(out, keep, out_origin, strict=True):
            if not kept or word in QUESTION_WORDS:
                continue
            for mended in self._mend(word):
                content.append(mended)
                query.positions.setdefault(mended, []).append(at)
        query.units = list(dict.fromkeys(content))
        query.terms = _grams(content)
        return query

    def retrieve(self, message: NormalizedText | str) -> Retrieval:
        """The procedures a question is likeliest about, and how sure that is."""
        if isinstance(message, str):
            message = normalize(message)
        if not self.docs:
            return Retrieval()
        query = self._query(message)
        if not query.units:
            return Retrieval()
        scores = (self._title.get_scores(query.terms)
                  + BODY_WEIGHT * self._body.get_scores(query.terms))
        if not scores.any():
            return Retrieval()
        top = np.argsort(-scores)[:TOP * 4]
        best: dict[str, int] = {}
        for index in top:
            if scores[index] <= 0:
                break
            doc = self.docs[index]
            key = doc.group or doc.id
            kept = best.get(key)
            if kept is None or self._prefer(doc, self.docs[kept], scores[index],
                                            scores[kept]):
                best[key] = int(index)
        picked = sorted(best.values(), key=lambda i: -scores[i])[:TOP]
        covered = {i: self._coverage(query, i) for i in picked}
        ranking = tuple(
            ProcedureScore(self.docs[i].id, self.docs[i].code, self.docs[i].name,
                           float(scores[i] / scores[picked[0]]) * covered[i][0],
                           covered[i][0])
            for i in picked)
        ranking = tuple(sorted(ranking, key=lambda s: -s.score))
        return self._decide(ranking, {self.docs[i].id: covered[i][1] for i in picked},
                            message, query)

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

    def _coverage(self, query: _Query, index: int) -> tuple[float, list[str]]:
        """The rarity-weighted share of the question's words a procedure contains."""
        total, hit, words = 0.0, 0.0, []
        for word in query.units:
            weight = self._idf(word)
            total += weight
            if (self._title.get_scores([word])[index] > 0
                    or self._body.get_scores([word])[index] > 0):
                hit += weight
                words.append(word)
        return (hit / total if total else 0.0), words

    def _decide(self, ranking: tuple[ProcedureScore, ...], matched: dict[str, list[str]],
                message: NormalizedText, query: _Query) -> Retrieval:
        top = ranking[0]
        if top.coverage < SURE_COVERAGE:
            return Retrieval(ranking)
        close = tuple(s for s in ranking if s.score >= top.score * CHOICE_SCORE)
        if len(ranking) > 1 and ranking[1].score >= top.score * CLOSE_SCORE:
            local = [s for s in close[:MAX_CHOICES] if self._local(s.id)]
            if len(local) != 1:
                return Retrieval(ranking, choices=close[:MAX_CHOICES])
            top = local[0]  # the one a citizen files here; the others are central-only
        positions = sorted(p for word in matched[top.id] for p in query.positions.get(word, []))
        span = None
        if positions:
            tokens = message.tokens
            span = (tokens[positions[0]].start, tokens[positions[-1]].end)
        return Retrieval(ranking, chosen=top, span=span)
