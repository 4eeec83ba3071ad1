"""Accent-insensitive search over procedures and FAQs.

Every searchable phrase (a procedure's name, aliases and code; an FAQ's question and
paraphrases) is folded with the NLU's normalisation, so "giay phep xay dung" finds
"Cấp giấy phép xây dựng nhà ở riêng lẻ" and "gpxd" finds it too. Scoring is rapidfuzz's
weighted ratio, which rewards a query contained in a phrase, with the best phrase of each
entry as its score.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from knowledge.schema import Faq, Procedure
from nlu.normalize import fold
from nlu.patterns import keep_repeated

PHRASE_SEPARATOR = " | "
MIN_SCORE = 60.0


def procedure_search_text(procedure: Procedure) -> str:
    """The folded phrases a procedure is found by, joined for storage."""
    phrases = [procedure.name, *procedure.aliases, procedure.code or "", procedure.category]
    return PHRASE_SEPARATOR.join(fold(p) for p in phrases if p)


def faq_search_text(faq: Faq) -> str:
    """The folded phrases an FAQ is found by, joined for storage."""
    return PHRASE_SEPARATOR.join(fold(p) for p in (faq.question, *faq.paraphrases))


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One search result: kind is "procedure" or "faq"."""

    kind: str
    id: str
    title: str
    score: float


class KnowledgeIndex:
    """An in-memory index of published procedures and FAQs."""

    def __init__(self, procedures: Sequence[Procedure], faqs: Sequence[Faq],
                 kept: int = 0) -> None:
        """``kept``: how many searches of short texts (``nlu.patterns.keepable``) to keep."""
        self._phrases: list[str] = []
        self._owners: list[tuple[str, str, str]] = []
        # the same phrases per kind: a search for one kind (every message looks for an FAQ
        # among a hundred questions) does not score the thousands of procedure names
        self._by_kind: dict[str, tuple[list[str], list[tuple[str, str, str]]]] = {}
        for procedure in procedures:
            for phrase in procedure_search_text(procedure).split(PHRASE_SEPARATOR):
                self._add(phrase, ("procedure", procedure.id, procedure.name))
        for faq in faqs:
            for phrase in faq_search_text(faq).split(PHRASE_SEPARATOR):
                self._add(phrase, ("faq", faq.id, faq.question))
        # an index never changes (a publication builds a new one), and every message looks
        # for an FAQ: the hits of the short texts citizens send again are kept
        self._search_kept = keep_repeated(self._search, kept)

    def _add(self, phrase: str, owner: tuple[str, str, str]) -> None:
        if phrase:
            self._phrases.append(phrase)
            self._owners.append(owner)
            phrases, owners = self._by_kind.setdefault(owner[0], ([], []))
            phrases.append(phrase)
            owners.append(owner)

    def search(self, query: str, limit: int = 5, kind: str | None = None,
               min_score: float = MIN_SCORE, whole: bool = False) -> list[SearchHit]:
        """Entries best matching a query, best first, at most one hit per entry.

        ``whole=True`` compares the whole query with whole phrases (a paraphrase match)
        instead of rewarding a query found inside a longer phrase.
        """
        return list(self._search_kept(query, limit, kind, min_score, whole))

    def _search(self, query: str, limit: int, kind: str | None, min_score: float,
                whole: bool) -> tuple[SearchHit, ...]:
        folded = fold(query)
        phrases, owners = (self._phrases, self._owners) if kind is None else (
            self._by_kind.get(kind, ([], [])))
        if not folded or not phrases:
            return ()
        matches = process.extract(
            folded, phrases, scorer=fuzz.ratio if whole else fuzz.WRatio,
            limit=len(phrases), score_cutoff=min_score,
        )
        best: dict[tuple[str, str], SearchHit] = {}
        for _phrase, score, index in matches:
            owner_kind, owner_id, title = owners[index]
            key = (owner_kind, owner_id)
            if key not in best or best[key].score < score:
                best[key] = SearchHit(owner_kind, owner_id, title, float(score))
        return tuple(sorted(best.values(), key=lambda hit: -hit.score)[:limit])
