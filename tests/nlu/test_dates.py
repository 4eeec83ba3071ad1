"""Dates written in digits and everyday worded dates are found by pattern; numbers that are
not dates, and ordinals, are not."""

from __future__ import annotations

import pytest

from nlu.dates import find_dates, find_worded_dates


@pytest.mark.parametrize(("text", "said", "value"), [
    ("em nộp hồ sơ ngày 15/11 đến giờ", "ngày 15/11", "15/11"),
    ("nop 3-12 roi ma chua co", "3-12", "03/12"),
    ("ngay 12/11/26 em nop", "ngay 12/11/26", "12/11/2026"),
    ("hẹn ngày 5 tháng 12 năm 2026", "ngày 5 tháng 12 năm 2026", "05/12/2026"),
    ("mùng 3/2 có làm việc không", "mùng 3/2", "03/02"),
])
def test_a_date_in_digits_is_found_with_its_value(text: str, said: str, value: str) -> None:
    [date] = find_dates(text)
    assert (text[date.start:date.end], date.value) == (said, value)


@pytest.mark.parametrize("text", [
    "tra cứu hồ sơ 000.00.12.H31-261120-0001",  # a dossier code's date part
    "lệ phí 25.000 đồng",
    "số 12/4 ngõ 5 Lạch Tray",  # a house number
    "ngày 45/13",  # no such day or month
    "sdt 0912345678",
    "tỷ lệ 1/2",
])
def test_numbers_that_are_no_date_are_not_found(text: str) -> None:
    assert find_dates(text) == []


@pytest.mark.parametrize(("text", "said"), [
    ("thứ hai tuần sau em lên được không", "thứ hai tuần sau"),
    ("cuoi thang nay nop duoc khong", "cuoi thang nay"),
    ("mùng 5 tết ủy ban có làm việc không", "mùng 5 tết"),
    ("chiều thứ tư em qua", "chiều thứ tư"),
    ("sang mai em den", "sang mai"),
    ("hôm qua em nộp rồi", "hôm qua"),
    ("ra tết em làm", "ra tết"),
])
def test_everyday_worded_dates_are_found(text: str, said: str) -> None:
    assert [text[start:end] for start, end in find_worded_dates(text)] == [said]


@pytest.mark.parametrize("text", [
    "lần thứ hai em hỏi rồi",  # a second time, not a Tuesday
    "bước thứ ba là gì",
    "em nộp ngày 15/11",  # in digits: find_dates reads it
])
def test_ordinals_and_dates_in_digits_are_no_worded_date(text: str) -> None:
    assert find_worded_dates(text) == []
