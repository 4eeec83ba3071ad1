"""Which office takes a citizen's dossier: chosen by the citizen's unit, never the first found.

The office data has two kinds of entries. A *template* stands for one kind of office in every
xã, phường and đặc khu ("TTPVHCC xã/phường/đặc khu nơi cư trú", "Công an xã/phường/đặc
khu"); a *unit's own* entry is that kind of office in one unit, with what is known of it (the
centre of phường Ngô Quyền and its hotline). Every other entry is the city's. For a procedure
filed at commune level the citizen's unit decides: its own entry when the data has one, else
the template applied to it (its address and hours then unknown); another unit's entry is
never shown. Without a unit, only templates and the city's offices are named.
"""

from __future__ import annotations

from dataclasses import dataclass

from knowledge.places import PlaceDirectory, Unit
from knowledge.schema import Office, Procedure
from knowledge.snapshot import KnowledgeSnapshot
from nlu.normalize import fold

TEMPLATE_MARK = "xa phuong dac khu"  # "xã/phường/đặc khu" in a template's name, folded
COMMUNE_LEVEL = "Cấp xã"  # the key of ``City.level_offices`` for commune level


@dataclass(frozen=True, slots=True)
class ChosenOffice:
    """An office to name: an entry, applied to ``unit`` when the entry is a template."""

    office: Office
    unit: Unit | None = None


@dataclass(frozen=True, slots=True)
class OfficeChoice:
    """The offices for one procedure and one citizen, the citizen's own first."""

    offices: tuple[ChosenOffice, ...]
    needs_place: bool  # commune-level offices are among them: the citizen's unit decides
    unit: Unit | None  # the unit they were chosen for


def is_template(office: Office) -> bool:
    """Whether the entry stands for one kind of office in every unit."""
    return not office.places and TEMPLATE_MARK in fold(office.name)


def office_unit(office: Office, places: PlaceDirectory) -> Unit | None:
    """The unit an entry is the office of (an entry naming one place), else None."""
    if len(office.places) != 1:
        return None
    return places.find(office.places[0])


def unit_instance(template: Office, unit: Unit, kb: KnowledgeSnapshot,
                  places: PlaceDirectory) -> Office | None:
    """The unit's own entry of the template's kind (sharing a procedure it handles)."""
    handled = set(template.handles)
    return next((o for o in kb.offices.values()
                 if office_unit(o, places) == unit and handled & set(o.handles)), None)


def choose_offices(kb: KnowledgeSnapshot, procedure: Procedure, unit: Unit | None,
                   places: PlaceDirectory) -> OfficeChoice:
    """The offices to name for ``procedure`` to a citizen of ``unit`` (None: unknown)."""
    candidates = kb.offices_for(procedure)
    templates = [o for o in candidates if is_template(o)]
    local_ids = {o.id for o in candidates if office_unit(o, places) is not None}
    city = [o for o in candidates if o.id not in local_ids and not is_template(o)]
    needs_place = bool(templates or local_ids)
    if not templates and local_ids:  # only units' own entries: the commune-level template
        level = kb.offices.get(kb.city.level_offices.get(COMMUNE_LEVEL, ""))
        templates = [level] if level is not None and is_template(level) else []
    local: list[ChosenOffice] = []
    for template in templates:
        own = unit_instance(template, unit, kb, places) if unit is not None else None
        local.append(ChosenOffice(own) if own else ChosenOffice(template, unit))
    seen: set[tuple[str, int]] = set()
    chosen = []
    for entry in [*local, *(ChosenOffice(o) for o in city)]:
        key = (entry.office.id, entry.unit.code if entry.unit else 0)
        if key not in seen:
            seen.add(key)
            chosen.append(entry)
    return OfficeChoice(tuple(chosen), needs_place, unit)
