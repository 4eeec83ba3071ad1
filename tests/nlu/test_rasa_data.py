"""Rasa YAML training data: every annotation form, a round trip, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlu.rasa_data import (
    TrainingDataError,
    dump_training_data,
    load_training_data,
    parse_annotated,
)

SAMPLE = """\
version: "3.1"
nlu:
- intent: procedure_fee
  examples: |
    - làm [cccd](procedure:can-cuoc) hết bao nhiêu
    - phí [hộ chiếu]{"entity": "procedure", "value": "ho-chieu"} là bao nhiêu
    - tra [000.00.12.H31-251103-0042](dossier_code) giúp
- synonym: can-cuoc
  examples: |
    - căn cước công dân
- lookup: place
  examples: |
    - Ngô Quyền
"""


def test_annotation_forms() -> None:
    text, entities = parse_annotated('[a b](x) c [d]{"entity": "y", "value": "v"} [e](z:w)')
    assert text == "a b c d e"
    assert [(e.entity, e.value, text[e.start:e.end]) for e in entities] == [
        ("x", "a b", "a b"), ("y", "v", "d"), ("z", "w", "e")]


def test_load_and_round_trip(tmp_path: Path) -> None:
    source = tmp_path / "nlu.yml"
    source.write_text(SAMPLE, encoding="utf-8")
    data = load_training_data([source])
    assert len(data.examples) == 3
    assert data.entity_synonyms("procedure") == {
        "can-cuoc": ["cccd", "căn cước công dân"], "ho-chieu": ["hộ chiếu"]}
    assert data.lookups == {"place": ["Ngô Quyền"]}
    copy = tmp_path / "copy.yml"
    copy.write_text(dump_training_data(data), encoding="utf-8")
    again = load_training_data([copy])
    assert again.examples == data.examples
    assert again.synonyms == data.synonyms


def test_directory_reads_every_yaml(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text(SAMPLE, encoding="utf-8")
    (tmp_path / "domain.yml").write_text("version: '3.1'\nintents: [greet]\n", encoding="utf-8")
    assert len(load_training_data([tmp_path]).examples) == 3


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("nlu: [\n", "cannot read YAML"),
        ("nlu:\n- intent: greet\n  examples: |\n    chào\n", "nlu block 1"),
        ('nlu:\n- intent: x\n  examples: |\n    - [a]{"entity": }\n', "bad entity annotation"),
        ("nlu:\n- foo: bar\n", "expected one of intent"),
    ],
)
def test_bad_files_name_the_file_and_place(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.yml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(TrainingDataError) as error:
        load_training_data([path])
    assert "bad.yml" in str(error.value) and message in str(error.value)
