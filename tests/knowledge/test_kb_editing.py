"""Knowledge-base editing below the web pages: one-document files, Vietnamese problems,
drafts, publishing, undo and the FAQ sheet."""

from __future__ import annotations

import pytest

from bot.service.settings import PACKAGED_KNOWLEDGE
from knowledge.drafts import EntryInvalid, KbEditor
from knowledge.explain import describe
from knowledge.faq_csv import FaqCsvError, read_faq_csv, write_faq_csv
from knowledge.files import KnowledgeFileError, load_directory, read_document, write_document
from knowledge.store import KnowledgeStore


def test_one_document_round_trip_and_located_problems() -> None:
    bundle = load_directory(PACKAGED_KNOWLEDGE)
    text = write_document(bundle)
    assert read_document(text) == bundle
    broken = text.replace("amount_vnd: 200000", "amount_vnd: -1", 1)
    with pytest.raises(KnowledgeFileError) as error:
        read_document(broken.replace("\nfaqs:", "\nextra: 1\nfaqs:"), "tai-len.yaml")
    lines = [describe(p) for p in error.value.details]
    assert "Tệp tai-len.yaml › phần extra: Phần này không có trong mẫu (chỉ có city, " \
           "procedures, offices, faqs)" in lines
    assert any("thủ tục «ho-chieu» › trường Lệ phí › dòng 1 › Số tiền (đồng) "
               "(fees.0.amount_vnd): Phải lớn hơn hoặc bằng 0" in line for line in lines)
    # the English one-liners the CLI prints keep their shape
    assert any("tai-len.yaml: procedures entry 'ho-chieu': field fees.0.amount_vnd:" in p
               for p in error.value.problems)


async def test_draft_publish_undo_and_history(store: KnowledgeStore) -> None:
    editor = KbEditor(store)
    faq = (await store.faqs())[0]
    data = faq.model_dump(mode="json")
    with pytest.raises(EntryInvalid) as invalid:
        await editor.save_draft("faq", {**data, "answer": ""}, "quantri", faq.id)
    assert [(e.loc, e.message) for e in invalid.value.errors] == [
        (("answer",), "Không được để trống")]
    with pytest.raises(EntryInvalid, match="đã được dùng"):
        await editor.save_draft("faq", data, "quantri")  # a new entry with a taken id

    await editor.save_draft("faq", {**data, "answer": "Mới."}, "quantri", faq.id)
    assert (await store.entry("faq", faq.id)) == faq  # a draft changes nothing published
    change = await editor.publish("faq", faq.id, "quantri")
    assert change.changed and change.after is not None and change.after["answer"] == "Mới."
    assert await editor.draft("faq", faq.id) is None
    [row] = await editor.history()
    assert (row.username, row.kind, row.entry_id, row.action) == ("quantri", "faq", faq.id,
                                                                  "publish")
    await editor.undo("faq", faq.id, "quantri")
    assert await store.entry("faq", faq.id) == faq
    assert [r.action for r in await editor.history()] == ["undo", "publish"]


async def test_a_new_entry_undone_is_removed(store: KnowledgeStore) -> None:
    editor = KbEditor(store)
    office = (await store.offices())[0].model_dump(mode="json")
    new = {**office, "id": "van-phong-moi", "handles": []}
    await editor.save_draft("office", new, "quantri")
    await editor.publish("office", "van-phong-moi", "quantri")
    assert await store.entry("office", "van-phong-moi") is not None
    await editor.undo("office", "van-phong-moi", "quantri")
    assert await store.entry("office", "van-phong-moi") is None
    with pytest.raises(EntryInvalid, match="vẫn dùng mã"):
        await editor.delete("office", office["id"], "quantri")  # procedures still name it


async def test_faq_sheet_round_trip_and_row_problems(store: KnowledgeStore) -> None:
    bundle = await store.export_bundle()
    sheet = write_faq_csv(bundle.faqs)
    assert sheet.startswith(b"\xef\xbb\xbf")
    assert read_faq_csv(sheet, bundle) == bundle
    semicolons = "id;question;paraphrases;answer;procedure;tags\r\nmoi;Hỏi?;;Đáp.;;\r\n"
    assert "moi" in {f.id for f in read_faq_csv(semicolons.encode("utf-8"), bundle).faqs}
    with pytest.raises(FaqCsvError) as error:
        read_faq_csv(b"id,question\r\nx,y\r\n", bundle)
    assert "Thiếu cột: paraphrases, answer, procedure, tags" in str(error.value)
    with pytest.raises(FaqCsvError) as error:
        read_faq_csv("id,question,paraphrases,answer,procedure,tags\r\n"
                     "a-b,Hỏi?,,Đáp.,,Nhãn Sai\r\n".encode(), bundle)
    assert str(error.value) == "Dòng 2, cột tags: mục thứ 1: Mã không hợp lệ: chỉ gồm chữ " \
                               "thường không dấu (a–z), chữ số và dấu gạch ngang, ví dụ: dang-ky-xe"
    with pytest.raises(FaqCsvError, match="UTF-8"):
        read_faq_csv("id,question\r\nđ,é\r\n".encode("cp1258"), bundle)
