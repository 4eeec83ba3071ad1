"""A national catalog record in the project's own form: what the portal's page says, split
into fields the bot can answer from, and which fields could not be parsed with confidence.

Every structured field sits beside the record's text where the text matters, and a field
that could not be parsed is listed in ``unparsed`` with the reason: the bot then quotes the
text (or says the record does not say) instead of guessing.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class FilingMode(StrEnum):
    """How a dossier can be filed."""

    IN_PERSON = "in_person"  # Trực tiếp
    ONLINE = "online"  # Trực tuyến
    POST = "post"  # Dịch vụ bưu chính


class Record(BaseModel):
    """Base of the catalog's models: immutable, unknown fields refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Duration(Record):
    """A processing time: a number and its unit, as the record states them."""

    value: float
    unit: str  # "ngày làm việc", "ngày", "giờ", "tháng", "năm"; "" when the capture lost it


class FilingWay(Record):
    """One way of filing, with its processing time and fee."""

    mode: FilingMode
    duration: Duration | None = None
    duration_text: str = ""
    free: bool = False
    fee_vnd: int | None = None  # the amount, in đồng, where the record states one
    fee_text: str = ""  # the fee's note (the local rate, exemptions …)
    description: str = ""


class CatalogDocument(Record):
    """One paper of the dossier."""

    name: str
    form: str = ""  # the form's file name, where the record links one
    count: str = ""  # "1 bản chính", "1 bản chính,1 bản sao" …
    group: str = ""  # the heading it is listed under ("Giấy tờ phải nộp" …)


class LegalBasis(Record):
    """One legal document the procedure rests on."""

    number: str  # e.g. 123/2015/NĐ-CP
    title: str


class NationalRecord(Record):
    """One procedure of the national database, as parsed from the portal's page."""

    code: str
    name: str
    source_url: str
    captured: dt.date
    decision: str = ""
    levels: tuple[str, ...] = ()
    kind: str = ""
    field: str = ""
    applicants: tuple[str, ...] = ()
    deciding_body: str = ""
    receiving_address: str = ""
    steps: tuple[str, ...] = ()
    ways: tuple[FilingWay, ...] = ()
    documents: tuple[CatalogDocument, ...] = ()
    documents_text: str = ""
    conditions: str = ""
    legal_basis: tuple[LegalBasis, ...] = ()
    result: str = ""
    unparsed: dict[str, str] = Field(default_factory=dict)  # field -> why it stays text
