"""Reading and writing NLU training data in Rasa 3 YAML format.

Supported: ``intent`` blocks with ``examples`` (a ``- ``-list string or a list of
``{text: ...}`` items), ``synonym``, ``lookup`` and ``regex`` blocks, and entity annotations
in all three Rasa forms: ``[text](entity)``, ``[text](entity:value)`` and
``[text]{"entity": "...", "value": "..."}``. Any Rasa-format NLU file can be trained on or
tested against, not only ours.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ANNOTATION = re.compile(
    r"\[(?P<text>[^\]]+)\](?:\((?P<short>[^)]+)\)|(?P<json>\{[^}]*\}))"
)


class TrainingDataError(ValueError):
    """A training-data file that cannot be read; the message names the file and the place."""


@dataclass(frozen=True, slots=True)
class AnnotatedEntity:
    """An entity annotation in a training example; offsets index the plain example text."""

    entity: str
    value: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Example:
    """One training or test utterance."""

    text: str
    intent: str
    entities: tuple[AnnotatedEntity, ...] = ()


@dataclass(slots=True)
class TrainingData:
    """Examples plus the synonym, lookup and regex tables of one or more files."""

    examples: list[Example] = field(default_factory=list)
    synonyms: dict[str, list[str]] = field(default_factory=dict)
    lookups: dict[str, list[str]] = field(default_factory=dict)
    regexes: dict[str, list[str]] = field(default_factory=dict)

    @property
    def intents(self) -> list[str]:
        """The intents present, sorted."""
        return sorted({example.intent for example in self.examples})

    def merge(self, other: TrainingData) -> TrainingData:
        """A new TrainingData holding both."""
        merged = TrainingData(list(self.examples) + list(other.examples))
        for target, source in (
            (merged.synonyms, (self.synonyms, other.synonyms)),
            (merged.lookups, (self.lookups, other.lookups)),
            (merged.regexes, (self.regexes, other.regexes)),
        ):
            for table in source:
                for key, values in table.items():
                    target.setdefault(key, []).extend(v for v in values if v not in target[key])
        return merged

    def entity_synonyms(self, entity: str) -> dict[str, list[str]]:
        """Value -> surface phrases of one entity, from annotations and synonym blocks."""
        table: dict[str, list[str]] = {}
        for example in self.examples:
            for annotated in example.entities:
                if annotated.entity == entity:
                    phrase = example.text[annotated.start : annotated.end]
                    phrases = table.setdefault(annotated.value, [])
                    if phrase not in phrases:
                        phrases.append(phrase)
        for value, phrases in self.synonyms.items():
            if value in table:
                table[value].extend(p for p in phrases if p not in table[value])
        return table


def parse_annotated(text: str) -> tuple[str, tuple[AnnotatedEntity, ...]]:
    """Split a Rasa-annotated example into its plain text and its entity annotations."""
    plain: list[str] = []
    entities: list[AnnotatedEntity] = []
    cursor = 0
    length = 0
    for match in ANNOTATION.finditer(text):
        before = text[cursor : match.start()]
        plain.append(before)
        length += len(before)
        surface = match.group("text")
        entity, value = _annotation_target(match, surface)
        entities.append(AnnotatedEntity(entity, value, length, length + len(surface)))
        plain.append(surface)
        length += len(surface)
        cursor = match.end()
    plain.append(text[cursor:])
    return "".join(plain), tuple(entities)


def _annotation_target(match: re.Match[str], surface: str) -> tuple[str, str]:
    short = match.group("short")
    if short is not None:
        entity, _, value = short.partition(":")
        return entity.strip(), (value.strip() or surface)
    try:
        spec = json.loads(match.group("json"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"bad entity annotation {match.group()!r}: {exc.msg}") from exc
    if not isinstance(spec, dict) or not isinstance(spec.get("entity"), str):
        raise ValueError(f"entity annotation {match.group()!r} has no 'entity' name")
    return spec["entity"], str(spec.get("value", surface))


def load_training_data(paths: Iterable[Path | str]) -> TrainingData:
    """Read Rasa NLU YAML files (a directory means every .yml/.yaml file under it)."""
    data = TrainingData()
    for path in _expand(paths):
        stat = path.stat()
        data = data.merge(_load_file_once(path, stat.st_mtime_ns, stat.st_size))
    return data


@functools.lru_cache(maxsize=32)
def _load_file_once(path: Path, mtime_ns: int, size: int) -> TrainingData:
    """A file read once per version: every start and test reads the shipped data. The
    result is only ever merged into a new TrainingData, never changed."""
    return _load_file(path)


def _expand(paths: Iterable[Path | str]) -> Iterator[Path]:
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix in {".yml", ".yaml"})
        elif path.exists():
            yield path
        else:
            raise TrainingDataError(f"{path}: no such file or directory")


def _load_file(path: Path) -> TrainingData:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise TrainingDataError(f"{path}: cannot read YAML: {exc}") from exc
    data = TrainingData()
    if not isinstance(document, dict) or "nlu" not in document:
        return data  # a domain, stories or config file: nothing for the NLU
    blocks = document["nlu"] or []
    if not isinstance(blocks, list):
        raise TrainingDataError(f"{path}: 'nlu' must be a list of blocks")
    for index, block in enumerate(blocks, start=1):
        where = f"{path}: nlu block {index}"
        if not isinstance(block, dict):
            raise TrainingDataError(f"{where}: must be a mapping")
        try:
            _read_block(block, data)
        except ValueError as exc:
            raise TrainingDataError(f"{where}: {exc}") from exc
    return data


def _read_block(block: dict[str, Any], data: TrainingData) -> None:
    items = _example_lines(block.get("examples"))
    if "intent" in block:
        intent = str(block["intent"])
        for line in items:
            text, entities = parse_annotated(line)
            if text.strip():
                data.examples.append(Example(text.strip(), intent, _shift(text, entities)))
    elif "synonym" in block:
        data.synonyms.setdefault(str(block["synonym"]), []).extend(items)
    elif "lookup" in block:
        data.lookups.setdefault(str(block["lookup"]), []).extend(items)
    elif "regex" in block:
        data.regexes.setdefault(str(block["regex"]), []).extend(items)
    else:
        raise ValueError("expected one of intent, synonym, lookup, regex")


def _shift(text: str, entities: tuple[AnnotatedEntity, ...]) -> tuple[AnnotatedEntity, ...]:
    """Re-base offsets after stripping leading white space from the example."""
    offset = len(text) - len(text.lstrip())
    if not offset:
        return entities
    return tuple(
        AnnotatedEntity(e.entity, e.value, e.start - offset, e.end - offset) for e in entities
    )


def _example_lines(raw: object) -> list[str]:
    if raw is None:
        return []
    if isinstance(raw, str):
        lines = []
        for line in raw.splitlines():
            stripped = line.strip()
            if stripped.startswith("- "):
                lines.append(stripped[2:].strip())
            elif stripped == "-":
                continue
            elif stripped:
                raise ValueError(f"example line does not start with '- ': {stripped[:60]!r}")
        return lines
    if isinstance(raw, list):
        lines = []
        for item in raw:
            if isinstance(item, dict) and "text" in item:
                lines.append(str(item["text"]))
            elif isinstance(item, str):
                lines.append(item)
            else:
                raise ValueError("examples list items must be strings or {text: ...}")
        return lines
    raise ValueError("examples must be a '- ' list string or a list")


def annotate(example: Example) -> str:
    """The Rasa-annotated line of an example (JSON entity form)."""
    parts: list[str] = []
    cursor = 0
    for entity in sorted(example.entities, key=lambda e: e.start):
        surface = example.text[entity.start : entity.end]
        parts.append(example.text[cursor : entity.start])
        spec: dict[str, str] = {"entity": entity.entity}
        if entity.value != surface:
            spec["value"] = entity.value
        parts.append(f"[{surface}]{json.dumps(spec, ensure_ascii=False)}")
        cursor = entity.end
    parts.append(example.text[cursor:])
    return "".join(parts)


class _Literal(str):
    """A string YAML writes as a ``|`` block."""


def _literal_representer(dumper: yaml.SafeDumper, value: _Literal) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")


yaml.add_representer(_Literal, _literal_representer, Dumper=yaml.SafeDumper)


def dump_training_data(data: TrainingData) -> str:
    """Rasa 3.1 NLU YAML for a TrainingData."""
    blocks: list[dict[str, Any]] = []
    by_intent: dict[str, list[Example]] = {}
    for example in data.examples:
        by_intent.setdefault(example.intent, []).append(example)
    for intent, examples in by_intent.items():
        lines = "".join(f"- {annotate(e)}\n" for e in examples)
        blocks.append({"intent": intent, "examples": _Literal(lines)})
    for kind, table in (("synonym", data.synonyms), ("lookup", data.lookups),
                        ("regex", data.regexes)):
        for name, values in table.items():
            blocks.append({kind: name, "examples": _Literal("".join(f"- {v}\n" for v in values))})
    document = {"version": "3.1", "nlu": blocks}
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=1000)
