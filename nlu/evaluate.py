"""Evaluation of any NLU engine on Rasa-format test data, like ``rasa test nlu``.

Reports intent accuracy, macro-F1, per-intent precision/recall/F1, the most frequent confusions,
entity precision/recall/F1 per entity type and overall (micro) for the procedure and dossier
code and every type the test data annotates (an entity counts as right when its type matches,
its span overlaps, and its value or its exact span matches), procedure-entity accuracy (the
share of examples whose set of procedure values is exactly the annotated one), and the share of
whole sentences with the intent and every annotated entity right.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

from nlu.intents import EntityType
from nlu.normalize import strip_diacritics
from nlu.rasa_data import AnnotatedEntity, Example, TrainingData
from nlu.types import Entity, ParseResult

EVALUATED_ENTITIES = (EntityType.PROCEDURE, EntityType.DOSSIER_CODE)


@dataclass(frozen=True, slots=True)
class Prediction:
    """One test example with what the engine made of it."""

    example: Example
    result: ParseResult


def predict(parse: Callable[[str], ParseResult], data: TrainingData) -> list[Prediction]:
    """Run every test example through a parser."""
    return [Prediction(example, parse(example.text)) for example in data.examples]


def without_diacritics(data: TrainingData) -> TrainingData:
    """The same test data with every diacritic removed (lengths are kept, so spans hold)."""
    examples = [
        Example(strip_diacritics(e.text), e.intent, e.entities) for e in data.examples
    ]
    return TrainingData(examples, data.synonyms, data.lookups, data.regexes)


def report(predictions: list[Prediction]) -> dict[str, Any]:
    """The evaluation report as JSON-ready data."""
    truth = [p.example.intent for p in predictions]
    guess = [p.result.intent.name for p in predictions]
    labels = sorted(set(truth) | set(guess))
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, guess, labels=labels, zero_division=0
    )
    per_intent = {
        label: {
            "precision": round(float(precision[i]), 4),
            "recall": round(float(recall[i]), 4),
            "f1": round(float(f1[i]), 4),
            "support": int(support[i]),
        }
        for i, label in enumerate(labels)
    }
    confusions = Counter((t, g) for t, g in zip(truth, guess, strict=True) if t != g)
    errors = [
        {"text": p.example.text, "intent": p.example.intent,
         "predicted": p.result.intent.name, "confidence": round(p.result.intent.confidence, 4)}
        for p in predictions
        if p.example.intent != p.result.intent.name
    ]
    return {
        "examples": len(predictions),
        "intent": {
            "accuracy": round(float(accuracy_score(truth, guess)), 4) if truth else 0.0,
            "macro_f1": round(float(f1_score(truth, guess, labels=sorted(set(truth)),
                                             average="macro", zero_division=0)), 4)
            if truth else 0.0,
            "per_intent": per_intent,
            "confusions": [
                {"intent": t, "predicted": g, "count": n} for (t, g), n in confusions.most_common()
            ],
            "errors": errors,
        },
        "entities": _entity_report(predictions),
        "procedure_accuracy": _procedure_accuracy(predictions),
        "sentence_accuracy": _sentence_accuracy(predictions),
    }


def _annotated_types(predictions: list[Prediction]) -> list[str]:
    """The evaluated entity types: the contract's two, then every type the data annotates."""
    seen = {e.entity for p in predictions for e in p.example.entities}
    return [*EVALUATED_ENTITIES, *sorted(seen - set(EVALUATED_ENTITIES))]


def _counts(prediction: Prediction, entity_type: str) -> tuple[int, int, int]:
    """True positives, false positives and false negatives of one type in one example."""
    expected = [e for e in prediction.example.entities if e.entity == entity_type]
    found = [e for e in prediction.result.entities if e.entity == entity_type]
    matched: set[int] = set()
    false_positive = 0
    for entity in found:
        index = next((i for i, want in enumerate(expected)
                      if i not in matched and _same(want, entity, prediction.example.text)),
                     None)
        if index is None:
            false_positive += 1
        else:
            matched.add(index)
    return len(matched), false_positive, len(expected) - len(matched)


def _scores(true_positive: int, false_positive: int, false_negative: int) -> dict[str, Any]:
    precision = true_positive / (true_positive + false_positive) if true_positive else 0.0
    recall = true_positive / (true_positive + false_negative) if true_positive else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
            "support": true_positive + false_negative}


def _entity_report(predictions: list[Prediction]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    total = [0, 0, 0]
    for entity_type in _annotated_types(predictions):
        sums = [0, 0, 0]
        for prediction in predictions:
            for k, n in enumerate(_counts(prediction, entity_type)):
                sums[k] += n
        result[entity_type] = _scores(*sums)
        if sums[0] + sums[2]:  # a type the data annotates counts towards the overall figure
            total = [a + b for a, b in zip(total, sums, strict=True)]
    result["overall"] = _scores(*total)
    return result


def _sentence_accuracy(predictions: list[Prediction]) -> float:
    """The share of examples with the intent and every annotated entity type right (no
    entity missed, none extra)."""
    if not predictions:
        return 0.0
    types = [t for t in _annotated_types(predictions)
             if any(e.entity == t for p in predictions for e in p.example.entities)]
    right = sum(
        1 for p in predictions
        if p.example.intent == p.result.intent.name
        and all(_counts(p, t)[1:] == (0, 0) for t in types))
    return round(right / len(predictions), 4)


def _same(want: AnnotatedEntity, got: Entity, text: str) -> bool:
    overlaps = got.start < want.end and want.start < got.end
    if want.entity == EntityType.DOSSIER_CODE:
        return overlaps
    if want.entity in (EntityType.PROCEDURE, EntityType.PLACE) and got.extractor != "crf":
        return overlaps and want.value == got.value
    exact = (got.start, got.end) == (want.start, want.end)
    return overlaps and (want.value == got.value or exact)


def _procedure_accuracy(predictions: list[Prediction]) -> float:
    if not predictions:
        return 0.0
    right = sum(
        1
        for p in predictions
        if {e.value for e in p.example.entities if e.entity == EntityType.PROCEDURE}
        == set(p.result.entity_values(EntityType.PROCEDURE))
    )
    return round(right / len(predictions), 4)


def summary_lines(name: str, result: dict[str, Any]) -> list[str]:
    """A few readable lines of a report."""
    intent = result["intent"]
    procedure = result["entities"][EntityType.PROCEDURE]
    return [
        f"{name}: {result['examples']} examples",
        f"  intent accuracy      {intent['accuracy'] * 100:6.2f} %",
        f"  intent macro-F1      {intent['macro_f1'] * 100:6.2f} %",
        f"  procedure accuracy   {result['procedure_accuracy'] * 100:6.2f} %",
        f"  procedure entity P/R/F1  {procedure['precision']:.3f} / {procedure['recall']:.3f}"
        f" / {procedure['f1']:.3f}",
        f"  whole sentences right (intent and all entities) "
        f"{result['sentence_accuracy'] * 100:6.2f} %",
        "  entities (precision / recall / F1 / support):",
        *(f"    {name:22s} {e['precision']:.3f} / {e['recall']:.3f} / {e['f1']:.3f} / "
          f"{e['support']}" for name, e in result["entities"].items() if e["support"]
          or name == "overall"),
    ]
