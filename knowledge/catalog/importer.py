"""Importing a capture of the national catalog (JSON Lines, gzipped or not): every record
parsed into a ``NationalRecord``, and a report of what was parsed, per field, and of the
records that could not be read at all and why.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from knowledge.catalog.parse import (
    Problems,
    clean,
    parse_documents,
    parse_legal_basis,
    parse_result,
    parse_steps,
    parse_ways,
    split_list,
)
from knowledge.catalog.record import NationalRecord

STRUCTURED = ("steps", "ways", "documents", "legal_basis")
CATALOG_FILE = "catalog/national.jsonl.gz"  # the converted form, inside a knowledge directory


class RecordError(ValueError):
    """A record that cannot be imported at all (no code, no name, not an object)."""


def read_lines(path: Path) -> Iterator[tuple[int, str]]:
    """The file's lines, numbered from 1 (gzip is recognised by its magic bytes)."""
    with path.open("rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    opener = gzip.open if gzipped else open
    with opener(path, "rt", encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if line.strip():
                yield number, line


def capture_date(path: Path) -> dt.date:
    """The capture's month from a file name like ``national-procedures-2026-07.jsonl.gz``
    (its first day), else today."""
    match = re.search(r"(20\d{2})-(\d{2})", path.name)
    if match is None:
        return dt.date.today()
    return dt.date(int(match.group(1)), int(match.group(2)), 1)


def parse_record(raw: Mapping[str, Any], captured: dt.date) -> NationalRecord:
    """One portal record in the project's form (raises ``RecordError``)."""
    def text(name: str) -> str:
        value = raw.get(name, "")
        return clean(value) if isinstance(value, str) else ""

    code, name, url = text("ma_thu_tuc"), text("ten_thu_tuc"), text("detail_url")
    if not code or not name:
        raise RecordError("no procedure code or name")
    if not url.startswith("https://"):
        raise RecordError("no official page to cite")
    problems = Problems()
    return NationalRecord(
        code=code, name=name, source_url=url, captured=captured,
        decision=text("so_quyet_dinh"), levels=split_list(text("cap_thuc_hien")),
        kind=text("loai_thu_tuc"), field=text("linh_vuc"),
        applicants=split_list(text("doi_tuong_thuc_hien")),
        deciding_body=text("co_quan_co_tham_quyen") or text("co_quan_thuc_hien"),
        receiving_address=text("dia_chi_tiep_nhan"),
        steps=parse_steps(raw.get("trinh_tu_thuc_hien") or ""),
        ways=parse_ways(text("cach_thuc_thuc_hien"), problems),
        documents=parse_documents(text("thanh_phan_ho_so"), problems),
        documents_text=text("thanh_phan_ho_so"),
        conditions=text("yeu_cau_dieu_kien"),
        legal_basis=parse_legal_basis(text("can_cu_phap_ly"), problems),
        result=parse_result(text("ket_qua_xu_ly")),
        unparsed=problems.reasons,
    )


@dataclass
class ImportReport:
    """What an import read and how well."""

    records: list[NationalRecord] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)  # (line, why)
    duplicates: list[str] = field(default_factory=list)  # codes seen twice (the last kept)

    def field_counts(self) -> dict[str, Counter[str]]:
        """Per structured field: how many records have it parsed, kept as text, or empty."""
        counts: dict[str, Counter[str]] = {name: Counter() for name in STRUCTURED}
        for record in self.records:
            for name in STRUCTURED:
                if any(key == name or key.startswith(name + ".") for key in record.unparsed):
                    counts[name]["text only" if not getattr(record, name) else "partly"] += 1
                elif getattr(record, name):
                    counts[name]["parsed"] += 1
                else:
                    counts[name]["empty"] += 1
        return counts

    def lines(self) -> list[str]:
        """The report as a person reads it."""
        out = [f"{len(self.records)} records imported, {len(self.refused)} refused, "
               f"{len(self.duplicates)} codes seen twice"]
        for name, counts in self.field_counts().items():
            parts = ", ".join(f"{kind} {counts[kind]}" for kind in
                              ("parsed", "partly", "text only", "empty") if counts[kind])
            out.append(f"  {name}: {parts}")
        reasons = Counter(reason for record in self.records
                          for reason in record.unparsed.values())
        for reason, count in reasons.most_common():
            out.append(f"  kept as text in {count} records: {reason}")
        out += [f"  line {line}: {why}" for line, why in self.refused[:20]]
        if len(self.refused) > 20:
            out.append(f"  … and {len(self.refused) - 20} more refused lines")
        return out


def import_catalog(path: Path, captured: dt.date | None = None) -> ImportReport:
    """Parse every record of a capture (refused lines are reported, not fatal)."""
    when = captured or capture_date(path)
    report = ImportReport()
    by_code: dict[str, NationalRecord] = {}
    for number, line in read_lines(path):
        try:
            raw = json.loads(line)
        except (ValueError, RecursionError):
            report.refused.append((number, "not a JSON object"))
            continue
        if not isinstance(raw, dict):
            report.refused.append((number, "not a JSON object"))
            continue
        try:
            record = parse_record(raw, when)
        except RecordError as exc:
            report.refused.append((number, str(exc)))
            continue
        if record.code in by_code:
            report.duplicates.append(record.code)
        by_code[record.code] = record
    report.records = list(by_code.values())
    return report


def write_records(records: list[NationalRecord], path: Path) -> None:
    """The converted form the project ships: one record per line, gzipped."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as out:
        for record in sorted(records, key=lambda r: r.code):
            out.write(record.model_dump_json() + "\n")


def read_records(path: Path) -> dict[str, NationalRecord]:
    """A converted file written by ``write_records``, by code."""
    records = (NationalRecord.model_validate_json(line) for _, line in read_lines(path))
    return {record.code: record for record in records}


@dataclass(frozen=True)
class Changes:
    """How a new import differs from the converted file it replaces."""

    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]

    def lines(self) -> list[str]:
        """The changes as a person reads them (a few codes of each kind)."""
        def some(codes: tuple[str, ...]) -> str:
            shown = ", ".join(codes[:10])
            return shown + (f" … (+{len(codes) - 10})" if len(codes) > 10 else "")

        out = [f"compared with the previous import: {len(self.added)} added, "
               f"{len(self.changed)} changed, {len(self.removed)} no longer in the capture"]
        for label, codes in (("added", self.added), ("changed", self.changed),
                             ("removed", self.removed)):
            if codes:
                out.append(f"  {label}: {some(codes)}")
        return out


def compare(old: Mapping[str, NationalRecord], new: list[NationalRecord]) -> Changes:
    """What a new import adds, changes (ignoring the capture date) and drops."""
    fresh = {record.code: record for record in new}

    def same(a: NationalRecord, b: NationalRecord) -> bool:
        return a.model_copy(update={"captured": b.captured}) == b

    return Changes(
        added=tuple(sorted(set(fresh) - set(old))),
        changed=tuple(sorted(code for code in set(fresh) & set(old)
                             if not same(old[code], fresh[code]))),
        removed=tuple(sorted(set(old) - set(fresh))),
    )
