"""Knowledge-base YAML files: reading a directory into a validated bundle, and writing one back.

Layout of a knowledge directory::

    city.yaml               the city profile
    offices.yaml            a list of offices
    faqs.yaml               a list of FAQs
    procedures/<id>.yaml    one procedure per file

Every problem is reported with the file, the entry and the field, and nothing is returned
unless the whole directory is valid.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from knowledge.schema import City, Faq, KnowledgeBundle, Office, Procedure

DEFAULT_DATA_DIR = Path(__file__).parent / "data"
ModelT = TypeVar("ModelT", bound=BaseModel)


class KnowledgeFileError(ValueError):
    """One or more problems in knowledge files; ``problems`` lists them one per line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _read_yaml(path: Path, problems: list[str]) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        problems.append(f"{path}: file not found")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{path}: cannot read: {exc}")
    except yaml.YAMLError as exc:
        problems.append(f"{path}: not valid YAML: {exc}".replace("\n", " "))
    return None


def _validate(model: type[ModelT], raw: Any, path: Path, entry: str,
              problems: list[str]) -> ModelT | None:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"]) or "(entry)"
            problems.append(f"{path}: {entry}: field {field}: {error['msg']}")
    return None


def _entry_name(raw: Any, index: int) -> str:
    if isinstance(raw, dict) and isinstance(raw.get("id"), str):
        return f"entry {raw['id']!r}"
    return f"entry #{index}"


def _read_list(model: type[ModelT], path: Path, problems: list[str]) -> list[ModelT]:
    if not path.exists():
        return []
    raw = _read_yaml(path, problems)
    if raw is None:
        return []
    if not isinstance(raw, list):
        problems.append(f"{path}: expected a list of entries")
        return []
    items = []
    for index, item in enumerate(raw, start=1):
        parsed = _validate(model, item, path, _entry_name(item, index), problems)
        if parsed is not None:
            items.append(parsed)
    return items


def read_procedure_file(path: Path, problems: list[str]) -> Procedure | None:
    """One procedure file; its id must match the file name."""
    raw = _read_yaml(path, problems)
    if raw is None:
        return None
    procedure = _validate(Procedure, raw, path, _entry_name(raw, 1), problems)
    if procedure is not None and procedure.id != path.stem:
        problems.append(f"{path}: entry {procedure.id!r}: field id: must match the file name "
                        f"{path.stem!r}")
        return None
    return procedure


def load_directory(directory: Path) -> KnowledgeBundle:
    """Read and validate a whole knowledge directory; raises KnowledgeFileError."""
    problems: list[str] = []
    if not directory.is_dir():
        raise KnowledgeFileError([f"{directory}: not a directory"])
    city_path = directory / "city.yaml"
    city = None
    raw_city = _read_yaml(city_path, problems)
    if raw_city is not None:
        city = _validate(City, raw_city, city_path, "city", problems)
    procedures = []
    for path in sorted((directory / "procedures").glob("*.y*ml")):
        procedure = read_procedure_file(path, problems)
        if procedure is not None:
            procedures.append(procedure)
    offices = _read_list(Office, directory / "offices.yaml", problems)
    faqs = _read_list(Faq, directory / "faqs.yaml", problems)
    if problems or city is None:
        raise KnowledgeFileError(problems or [f"{city_path}: missing"])
    try:
        return KnowledgeBundle(city=city, procedures=procedures, offices=offices, faqs=faqs)
    except ValidationError as exc:
        raise KnowledgeFileError(
            [f"{directory}: {error['msg']}" for error in exc.errors()]
        ) from exc


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)


def write_directory(bundle: KnowledgeBundle, directory: Path) -> list[Path]:
    """Write a bundle in the directory layout; returns the files written."""
    (directory / "procedures").mkdir(parents=True, exist_ok=True)
    written = []

    def put(path: Path, data: Any) -> None:
        path.write_text(_dump(data), encoding="utf-8")
        written.append(path)

    put(directory / "city.yaml", bundle.city.model_dump(mode="json", exclude_none=True))
    put(directory / "offices.yaml",
        [o.model_dump(mode="json", exclude_none=True) for o in bundle.offices])
    put(directory / "faqs.yaml",
        [f.model_dump(mode="json", exclude_none=True) for f in bundle.faqs])
    for procedure in bundle.procedures:
        put(directory / "procedures" / f"{procedure.id}.yaml",
            procedure.model_dump(mode="json", exclude_none=True))
    return written
