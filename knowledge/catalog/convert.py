"""A national record as a knowledge-base procedure, so the bot answers from it the way it
answers from a curated one.

What the record states becomes the procedure's facts; what it does not state stays empty (the
answer says "the national record does not say"), and what it holds only as unparsed text is
quoted and flagged. The level maps onto this city's offices through the city profile
(``City.level_offices``). An officer's edits are laid over the record, field by field, so they
survive a re-import of a newer capture; a promoted record becomes the verified tier.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from pydantic import BaseModel

from knowledge.catalog.record import FilingMode, FilingWay, NationalRecord
from knowledge.schema import City, Procedure, Tier, UnverifiedField
from nlu.normalize import fold

ID_PREFIX = "qg-"
MODE_LABELS = {FilingMode.IN_PERSON: "Nộp trực tiếp", FilingMode.ONLINE: "Nộp trực tuyến",
               FilingMode.POST: "Nộp qua bưu chính"}
# Fields an officer may correct on a national record (the procedure schema's names).
EDITABLE = ("name", "aliases", "category", "agency", "offices", "steps", "documents",
            "processing_time", "fees", "online", "legal_basis")
# Why a parsed field is flagged, by the importer's field name.
UNPARSED_FLAGS = {
    "ways": (UnverifiedField.FEES, "Bản ghi quốc gia không tách được cách nộp, thời gian và "
                                   "lệ phí."),
    "ways.duration": (UnverifiedField.PROCESSING_TIME, "Bản ghi quốc gia bị mất đơn vị của "
                                                       "thời gian giải quyết."),
    "ways.fee": (UnverifiedField.FEES, "Bản ghi quốc gia thiếu số tiền của một khoản lệ phí."),
    "documents": (UnverifiedField.DOCUMENTS, "Bản ghi quốc gia chỉ có thành phần hồ sơ dạng "
                                             "văn bản, chưa tách được từng giấy tờ."),
    "legal_basis": (UnverifiedField.LEGAL_BASIS, "Bản ghi quốc gia không tách rõ được số hiệu "
                                                 "các văn bản pháp lý."),
}
_CODE = re.compile(r"\b\d\.\d{6}\b")
_LEVEL_WORDS = re.compile(r"\b(?:thuc hien )?(?:tai |o )?cap (?:xa|tinh|huyen|trung uong|bo)\b")
_PUNCTUATION = re.compile(r"[()\-–.,;:]")
_LIMIT = {"short": 300, "long": 4000}


def procedure_id(code: str) -> str:
    """The knowledge-base id of a national record: ``1.001193`` -> ``qg-1-001193``."""
    return ID_PREFIX + re.sub(r"[^a-z0-9]+", "-", code.lower()).strip("-")


@lru_cache(maxsize=16384)  # every brain build asks again for the same names
def variant_key(name: str) -> str:
    """A name without its level ("… (thực hiện tại cấp tỉnh)"): records with the same key
    are one procedure filed at different levels, one choice for a citizen."""
    key = _LEVEL_WORDS.sub(" ", fold(name))
    return " ".join(_PUNCTUATION.sub(" ", key).split())


def codes_in(text: str | None) -> set[str]:
    """The national codes a curated procedure's ``code`` field names ("1.001456; 1.001471")."""
    return set(_CODE.findall(text or ""))


def _short(text: str) -> str:
    return text if len(text) <= _LIMIT["short"] else text[:_LIMIT["short"] - 1] + "…"


def _long(text: str) -> str:
    return text if len(text) <= _LIMIT["long"] else text[:_LIMIT["long"] - 1] + "…"


def _number(value: float) -> str:
    return f"{value:g}".replace(".", ",")


def _duration_text(way: FilingWay) -> str:
    if way.duration is None:
        return ""
    unit = way.duration.unit or "(đơn vị không rõ)"
    return f"{_number(way.duration.value)} {unit}"


def _processing_time(ways: tuple[FilingWay, ...]) -> dict[str, Any] | None:
    timed = [(way.mode, _duration_text(way)) for way in ways if way.duration is not None]
    if not timed:
        return None
    texts = dict.fromkeys(text for _, text in timed)
    if len(texts) == 1:
        text = next(iter(texts))
    else:
        text = "; ".join(f"{MODE_LABELS[mode]}: {text}" for mode, text in timed)
    working = [way.duration.value for way in ways
               if way.duration is not None and way.duration.unit == "ngày làm việc"]
    days = min(working) if working and min(working) <= 365 else None
    return {"text": _long(text), "working_days": days}


def _fees(ways: tuple[FilingWay, ...]) -> list[dict[str, Any]]:
    items: dict[tuple[int | None, str], list[FilingMode]] = {}
    for way in ways:
        if not way.free and way.fee_vnd is None and not way.fee_text:
            continue  # the record says nothing of this way's fee
        amount = 0 if way.free else way.fee_vnd
        items.setdefault((amount, way.fee_text), []).append(way.mode)
    fees = []
    for (amount, note), modes in items.items():
        name = ("Lệ phí" if len(items) == 1 else
                " / ".join(MODE_LABELS[mode] for mode in modes))
        fees.append({"name": _short(name),
                     "amount_vnd": amount if amount is None or amount <= 1_000_000_000 else None,
                     "note": _long(note) if note else None})
    return fees


def _documents(record: NationalRecord) -> list[dict[str, Any]]:
    if record.documents:
        return [{"name": _long(doc.name), "copies": _short(doc.count) if doc.count else None,
                 "condition": _short(doc.group) if doc.group else None,
                 "note": _long(f"Mẫu: {doc.form}") if doc.form else None}
                for doc in record.documents if doc.name]
    if record.documents_text:
        return [{"name": _long(record.documents_text)}]
    return []


def _online(record: NationalRecord) -> dict[str, Any]:
    if any(way.mode == FilingMode.ONLINE for way in record.ways):
        return {"mode": "partial", "link": record.source_url,
                "note": "Theo bản ghi quốc gia, thủ tục có hình thức nộp trực tuyến."}
    return {"mode": "none"}


def _offices(record: NationalRecord, city: City, office_ids: set[str]) -> list[str]:
    wanted = [city.level_offices.get(level) for level in record.levels]
    return list(dict.fromkeys(o for o in wanted if o is not None and o in office_ids))


def _flags(record: NationalRecord) -> dict[str, str]:
    flags: dict[str, str] = {}
    for name in record.unparsed:
        flag = UNPARSED_FLAGS.get(name)
        if flag is not None:
            flags.setdefault(flag[0].value, flag[1])
    return flags


def record_fields(record: NationalRecord, city: City, office_ids: set[str]) -> dict[str, Any]:
    """The procedure fields the record states, before any officer's edit."""
    agency = record.deciding_body
    if record.receiving_address and record.receiving_address not in agency:
        agency = f"{agency}. Nơi tiếp nhận: {record.receiving_address}" if agency else (
            f"Nơi tiếp nhận: {record.receiving_address}")
    return {
        "name": _short(record.name.replace("\n", " ")),
        "aliases": [],
        "category": _short(record.field or "Khác"),
        "level": _short(", ".join(record.levels) or "Không rõ"),
        "agency": _long(agency),
        "offices": _offices(record, city, office_ids),
        "steps": [_long(step) for step in record.steps],
        "documents": _documents(record),
        "processing_time": _processing_time(record.ways),
        "fees": _fees(record.ways),
        "online": _online(record),
        "legal_basis": [_short(f"{basis.number} {basis.title}".strip())
                        for basis in record.legal_basis],
    }


def to_procedure(record: NationalRecord, city: City, office_ids: set[str],
                 edits: Mapping[str, Any] | None = None, promoted_by: str | None = None,
                 promoted_at: dt.date | None = None) -> Procedure:
    """The procedure a record (with an officer's edits) answers as. Raises pydantic's
    ValidationError when the edits are invalid, or when a promoted record lacks what a
    verified procedure must state."""
    fields = record_fields(record, city, office_ids)
    fields.update({key: value for key, value in (edits or {}).items() if key in EDITABLE})
    promoted = promoted_by is not None and promoted_at is not None
    procedure = Procedure.model_validate({
        "tier": Tier.VERIFIED if promoted else Tier.NATIONAL,
        "id": procedure_id(record.code),
        "code": record.code,
        **fields,
        "sources": [record.source_url],
        "verified": promoted_at if promoted else record.captured,
        "checked_by": promoted_by if promoted else None,
        "unverified": {} if promoted else _flags(record),
    })
    _share_texts(procedure)
    return procedure


_SHARED: dict[str, str] = {}  # one copy of each text the records repeat
_SHARED_LIMIT = 200_000


def _share_texts(value: Any) -> Any:
    """The value with each text in it replaced, in place, by one shared copy: thousands of
    records repeat the same papers, steps, laws and bodies, about half of the catalog's
    text. (The schema strips every text, which copies it, so this runs after validation.)"""
    if type(value) is str:  # not an enum's value, which must stay the enum
        if len(_SHARED) >= _SHARED_LIMIT:
            _SHARED.clear()
        return _SHARED.setdefault(value, value)
    if isinstance(value, BaseModel):
        fields = value.__dict__
        for name in type(value).model_fields:
            fields[name] = _share_texts(fields[name])
    elif isinstance(value, list):
        value[:] = [_share_texts(item) for item in value]
    elif isinstance(value, dict):
        for key, item in value.items():
            value[key] = _share_texts(item)
    return value
