"""The validated shape of knowledge-base entries: procedures, offices, FAQs and the city profile.

These pydantic models are the single definition of what a valid entry is. The YAML importer,
the exporter and (later) the admin editor all validate through them, so an entry that loads
from a file is exactly an entry the admin pages accept.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
Slug = Annotated[str, Field(pattern=SLUG_PATTERN, min_length=2, max_length=64)]
ShortText = Annotated[str, Field(min_length=1, max_length=300)]
LongText = Annotated[str, Field(min_length=1, max_length=4000)]


class Strict(BaseModel):
    """Base for every entry: unknown fields are errors, strings are stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PublishStatus(StrEnum):
    """Whether citizens can see an entry."""

    PUBLISHED = "published"
    DRAFT = "draft"


class OnlineMode(StrEnum):
    """How much of a procedure can be done online."""

    FULL = "full"  # toàn trình: start to finish online
    PARTIAL = "partial"  # submit online, but some step in person
    NONE = "none"  # in person only


class Tier(StrEnum):
    """Where a procedure's facts come from.

    ``verified``: written or checked for this city by its officers (the curated procedures and
    the national records an officer promoted). ``national``: the national catalog's template
    record as published, not yet checked for the city; answers say so.
    """

    VERIFIED = "verified"
    NATIONAL = "national"


class UnverifiedField(StrEnum):
    """Procedure facts that can be flagged as not yet confirmed by an official source."""

    CODE = "code"
    AGENCY = "agency"
    STEPS = "steps"
    DOCUMENTS = "documents"
    PROCESSING_TIME = "processing_time"
    FEES = "fees"
    ONLINE = "online"
    LEGAL_BASIS = "legal_basis"


class Document(Strict):
    """One paper a citizen must bring or upload."""

    name: LongText
    copies: ShortText | None = None  # e.g. "1 bản chính", "1 bản sao có chứng thực"
    condition: ShortText | None = None  # when it is needed, e.g. "nếu ủy quyền"
    note: LongText | None = None


class ProcessingTime(Strict):
    """How long the agency takes."""

    text: LongText
    working_days: float | None = Field(default=None, ge=0, le=365)


class Fee(Strict):
    """One fee item. ``amount_vnd`` is None when the amount is not known for this city."""

    name: ShortText
    amount_vnd: int | None = Field(default=None, ge=0, le=1_000_000_000)
    note: LongText | None = None
    legal_source: ShortText | None = None


class Online(Strict):
    """Online availability of a procedure."""

    mode: OnlineMode
    link: HttpUrl | None = None
    note: LongText | None = None


class Procedure(Strict):
    """One administrative procedure, written for citizens.

    A verified procedure must state its agency, steps, papers, time and fees. A national
    template may lack any of them (the record does not say): the answer then says so instead
    of guessing. ``tier`` comes first so the checks of the later fields can read it.
    """

    tier: Tier = Tier.VERIFIED
    id: Slug
    code: ShortText | None = None  # national portal code(s), e.g. "1.001193"
    name: ShortText
    aliases: list[ShortText] = Field(default_factory=list)
    category: ShortText
    level: ShortText
    agency: str = Field(default="", max_length=4000, validate_default=True)
    offices: list[Slug] = Field(default_factory=list)
    steps: list[LongText] = Field(default_factory=list, validate_default=True)
    documents: list[Document] = Field(default_factory=list, validate_default=True)
    processing_time: ProcessingTime | None = Field(default=None, validate_default=True)
    fees: list[Fee] = Field(default_factory=list, validate_default=True)
    online: Online
    legal_basis: list[ShortText] = Field(default_factory=list)
    sources: list[ShortText] = Field(min_length=1)
    verified: dt.date
    checked_by: ShortText | None = None  # the officer who promoted a national record
    unverified: dict[UnverifiedField, ShortText] = Field(default_factory=dict)
    status: PublishStatus = PublishStatus.PUBLISHED

    @property
    def is_national(self) -> bool:
        """Whether this is the national template, not checked for the city."""
        return self.tier == Tier.NATIONAL

    @field_validator("agency")
    @classmethod
    def _agency_stated(cls, agency: str, info: ValidationInfo) -> str:
        if not agency and info.data.get("tier", Tier.VERIFIED) == Tier.VERIFIED:
            raise PydanticCustomError("string_too_short", "a verified procedure names its "
                                      "agency", {"min_length": 1})
        return agency

    @field_validator("steps", "documents", "fees")
    @classmethod
    def _listed(cls, items: list[object], info: ValidationInfo) -> list[object]:
        if not items and info.data.get("tier", Tier.VERIFIED) == Tier.VERIFIED:
            raise PydanticCustomError("too_short", "a verified procedure lists at least one",
                                      {"min_length": 1})
        return items

    @field_validator("processing_time")
    @classmethod
    def _timed(cls, time: ProcessingTime | None,
               info: ValidationInfo) -> ProcessingTime | None:
        if time is None and info.data.get("tier", Tier.VERIFIED) == Tier.VERIFIED:
            raise PydanticCustomError("missing", "a verified procedure states its time")
        return time

    @field_validator("aliases")
    @classmethod
    def _unique_aliases(cls, aliases: list[str]) -> list[str]:
        seen: set[str] = set()
        unique: list[str] = []
        for alias in aliases:
            key = alias.casefold()
            if key not in seen:
                seen.add(key)
                unique.append(alias)
        return unique


PHONE_PATTERN = re.compile(r"^[0-9 .()+-]{4,20}$")


class Office(Strict):
    """A place where citizens submit dossiers or get help."""

    id: Slug
    name: ShortText
    address: ShortText | None = None  # None when no source gives it; never guessed
    phone: ShortText | None = None
    hours: ShortText | None = None
    map_link: HttpUrl | None = None
    places: list[ShortText] = Field(default_factory=list)  # wards/communes it serves
    handles: list[Slug] = Field(default_factory=list)  # procedure ids
    unverified: ShortText | None = None  # what about this office is not confirmed
    sources: list[ShortText] = Field(default_factory=list)

    @field_validator("phone")
    @classmethod
    def _phone_shape(cls, phone: str | None) -> str | None:
        if phone is not None and not PHONE_PATTERN.match(phone):
            raise ValueError("phone may contain only digits, spaces, dots, dashes and +()")
        return phone


class Faq(Strict):
    """An administrator-written question and answer."""

    id: Slug
    question: ShortText
    paraphrases: list[ShortText] = Field(default_factory=list)
    answer: LongText
    procedure: Slug | None = None
    tags: list[Slug] = Field(default_factory=list)
    status: PublishStatus = PublishStatus.PUBLISHED


class Portal(Strict):
    """An online portal or app citizens can use."""

    name: ShortText
    url: HttpUrl | None = None
    note: ShortText | None = None


class City(Strict):
    """The deployment's city profile: name, hotlines and portals. One per knowledge base."""

    name: ShortText
    hotline: ShortText
    hotline_note: ShortText | None = None
    portals: list[Portal] = Field(default_factory=list)
    # Where a national-catalog procedure is filed in this city, by the record's level
    # ("Cấp xã" -> the commune one-stop shops): office ids.
    level_offices: dict[ShortText, Slug] = Field(default_factory=dict)
    sources: list[ShortText] = Field(default_factory=list)


class KnowledgeBundle(Strict):
    """Everything one knowledge-base directory holds, cross-checked as a whole."""

    city: City
    procedures: list[Procedure]
    offices: list[Office] = Field(default_factory=list)
    faqs: list[Faq] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references_resolve(self) -> KnowledgeBundle:
        problems = reference_problems(self.procedures, self.offices, self.faqs)
        office_ids = {office.id for office in self.offices}
        problems += [ReferenceProblem("city", "city", "level_offices", office_id,
                                      f"city: unknown office {office_id!r} for level {level!r}")
                     for level, office_id in self.city.level_offices.items()
                     if office_id not in office_ids]
        if problems:
            raise ValueError("; ".join(problem.message for problem in problems))
        return self


@dataclass(frozen=True, slots=True)
class ReferenceProblem:
    """A cross-entry problem: a duplicate id, or a reference to an entry that does not exist.

    ``kind``/``entry_id``/``field`` say where it is; ``target`` is the missing or repeated id.
    """

    kind: str  # procedure, office, faq
    entry_id: str
    field: str  # id, offices, handles, procedure
    target: str
    message: str


def reference_problems(procedures: Sequence[Procedure], offices: Sequence[Office],
                       faqs: Sequence[Faq]) -> list[ReferenceProblem]:
    """Every duplicate id and dangling reference among these entries (the bundle's check)."""
    problems: list[ReferenceProblem] = []
    procedure_ids = _unique_ids("procedure", [p.id for p in procedures], problems)
    office_ids = _unique_ids("office", [o.id for o in offices], problems)
    _unique_ids("faq", [f.id for f in faqs], problems)
    for procedure in procedures:
        for office_id in procedure.offices:
            if office_id not in office_ids:
                problems.append(ReferenceProblem(
                    "procedure", procedure.id, "offices", office_id,
                    f"procedure {procedure.id!r}: unknown office {office_id!r}"))
    for office in offices:
        for procedure_id in office.handles:
            if procedure_id not in procedure_ids:
                problems.append(ReferenceProblem(
                    "office", office.id, "handles", procedure_id,
                    f"office {office.id!r}: unknown procedure {procedure_id!r}"))
    for faq in faqs:
        if faq.procedure is not None and faq.procedure not in procedure_ids:
            problems.append(ReferenceProblem(
                "faq", faq.id, "procedure", faq.procedure,
                f"faq {faq.id!r}: unknown procedure {faq.procedure!r}"))
    return problems


def _unique_ids(kind: str, ids: list[str], problems: list[ReferenceProblem]) -> set[str]:
    seen: set[str] = set()
    for entry_id in ids:
        if entry_id in seen:
            problems.append(ReferenceProblem(kind, entry_id, "id", entry_id,
                                             f"two {kind} entries have the id {entry_id!r}"))
        seen.add(entry_id)
    return seen
