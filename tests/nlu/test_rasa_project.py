"""The Rasa project export, checked against the Rasa 3.x YAML rules we rely on (no Rasa needed).

What Rasa enforces and we check here: version strings, the keys each file may have, every
domain intent has examples and every example's intent is in the domain, every annotated entity
is declared, annotations fall on whitespace-token boundaries, synonyms are consistent (one
value per surface form) and map to procedure ids, regexes compile, no component needs
pretrained weights. The training data must also round-trip through ``nlu.rasa_data``.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.cli import main
from bot.core.brain import build_lexicon
from bot.service.settings import Settings
from knowledge.files import load_directory
from nlu.engine import Lexicon
from nlu.intents import EntityType, Intent
from nlu.rasa_data import TrainingData, dump_training_data, load_training_data
from nlu.rasa_project import (
    DEFAULT_TEXT_FORM,
    RasaProject,
    TextForm,
    build_project,
    convert_example,
    rasa_text,
)

REQUIRED_COMPONENTS = ["WhitespaceTokenizer", "RegexFeaturizer", "LexicalSyntacticFeaturizer",
                       "CountVectorsFeaturizer", "DIETClassifier", "EntitySynonymMapper"]
PRETRAINED_COMPONENTS = {"SpacyNLP", "SpacyTokenizer", "SpacyFeaturizer", "SpacyEntityExtractor",
                         "MitieNLP", "MitieTokenizer", "MitieFeaturizer",
                         "MitieEntityExtractor", "MitieIntentClassifier",
                         "LanguageModelFeaturizer", "ConveRTFeaturizer", "HFTransformersNLP",
                         "LanguageModelTokenizer", "ConveRTTokenizer"}
NLU_BLOCK_KEYS = {"intent", "synonym", "lookup", "regex"}


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    bundle = load_directory(Settings().knowledge_dir)
    return build_lexicon(bundle.procedures, bundle.offices)


@pytest.fixture(scope="module", params=list(TextForm))
def project(request: pytest.FixtureRequest, lexicon: Lexicon) -> RasaProject:
    data = load_training_data(Settings().nlu_train_files)
    return build_project(data, lexicon, request.param, epochs=40, seed=7)


def load(project: RasaProject, name: str) -> Any:
    return yaml.safe_load(project.files[name])


def test_the_files_of_a_project(project: RasaProject) -> None:
    assert set(project.files) == {"config.yml", "domain.yml", "data/nlu.yml",
                                  "data/synonyms.yml", "data/lookups.yml", "data/regexes.yml"}
    for name in project.files:
        document = load(project, name)
        assert isinstance(document, dict), name
        if name != "config.yml":  # Rasa wants the version as a string, "3.1"
            assert document["version"] == "3.1", name
    for name in ("data/nlu.yml", "data/synonyms.yml", "data/lookups.yml", "data/regexes.yml"):
        document = load(project, name)
        assert set(document) == {"version", "nlu"}
        for block in document["nlu"]:
            assert set(block) - {"examples"} <= NLU_BLOCK_KEYS and len(block) == 2, block
            lines = block["examples"].splitlines()
            assert lines and all(line.startswith("- ") for line in lines), block


def test_config_uses_only_components_without_pretrained_weights(project: RasaProject) -> None:
    config = load(project, "config.yml")
    assert set(config) <= {"recipe", "language", "pipeline", "policies", "assistant_id"}
    assert (config["recipe"], config["language"]) == ("default.v1", "vi")
    names = [component["name"] for component in config["pipeline"]]
    assert all(name in names for name in REQUIRED_COMPONENTS)
    assert not PRETRAINED_COMPONENTS & set(names)
    analyzers = {c.get("analyzer") for c in config["pipeline"]
                 if c["name"] == "CountVectorsFeaturizer"}
    assert analyzers == {"word", "char_wb"}
    [diet] = [c for c in config["pipeline"] if c["name"] == "DIETClassifier"]
    assert (diet["epochs"], diet["random_seed"]) == (40, 7)
    assert names.index("EntitySynonymMapper") > names.index("DIETClassifier")
    assert f"EGOVBOT_RASA_TEXT_FORM={project.text_form}" in project.files["config.yml"]


def test_domain_holds_the_intent_contract_and_every_intent_has_examples(
        project: RasaProject) -> None:
    domain = load(project, "domain.yml")
    assert set(domain) <= {"version", "intents", "entities", "session_config"}
    assert {str(i) for i in Intent} <= set(domain["intents"])
    assert {str(e) for e in EntityType} <= set(domain["entities"])
    examples = load_training_data_from(project)
    assert set(examples.intents) == set(domain["intents"])
    annotated = {a.entity for e in examples.examples for a in e.entities}
    assert annotated <= set(domain["entities"])


def load_training_data_from(project: RasaProject) -> TrainingData:
    """The project's data directory, read back with our Rasa-format reader."""
    with tempfile.TemporaryDirectory() as directory:
        project.write(Path(directory))
        return load_training_data([Path(directory) / "data"])


def test_procedure_values_are_ids_and_synonyms_are_consistent(project: RasaProject,
                                                              lexicon: Lexicon) -> None:
    data = load_training_data_from(project)
    ids = set(lexicon.procedures)
    for example in data.examples:
        for entity in example.entities:
            if entity.entity == EntityType.PROCEDURE:
                assert entity.value in ids, example
    assert set(data.synonyms) <= ids
    assert set(data.synonyms) == ids  # every procedure can be named
    owners: dict[str, str] = {}
    for example in data.examples:  # Rasa also learns synonyms from annotations
        for entity in example.entities:
            surface = example.text[entity.start:entity.end].lower()
            if surface != entity.value:
                assert owners.setdefault(surface, entity.value) == entity.value, surface
    for value, surfaces in data.synonyms.items():
        for surface in surfaces:
            assert surface != value
            assert owners.setdefault(surface.lower(), value) == value, surface
    lookup = set(data.lookups["procedure"])
    for phrases in lexicon.procedures.values():
        for phrase in phrases:
            assert rasa_text(phrase, project.text_form).text.lower() in lookup \
                or project.text_form is TextForm.RAW
    assert data.lookups["place"]


def test_annotations_fall_on_whitespace_tokens(project: RasaProject) -> None:
    if project.text_form is TextForm.RAW:
        pytest.skip("raw texts are the shipped ones, punctuation included")
    data = load_training_data_from(project)
    for example in data.examples:
        text = example.text
        for entity in example.entities:
            assert entity.start == 0 or text[entity.start - 1] == " ", example
            assert entity.end == len(text) or text[entity.end] == " ", example


def test_regexes_compile_and_match(project: RasaProject) -> None:
    data = load_training_data_from(project)
    samples = {"dossier_code": "tra 000.00.12.H31-251103-0042", "id_number": "số 012345678901",
               "phone": "gọi 0912 345 678"}
    for name, sample in samples.items():
        [pattern] = data.regexes[name]
        assert re.search(pattern, sample, re.IGNORECASE), name


def test_training_data_round_trips(project: RasaProject, tmp_path: Path) -> None:
    shipped = load_training_data(Settings().nlu_train_files)
    data = load_training_data_from(project)
    assert len(data.examples) == len(shipped.examples)
    again = tmp_path / "again.yml"
    again.write_text(dump_training_data(data), encoding="utf-8")
    reread = load_training_data([again])
    assert reread.examples == data.examples
    assert reread.synonyms == data.synonyms and reread.lookups == data.lookups
    if project.text_form is TextForm.RAW:
        assert [(e.text, e.intent) for e in data.examples] == [
            (e.text, e.intent) for e in shipped.examples]


def test_rasa_text_keeps_codes_whole_and_maps_spans_back() -> None:
    text = "Tra cứu HS 000.00.12.H31-251103-0042, sđt 0912.345.678 ko?"
    converted = rasa_text(text, TextForm.PLAIN)
    assert converted.text == ("tra cuu ho so 000.00.12.H31-251103-0042 so dien thoai "
                              "0912.345.678 khong")
    for original in ("000.00.12.H31-251103-0042", "0912.345.678", "HS", "ko"):
        start = text.index(original)
        span = converted.rasa_span(start, start + len(original))
        assert span is not None
        assert converted.original_span(*span) == (start, start + len(original))
    assert rasa_text(text, TextForm.RAW).text == text
    assert rasa_text("", TextForm.PLAIN).text == ""


def test_unvalued_annotations_get_one_value(lexicon: Lexicon) -> None:
    data = load_training_data(Settings().nlu_train_files)
    places = [e for e in data.examples
              if any(a.entity == EntityType.PLACE for a in e.entities)]
    values = {a.value for e in places
              for a in convert_example(e, TextForm.PLAIN, lexicon.places).entities
              if a.entity == EntityType.PLACE}
    # the unit's name, whatever the surface ("phường Hồng Bàng", "Hong Bang")
    assert "Phường Hồng Bàng" in values and "phường Hồng Bàng" not in values
    assert "Hong Bang" not in values


def test_the_cli_writes_the_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("EGOVBOT_DATA_DIR", str(tmp_path / "var"))
    assert main(["rasa", "export", str(tmp_path / "rasa"), "--epochs", "5"]) == 0
    assert f"'{DEFAULT_TEXT_FORM}' form" in capsys.readouterr().out
    config = yaml.safe_load((tmp_path / "rasa" / "config.yml").read_text("utf-8"))
    assert next(c for c in config["pipeline"] if c["name"] == "DIETClassifier")["epochs"] == 5
    assert (tmp_path / "rasa" / "data" / "nlu.yml").exists()
