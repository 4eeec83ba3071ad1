"""The built-in engine end to end on the shipped training data and knowledge base."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from bot.service.settings import Settings
from nlu.engine import BuiltinNlu, Lexicon, NluModel, marked_text, train
from nlu.evaluate import predict, report, without_diacritics
from nlu.normalize import normalize
from nlu.rasa_data import load_training_data


def test_the_issue_example(nlu: BuiltinNlu) -> None:
    result = nlu.parse("lam cccd het bao nhieu tien").to_dict()
    assert result["intent"]["name"] == "procedure_fee"
    assert [e["value"] for e in result["entities"] if e["entity"] == "procedure"] == ["can-cuoc"]
    assert set(result) == {"text", "intent", "intent_ranking", "entities", "procedure_ranking"}
    procedure = next(e for e in result["entities"] if e["entity"] == "procedure")
    assert procedure["code"] == "1.014061; 1.014063; 1.014064"  # the curated entry's codes
    ranking = result["intent_ranking"]
    assert ranking[0]["name"] == "procedure_fee"
    assert ranking == sorted(ranking, key=lambda r: -r["confidence"])


@pytest.mark.parametrize(
    ("text", "intent", "procedure"),
    [
        ("làm hộ chiếu cần giấy tờ gì", "procedure_documents", "ho-chieu"),
        ("bao lâu có sổ đỏ", "procedure_duration", "so-do-lan-dau"),
        ("đổi bằng lái ở đâu", "procedure_location", "doi-gplx"),
        ("khai sinh online được không", "procedure_online", "khai-sinh"),
        ("thủ tục đăng ký kết hôn", "procedure_overview", "ket-hon"),
        ("tra cứu hồ sơ 000.00.12.H31-251103-0042", "dossier_status", None),
        ("cho gặp nhân viên", "human_handoff", None),
        ("bạn giúp được gì", "help", None),
        ("chào bạn", "greet", None),
        ("cảm ơn", "thank", None),
        ("giá vàng hôm nay", "out_of_scope", None),
    ],
)
def test_design_examples(nlu: BuiltinNlu, text: str, intent: str, procedure: str | None) -> None:
    result = nlu.parse(text)
    assert result.intent.name == intent
    assert result.first("procedure") == procedure


def test_empty_and_noise_are_out_of_scope(nlu: BuiltinNlu) -> None:
    for text in ("", "   ", "???", "\x00\x01"):
        assert nlu.parse(text).intent.name == "out_of_scope"


def test_a_new_alias_reaches_the_parser_without_retraining(nlu: BuiltinNlu) -> None:
    assert nlu.parse("làm thẻ xanh bao nhiêu tiền").first("procedure") is None
    procedures = dict(nlu.lexicon.procedures)
    procedures["can-cuoc"] = [*procedures["can-cuoc"], "thẻ xanh"]
    updated = nlu.with_lexicon(Lexicon(procedures, nlu.lexicon.places))
    assert updated.parse("làm thẻ xanh bao nhiêu tiền").first("procedure") == "can-cuoc"


def test_model_save_and_load(shipped_model: NluModel, tmp_path: Path) -> None:
    path = tmp_path / "m.pkl"
    shipped_model.save(path)
    loaded = NluModel.load(path)
    assert loaded.data_hash == shipped_model.data_hash
    text = "lam ho chieu mat bao lau"
    assert loaded.classifier.rank(text)[0] == shipped_model.classifier.rank(text)[0]


def test_a_foreign_file_is_not_a_model(tmp_path: Path) -> None:
    path = tmp_path / "m.pkl"
    path.write_bytes(pickle.dumps({"not": "a model"}))
    with pytest.raises(ValueError, match="not an egovbot NLU model"):
        NluModel.load(path)


def test_trains_on_any_rasa_file_without_a_lexicon(tmp_path: Path) -> None:
    path = tmp_path / "other.yml"
    path.write_text(
        "nlu:\n- intent: order\n  examples: |\n    - I want a [pizza](food)\n"
        "    - order [sushi](food) please\n    - get me a [burger](food)\n"
        "- intent: bye\n  examples: |\n    - goodbye\n    - see you\n    - bye now\n",
        encoding="utf-8",
    )
    model = train(load_training_data([path]), Lexicon())
    assert BuiltinNlu(model, Lexicon()).parse("order a pizza").intent.name == "order"


def test_held_out_figures_reach_the_targets(nlu: BuiltinNlu) -> None:
    """The issue's quality targets on the held-out file (training never reads it)."""
    data = load_training_data([Settings().nlu_test_file])
    accented = report(predict(nlu.parse, data))
    plain = report(predict(nlu.parse, without_diacritics(data)))
    assert accented["intent"]["accuracy"] >= 0.95
    assert accented["procedure_accuracy"] >= 0.95
    assert accented["intent"]["accuracy"] - plain["intent"]["accuracy"] <= 0.02
    assert accented["procedure_accuracy"] - plain["procedure_accuracy"] <= 0.02


def test_the_fast_single_text_path_equals_scikit_learn(shipped_model: NluModel) -> None:
    classifier = shipped_model.classifier
    data = load_training_data([Settings().nlu_test_file])
    assert classifier.uses_accents
    for example in data.examples[:120]:
        message = normalize(example.text)
        text, accented = message.plain, marked_text(message, [])
        fast = classifier.rank(text, accented=accented)
        reference = classifier.rank_many([text], accented=[accented])[0]
        assert [s.name for s in fast] == [s.name for s in reference]
        assert max(abs(a.confidence - b.confidence) for a, b in zip(fast, reference,
                                                                   strict=True)) < 1e-9
    # a saved model leaves out the words' features kept while parsing, and ranks the same
    reloaded = pickle.loads(pickle.dumps(classifier))
    assert not getattr(reloaded._fast, "_words", None)
    for example in data.examples[:20]:
        text = normalize(example.text).plain
        assert reloaded.rank(text) == classifier.rank(text)


def test_the_marks_decide_only_when_the_citizen_typed_them(nlu: BuiltinNlu) -> None:
    """The accented block is empty for a text without diacritics: the same question typed
    with and without them may differ in confidence, never in whether it is understood."""
    assert marked_text(normalize("lam ho chieu het bao nhieu tien"), []) == ""
    assert marked_text(normalize("làm hộ chiếu hết bao nhiêu tiền"), []).startswith("làm")
    with_marks = nlu.parse("làm hộ chiếu hết bao nhiêu tiền")
    without = nlu.parse("lam ho chieu het bao nhieu tien")
    assert with_marks.intent.name == without.intent.name == "procedure_fee"
    assert with_marks.intent.confidence != without.intent.confidence
