"""The citizen's place and office: which unit they live in, asking when it matters, and
answers about an office itself (its hours, address, phone).

The place comes from the message (a unit, or an old district or commune that became one or
several units) or from the conversation (``place`` slot). Offices are chosen by
``knowledge.office_choice``; this module names them in Vietnamese and says plainly what the
office data does not hold.
"""

from __future__ import annotations

from actions import texts
from actions.base import ActionContext, ActionResult, Button, Reply, payload
from knowledge.office_choice import (
    ChosenOffice,
    choose_offices,
    is_template,
    office_unit,
    unit_instance,
)
from knowledge.places import PlaceDirectory, Unit, city_places
from knowledge.schema import Office, Procedure
from knowledge.snapshot import KnowledgeSnapshot
from nlu.intents import EntityType, Intent
from nlu.normalize import fold

MAX_PLACE_BUTTONS = 4
CITY_CENTRE = "ttpvhcc-thanh-pho"  # the city's centre, when a question names the city
CITY_WORDS = ("thanh pho", "tp")
POLICE_WORDS = ("cong an",)
FACT_WORDS = {  # which fact a question asks for, by words in its folded text
    "hours": ("gio", "lam viec", "mo cua", "dong cua", "thu 7", "chu nhat"),
    "address": ("dia chi", "o dau", "cho nao", "duong nao", "cho o", "ban do"),
    "phone": ("dien thoai", "sdt", "so dt", "hotline", "duong day nong", "goi"),
}


def heard_place(ctx: ActionContext) -> tuple[str | None, tuple[Unit, ...]]:
    """The place named in this message (its value) and the units it stands for."""
    value = ctx.parse.first(EntityType.PLACE)
    if value is None:
        return None, ()
    return value, city_places().units_for(value)


def citizen_unit(ctx: ActionContext) -> tuple[Unit | None, tuple[Unit, ...], str | None]:
    """The citizen's unit (said now, else remembered), the units to choose among when an old
    name became several, and the old name said."""
    value, units = heard_place(ctx)
    if len(units) == 1:
        return units[0], (), value
    if len(units) > 1:
        return None, units, value
    remembered = ctx.slots.get("place")
    unit = city_places().unit(remembered) if isinstance(remembered, str) else None
    return unit, (), None


def office_name(entry: ChosenOffice) -> str:
    """An office's name; a template applied to a unit gets that unit's name."""
    if entry.unit is None:
        return entry.office.name
    template = texts.PLACE_OFFICE_NAMES.get(entry.office.id)
    if template is not None:
        return template.format(unit=entry.unit.in_text)
    return texts.PLACE_OFFICE_NAME.format(office=entry.office.name, unit=entry.unit.name)


def office_note(entry: ChosenOffice) -> str | None:
    """What is not confirmed about an office: the entry's own note, or, for a template
    applied to a unit, that this unit's office is not in the data."""
    if entry.unit is not None:
        return texts.PLACE_OFFICE_UNKNOWN.format(office=office_name(entry))
    return entry.office.unverified


def place_buttons(intent: str, kb: KnowledgeSnapshot, places: PlaceDirectory,
                  units: tuple[Unit, ...] = (), **entities: str) -> tuple[Button, ...]:
    """Buttons to tell the place: the given units, else the units the office data knows an
    office of."""
    if not units:
        units = tuple(dict.fromkeys(
            u for u in (office_unit(o, places) for o in kb.offices.values()) if u is not None))
    buttons = [Button(u.name, payload(intent, place=u.name, **entities))
               for u in units[:MAX_PLACE_BUTTONS]]
    return tuple(buttons)


def ask_place(ctx: ActionContext, text: str, among: tuple[Unit, ...],
              old: str | None, **entities: str) -> ActionResult:
    """Ask which unit the citizen lives in (among the units an old name became, if any)."""
    kb = ctx.services.knowledge
    if among and old:
        text = texts.ASK_PLACE_AMONG.format(old=old, units=", ".join(u.name for u in among))
    buttons = place_buttons(ctx.intent, kb, city_places(), among, **entities)
    return ActionResult((Reply(text, buttons),),
                        {"awaiting": "place", "pending_intent": ctx.intent})


def place_question(ctx: ActionContext, procedure: Procedure
                   ) -> tuple[str, tuple[Button, ...]] | None:
    """Which unit the citizen lives in, with buttons, when the procedure's office depends on
    it and the unit is not known (None: nothing to ask)."""
    unit, among, old = citizen_unit(ctx)
    choice = choose_offices(ctx.services.knowledge, procedure, unit, city_places())
    if not choice.needs_place or unit is not None:
        return None
    text = (texts.ASK_PLACE_AMONG.format(old=old, units=", ".join(u.name for u in among))
            if among and old else texts.ASK_PLACE)
    buttons = place_buttons(ctx.intent, ctx.services.knowledge, city_places(), among,
                            procedure=procedure.id)
    return text, buttons


def asked_facts(text: str) -> tuple[str, ...]:
    """The facts a question about an office asks for (all three when it names none)."""
    folded = f" {fold(text)} "
    asked = tuple(fact for fact, words in FACT_WORDS.items()
                  if any(f" {w} " in folded for w in words))
    return asked or tuple(FACT_WORDS)


def asked_office(ctx: ActionContext, unit: Unit | None) -> ChosenOffice | None:
    """The office a question is about: the city's centre, a unit's police, or a unit's
    one-stop centre (its own entry when the data has one)."""
    kb = ctx.services.knowledge
    folded = f" {fold(ctx.text)} "
    police = any(f" {w} " in folded for w in POLICE_WORDS)
    if unit is None:
        if any(f" {w} " in folded for w in CITY_WORDS) and CITY_CENTRE in kb.offices \
                and not police:
            return ChosenOffice(kb.offices[CITY_CENTRE])
        return None
    template_id = kb.city.level_offices.get("Cấp xã", "")
    templates: list[Office] = [o for o in kb.offices.values() if is_template(o)]
    police_templates = [o for o in templates if any(w in fold(o.name) for w in POLICE_WORDS)]
    if police and police_templates:
        return ChosenOffice(police_templates[0], unit)
    template = kb.offices.get(template_id)
    if template is None:
        return None
    own = unit_instance(template, unit, kb, city_places())
    return ChosenOffice(own) if own else ChosenOffice(template, unit)


class OfficeInfo:
    """Answers "giờ làm việc / địa chỉ / số điện thoại của phường X" from the office data."""

    name = str(Intent.OFFICE_INFO)

    async def run(self, ctx: ActionContext) -> ActionResult:
        """The asked facts of the office, each said unknown when the data lacks it."""
        kb = ctx.services.knowledge
        unit, among, old = citizen_unit(ctx)
        entry = asked_office(ctx, unit)
        if entry is None:
            return ask_place(ctx, texts.ASK_PLACE_OFFICE, among, old)
        name = office_name(entry)
        lines = []
        values = {"hours": entry.office.hours, "address": entry.office.address,
                  "phone": entry.office.phone}
        for fact in asked_facts(ctx.text):
            label = texts.OFFICE_FACTS[fact]
            value = values[fact] if entry.unit is None else None
            lines.append(texts.OFFICE_FACT.format(fact=label, office=name, value=value)
                         if value else
                         texts.OFFICE_FACT_UNKNOWN.format(fact=label, office=name))
        if entry.unit is None and entry.office.unverified:
            lines.append(texts.OFFICE_NOTE.format(note=entry.office.unverified))
        lines.append(texts.OFFICE_CHECK.format(hotline=kb.city.hotline,
                                               note=texts.OFFICE_HOTLINE_NOTE))
        slots: dict[str, str | None] = {"awaiting": None, "pending_intent": None}
        if unit is not None:
            slots["place"] = unit.name
        return ActionResult((Reply("\n".join(lines)),), slots)
