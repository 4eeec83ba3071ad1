"""The national catalog importer on small records of each shape the capture has, defects
included: what it parses, what it keeps as text (and says so), what it refuses, and what a
second import says changed."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from knowledge.catalog.importer import (
    capture_date,
    compare,
    import_catalog,
    parse_record,
    read_records,
    write_records,
)
from knowledge.catalog.parse import (
    Problems,
    parse_documents,
    parse_legal_basis,
    parse_result,
    parse_steps,
    parse_ways,
    split_list,
)
from knowledge.catalog.record import FilingMode

ROOT = Path(__file__).resolve().parents[2]
CAPTURED = dt.date(2026, 7, 1)
WAYS_HEADER = "Hình thức nộpThời gianPhí, lệ phíMô tả"
DOCS_HEADER = "Tên giấy tờMẫu đơn, tờ khaiSố lượng"
LEGAL_HEADER = "Tên văn bản pháp lýMã văn bản"


def raw_record(code: str = "1.000110", **fields: str) -> dict[str, Any]:
    """A portal record as the capture holds it (defaults: a small, clean one)."""
    record = {
        "ma_thu_tuc": code,
        "ten_thu_tuc": "Thủ tục đăng ký khai sinh",
        "detail_url": "https://dichvucong.gov.vn/thu-tuc-hanh-chinh/019d2bfd-380a",
        "so_quyet_dinh": "163/QĐ-BTP",
        "cap_thuc_hien": "Cấp xã",
        "loai_thu_tuc": "TTHC được giao luật quy định chi tiết",
        "linh_vuc": "Hộ tịch",
        "doi_tuong_thuc_hien": "Công dân Việt Nam, Tổ chức (không bao gồm doanh nghiệp, HTX)",
        "co_quan_co_tham_quyen": "Ủy ban Nhân dân\xa0xã,\xa0phường",
        "dia_chi_tiep_nhan": "",
        "co_quan_thuc_hien": "Không có thông tin",
        "trinh_tu_thuc_hien": "Bước 1: Chuẩn bị hồ sơ.\nBước 2: Nộp hồ sơ.\n- Trường hợp "
                              "hồ sơ đủ thì nhận.\nBước 3: Nhận kết quả.",
        "cach_thuc_thuc_hien": f"{WAYS_HEADER}Trực tiếp5 Ngày làm việcMiễn phí",
        "thanh_phan_ho_so": f"{DOCS_HEADER}Tờ khai đăng ký khai sinh1 bản chính",
        "can_cu_phap_ly": f"{LEGAL_HEADER}Luật Hộ tịch60/2014/QH13",
        "yeu_cau_dieu_kien": "Không có thông tin",
        "ket_qua_xu_ly": "Giấy khai sinhMã: KQ.G15.000031Từ khóaKhông có thông tin"
                         "Mô tảKhông có thông tinChọn cơ quan thực hiệnTỉnh/ Thành phố",
        "raw_text": "…",
    }
    record.update(fields)
    return record


def test_a_clean_record_is_parsed_field_by_field() -> None:
    record = parse_record(raw_record(), CAPTURED)
    assert record.code == "1.000110" and record.captured == CAPTURED
    assert record.source_url.startswith("https://dichvucong.gov.vn/")
    assert record.levels == ("Cấp xã",)
    assert record.applicants == ("Công dân Việt Nam",
                                 "Tổ chức (không bao gồm doanh nghiệp, HTX)")
    assert record.deciding_body == "Ủy ban Nhân dân xã, phường"  # no-break spaces gone
    assert record.steps == ("Chuẩn bị hồ sơ.", "Nộp hồ sơ. - Trường hợp hồ sơ đủ thì nhận.",
                            "Nhận kết quả.")
    [way] = record.ways
    assert way.mode == FilingMode.IN_PERSON and way.free
    assert way.duration is not None and (way.duration.value, way.duration.unit) == (
        5.0, "ngày làm việc")
    [paper] = record.documents
    assert (paper.name, paper.count) == ("Tờ khai đăng ký khai sinh", "1 bản chính")
    assert [(b.number, b.title) for b in record.legal_basis] == [("60/2014/QH13", "Luật Hộ tịch")]
    assert record.result == "Giấy khai sinh"  # code, keywords and page furniture dropped
    assert record.conditions == "" and record.unparsed == {}


def test_ways_of_filing_with_amounts_notes_and_defects() -> None:
    problems = Problems()
    ways = parse_ways(
        f"{WAYS_HEADER}Trực tuyến1Miễn phí(Mức lệ phí do HĐND tỉnh quyết định (nếu có).)"
        "Dịch vụ bưu chính22 Ngày làm việc12,000,000 Việt Nam Đồng(đồng/lần)Gửi qua bưu điện."
        "Trực tiếpKhông có thông tinVNĐ nộp tại trụ sở", problems)
    online, post, in_person = ways
    assert online.mode == FilingMode.ONLINE and online.free
    assert online.duration is not None and online.duration.unit == ""  # the unit was lost
    assert online.fee_text == "Mức lệ phí do HĐND tỉnh quyết định (nếu có)."
    assert post.fee_vnd == 12_000_000 and post.fee_text == "đồng/lần"
    assert post.description == "Gửi qua bưu điện."
    assert in_person.duration is None and in_person.fee_vnd is None and not in_person.free
    assert set(problems.reasons) == {"ways.duration", "ways.fee"}


def test_a_table_without_any_way_of_filing_stays_text() -> None:
    problems = Problems()
    assert parse_ways("Nộp theo hướng dẫn của cơ quan thuế", problems) == ()
    assert "ways" in problems.reasons


def test_papers_with_groups_forms_and_counts() -> None:
    problems = Problems()
    papers = parse_documents(
        f"* Giấy tờ phải nộp:{DOCS_HEADER}- Phiếu đề nghị (Mẫu DC02 theo Thông tư 17/2024/TT-BCA)"
        "Mẫu DC02 Phiếu đề nghị.doc1 bản chính+ Giấy chứng sinh1 bản chính,1 bản sao"
        f"* Giấy tờ phải xuất trình:{DOCS_HEADER}a) Hộ chiếu1 bản chính", problems)
    assert [(p.name, p.form, p.count, p.group) for p in papers] == [
        ("Phiếu đề nghị (Mẫu DC02 theo Thông tư 17/2024/TT-BCA)", "Mẫu DC02 Phiếu đề nghị.doc",
         "1 bản chính", "Giấy tờ phải nộp"),
        ("Giấy chứng sinh", "", "1 bản chính,1 bản sao", "Giấy tờ phải nộp"),
        ("Hộ chiếu", "", "1 bản chính", "Giấy tờ phải xuất trình"),
    ]
    assert problems.reasons == {}


def test_papers_without_a_table_stay_text_and_the_record_keeps_the_text() -> None:
    text = "Hồ sơ theo quy định tại Điều 12 Nghị định 168/2025/NĐ-CP"
    record = parse_record(raw_record(thanh_phan_ho_so=text), CAPTURED)
    assert record.documents == () and record.documents_text == text
    assert "documents" in record.unparsed


def test_legal_numbers_quoted_inside_titles_are_not_rows() -> None:
    problems = Problems()
    basis = parse_legal_basis(
        f"{LEGAL_HEADER}Nghị định số 123/2015/NĐ-CP ngày 15/11/2015 quy định chi tiết Luật Hộ "
        "tịch123/2015/NĐ-CPLuật Căn cước26/2023/QH15Quyết định công bố163/QĐ-TTg"
        "Thông tư về phí85/2019/TT-BTC", problems)
    assert [b.number for b in basis] == ["123/2015/NĐ-CP", "26/2023/QH15", "163/QĐ-TTg",
                                         "85/2019/TT-BTC"]
    assert basis[0].title.startswith("Nghị định số 123/2015/NĐ-CP ngày 15/11/2015")
    assert basis[1].title == "Luật Căn cước"
    assert problems.reasons == {}


def test_legal_text_left_over_is_reported() -> None:
    problems = Problems()
    basis = parse_legal_basis(f"{LEGAL_HEADER}Luật Đất đai31/2024/QH15Các văn bản hướng dẫn",
                              problems)
    assert [b.number for b in basis] == ["31/2024/QH15"]
    assert "legal_basis" in problems.reasons


def test_steps_without_numbers_are_one_per_line() -> None:
    assert parse_steps("- Nộp hồ sơ\n- Nhận kết quả\n\n") == ("Nộp hồ sơ", "Nhận kết quả")
    assert parse_steps("Không có thông tin") == ()


def test_several_results_and_lists() -> None:
    text = ("Thẻ căn cướcMã: KQ.G01.000023Từ khóaKhông có thông tinMô tảKhông có thông tin"
            "Giấy chứng nhận căn cướcMã: KQ.G01.000024Từ khóaKhông có thông tinMô tả"
            "Không có thông tin")
    assert parse_result(text) == "Thẻ căn cước; Giấy chứng nhận căn cước"
    assert split_list("Cấp tỉnh, Cấp xã") == ("Cấp tỉnh", "Cấp xã")


def write_capture(path: Path, lines: list[str]) -> Path:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")
    return path


def test_an_import_reports_and_refuses_bad_lines(tmp_path: Path) -> None:
    capture = write_capture(tmp_path / "national-procedures-2026-06.jsonl.gz", [
        json.dumps(raw_record("1.000001")),
        json.dumps(raw_record("1.000002", thanh_phan_ho_so="chỉ có chữ")),
        "{not json",
        json.dumps(["a", "list"]),
        json.dumps(raw_record("", ten_thu_tuc="")),
        json.dumps(raw_record("1.000001", ten_thu_tuc="Bản sau cùng")),
    ])
    report = import_catalog(capture)
    assert capture_date(capture) == dt.date(2026, 6, 1)
    assert sorted(r.code for r in report.records) == ["1.000001", "1.000002"]
    assert {r.code: r.name for r in report.records}["1.000001"] == "Bản sau cùng"
    assert report.duplicates == ["1.000001"]
    assert [line for line, _ in report.refused] == [3, 4, 5]
    counts = report.field_counts()
    assert counts["documents"]["parsed"] == 1 and counts["documents"]["text only"] == 1
    text = "\n".join(report.lines())
    assert "2 records imported, 3 refused" in text and "line 5: no procedure code" in text


def test_a_second_import_says_what_changed(tmp_path: Path) -> None:
    first = import_catalog(write_capture(tmp_path / "a.jsonl", [
        json.dumps(raw_record("1.000001")), json.dumps(raw_record("1.000002"))]), CAPTURED)
    out = tmp_path / "catalog.jsonl.gz"
    write_records(first.records, out)
    assert read_records(out) == {r.code: r for r in first.records}
    second = import_catalog(write_capture(tmp_path / "b.jsonl", [
        json.dumps(raw_record("1.000001", linh_vuc="Chứng thực")),
        json.dumps(raw_record("1.000003"))]), dt.date(2026, 8, 1))
    changes = compare(read_records(out), second.records)
    assert (changes.added, changes.changed, changes.removed) == (
        ("1.000003",), ("1.000001",), ("1.000002",))


@pytest.mark.slow  # over ~2 s
def test_the_command_prints_the_report_and_writes_the_records(tmp_path: Path) -> None:
    capture = write_capture(tmp_path / "capture.jsonl",
                            [json.dumps(raw_record("1.000001")), "oops"])
    out = tmp_path / "records.jsonl.gz"

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot.cli", "kb", "import-catalog", str(capture),
             "--out", str(out), "--captured", "2026-07-15"],
            cwd=ROOT, capture_output=True, text=True, timeout=120,
            env={"PATH": "/usr/bin:/bin", "EGOVBOT_DATA_DIR": str(tmp_path / "var")})

    done = run()
    assert done.returncode == 0, done.stderr
    assert "1 records imported, 1 refused" in done.stdout
    assert "wrote 1 records" in done.stdout
    [record] = read_records(out).values()
    assert record.captured == dt.date(2026, 7, 15)
    again = run()
    assert "0 added, 0 changed, 0 no longer in the capture" in again.stdout
    missing = subprocess.run(
        [sys.executable, "-m", "bot.cli", "kb", "import-catalog", str(tmp_path / "nope")],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "EGOVBOT_DATA_DIR": str(tmp_path / "var")})
    assert missing.returncode == 2 and "no such file" in missing.stderr
