"""Entities: procedures from the knowledge base's phrases, codes and numbers by pattern."""

from __future__ import annotations

import datetime as dt

import pytest

from nlu.dossier_code import (
    canonical_dossier_code,
    dossier_code_problem,
    find_code_attempt,
)
from nlu.entities import Gazetteer, pattern_entities
from nlu.normalize import normalize

PHRASES = {
    "can-cuoc": ["Cấp thẻ căn cước", "làm căn cước", "căn cước công dân"],
    "ho-chieu": ["hộ chiếu", "passport"],
    "gpxd-nha-o": ["giấy phép xây dựng nhà ở", "giấy phép xây dựng"],
}


def values(text: str) -> list[str]:
    return [e.value for e in Gazetteer("procedure", PHRASES).find(normalize(text))]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("lam cccd het bao nhieu tien", ["can-cuoc"]),
        ("Làm CĂN CƯỚC ở đâu", ["can-cuoc"]),
        ("xin giay phep xay dung nha o", ["gpxd-nha-o"]),
        ("ho chieu va lam can cuoc", ["ho-chieu", "can-cuoc"]),
        ("lam hochieu mat bao lau", ["ho-chieu"]),
        ("giay phep xay dung nha o", ["gpxd-nha-o"]),
        ("giấy phép xây dựg nhà ở", ["gpxd-nha-o"]),
        ("giá vàng hôm nay", []),
    ],
)
def test_procedure_gazetteer(text: str, expected: list[str]) -> None:
    assert values(text) == expected


def test_entity_spans_point_into_the_original_text() -> None:
    text = "cho hỏi làm CCCD ở đâu"
    [entity] = Gazetteer("procedure", PHRASES).find(normalize(text))
    assert text[entity.start : entity.end] == "CCCD"


@pytest.mark.parametrize(
    "typed",
    [
        "000.00.12.H31-251103-0042",
        "000.00.12.h31-251103-0042",
        "000 00 12 H31 - 251103 - 0042",
        "0000012H31-251103-0042",
    ],
)
def test_dossier_code_variants_are_canonicalised(typed: str) -> None:
    assert canonical_dossier_code(typed) == "000.00.12.H31-251103-0042"
    [entity] = pattern_entities(f"tra cứu hồ sơ {typed} giúp em")
    assert entity.entity == "dossier_code" and entity.value == "000.00.12.H31-251103-0042"


def test_dossier_code_problems_are_explained() -> None:
    today = dt.date(2026, 11, 27)
    assert dossier_code_problem("000.00.12.H31-251103-0042", today) is None
    assert "YYMMDD" in (dossier_code_problem("000.00.12.H31-251345-0042", today) or "")
    assert "tương lai" in (dossier_code_problem("000.00.12.H31-291103-0042", today) or "")
    assert "dạng" in (dossier_code_problem("12345", today) or "")
    assert find_code_attempt("ma ho so 000.00.12.H31-2511-42 a") is not None


def test_id_number_and_phone() -> None:
    found = {(e.entity, e.value) for e in pattern_entities(
        "CCCD 031095001234, sđt 0912 345 678 hoặc +84 912345679, máy bàn 02253.666.122")}
    assert found == {
        ("id_number", "031095001234"),
        ("phone", "0912345678"),
        ("phone", "0912345679"),
        ("phone", "02253666122"),
    }


def test_a_dossier_code_is_not_read_as_a_phone() -> None:
    assert [e.entity for e in pattern_entities("000.00.12.H31-251103-0042")] == ["dossier_code"]


@pytest.mark.parametrize(
    ("text", "entity", "value"),
    [
        ("Số CCCD của tôi là 001234567802.", "id_number", "001234567802"),
        ("CCCD-001234567803", "id_number", "001234567803"),
        ("cccd 0012 3456 7804", "id_number", "001234567804"),
        ("cccd 001.234.567.805", "id_number", "001234567805"),
        ("sdt0912345602", "phone", "0912345602"),
        ("sdt.0912345603", "phone", "0912345603"),
        ("gọi (091) 234-5604", "phone", "0912345604"),
        ("gọi (+84) 912 345 606", "phone", "0912345606"),
    ],
)
def test_id_numbers_and_phones_in_common_formats_give_digits(
        text: str, entity: str, value: str) -> None:
    assert [(e.entity, e.value) for e in pattern_entities(text)] == [(entity, value)]
