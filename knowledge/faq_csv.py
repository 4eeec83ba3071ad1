"""FAQs as a CSV sheet, for administrators who edit them in Excel or LibreOffice.

Columns: ``id, question, paraphrases, answer, procedure, tags``; paraphrases and tags hold
several values separated by `` | ``. Files are UTF-8 with a byte-order mark (so Excel shows
the Vietnamese letters); a file saved with ``;`` as the separator (Excel in some locales) is
read too. Every row is validated by the FAQ schema and the bundle's cross-checks; problems
name the row and the column, and nothing is returned unless the whole file is valid.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from knowledge.explain import message, reference_message
from knowledge.schema import Faq, KnowledgeBundle, PublishStatus, reference_problems

COLUMNS = ("id", "question", "paraphrases", "answer", "procedure", "tags")
SEPARATOR = " | "
MAX_ROWS = 5000


@dataclass(frozen=True, slots=True)
class CsvProblem:
    """One problem: the sheet row (1 is the header), the column if known, and what (Vietnamese)."""

    row: int
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"Dòng {self.row}" + (f", cột {self.column}" if self.column else "")
        return f"{where}: {self.message}"


class FaqCsvError(ValueError):
    """A CSV file that cannot be loaded; ``problems`` lists every problem found."""

    def __init__(self, problems: Sequence[CsvProblem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split("|") if part.strip()]


def write_faq_csv(faqs: Sequence[Faq]) -> bytes:
    """The FAQs as a UTF-8 (with BOM) CSV sheet."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for faq in faqs:
        writer.writerow([faq.id, faq.question, SEPARATOR.join(faq.paraphrases), faq.answer,
                         faq.procedure or "", SEPARATOR.join(faq.tags)])
    return out.getvalue().encode("utf-8-sig")


def read_faq_csv(data: bytes, current: KnowledgeBundle) -> KnowledgeBundle:
    """The knowledge base with the sheet's FAQs added or replaced (others kept); an FAQ
    already in the knowledge base keeps its published/hidden status. Raises FaqCsvError."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FaqCsvError([CsvProblem(1, None, "Tệp phải là CSV mã hóa UTF-8 (trong Excel: "
                                               "Lưu thành › CSV UTF-8)")]) from exc
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise FaqCsvError([CsvProblem(reader.line_num, None,
                                      f"Không đọc được dòng này ({exc})")]) from exc
    if not rows:
        raise FaqCsvError([CsvProblem(1, None, "Tệp trống")])
    header = [name.strip().lower() for name in rows[0]]
    missing = [column for column in COLUMNS if column not in header]
    unknown = [name for name in header if name and name not in COLUMNS]
    problems: list[CsvProblem] = []
    if missing:
        problems.append(CsvProblem(1, None, f"Thiếu cột: {', '.join(missing)} (cần đủ các "
                                            f"cột {', '.join(COLUMNS)})"))
    if unknown:
        problems.append(CsvProblem(1, None, f"Cột không dùng được: {', '.join(unknown)}"))
    if len(rows) > MAX_ROWS + 1:
        problems.append(CsvProblem(1, None, f"Tối đa {MAX_ROWS} câu hỏi mỗi tệp"))
    if problems:
        raise FaqCsvError(problems)

    existing = {faq.id: faq for faq in current.faqs}
    parsed: dict[str, Faq] = {}
    row_of: dict[str, int] = {}
    for number, cells in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(header):
            problems.append(CsvProblem(number, None, "Thừa ô so với tiêu đề (kiểm tra dấu "
                                                     "phẩy trong nội dung có được đặt trong "
                                                     "ngoặc kép không)"))
            continue
        values = dict(zip(header, [*cells, *[""] * (len(header) - len(cells))], strict=True))
        faq_id = values["id"].strip()
        if faq_id in row_of:
            problems.append(CsvProblem(number, "id", f"Mã «{faq_id}» trùng với dòng "
                                                     f"{row_of[faq_id]}"))
            continue
        old = existing.get(faq_id)
        raw: dict[str, Any] = {
            "id": faq_id,
            "question": values["question"],
            "paraphrases": _split(values["paraphrases"]),
            "answer": values["answer"],
            "procedure": values["procedure"].strip() or None,
            "tags": _split(values["tags"].replace(",", "|")),
            "status": old.status if old is not None else PublishStatus.PUBLISHED,
        }
        try:
            faq = Faq.model_validate(raw)
        except ValidationError as exc:
            for error in exc.errors():
                loc = tuple(error["loc"])
                text = message(error["type"], error.get("ctx"), loc)
                if len(loc) > 1 and isinstance(loc[1], int):
                    text = f"mục thứ {loc[1] + 1}: {text}"
                problems.append(CsvProblem(number, str(loc[0]) if loc else None, text))
            continue
        parsed[faq.id] = faq
        row_of[faq.id] = number
    if not parsed and not problems:
        problems.append(CsvProblem(2, None, "Tệp không có câu hỏi nào"))
    faqs = {**existing, **parsed}
    for problem in reference_problems(current.procedures, current.offices,
                                      list(faqs.values())):
        if problem.kind == "faq" and problem.entry_id in row_of:
            problems.append(CsvProblem(row_of[problem.entry_id], problem.field,
                                       reference_message(problem.kind, problem.field,
                                                         problem.target)))
    if problems:
        raise FaqCsvError(sorted(problems, key=lambda p: p.row))
    return KnowledgeBundle(city=current.city, procedures=current.procedures,
                           offices=current.offices, faqs=list(faqs.values()))
