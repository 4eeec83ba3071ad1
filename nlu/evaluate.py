"""Evaluation of any NLU engine on Rasa-format test data, like ``rasa test nlu``.

Reports intent accuracy, macro-F1, per-intent precision/recall/F1, the most frequent confusions,
entity precision/recall/F1 per entity type (an entity counts as right when its type, value and
span overlap match), and procedure-entity accuracy: the share of examples whose set of procedure
values is exactly the annotated one.
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
    }


def _entity_report(predictions: list[Prediction]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for entity_type in EVALUATED_ENTITIES:
        true_positive = false_positive = false_negative = 0
        for prediction in predictions:
            expected = [e for e in prediction.example.entities if e.entity == entity_type]
            found = [e for e in prediction.result.entities if e.entity == entity_type]
            matched: set[int] = set()
            for entity in found:
                index = next(
                    (i for i, want in enumerate(expected)
                     if i not in matched and _same(want, entity, prediction.example.text)),
                    None,
                )
                if index is None:
                    false_positive += 1
                else:
                    matched.add(index)
                    true_positive += 1
            false_negative += len(expected) - len(matched)
        precision = true_positive / (true_positive + false_positive) if true_positive else 0.0
        recall = true_positive / (true_positive + false_negative) if true_positive else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        result[entity_type] = {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
            "support": true_positive + false_negative,
        }
    return result


def _same(want: AnnotatedEntity, got: Entity, text: str) -> bool:
    overlaps = got.start < want.end and want.start < got.end
    if want.entity == EntityType.DOSSIER_CODE:
        return overlaps
    return overlaps and want.value == got.value


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
    ]
