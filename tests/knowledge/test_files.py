"""The shipped knowledge files, and what a bad file does."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from bot.service.settings import PACKAGED_KNOWLEDGE
from knowledge.files import KnowledgeFileError, load_directory, write_directory

REQUIRED_IDS = {
    "khai-sinh", "khai-tu", "ket-hon", "xac-nhan-hon-nhan", "thuong-tru", "tam-tru",
    "can-cuoc", "ho-chieu", "doi-gplx", "gpxd-nha-o", "ho-kinh-doanh",
    "thanh-lap-doanh-nghiep", "so-do-lan-dau", "sang-ten-dat", "chung-thuc-ban-sao",
    "chung-thuc-chu-ky", "ly-lich-tu-phap", "tro-cap-that-nghiep", "cap-lai-the-bhyt",
    "dang-ky-xe", "lien-thong-tre-em",
}


def test_shipped_knowledge_is_valid_and_complete() -> None:
    bundle = load_directory(PACKAGED_KNOWLEDGE)
    assert {p.id for p in bundle.procedures} >= REQUIRED_IDS
    for procedure in bundle.procedures:
        assert procedure.sources, procedure.id
        assert procedure.aliases, procedure.id
    assert bundle.offices and bundle.faqs
    assert bundle.city.hotline


def test_a_fee_without_an_amount_says_why() -> None:
    """A fee with no amount in VND must carry a note (a foreign amount or why it is unknown)."""
    bundle = load_directory(PACKAGED_KNOWLEDGE)
    for procedure in bundle.procedures:
        for fee in procedure.fees:
            if fee.amount_vnd is None:
                assert fee.note, (procedure.id, fee.name)


def copy_of_shipped(tmp_path: Path) -> Path:
    target = tmp_path / "kb"
    shutil.copytree(PACKAGED_KNOWLEDGE, target)
    return target


def test_a_bad_field_names_file_entry_and_field(tmp_path: Path) -> None:
    kb = copy_of_shipped(tmp_path)
    path = kb / "procedures" / "ho-chieu.yaml"
    data = yaml.safe_load(path.read_text("utf-8"))
    data["fees"][0]["amount_vnd"] = "nhiều tiền"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    with pytest.raises(KnowledgeFileError) as error:
        load_directory(kb)
    [problem] = error.value.problems
    assert "ho-chieu.yaml" in problem and "'ho-chieu'" in problem
    assert "fees.0.amount_vnd" in problem


def test_broken_yaml_and_dangling_references(tmp_path: Path) -> None:
    kb = copy_of_shipped(tmp_path)
    (kb / "faqs.yaml").write_text("- id: [unclosed\n", "utf-8")
    with pytest.raises(KnowledgeFileError, match=r"faqs\.yaml: not valid YAML"):
        load_directory(kb)
    kb2 = copy_of_shipped(tmp_path / "b")
    faqs = yaml.safe_load((kb2 / "faqs.yaml").read_text("utf-8"))
    faqs[0]["procedure"] = "khong-co-thu-tuc-nay"
    (kb2 / "faqs.yaml").write_text(yaml.safe_dump(faqs, allow_unicode=True), "utf-8")
    with pytest.raises(KnowledgeFileError, match="unknown procedure 'khong-co-thu-tuc-nay'"):
        load_directory(kb2)


def test_file_name_must_match_the_id(tmp_path: Path) -> None:
    kb = copy_of_shipped(tmp_path)
    (kb / "procedures" / "ho-chieu.yaml").rename(kb / "procedures" / "passport.yaml")
    with pytest.raises(KnowledgeFileError, match="must match the file name"):
        load_directory(kb)


def test_write_then_read_gives_the_same_bundle(tmp_path: Path) -> None:
    bundle = load_directory(PACKAGED_KNOWLEDGE)
    write_directory(bundle, tmp_path / "out")
    assert load_directory(tmp_path / "out") == bundle
