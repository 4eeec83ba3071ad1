"""The parse result every NLU engine returns, in the shape of Rasa's ``/model/parse`` answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class Entity:
    """One entity found in a message; ``start``/``end`` index the original text."""

    entity: str
    value: str
    start: int
    end: int
    confidence: float = 1.0
    text: str = ""
    extractor: str = ""
    code: str = ""  # a procedure's national code, where it has one

    def to_dict(self) -> dict[str, Any]:
        """Rasa's entity shape (plus ``code`` for a procedure that has one)."""
        data: dict[str, Any] = {
            "entity": self.entity,
            "value": self.value,
            "start": self.start,
            "end": self.end,
            "confidence": round(self.confidence, 4),
            "extractor": self.extractor,
        }
        if self.code:
            data["code"] = self.code
        return data


@dataclass(frozen=True, slots=True)
class ProcedureScore:
    """A candidate procedure for a message: id, national code, name, score (0–1) and the
    share of the message's words it contains."""

    id: str
    code: str
    name: str
    score: float
    coverage: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """One item of ``procedure_ranking``, shaped like Rasa's ``intent_ranking``."""
        return {"id": self.id, "code": self.code, "name": self.name,
                "score": round(self.score, 4)}


@dataclass(frozen=True, slots=True)
class IntentScore:
    """An intent name with the engine's confidence in it."""

    name: str
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        """Rasa's intent shape."""
        return {"name": self.name, "confidence": round(self.confidence, 4)}


@dataclass(frozen=True, slots=True)
class ParseResult:
    """What an NLU engine understood of one message."""

    text: str
    intent: IntentScore
    intent_ranking: tuple[IntentScore, ...] = ()
    entities: tuple[Entity, ...] = field(default_factory=tuple)
    engine: str = ""
    procedure_ranking: tuple[ProcedureScore, ...] = ()
    # Procedures equally likely when none was clearly named: the bot asks which one.
    procedure_choices: tuple[ProcedureScore, ...] = ()

    def entity_values(self, entity: str) -> list[str]:
        """The values of every entity of one type, in message order."""
        return [e.value for e in self.entities if e.entity == entity]

    def first(self, entity: str) -> str | None:
        """The first value of one entity type, if any."""
        values = self.entity_values(entity)
        return values[0] if values else None

    def to_dict(self) -> dict[str, Any]:
        """The Rasa ``/model/parse`` JSON shape."""
        return {
            "text": self.text,
            "intent": self.intent.to_dict(),
            "intent_ranking": [score.to_dict() for score in self.intent_ranking],
            "entities": [entity.to_dict() for entity in self.entities],
            "procedure_ranking": [score.to_dict() for score in self.procedure_ranking],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], engine: str = "") -> ParseResult:
        """Read a Rasa ``/model/parse`` answer; raises ValueError on a malformed one."""
        try:
            intent = data["intent"] or {}
            top = IntentScore(str(intent.get("name") or "out_of_scope"),
                              float(intent.get("confidence") or 0.0))
            ranking = tuple(
                IntentScore(str(item["name"]), float(item["confidence"]))
                for item in data.get("intent_ranking") or []
            )
            entities = tuple(
                Entity(
                    entity=str(item["entity"]),
                    value=str(item.get("value", "")),
                    start=int(item.get("start", 0)),
                    end=int(item.get("end", 0)),
                    confidence=float(item.get("confidence_entity", item.get("confidence", 1.0))
                                     or 1.0),
                    extractor=str(item.get("extractor") or ""),
                )
                for item in data.get("entities") or []
            )
            return cls(str(data.get("text", "")), top, ranking or (top,), entities, engine)
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a parse result: {exc}") from exc


class Parser(Protocol):
    """Anything that turns a message into a ParseResult."""

    def parse(self, text: str) -> ParseResult:
        """Understand one message."""
        ...


@runtime_checkable
class AsyncParser(Protocol):
    """A parser that can also wait for I/O (the Rasa engine over HTTP)."""

    async def aparse(self, text: str) -> ParseResult:
        """Understand one message."""
        ...


async def parse_async(parser: Parser, text: str) -> ParseResult:
    """Parse with the parser's async path when it has one, else its synchronous one."""
    if isinstance(parser, AsyncParser):
        return await parser.aparse(text)
    return parser.parse(text)
