"""Parsing one record of the national catalog, field by field.

The portal's tables reach us flattened: cells run together with no separator
(``Trực tuyến1Miễn phí(…)`` is "online, 1 (unit lost), free"), headings are glued to the
first cell, and page furniture trails some fields. Each function here takes what it can be
sure of and says what it could not: a field it cannot read with confidence stays as text, with
the reason, and is never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from knowledge.catalog.record import (
    CatalogDocument,
    Duration,
    FilingMode,
    FilingWay,
    LegalBasis,
)

NOTHING = "Không có thông tin"  # what the portal prints for an empty cell
MODES = {"Trực tiếp": FilingMode.IN_PERSON, "Trực tuyến": FilingMode.ONLINE,
         "Dịch vụ bưu chính": FilingMode.POST}
WAYS_HEADER = "Hình thức nộpThời gianPhí, lệ phíMô tả"
DOCUMENTS_HEADER = "Tên giấy tờMẫu đơn, tờ khaiSố lượng"
LEGAL_HEADER = "Tên văn bản pháp lýMã văn bản"
FURNITURE = ("Chọn cơ quan thực hiện", "Hệ thống chỉ hiển thị những cơ quan")

_MODE = re.compile("(" + "|".join(MODES) + ")")
_DURATION = re.compile(r"(\d+(?:[.,]\d+)?)\s*(Ngày làm việc|Ngày|Giờ|Tháng|Năm)?",
                       re.IGNORECASE)
_AMOUNT = re.compile(r"([\d.,]*\d)\s*(?:Việt Nam Đồng|VNĐ|đồng|Đồng)")
_COUNT = re.compile(r"\d+\s*bản (?:chính|sao)"
                    r"(?:\s*(?:,|hoặc)\s*\d+\s*bản sao(?: có chứng thực)?)?")
_BULLET = re.compile(r"^\s*(?:[-+*•]+|[a-zđ]\)|\d+[.)])\s*")
_FORM_FILE = re.compile(r"\.(?:docx?|pdf|xlsx?|rar|zip)$", re.IGNORECASE)
_FORM_START = re.compile(r"Mẫu|Tờ khai|Phụ lục|Biểu mẫu|Mau")
# A legal document's number: 123/2015/NĐ-CP, 26/2023/QH15, 08/2025/TT-BTP, 163/QĐ-TTg …
_LEGAL_NUMBER = re.compile(r"\d{1,4}/(?:\d{4}/)?(?:QH\d{2}|[A-ZĐ]+(?:-(?:TTg|[A-ZĐ]+))*)")
_STEP_MARK = re.compile(r"(?:^|\n)\s*[-+]?\s*Bước\s*\d+\s*[:.]?\s*", re.IGNORECASE)
_RESULT_CODE = re.compile(r"Mã: ?KQ\.[A-Z0-9.]+")


@dataclass
class Problems:
    """Fields kept as text, and why."""

    reasons: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, reason: str) -> None:
        """Note that ``name`` stays text."""
        self.reasons.setdefault(name, reason)


def clean(text: str) -> str:
    """The text with non-breaking spaces, runs of spaces and page furniture gone; "" for the
    portal's "no information"."""
    text = text.replace("\xa0", " ")
    for marker in FURNITURE:
        at = text.find(marker)
        if at >= 0:
            text = text[:at]
    text = re.sub(r"[ \t]+", " ", text).strip()
    return "" if text in ("", NOTHING) else text


def split_list(text: str) -> tuple[str, ...]:
    """Comma-separated items, keeping commas inside parentheses."""
    items: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in clean(text):
        depth += (ch == "(") - (ch == ")")
        if ch == "," and depth == 0:
            items.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    items.append("".join(current).strip())
    return tuple(item for item in items if item)


def parse_steps(text: str) -> tuple[str, ...]:
    """The steps: one per "Bước n" when the record numbers them, else one per line."""
    text = clean(text)
    if not text:
        return ()
    marks = list(_STEP_MARK.finditer(text))
    if len(marks) >= 2:
        bounds = [m.end() for m in marks] + [len(text)]
        starts = [m.start() for m in marks[1:]] + [len(text)]
        chunks = [text[bounds[i]:starts[i]] for i in range(len(marks))]
        lead = text[:marks[0].start()].strip()
        steps = [" ".join(line.strip() for line in chunk.splitlines() if line.strip())
                 for chunk in chunks]
        return tuple(s for s in ([lead] if lead else []) + steps if s)
    lines = (_BULLET.sub("", line).strip() for line in text.splitlines())
    return tuple(line for line in lines if line)


def _balanced_prefix(text: str) -> tuple[str, str]:
    """A leading parenthesised note and the rest (the note without its outer parentheses)."""
    if not text.startswith("("):
        return "", text
    depth = 0
    for index, ch in enumerate(text):
        depth += (ch == "(") - (ch == ")")
        if depth == 0:
            return text[1:index].strip(), text[index + 1:]
    return text[1:].strip(), ""


def parse_ways(text: str, problems: Problems) -> tuple[FilingWay, ...]:
    """Each way of filing with its time and fee, from the flattened table."""
    text = clean(text).replace(WAYS_HEADER, "", 1)
    if not text:
        return ()
    parts = _MODE.split(text)
    if len(parts) < 3:
        problems.add("ways", "no way of filing (Trực tiếp, Trực tuyến, bưu chính) found")
        return ()
    ways = []
    for mode_name, body in zip(parts[1::2], parts[2::2], strict=True):
        body = body.strip()
        duration, duration_text = None, ""
        if body.startswith(NOTHING):
            body = body[len(NOTHING):]
        elif (match := _DURATION.match(body)) is not None:
            value = float(match.group(1).replace(",", "."))
            unit = (match.group(2) or "").lower()
            if not unit:
                problems.add("ways.duration", "the unit of a processing time was lost in the "
                                              "capture (cells run together)")
            duration = Duration(value=value, unit=unit)
            body = body[match.end():]
        free, fee_vnd = False, None
        body = body.lstrip()
        if body.startswith("Miễn phí"):
            free, body = True, body[len("Miễn phí"):]
        elif body.startswith(NOTHING):
            body = body[len(NOTHING):]
        elif (amount := _AMOUNT.match(body)) is not None:
            fee_vnd = int(re.sub(r"[.,]", "", amount.group(1)))
            body = body[amount.end():]
        elif body.startswith(("VNĐ", "Đồng")):
            problems.add("ways.fee", "a fee's amount is missing (only its currency is there)")
            body = body.split(" ", 1)[1] if " " in body else ""
        fee_text, body = _balanced_prefix(body.lstrip())
        description = body.strip().lstrip(":").strip()
        if description.startswith(NOTHING):
            description = description[len(NOTHING):].strip()
        ways.append(FilingWay(mode=MODES[mode_name], duration=duration,
                              duration_text=duration_text, free=free, fee_vnd=fee_vnd,
                              fee_text=fee_text, description=description))
    return tuple(ways)


def _document(row: str, count: str, group: str) -> CatalogDocument:
    row = _BULLET.sub("", row.strip()).strip()
    form = ""
    if _FORM_FILE.search(row):
        glued = [m.start() for m in _FORM_START.finditer(row)
                 if m.start() > 0 and not row[m.start() - 1].isspace()]
        if glued:
            form, row = row[glued[-1]:].strip(), row[:glued[-1]].strip()
    return CatalogDocument(name=row, form=form, count=count.strip(), group=group)


def _group_label(text: str) -> str:
    label = text.strip().strip("-*:").strip()
    return label.rstrip(":").strip()


def parse_documents(text: str, problems: Problems) -> tuple[CatalogDocument, ...]:
    """The papers, each with its form and count, under its group heading."""
    text = clean(text)
    if not text:
        return ()
    segments = text.split(DOCUMENTS_HEADER)
    if len(segments) < 2:
        problems.add("documents", "no table of papers found")
        return ()
    documents: list[CatalogDocument] = []
    group = _group_label(segments[0])
    for segment in segments[1:]:
        position = 0
        for match in _COUNT.finditer(segment):
            row = segment[position:match.start()]
            if row.strip():
                documents.append(_document(row, match.group(0), group))
            position = match.end()
        group = _group_label(segment[position:])  # what follows names the next table
    if not documents:
        problems.add("documents", "no paper with a count (\"1 bản chính\") found")
    return tuple(documents)


def _row_end(text: str, match: re.Match[str]) -> int | None:
    """Where a number found in the legal table ends if it is a row's number cell, else None.

    In the table a number cell is glued to the next row's title: what follows it is the end,
    a digit or a capital letter, never a space. The pattern is greedy over capitals, so before
    a title such as "Nghị định" it has taken the title's first letter: give it back.
    """
    end = match.end()
    after = text[end:end + 1]
    if not after or after.isdigit() or after.isupper():
        return end
    if after.islower() and end - match.start() > 1 and text[end - 1].isupper():
        return end - 1
    return None  # a space or punctuation: a number quoted inside a title


def parse_legal_basis(text: str, problems: Problems) -> tuple[LegalBasis, ...]:
    """Each legal document: its title and its number."""
    text = clean(text).replace(LEGAL_HEADER, "", 1)
    if not text:
        return ()
    found, position = [], 0
    for match in _LEGAL_NUMBER.finditer(text):
        if match.start() < position:
            continue
        end = _row_end(text, match)
        if end is None:
            continue
        number = text[match.start():end]
        title = text[position:match.start()].strip()
        found.append(LegalBasis(number=number, title=title or number))
        position = end
    if not found or text[position:].strip():
        problems.add("legal_basis", "the documents' numbers could not all be told apart")
    return _one_per_number(found)


def _one_per_number(found: list[LegalBasis]) -> tuple[LegalBasis, ...]:
    """Each number once (the capture repeats rows), with its most telling title."""
    best: dict[str, LegalBasis] = {}
    for basis in found:
        kept = best.get(basis.number)
        better = len(basis.title) > len(kept.title) if kept is not None else True
        if kept is None or kept.title == kept.number or (better and basis.title != basis.number):
            best[basis.number] = basis
    return tuple(best.values())


def parse_result(text: str) -> str:
    """The result document(s), without the portal's codes and furniture: each result is
    "<name>Mã: KQ…Từ khóa…Mô tả…", one after another."""
    parts = _RESULT_CODE.split(clean(text))
    names = [parts[0]]
    for part in parts[1:]:
        _, _, after = part.partition("Mô tả")
        names.append(after.removeprefix(NOTHING))
    named = [name.strip() for name in names if name.strip() and name.strip() != NOTHING]
    return "; ".join(dict.fromkeys(named))
