"""Normalisation: one canonical form for the many ways citizens type the same words."""

from __future__ import annotations

import pytest

from nlu.normalize import fold, normalize, plain_words, strip_diacritics


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("hoà", "hòa"),
        ("Hòa", "hòa"),
        ("thuỷ", "thủy"),
        ("khoẻ", "khỏe"),
        ("HOÀNG", "hoàng"),
        ("quý", "quý"),
        ("giá", "giá"),
        ("người", "người"),
    ],
)
def test_tone_marks_have_one_placement(typed: str, canonical: str) -> None:
    assert normalize(typed).text == canonical


def test_decomposed_unicode_is_composed() -> None:
    decomposed = "đăng ky\u0301 kê\u0301t hôn"
    assert normalize(decomposed).text == "đăng ký kết hôn"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("ko dc", "không được"),
        ("làm cccd hết bn", "làm căn cước công dân hết bao nhiêu"),
        ("cần j", "cần gì"),
        ("đổi gplx ntn", "đổi giấy phép lái xe như thế nào"),
        ("sđ", "sổ đỏ"),
        ("làm bhyt, hkd, gpxd", "làm bảo hiểm y tế hộ kinh doanh giấy phép xây dựng"),
    ],
)
def test_abbreviations_expand(typed: str, expected: str) -> None:
    assert normalize(typed).text == expected


def test_plain_form_drops_diacritics_and_telex_doubles() -> None:
    assert normalize("Đăng ký khoong?").plain == "dang ky khong"


def test_numbers_are_kept_and_k_suffix_not_expanded() -> None:
    assert normalize("50k hay 100 nghìn").text == "50k hay 100 nghìn"


def test_tokens_keep_their_original_spans() -> None:
    text = "Làm  CCCD ở đâu?"
    message = normalize(text)
    assert [text[t.start : t.end] for t in message.tokens] == ["Làm", "CCCD", "ở", "đâu"]


def test_fold_is_accent_and_case_insensitive() -> None:
    assert fold("Giấy phép XÂY DỰNG") == fold("giay phep xay dung") == "giay phep xay dung"


def test_strip_diacritics_keeps_case() -> None:
    assert strip_diacritics("Đăng Ký") == "Dang Ky"


def test_punctuation_and_control_characters_are_dropped() -> None:
    assert normalize("\x00\x07!!! ??? ...").tokens == ()


@pytest.mark.parametrize("text", [
    "Làm CCCD ko cần giấy tờ gì?", "khoong bieets hoà/hòa 12/3/2026", "Đăng ký khai sinh cho con",
    "", "!!!", "x" * 5000 + " cccd",
])
def test_plain_words_are_the_plain_forms_normalize_gives(text: str) -> None:
    assert plain_words(text) == [w for t in normalize(text).tokens for w in t.plain.split()]
