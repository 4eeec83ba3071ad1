"""Knowledge-base YAML files: reading a directory or one document into a validated bundle, and
writing them back.

Layout of a knowledge directory::

    city.yaml               the city profile
    offices.yaml            a list of offices
    faqs.yaml               a list of FAQs
    procedures/<id>.yaml    one procedure per file

The same bundle can also be one YAML document (what the admin pages download and upload)::

    city: {...}
    procedures: [...]
    offices: [...]
    faqs: [...]

Every problem is reported with the file, the entry and the field (a ``Problem``, whose text is
the English one-liner the CLI prints and whose parts let the admin pages say it in Vietnamese),
and nothing is returned unless the whole directory or document is valid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from knowledge.schema import (
    City,
    Faq,
    KnowledgeBundle,
    Office,
    Procedure,
    ReferenceProblem,
    reference_problems,
)

DEFAULT_DATA_DIR = Path(__file__).parent / "data"
DOCUMENT_SECTIONS = ("city", "procedures", "offices", "faqs")
ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem in a knowledge file: where it is (file, entry, field) and what is wrong.

    ``code`` is pydantic's error type (``missing``, ``greater_than_equal`` …) or one of
    ``not_found``, ``unreadable``, ``yaml``, ``not_a_list``, ``not_a_mapping``,
    ``id_mismatch``, ``reference``; ``context`` holds pydantic's details (limits, the
    missing reference) so the message can be written in another language.
    """

    file: str
    message: str
    section: str | None = None  # city, procedures, offices, faqs (None: a directory's file)
    entry_id: str | None = None
    entry_index: int | None = None  # 1-based position in its list, when it has no id
    loc: tuple[str | int, ...] = ()
    code: str = "invalid"
    context: Mapping[str, Any] = field(default_factory=dict)
    in_document: bool = False  # the section is part of the location (one-document files)

    @property
    def entry(self) -> str | None:
        """The entry as the English text names it."""
        if self.entry_id is not None:
            name = f"entry {self.entry_id!r}"
        elif self.entry_index is not None:
            name = f"entry #{self.entry_index}"
        else:
            return self.section if self.section == "city" or self.in_document else None
        return f"{self.section} {name}" if self.in_document and self.section else name

    def __str__(self) -> str:
        parts = [self.file]
        if self.entry:
            parts.append(self.entry)
        if self.loc:
            parts.append(f"field {'.'.join(str(part) for part in self.loc)}")
        return ": ".join([*parts, self.message])


class KnowledgeFileError(ValueError):
    """One or more problems in knowledge files; ``problems`` lists them one per line and
    ``details`` holds them as ``Problem``s."""

    def __init__(self, problems: Sequence[Problem | str]) -> None:
        self.details = [p if isinstance(p, Problem) else Problem("", p) for p in problems]
        self.problems = [str(p).lstrip(": ") for p in self.details]
        super().__init__("\n".join(self.problems))


def _parse_yaml(text: str, name: str, problems: list[Problem]) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        context = {"line": mark.line + 1, "column": mark.column + 1} if mark else {}
        problems.append(Problem(name, f"not valid YAML: {exc}".replace("\n", " "), code="yaml",
                                context=context))
    except RecursionError:  # thousands of nested brackets: a document no person wrote
        problems.append(Problem(name, "not valid YAML: nested too deeply", code="yaml"))
    return None


def _read_yaml(path: Path, problems: list[Problem]) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        problems.append(Problem(str(path), "file not found", code="not_found"))
        return None
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(str(path), f"cannot read: {exc}", code="unreadable"))
        return None
    return _parse_yaml(text, str(path), problems)


def validation_problems(exc: ValidationError, file: str, **where: Any) -> list[Problem]:
    """One Problem per pydantic error, located in ``file`` (and ``where``: section, entry)."""
    return [
        Problem(file, error["msg"], loc=tuple(error["loc"]), code=error["type"],
                context=dict(error.get("ctx") or {}), **where)
        for error in exc.errors()
    ]


def _validate(model: type[ModelT], raw: Any, file: str, problems: list[Problem],
              **where: Any) -> ModelT | None:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems.extend(validation_problems(exc, file, **where))
    return None


def _where(raw: Any, index: int) -> dict[str, Any]:
    if isinstance(raw, dict) and isinstance(raw.get("id"), str):
        return {"entry_id": raw["id"]}
    return {"entry_index": index}


def _validate_list(model: type[ModelT], raw: Any, file: str, problems: list[Problem],
                   **where: Any) -> list[ModelT]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        problems.append(Problem(file, "expected a list of entries", code="not_a_list", **where))
        return []
    items = []
    for index, item in enumerate(raw, start=1):
        parsed = _validate(model, item, file, problems, **where, **_where(item, index))
        if parsed is not None:
            items.append(parsed)
    return items


def _read_list(model: type[ModelT], path: Path, problems: list[Problem]) -> list[ModelT]:
    if not path.exists():
        return []
    return _validate_list(model, _read_yaml(path, problems), str(path), problems)


def read_procedure_file(path: Path, problems: list[Problem]) -> Procedure | None:
    """One procedure file; its id must match the file name."""
    raw = _read_yaml(path, problems)
    if raw is None:
        return None
    procedure = _validate(Procedure, raw, str(path), problems, **_where(raw, 1))
    if procedure is not None and procedure.id != path.stem:
        problems.append(Problem(str(path), f"must match the file name {path.stem!r}",
                                entry_id=procedure.id, loc=("id",), code="id_mismatch",
                                context={"expected": path.stem}))
        return None
    return procedure


def reference_problem(file: str, problem: ReferenceProblem,
                      in_document: bool = False) -> Problem:
    """A cross-entry problem located at its entry and field."""
    message = problem.message.partition(": ")[2] or problem.message
    return Problem(file, message, section=f"{problem.kind}s" if in_document else None,
                   entry_id=problem.entry_id, loc=(problem.field,), code="reference",
                   context={"kind": problem.kind, "target": problem.target,
                            "field": problem.field},
                   in_document=in_document)


def _bundle(city: City | None, procedures: list[Procedure], offices: list[Office],
            faqs: list[Faq], file: str, problems: list[Problem],
            in_document: bool) -> KnowledgeBundle:
    """The cross-checked bundle, or KnowledgeFileError with every problem found."""
    if city is None and not problems:
        problems.append(Problem(file, "missing", section="city", code="missing",
                                in_document=in_document))
    if not problems:
        problems.extend(reference_problem(file, p, in_document)
                        for p in reference_problems(procedures, offices, faqs))
    if problems or city is None:
        raise KnowledgeFileError(problems)
    try:
        return KnowledgeBundle(city=city, procedures=procedures, offices=offices, faqs=faqs)
    except ValidationError as exc:  # the bundle's own checks, should any be added later
        raise KnowledgeFileError(validation_problems(exc, file)) from exc


def load_directory(directory: Path) -> KnowledgeBundle:
    """Read and validate a whole knowledge directory; raises KnowledgeFileError."""
    problems: list[Problem] = []
    if not directory.is_dir():
        raise KnowledgeFileError([Problem(str(directory), "not a directory",
                                          code="not_found")])
    city_path = directory / "city.yaml"
    city = None
    raw_city = _read_yaml(city_path, problems)
    if raw_city is not None:
        city = _validate(City, raw_city, str(city_path), problems, section="city")
    procedures = []
    for path in sorted((directory / "procedures").glob("*.y*ml")):
        procedure = read_procedure_file(path, problems)
        if procedure is not None:
            procedures.append(procedure)
    offices = _read_list(Office, directory / "offices.yaml", problems)
    faqs = _read_list(Faq, directory / "faqs.yaml", problems)
    return _bundle(city, procedures, offices, faqs, str(directory), problems,
                   in_document=False)


def read_document(text: str, name: str = "kb.yaml") -> KnowledgeBundle:
    """Read and validate a whole knowledge base written as one YAML document (the layout in
    the module docstring); ``name`` is the file name problems are reported against."""
    problems: list[Problem] = []
    raw = _parse_yaml(text, name, problems)
    if problems:
        raise KnowledgeFileError(problems)
    if not isinstance(raw, dict):
        raise KnowledgeFileError([Problem(
            name, f"expected a mapping with the sections {', '.join(DOCUMENT_SECTIONS)}",
            code="not_a_mapping", context={"sections": DOCUMENT_SECTIONS})])
    for key in raw:
        if key not in DOCUMENT_SECTIONS:
            problems.append(Problem(name, "unknown section", section=str(key),
                                    code="extra_forbidden", in_document=True))
    city = None
    if raw.get("city") is not None:
        city = _validate(City, raw["city"], name, problems, section="city", in_document=True)
    procedures = _validate_list(Procedure, raw.get("procedures"), name, problems,
                                section="procedures", in_document=True)
    if "procedures" not in raw:
        problems.append(Problem(name, "missing", section="procedures", code="missing",
                                in_document=True))
    offices = _validate_list(Office, raw.get("offices"), name, problems, section="offices",
                             in_document=True)
    faqs = _validate_list(Faq, raw.get("faqs"), name, problems, section="faqs",
                          in_document=True)
    return _bundle(city, procedures, offices, faqs, name, problems, in_document=True)


def load_path(path: Path) -> KnowledgeBundle:
    """A knowledge directory, or one YAML document as the admin pages download it."""
    if path.is_file():
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise KnowledgeFileError([Problem(str(path), f"cannot read: {exc}",
                                              code="unreadable")]) from exc
        return read_document(text, str(path))
    return load_directory(path)


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)


def entry_data(entry: BaseModel) -> dict[str, Any]:
    """An entry as the YAML files hold it (JSON types, unset optional fields left out)."""
    return entry.model_dump(mode="json", exclude_none=True)


def write_document(bundle: KnowledgeBundle) -> str:
    """A whole bundle as one YAML document (``read_document`` reads it back)."""
    return _dump({
        "city": entry_data(bundle.city),
        "procedures": [entry_data(p) for p in bundle.procedures],
        "offices": [entry_data(o) for o in bundle.offices],
        "faqs": [entry_data(f) for f in bundle.faqs],
    })


def write_directory(bundle: KnowledgeBundle, directory: Path) -> list[Path]:
    """Write a bundle in the directory layout; returns the files written."""
    (directory / "procedures").mkdir(parents=True, exist_ok=True)
    written = []

    def put(path: Path, data: Any) -> None:
        path.write_text(_dump(data), encoding="utf-8")
        written.append(path)

    put(directory / "city.yaml", entry_data(bundle.city))
    put(directory / "offices.yaml", [entry_data(o) for o in bundle.offices])
    put(directory / "faqs.yaml", [entry_data(f) for f in bundle.faqs])
    for procedure in bundle.procedures:
        put(directory / "procedures" / f"{procedure.id}.yaml", entry_data(procedure))
    return written
