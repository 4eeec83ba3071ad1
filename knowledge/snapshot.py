"""An in-memory snapshot of the published knowledge base, for answering without a query.

The bot answers from a snapshot and replaces it when the knowledge base changes, so a reply
never waits on the database and never mixes two versions of an entry.
"""

from __future__ import annotations

from dataclasses import dataclass

from knowledge.schema import City, Faq, Office, Procedure
from knowledge.search import KnowledgeIndex
from knowledge.store import KnowledgeStore


@dataclass(frozen=True, slots=True)
class KnowledgeSnapshot:
    """Published procedures, offices, FAQs and the city, with a search index."""

    city: City
    procedures: dict[str, Procedure]
    offices: dict[str, Office]
    faqs: dict[str, Faq]
    index: KnowledgeIndex

    @classmethod
    def build(cls, city: City, procedures: list[Procedure], offices: list[Office],
              faqs: list[Faq]) -> KnowledgeSnapshot:
        """A snapshot of the given entries."""
        return cls(city, {p.id: p for p in procedures}, {o.id: o for o in offices},
                   {f.id: f for f in faqs}, KnowledgeIndex(procedures, faqs))

    @classmethod
    async def load(cls, store: KnowledgeStore) -> KnowledgeSnapshot:
        """A snapshot of what the store publishes now."""
        city = await store.city()
        if city is None:
            raise LookupError("the knowledge base is empty: run 'egovbot kb load' first")
        return cls.build(city, await store.procedures(), await store.offices(),
                         await store.faqs())

    def offices_for(self, procedure: Procedure) -> list[Office]:
        """Offices that receive a procedure: those it names, else those that say they handle it."""
        named = [self.offices[i] for i in procedure.offices if i in self.offices]
        if named:
            return named
        return [o for o in self.offices.values() if procedure.id in o.handles]
