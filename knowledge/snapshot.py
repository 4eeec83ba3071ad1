"""An in-memory snapshot of the published knowledge base, for answering without a query.

The bot answers from a snapshot and replaces it when the knowledge base changes, so a reply
never waits on the database and never mixes two versions of an entry.
"""

from __future__ import annotations

from dataclasses import dataclass

from knowledge.schema import City, Faq, Office, Procedure
from knowledge.search import KnowledgeIndex
from knowledge.store import KnowledgeStore
from knowledge.synonyms import Synonym
from nlu.normalize import fold


@dataclass(frozen=True, slots=True)
class KnowledgeSnapshot:
    """Published procedures (the curated ones first, then the national catalog's), offices,
    FAQs, the city and the synonym table, with a search index."""

    city: City
    procedures: dict[str, Procedure]
    offices: dict[str, Office]
    faqs: dict[str, Faq]
    index: KnowledgeIndex
    synonyms: tuple[Synonym, ...] = ()

    @classmethod
    def build(cls, city: City, procedures: list[Procedure], offices: list[Office],
              faqs: list[Faq], synonyms: tuple[Synonym, ...] = (),
              kept_searches: int = 0) -> KnowledgeSnapshot:
        """A snapshot of the given entries (its index keeping ``kept_searches``)."""
        return cls(city, {p.id: p for p in procedures}, {o.id: o for o in offices},
                   {f.id: f for f in faqs}, KnowledgeIndex(procedures, faqs, kept_searches),
                   synonyms)

    @classmethod
    async def load(cls, store: KnowledgeStore, kept_searches: int = 0) -> KnowledgeSnapshot:
        """A snapshot of what the store publishes now (its index keeping ``kept_searches``:
        the service's, ``Settings.text_cache``)."""
        city = await store.city()
        if city is None:
            raise LookupError("the knowledge base is empty: run 'egovbot kb load' first")
        offices = await store.offices()
        procedures = await store.procedures()
        national = await store.catalog.procedures(city, {o.id for o in offices}, procedures)
        return cls.build(city, procedures + national, offices, await store.faqs(),
                         tuple(await store.synonyms.all()), kept_searches)

    def offices_for(self, procedure: Procedure) -> list[Office]:
        """Offices that receive a procedure: those it names, else those that say they handle
        it, else those of its level (``City.level_offices``: commune level -> the commune
        one-stop centres, city level -> the city's centre). Which of them a citizen is sent
        to is ``knowledge.office_choice``'s to say, not the order here."""
        named = [self.offices[i] for i in procedure.offices if i in self.offices]
        if named:
            return named
        handling = [o for o in self.offices.values() if procedure.id in o.handles]
        if handling:
            return handling
        level = fold(procedure.level)
        return [self.offices[office_id] for name, office_id in self.city.level_offices.items()
                if fold(name) in level and office_id in self.offices]
