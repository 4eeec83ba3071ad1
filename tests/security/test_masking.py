"""Masking of personal data in the forms citizens type it, and the ordinary numbers it must
leave alone (examples of their own: the held-out set is bench/data/masking_heldout.yaml)."""

from __future__ import annotations

import pytest

from bot.storage.redact import mask_personal_data


@pytest.mark.parametrize(("text", "secret"), [
    ("chứng minh nhân dân 036111222 hết hạn", "036111222"),
    ("CMT của bố: 031 555 666", "031 555 666"),
    ("hộ chiếu P7654321 còn hạn", "P7654321"),
    ("số tk 2301 4455 6677 sacombank", "2301 4455 6677"),
    ("tai khoan vietinbank 108002223334", "108002223334"),
    ("STK: 0381002223334 (VCB)", "0381002223334"),
    ("địa chỉ số nhà 64", "64"),
    ("em ở 210 Tô Hiệu, Lê Chân", "210"),
    ("nhà số 5/7 Lê Lợi", "5/7"),
    ("kiệt 14 Hùng Vương", "kiệt 14"),
    ("gửi về ngõ 33 Cát Dài", "ngõ 33"),
    ("nhà ở số 40 ngách 6 Văn Cao", "số 40"),
])
def test_each_form_is_masked(text: str, secret: str) -> None:
    masked = mask_personal_data(text)
    assert secret not in masked, masked
    assert "[" in masked


@pytest.mark.parametrize("text", [
    "lệ phí 50.000 đồng một lần",
    "hẹn trả ngày 15/12/2026",
    "hồ sơ 000.00.12.H31-230101-0042 đến đâu rồi",
    "nộp 3 bản sao và 2 ảnh 4x6",
    "tổng đài 1800 1096 giờ hành chính",
    "số 2 bản chính có cần công chứng không",
    "theo nghị định 140/2025/NĐ-CP",
    "phòng Cảnh sát giao thông ở đâu",
    "năm 2024 em làm sổ đỏ",
    "mã thủ tục 2.000592",
])
def test_ordinary_numbers_are_left_alone(text: str) -> None:
    assert mask_personal_data(text) == text


def test_the_words_that_name_a_number_stay() -> None:
    masked = mask_personal_data("stk 0451000123456 vietcombank, nhà số 12 ngõ 3 Lạch Tray")
    assert masked.startswith("stk [số tài khoản] vietcombank")
    assert "Lạch Tray" in masked and "12" not in masked
