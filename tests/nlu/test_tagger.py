"""The learned entity tagger: custom entities of any Rasa dataset train and parse."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlu.engine import BuiltinNlu, Lexicon, NluModel, train
from nlu.evaluate import predict, report
from nlu.intents import EntityType
from nlu.normalize import fold
from nlu.rasa_data import load_training_data

DATA = """nlu:
- intent: ask_office
  examples: |
    - ủy ban [Lê Chân](district) ở đâu
    - địa chỉ ủy ban [Ngô Quyền](district) ạ
    - ubnd [Hồng Bàng](district) ở chỗ nào
    - cho hỏi ủy ban [Kiến An](district) ở đâu
    - ủy ban [Hải An](district) nằm ở đâu vậy
    - dia chi uy ban [Do Son](district) o dau
- intent: book
  examples: |
    - đặt lịch [ngày mai](date) cho [con](relation:con)
    - em muốn hẹn [thứ hai](date) làm giấy cho [bé](relation:con)
    - hẹn [thứ sáu](date) làm hồ sơ cho [bố](relation)
    - đặt lịch [chiều mai](date) cho [mẹ](relation)
    - cho em hẹn [hôm nay](date) làm cho [vợ](relation)
    - dat lich [ngay mai](date) cho [chong](relation)
"""


def _model(tmp_path: Path) -> NluModel:
    path = tmp_path / "custom.yml"
    path.write_text(DATA, encoding="utf-8")
    return train(load_training_data([path]), Lexicon())


def test_custom_entities_are_learned_and_parsed(tmp_path: Path) -> None:
    nlu = BuiltinNlu(_model(tmp_path), Lexicon())
    result = nlu.parse("đặt lịch ngày mai cho bé")
    assert result.intent.name == "book"
    found = {(e.entity, e.value, e.text, e.extractor) for e in result.entities}
    assert ("date", "ngày mai", "ngày mai", "pattern") in found  # an everyday worded date
    assert ("relation", "con", "bé", "crf") in found  # the annotation's value, not the text
    learned = nlu.parse("hẹn thứ hai cho bé").entities  # no pattern reads a bare weekday
    assert ("date", "thứ hai", "crf") in {(e.entity, e.text, e.extractor) for e in learned}
    assert any(e.entity == "district" for e in nlu.parse("ủy ban Lê Chân ở đâu").entities)


def test_the_model_keeps_its_tagger_when_saved(tmp_path: Path) -> None:
    model = _model(tmp_path)
    model.save(tmp_path / "m.pkl")
    loaded = BuiltinNlu(NluModel.load(tmp_path / "m.pkl"), Lexicon())
    assert [e.entity for e in loaded.parse("hẹn thứ hai cho mẹ").entities] == ["date", "relation"]


def test_no_entity_labels_means_no_tagger(tmp_path: Path) -> None:
    path = tmp_path / "plain.yml"
    path.write_text("nlu:\n- intent: a\n  examples: |\n    - xin chào\n    - chào bạn\n"
                    "- intent: b\n  examples: |\n    - tạm biệt\n    - chào nhé\n",
                    encoding="utf-8")
    assert train(load_training_data([path]), Lexicon()).tagger is None


def test_the_report_scores_every_annotated_type_and_whole_sentences(tmp_path: Path) -> None:
    model = _model(tmp_path)
    test = tmp_path / "test.yml"
    test.write_text("nlu:\n- intent: book\n  examples: |\n    - đặt lịch [ngày mai](date) cho"
                    " [mẹ](relation)\n    - hẹn [thứ hai](date) cho [bố](relation) nhé\n",
                    encoding="utf-8")
    result = report(predict(BuiltinNlu(model, Lexicon()).parse, load_training_data([test])))
    assert result["entities"]["date"]["support"] == 2
    assert result["entities"]["overall"]["support"] == 4
    assert 0 < result["entities"]["overall"]["f1"] <= 1
    assert 0 <= result["sentence_accuracy"] <= 1


# The shipped model: the bot's own entities for whom a procedure is for, where and when.
@pytest.mark.parametrize(("text", "relation", "said"), [
    ("làm căn cước cho bố em cần gì", "bố", "bố"),
    ("khai sinh cho bé nhà mình làm ở đâu", "con", "bé"),
    ("lam ho chieu cho me can giay to gi", "mẹ", "me"),
    ("đăng ký thường trú cho chồng cần những gì", "chồng", "chồng"),
    ("làm căn cước cho bà ngoại 80 tuổi", "bà", "bà ngoại"),
])
def test_the_shipped_model_says_whom_the_procedure_is_for(
        nlu: BuiltinNlu, text: str, relation: str, said: str) -> None:
    found = [(e.value, e.text) for e in nlu.parse(text).entities if e.entity == "relation"]
    assert found == [(relation, said)]


def test_no_relation_in_a_question_about_no_one(nlu: BuiltinNlu) -> None:
    assert nlu.parse("làm hộ chiếu cần giấy tờ gì").first(EntityType.RELATION) is None


def test_a_place_the_list_knows_keeps_its_unit_and_an_unknown_one_is_learned(
        nlu: BuiltinNlu) -> None:
    known = nlu.parse("ủy ban phường Lê Chân làm việc mấy giờ")
    assert [(e.value, e.extractor) for e in known.entities if e.entity == EntityType.PLACE] \
        == [("Phường Lê Chân", "gazetteer")]
    listed = {fold(p) for phrases in nlu.lexicon.places.values() for p in phrases}
    assert not {"tan dinh", "phuong tan dinh"} & listed  # a ward of another city
    learned = nlu.parse("ubnd phuong Tan Dinh o dau")
    assert [(e.value, e.extractor) for e in learned.entities if e.entity == EntityType.PLACE] \
        == [("phuong Tan Dinh", "crf")]


@pytest.mark.parametrize(("text", "value", "extractor"), [
    ("hồ sơ nộp hôm qua xong chưa", "hôm qua", "pattern"),
    ("thứ hai tuần sau ủy ban có làm việc không", "thứ hai tuần sau", "pattern"),
    ("cuoi thang nay em nop duoc khong", "cuoi thang nay", "pattern"),
    ("mùng 5 tết ủy ban có làm việc không", "mùng 5 tết", "pattern"),
    ("em nộp hồ sơ ngày 15/11 đến giờ chưa có kết quả", "15/11", "pattern"),
])
def test_dates_come_out_worded_or_in_digits(nlu: BuiltinNlu, text: str, value: str,
                                            extractor: str) -> None:
    found = [(e.value, e.extractor) for e in nlu.parse(text).entities
             if e.entity == EntityType.DATE]
    assert found == [(value, extractor)]
