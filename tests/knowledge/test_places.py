"""The city's units and the old names citizens use for them, as the NLU finds them."""

from __future__ import annotations

from collections import Counter

import pytest

from knowledge.places import city_places
from nlu.entities import PlaceFinder
from nlu.normalize import normalize, strip_diacritics


@pytest.fixture(scope="module")
def finder() -> PlaceFinder:
    return PlaceFinder(city_places().phrases())


def found(finder: PlaceFinder, text: str) -> list[str]:
    return [e.value for e in finder.find(normalize(text))]


def test_the_city_has_its_114_units_of_two_level_government() -> None:
    # Nghị quyết 1669/NQ-UBTVQH15: 67 xã, 45 phường, 2 đặc khu (shared/reference/procedures.md)
    kinds = Counter(unit.kind for unit in city_places().units)
    assert kinds == {"xã": 67, "phường": 45, "đặc khu": 2}
    assert len({unit.name for unit in city_places().units}) == 114


def test_every_unit_is_found_by_its_name_with_and_without_diacritics(
        finder: PlaceFinder) -> None:
    places = city_places()
    for unit in places.units:
        for text in (f"tôi ở {unit.in_text} ạ", strip_diacritics(f"toi o {unit.in_text}")):
            values = found(finder, text)
            assert len(values) == 1, (text, values)
            # "Cẩm Giang" and "Cẩm Giàng" fold alike: without diacritics either is a guess
            if text.startswith("tôi"):
                assert places.units_for(values[0]) == (unit,), text


def test_every_old_name_leads_to_units_of_today() -> None:
    places = city_places()
    assert len(places.old) > 300  # 27 districts and the communes of Hải Phòng and Hải Dương
    for value, units in places.old.items():
        assert units, value
        assert all(u in places.units for u in units)


@pytest.mark.parametrize(("text", "units"), [
    ("nhà tôi ở quận Lê Chân", {"Phường Lê Chân", "Phường An Biên"}),
    ("tôi ở thị trấn Núi Đèo", {"Phường Thủy Nguyên"}),  # Núi Đèo -> Thủy Đường -> Thủy Nguyên
    ("o huyen Thuy Nguyen", {"Phường Lưu Kiếm", "Phường Thủy Nguyên", "Xã Việt Khê"}),
    ("gần nhà tôi ở Kiến An", {"Phường Kiến An"}),  # today's ward, not the old district
    ("xã Cẩm Giàng", {"Xã Cẩm Giàng"}),
    ("xã Cẩm Giang", {"Xã Cẩm Giang"}),
])
def test_old_and_new_names(finder: PlaceFinder, text: str, units: set[str]) -> None:
    values = found(finder, text)
    assert len(values) == 1, values
    named = {u.name for u in city_places().units_for(values[0])}
    assert units <= named


def test_procedure_words_are_not_places(finder: PlaceFinder) -> None:
    for text in ("đăng ký kết hôn", "làm căn cước mất bao lâu", "giấy phép xây dựng nộp ở đâu",
                 "thủ tục đăng ký khai sinh cho con"):
        assert found(finder, text) == [], text
