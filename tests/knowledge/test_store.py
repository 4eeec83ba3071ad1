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


async def test_searches_of_short_texts_without_digits_are_kept(store: KnowledgeStore) -> None:
    procedures, faqs = await store.procedures(), await store.faqs()
    index, plain = KnowledgeIndex(procedures, faqs, kept=8), KnowledgeIndex(procedures, faqs)
    for query in ("làm căn cước mất bao lâu", "lý lịch tư pháp số 2 cho 0912345678"):
        first = index.search(query, limit=3)
        assert first == plain.search(query, limit=3)
        kept = index.search(query, limit=3)[0] is first[0]
        assert kept == (query == "làm căn cước mất bao lâu")  # a phone number: not kept
        first.clear()  # a caller's own list: changing it changes no later answer
        assert index.search(query, limit=3) == plain.search(query, limit=3)
    assert plain.search("căn cước")[0] is not plain.search("căn cước")[0]
    assert index.search("căn cước", limit=1) == index.search("căn cước", limit=3)[:1]
    assert index.search("căn cước", kind="faq") == plain.search("căn cước", kind="faq")
