"""The knowledge store on a real SQLite database."""

from __future__ import annotations

from bot.service.settings import PACKAGED_KNOWLEDGE
from knowledge.files import load_directory
from knowledge.schema import PublishStatus
from knowledge.search import KnowledgeIndex
from knowledge.store import KnowledgeStore


async def test_seeded_store_holds_the_shipped_bundle(store: KnowledgeStore) -> None:
    stored = await store.export_bundle()
    shipped = load_directory(PACKAGED_KNOWLEDGE)
    assert stored.city == shipped.city
    for kind in ("procedures", "offices", "faqs"):
        assert sorted(getattr(stored, kind), key=lambda e: e.id) == sorted(
            getattr(shipped, kind), key=lambda e: e.id)


async def test_loading_twice_changes_nothing(store: KnowledgeStore) -> None:
    summary = await store.load_bundle(load_directory(PACKAGED_KNOWLEDGE))
    assert summary.added == {} and summary.updated == {}
    assert len(summary.unchanged["procedures"]) == len(await store.procedures())


async def test_an_edited_entry_is_updated_and_a_draft_is_hidden(store: KnowledgeStore) -> None:
    bundle = load_directory(PACKAGED_KNOWLEDGE)
    passport = next(p for p in bundle.procedures if p.id == "ho-chieu")
    edited = passport.model_copy(update={"status": PublishStatus.DRAFT})
    bundle.procedures[bundle.procedures.index(passport)] = edited
    summary = await store.load_bundle(bundle)
    assert summary.updated == {"procedures": ["ho-chieu"]}
    assert await store.procedure("ho-chieu") is None
    assert await store.procedure("ho-chieu", published_only=False) == edited
    assert "ho-chieu" not in {p.id for p in await store.procedures()}


async def test_accent_insensitive_search(store: KnowledgeStore) -> None:
    index = KnowledgeIndex(await store.procedures(), await store.faqs())
    assert index.search("giay phep xay dung")[0].id == "gpxd-nha-o"
    assert index.search("Giấy phép XÂY DỰNG nhà")[0].id == "gpxd-nha-o"
    assert index.search("ly lich tu phap", kind="procedure")[0].id == "ly-lich-tu-phap"
    assert index.search("dang ky ket hon")[0].id == "ket-hon"
    assert index.search("zzzz qqqq") == []
