"""The city's units of two-level government, and the old names citizens still use for them.

Since 1 July 2025 Hải Phòng has 114 xã, phường and đặc khu and no districts. Which unit a
citizen lives in decides which one-stop centre takes a commune-level dossier, so the bot has
to recognise a unit however it is named: its name today (from the maintained package
``vietnam-provinces``, not typed by hand), or an old district or commune ("quận Lê Chân",
"thị trấn Núi Đèo"), mapped by ``knowledge/data/old_places.yaml`` (see its header for the
source). A name is an entity value; ``units_for`` tells the units it stands for.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from vietnam_provinces import Province, VietNamDivisionType, Ward

from nlu.normalize import fold, normalize

OLD_PLACES_FILE = Path(__file__).parent / "data" / "old_places.yaml"
CITY_CODENAME = "hai_phong"
OLD_DISTRICT_KINDS = ("quận", "huyện", "thị xã", "thành phố", "tp")
# What an old commune was called, as citizens may still write it (the dataset's keywords).
OLD_COMMUNE_KINDS = ("phường", "xã", "thị trấn")


@dataclass(frozen=True, slots=True)
class Unit:
    """One xã, phường or đặc khu of the city."""

    name: str  # "Phường Lê Chân"
    kind: str  # "xã", "phường" or "đặc khu"
    code: int  # the national statistics code

    @property
    def in_text(self) -> str:
        """The name inside a sentence ("phường Lê Chân", "đặc khu Cát Hải")."""
        return self.name[:1].lower() + self.name[1:]

    @property
    def short(self) -> str:
        """The name without its kind ("Lê Chân")."""
        return self.name[len(self.kind) + 1:]


@dataclass(frozen=True, slots=True)
class PlaceDirectory:
    """The units, and every phrase that names one or several of them."""

    units: tuple[Unit, ...]
    old: dict[str, tuple[Unit, ...]]  # an old name's value -> the units it became
    old_phrases: dict[str, tuple[str, ...]]  # an old name's value -> how citizens write it

    def unit(self, name: str) -> Unit | None:
        """The unit of this name (any case; without diacritics when that is unambiguous)."""
        exact = _by_text(self.units).get(normalize(name).text)
        return exact or _by_fold(self.units).get(fold(name))

    def find(self, name: str) -> Unit | None:
        """The unit of this full or short name ("Phường Ngô Quyền", "Ngô Quyền")."""
        unit = self.unit(name)
        if unit is not None:
            return unit
        return _by_short(self.units).get(fold(name))

    def units_for(self, value: str) -> tuple[Unit, ...]:
        """The units a place entity's value stands for (none when unknown)."""
        unit = self.unit(value)
        if unit is not None:
            return (unit,)
        return self.old.get(value, ())

    def phrases(self) -> dict[str, list[str]]:
        """Entity value -> the phrases naming it: each unit by its name, its short name and
        its name with diacritics dropped; then the old names (a unit's own name wins)."""
        phrases: dict[str, list[str]] = {}
        for unit in self.units:
            phrases[unit.name] = [unit.name, unit.short]
        for value, surfaces in self.old_phrases.items():
            phrases[value] = list(surfaces)
        return phrases


def display_name(name: str) -> str:
    """A package name with today's tone placement ("Phường Thuỷ Nguyên" -> "Phường Thủy
    Nguyên"), each word capitalised as in the source."""
    words = normalize(name).text.split()
    return " ".join(w[:1].upper() + w[1:] if o[:1].isupper() else w
                    for w, o in zip(words, name.split(), strict=False))


@lru_cache(maxsize=1)
def city_places() -> PlaceDirectory:
    """The directory of Hải Phòng (read once: the package's data and the old-names table)."""
    province = next(p for p in Province.iter_all() if p.codename.endswith(CITY_CODENAME))
    units = tuple(
        Unit(display_name(w.name), w.division_type.value, int(w.code))
        for w in Ward.iter_by_province(province.code)
        if w.division_type in (VietNamDivisionType.XA, VietNamDivisionType.PHUONG,
                               VietNamDivisionType.DAC_KHU))
    by_fold = _by_fold(units)
    data = yaml.safe_load(OLD_PLACES_FILE.read_text(encoding="utf-8"))
    old: dict[str, tuple[Unit, ...]] = {}
    old_phrases: dict[str, tuple[str, ...]] = {}

    def add(value: str, names: list[str], surfaces: list[str]) -> None:
        became = tuple(by_fold[fold(n)] for n in names)
        if value in old:  # the same old name in two districts: either unit
            became = old[value] + tuple(u for u in became if u not in old[value])
        old[value] = became
        old_phrases[value] = tuple(dict.fromkeys([*old_phrases.get(value, ()), *surfaces]))

    for district in data["districts"]:
        name: str = district["name"]
        short = _without_kind(name, OLD_DISTRICT_KINDS)
        surfaces = [f"{kind} {short}" for kind in OLD_DISTRICT_KINDS]
        if fold(short) not in {fold(u.short) for u in units}:
            surfaces.append(short)  # "Thanh Hà" alone, when no unit is called so today
        add(name, district["units"], surfaces)
    for commune in data["communes"]:
        name = commune["name"]
        if fold(name) in by_fold:
            continue  # "Phường Lưu Kiếm" is today's unit of that name
        short = _without_kind(name, OLD_COMMUNE_KINDS)
        surfaces = [f"{kind} {short}" for kind in OLD_COMMUNE_KINDS]
        surfaces += [k for k in commune.get("also", ())]
        add(name, commune["units"], surfaces)
    return PlaceDirectory(units, old, old_phrases)


def _without_kind(name: str, kinds: tuple[str, ...]) -> str:
    lowered = name.lower()
    for kind in sorted(kinds, key=len, reverse=True):
        if lowered.startswith(kind + " "):
            return name[len(kind) + 1:]
    return name


@lru_cache(maxsize=4)
def _by_text(units: tuple[Unit, ...]) -> dict[str, Unit]:
    """Units by their normalised full name, with diacritics."""
    return {normalize(unit.name).text: unit for unit in units}


@lru_cache(maxsize=4)
def _by_short(units: tuple[Unit, ...]) -> dict[str, Unit]:
    """Units by their folded short name (the first of two that fold alike)."""
    found: dict[str, Unit] = {}
    for unit in units:
        found.setdefault(fold(unit.short), unit)
    return found


@lru_cache(maxsize=4)
def _by_fold(units: tuple[Unit, ...]) -> dict[str, Unit]:
    """Units by their folded full name (both spellings of a name folding alike are kept
    apart by diacritics elsewhere; here the first wins)."""
    found: dict[str, Unit] = {}
    for unit in units:
        found.setdefault(fold(unit.name), unit)
    return found
